"""Typed domain errors and the one handler that turns every error into JSON.

Every error answer is `{"error": {"code": ..., "message": ..., "details": ...}}`; a stack trace
never reaches a client.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException, MethodNotAllowed

if TYPE_CHECKING:  # the exception classes stay importable from pure rules modules (no Flask)
    from flask import Flask

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None, *, code: str | None = None, headers=None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if code:
            self.code = code


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class PreconditionFailed(DomainError):
    status, code = 412, "precondition_failed"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(DomainError):
    status, code = 422, "validation_error"


class PreconditionRequired(DomainError):
    status, code = 428, "precondition_required"


class TooManyRequests(DomainError):
    status, code = 429, "too_many_requests"


class ServiceBusy(DomainError):
    status, code = 503, "try_again"


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "too_many_requests",
}

HTTP_MESSAGES = {
    400: "请求格式错误 (malformed request)",
    401: "未登录或登录已过期 (authentication required)",
    403: "无权执行此操作 (not allowed for your role)",
    404: "资源不存在 (not found)",
    405: "不支持该请求方法 (method not allowed)",
    413: "上传内容过大 (payload too large)",
    415: "不支持的内容类型 (unsupported media type)",
    422: "提交的数据未通过校验 (validation failed)",
    428: "缺少 If-Match 请求头 (If-Match required)",
    429: "请求过于频繁 (too many requests)",
}


def error_response(status: int, code: str, message: str, details=None, headers=None):
    from flask import jsonify

    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _http_details(exc: HTTPException) -> dict:
    """Field messages from flask-smorest/webargs, flattened to the one shape services use too:
    `{"fields": {"name": [...]}, "location": "json"}`."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return {}
    fields: dict = {}
    locations = []
    for location, msgs in messages.items():
        locations.append(location)
        if isinstance(msgs, dict):
            fields.update(msgs)
        else:
            fields.setdefault("_schema", []).extend(msgs if isinstance(msgs, list) else [msgs])
    return {"fields": fields, "location": ",".join(locations)}


def _http_message(exc: HTTPException) -> str:
    data = getattr(exc, "data", None) or {}
    if data.get("message"):
        return str(data["message"])
    status = exc.code or 500
    if status == 400 and "json" in f"{exc.description} {data.get('messages', '')}".lower():
        return "请求体不是合法的 JSON (invalid JSON body)"
    return HTTP_MESSAGES.get(status, exc.name)


def _unique_violation(exc) -> bool:
    """Whether a DBAPI error (wrapped by SQLAlchemy or not) is a unique or primary key violation, on
    PostgreSQL (SQLSTATE 23505) or SQLite."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "23505" or getattr(orig, "sqlite_errorname", None) in (
        "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        data = getattr(exc, "data", None) or {}
        headers.update(data.get("headers") or {})
        if exc.response is not None and "Retry-After" in exc.response.headers:
            headers["Retry-After"] = exc.response.headers["Retry-After"]
        if status == 304:
            return exc.get_response()
        code = HTTP_CODES.get(status, "error")
        return error_response(status, code, _http_message(exc), _http_details(exc), headers)

    from sqlalchemy.exc import IntegrityError

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # Every write checks its unique keys first and answers 409 itself; two requests that passed
        # that check at once still meet at the unique index. The later one is a conflict, not a 500.
        # (Any other integrity error is a bug: logged and a 500.)
        if not _unique_violation(exc):
            return _unexpected(exc)
        log.warning("unique key already taken, answered 409: %s", str(exc.orig).splitlines()[0])
        return error_response(409, "conflict", "与刚保存的记录冲突 (编码、编号或名称已被占用), 请刷新后重试 "
                                               "(conflicts with a record just saved; reload and retry)")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "服务器内部错误 (internal error); the incident is logged")
