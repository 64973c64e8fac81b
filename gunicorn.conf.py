"""gunicorn settings: one process with threads, on loopback unless HOST is set.

HOST and PORT set the address (default 127.0.0.1:3000); THREADS sets the
thread count (default 4).
"""

import os

_host = os.environ.get("HOST", "127.0.0.1")
_port = os.environ.get("PORT", "3000")

# An IPv6 address such as ::1 needs brackets before the port.
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
workers = 1
worker_class = "gthread"
# Python runs one thread at a time, and every SQLite call hands the GIL to
# another thread, so more threads add waiting rather than throughput: on 2
# cores, 4 threads served more requests than 8, with a lower p99 latency.
threads = int(os.environ.get("THREADS", "4"))
timeout = 30
graceful_timeout = 10
# The service logs each request itself, with its request id.
accesslog = None
errorlog = "-"
loglevel = "info"
# gunicorn 27 opens one control socket path shared by every instance of the
# user, so servers on other ports would replace each other's.
control_socket_disable = True


def on_starting(server):
    """Redact API keys in gunicorn's own log lines.

    gunicorn logs a request it cannot parse with the offending line, such
    as an Authorization header without its colon. The workers, forked
    later, share these loggers and their filters.
    """
    from phones_service.logging_config import RedactSecrets

    for logger in (server.log.error_log, server.log.access_log):
        logger.addFilter(RedactSecrets())
