"""Small HTTP helpers shared by the features' routes."""

from __future__ import annotations

import re
from functools import wraps

from flask import Request, Response, after_this_request, request

from inspect_api.core.storage import HashedSpool, get_storage
from inspect_api.core.text import holds_unstorable_text, unstorable_text
from inspect_api.errors import NotFound, PreconditionFailed


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


_MAY_HOLD_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")  # a JSON escape of NUL or a surrogate


def refuse_unstorable_text(req, per_item: bool = False) -> None:
    """Refuse a request whose path, query, JSON body or form fields (file names included) carry a
    character no database can store: U+0000, or a lone UTF-16 surrogate.

    PostgreSQL's text cannot hold NUL, and neither database takes a string that is not valid UTF-8:
    such a value failed the request with a 500 (a login, a response note), or a sync with a 503 "try
    again" that a phone would retry for ever. It is refused here on both databases alike, before
    anything reads or writes. A JSON body is searched only where its raw bytes hold such an escape, so
    a sync's body costs one search of its bytes. (Query and form values are decoded with invalid UTF-8
    replaced, so only NUL can reach them.) `per_item`: the view checks each item of its JSON body
    itself (a sync: one visit's bad text is that visit's 422, not the batch's)."""
    if "\x00" in req.path:
        raise NotFound("地址中含有空字符 (NUL in the path)")
    where = None
    if b"%00" in req.query_string and any("\x00" in k or "\x00" in v for k, v in req.args.items(multi=True)):
        where = "query"
    elif (req.mimetype == "application/json" and not per_item and may_hold_unstorable_text(req)
          and holds_unstorable_text(req.get_json(silent=True))):
        where = "json"
    elif req.mimetype == "multipart/form-data" and (
            any("\x00" in k or "\x00" in v for k, v in req.form.items(multi=True))
            or any("\x00" in (f.filename or "") for f in req.files.values())):
        where = "form"
    if where:
        raise unstorable_text(where)


def may_hold_unstorable_text(req) -> bool:
    """Whether a JSON body's raw bytes hold an escape of NUL or of a surrogate (cheap; a pair, an
    escaped emoji, matches too)."""
    return _MAY_HOLD_UNSTORABLE.search(req.get_data(cache=True)) is not None


def not_modified(etag: str) -> bool:
    """Whether the request's If-None-Match holds `etag` (quoted or not): weak comparison, so `W/"v3"`,
    lists (`"a", "v3"`) and `*` all match, as RFC 9110 13.1.2 asks."""
    from flask import request

    inm = request.if_none_match
    return inm.star_tag or inm.contains_weak(etag.removeprefix("W/").strip('"'))


REVALIDATE = "private, no-cache"  # a browser keeps the answer and asks again with its ETag every time


def revalidated(etag_of):
    """A GET answered with a bodiless 304, without running the view, when the caller's If-None-Match
    holds the tag `etag_of()` gives now: a cheap fingerprint of everything the answer depends on (the
    caller, the raw query string, the rows' state), for what phones poll. A 200 carries the tag and
    `Cache-Control: private, no-cache`, so a browser keeps the answer and revalidates it itself.

    Place it above the view's flask-smorest decorators (the caller is already checked before any
    view runs): a 304 skips parsing the query, so only a tag this endpoint gave matches, never `*`,
    and it gives one only with a 200, for a query it accepted."""
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            etag = etag_of()
            inm = request.if_none_match
            if not inm.star_tag and inm.contains_weak(etag):
                resp = Response(status=304)
                _tag(resp, etag)
                return resp

            @after_this_request
            def _tag_200(resp):
                if resp.status_code == 200:
                    _tag(resp, etag)
                return resp

            return fn(*args, **kwargs)

        return wrapper

    return decorator


def _tag(resp, etag: str) -> None:
    resp.headers["ETag"] = f'"{etag}"'
    resp.headers["Cache-Control"] = REVALIDATE
    resp.vary.add("Authorization")  # another caller's token never reuses this answer


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


class UploadRequest(Request):
    """Flask's request, with each multipart file part written straight into the store's scratch
    space and hashed while the parser writes it (werkzeug keeps parts over 500 KB in a temporary
    file of its own, which the upload then read back, hashed and wrote again). A 3.7 MB camera
    photo is received with one write of its bytes instead of three."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return HashedSpool(get_storage().scratch_dir())
