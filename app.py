"""Entry point for `flask --app app ...` commands and the development server."""

from phones_service import create_app
from phones_service.logging_config import configure_logging

configure_logging()

app = create_app()
