"""Extension instances shared by the application factory and the views."""

from __future__ import annotations

from flask_migrate import Migrate

from .api import Api
from .database import Database

api = Api()
db = Database()
migrate = Migrate()
