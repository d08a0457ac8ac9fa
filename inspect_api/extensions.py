"""Unbound extension objects; `create_app` binds them to an app."""

from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_smorest import Api

from inspect_api.core.schemas import ErrorSchema
from inspect_api.db import db


class InspectApi(Api):
    # Documented error responses use the project's one error shape.
    ERROR_SCHEMA = ErrorSchema

    def _register_pagination_header(self):
        # flask-smorest documents X-Pagination as an object, but a header is text: what is sent is
        # that object serialised as a JSON string, so the description says so.
        self.spec.components.header("PAGINATION", {
            "description": "分页信息: JSON 对象序列化成的字符串 (the pagination object as a JSON string): "
                           "total, total_pages, first_page, last_page, page, previous_page, next_page",
            # OpenAPI 3.0 has no contentMediaType (JSON Schema 2019): an extension says it
            "schema": {"type": "string", "x-contentMediaType": "application/json"},
            "example": '{"total": 120, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2, '
                       '"previous_page": 1, "next_page": 3}',
        })


migrate = Migrate()
api = InspectApi()
jwt = JWTManager()

__all__ = ["api", "db", "jwt", "migrate"]
