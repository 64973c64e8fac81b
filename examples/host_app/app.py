"""Entry point: `flask --app examples.host_app.app db upgrade heads`, then run."""

from examples.host_app import create_app

app = create_app()
