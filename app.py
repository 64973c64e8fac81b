"""Entry point for `flask --app app ...` commands and the development server."""

from phones_service import create_app

app = create_app()
