"""The web apps (web/apps/<name>, built by Vite into their dist/ folders) served from the API's own
origin: the inspectors' phone app at /m/ and the office console at /console/. Hashed assets are cached
for good, the page itself never, so a new build is picked up on the next open; any other path is a
route of the app (history mode) and gets the page. Without a build, a clear message instead of a 404."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, request, send_from_directory

from inspect_api.auth.access import PUBLIC, roles

ASSET_MAX_AGE = 365 * 24 * 3600


def web_app_blueprint(name: str, prefix: str, dist_setting: str, title: str, missing: str) -> Blueprint:
    """A blueprint serving one built web app at `prefix`/ from the folder the setting names."""
    blp = Blueprint(name, __name__)

    @blp.get(prefix, endpoint="root")
    @roles(PUBLIC)
    def root():
        return redirect(f"{prefix}/", code=308)

    @blp.get(f"{prefix}/", endpoint="page")
    @blp.get(f"{prefix}/<path:path>", endpoint="page")
    @roles(PUBLIC)
    def page(path: str = ""):
        dist = Path(current_app.config[dist_setting])
        if not (dist / "index.html").is_file():
            return _missing(name, title, missing)
        if path.startswith("assets/"):
            # Vite puts a content hash in every asset name: the same URL never changes content.
            resp = send_from_directory(dist, path, max_age=ASSET_MAX_AGE, conditional=True)
            resp.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
            return resp
        if path and (dist / path).is_file() and path != "index.html":
            resp = send_from_directory(dist, path, max_age=0, conditional=True)  # sw.js, manifest, icons
            resp.headers["Cache-Control"] = "no-cache"
            return resp
        resp = send_from_directory(dist, "index.html", max_age=0, conditional=False)
        resp.headers["Cache-Control"] = "no-store"  # always the newest build's asset names
        return resp

    return blp


def _missing(name: str, title: str, message: str):
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json":
        resp = jsonify({"error": {"code": f"{name}_not_built", "message": message, "details": {}}})
    else:
        html = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{title}</title><p>{message}</p></html>'
        resp = Response(html, mimetype="text/html")
    resp.status_code = 503
    return resp


BUILD_HINT = "运行 ./scripts/run, 或 cd web && npm ci && npm run build"
phone_blp = web_app_blueprint("phone_app", "/m", "INSPECT_PHONE_DIST", "效能督查",
                              f"手机端尚未构建 (the phone app is not built): {BUILD_HINT}")
console_blp = web_app_blueprint("console", "/console", "INSPECT_CONSOLE_DIST", "效能督查管理端",
                                f"管理端尚未构建 (the office console is not built): {BUILD_HINT}")
