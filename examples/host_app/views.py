"""The host's own endpoints: cookie login and the current user."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import session
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from werkzeug.security import check_password_hash

from . import User, db

blp = Blueprint("account", __name__, url_prefix="/account")


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True)
    password = ma.fields.String(required=True, load_only=True)


class UserSchema(ma.Schema):
    username = ma.fields.String()
    phones_client_uuid = ma.fields.String(data_key="phonesClientUuid")


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, UserSchema)
    def post(self, credentials: dict[str, Any]) -> User:
        """Log in with a username and password"""
        user = db.session.scalars(
            select(User).where(User.username == credentials["username"])
        ).one_or_none()
        if user is None or not check_password_hash(
            user.password_hash, credentials["password"]
        ):
            abort(401, message="Wrong username or password.")
        session["user_id"] = user.id
        return user


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """Log out"""
        session.clear()
