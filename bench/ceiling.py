"""Bare Flask app with one JSON route, the throughput ceiling of the benchmark.

gunicorn serves it with the service's own `gunicorn.conf.py`, so the gap
between this app and the service is the service's own work per request.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def status() -> dict[str, str]:
    """Return a small JSON object."""
    return {"status": "ok"}
