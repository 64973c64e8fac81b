"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from phones_service import create_app

app = create_app()
