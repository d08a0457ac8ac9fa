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


def not_modified(etag: str) -> bool:
    """Whether the request's If-None-Match holds `etag` (quoted or not): weak comparison, so `W/"v3"`,
    lists (`"a", "v3"`) and `*` all match, as RFC 9110 13.1.2 asks."""
    from flask import request

    inm = request.if_none_match
    return inm.star_tag or inm.contains_weak(etag.removeprefix("W/").strip('"'))


def stored_file(key: str, mimetype: str, *, etag: str, cache: str = "private, max-age=86400, immutable",
                disposition: str | None = None):
    """A response streaming a file from storage (evidence, attachments, PDFs), never read whole into memory;
    a bodiless 304 when the caller's If-None-Match holds the file's tag (weak comparison, lists and
    `W/` understood, RFC 9110 13.1.2)."""
    from flask import Response

    from inspect_api.core.storage import get_storage

    if not_modified(etag):
        resp = Response(status=304)
        resp.headers["ETag"] = f'"{etag}"'
        resp.headers["Cache-Control"] = cache
        return resp
    storage = get_storage()
    resp = Response(storage.iter_bytes(key), mimetype=mimetype, direct_passthrough=True)
    resp.headers["Content-Length"] = str(storage.size(key))
    resp.headers["ETag"] = f'"{etag}"'
    resp.headers["Cache-Control"] = cache
    resp.headers["X-Content-Type-Options"] = "nosniff"
    if disposition:
        resp.headers["Content-Disposition"] = disposition
    return resp
