"""Small HTTP helpers shared by the features' routes."""

from __future__ import annotations

from flask import request

from inspect_api.errors import PreconditionFailed


def if_match_version() -> int | None:
    """The version in `If-Match` (`"v3"`, `"3"` or `W/"3"`); None when absent or `*`."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"').removeprefix("v"))
    except ValueError as exc:
        raise PreconditionFailed('If-Match 应为版本号, 如 "v3" (If-Match must be a version)',
                                 {"if_match": raw}) from exc


def stored_file(key: str, mimetype: str, *, etag: str, cache: str = "private, max-age=86400, immutable",
                disposition: str | None = None):
    """A response streaming a file from storage (evidence, attachments, PDFs), never read whole into memory."""
    from flask import Response

    from inspect_api.core.storage import get_storage

    storage = get_storage()
    resp = Response(storage.iter_bytes(key), mimetype=mimetype, direct_passthrough=True)
    resp.headers["Content-Length"] = str(storage.size(key))
    resp.headers["ETag"] = f'"{etag}"'
    resp.headers["Cache-Control"] = cache
    resp.headers["X-Content-Type-Options"] = "nosniff"
    if disposition:
        resp.headers["Content-Disposition"] = disposition
    return resp
