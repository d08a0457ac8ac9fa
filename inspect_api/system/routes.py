"""Health: is the database answering, is storage writable, which migration is applied."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import fields

from inspect_api import __version__
from inspect_api.auth.access import PUBLIC, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import BaseSchema
from inspect_api.core.storage import get_storage
from inspect_api.db import db

blp = Blueprint("health", __name__, url_prefix="/health", description="服务状态 Service health")


class HealthSchema(BaseSchema):
    status = fields.String(metadata={"description": "ok | degraded"})
    version = fields.String()
    database = fields.Dict()
    storage = fields.Dict()


def _database_status() -> dict:
    try:
        revision = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return {"status": "ok", "dialect": db.engine.dialect.name, "revision": revision}
    except Exception as exc:  # any database failure is reported, not raised
        db.session.rollback()
        return {"status": "error", "dialect": db.engine.dialect.name, "message": type(exc).__name__}


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="数据库或存储不可用")
    @roles(PUBLIC)
    def get(self):
        """Service health (no login)"""
        database = _database_status()
        storage = get_storage().status()
        ok = database["status"] == "ok" and storage["status"] == "ok"
        body = {"status": "ok" if ok else "degraded", "version": __version__, "database": database,
                "storage": storage}
        return body, (200 if ok else 503)
