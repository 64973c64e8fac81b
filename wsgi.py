"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from phones_service import create_app
from phones_service.logging_config import configure_logging

configure_logging()

app = create_app()
