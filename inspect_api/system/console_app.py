"""The office console (web/apps/console, built by Vite into its dist/ folder) served from the API's own
origin at /console/, exactly as the phone app is at /m/: hashed assets cached for good, the page itself
never. Without a build, a clear message instead of a 404."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, request, send_from_directory

from inspect_api.auth.access import PUBLIC, roles

blp = Blueprint("console_app", __name__)

PREFIX = "/console"
ASSET_MAX_AGE = 365 * 24 * 3600
MISSING = ("管理端尚未构建 (the office console is not built): 运行 ./scripts/run, 或 "
           "cd web && npm ci && npm run build")


def dist_dir() -> Path:
    return Path(current_app.config["INSPECT_CONSOLE_DIST"])


@blp.get(PREFIX)
@roles(PUBLIC)
def console_root():
    return redirect(f"{PREFIX}/", code=308)


@blp.get(f"{PREFIX}/")
@blp.get(f"{PREFIX}/<path:path>")
@roles(PUBLIC)
def console_app(path: str = ""):
    dist = dist_dir()
    if not (dist / "index.html").is_file():
        return _missing()
    if path.startswith("assets/"):
        # Vite puts a content hash in every asset name: the same URL never changes content.
        resp = send_from_directory(dist, path, max_age=ASSET_MAX_AGE, conditional=True)
        resp.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
        return resp
    if path and (dist / path).is_file() and path != "index.html":
        resp = send_from_directory(dist, path, max_age=0, conditional=True)
        resp.headers["Cache-Control"] = "no-cache"
        return resp
    # any other path is a route of the app (history mode): the page, never cached
    resp = send_from_directory(dist, "index.html", max_age=0, conditional=False)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _missing():
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json":
        resp = jsonify({"error": {"code": "console_not_built", "message": MISSING, "details": {}}})
    else:
        html = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>效能督查管理端</title>'
                f"<p>{MISSING}</p></html>")
        resp = Response(html, mimetype="text/html")
    resp.status_code = 503
    return resp
