"""Unbound extension objects; `create_app` binds them to an app."""

from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_smorest import Api

from inspect_api.core.schemas import ErrorSchema
from inspect_api.db import db


class InspectApi(Api):
    # Documented error responses use the project's one error shape.
    ERROR_SCHEMA = ErrorSchema


migrate = Migrate()
api = InspectApi()
jwt = JWTManager()

__all__ = ["api", "db", "jwt", "migrate"]
