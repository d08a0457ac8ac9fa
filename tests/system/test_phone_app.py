"""The inspectors' phone app in a real browser (Debian's Chromium) against a real gunicorn: visits made
offline survive a reload and reach the server exactly once, photos byte for byte; lost answers are
retried without duplicates; a visit the office sends back comes back as 需处理 and is resubmitted."""

from __future__ import annotations

import hashlib
import os

import pytest
import sqlalchemy as sa

from tests.system.phone import (
    VIEWPORT,
    chromium,
    ensure_built,
    fill_checklist,
    login,
    make_photo,
    start_visit,
    wait_state,
)
from tests.system.server import LiveServer, server_database_url

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ensure_built()
    tmp = tmp_path_factory.mktemp("phone")
    srv = LiveServer(server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp), tmp / "instance")
    srv.prepare()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    path = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    out = {}
    for i in range(4):
        p = d / f"IMG_{i:04d}.jpg"
        out[p] = make_photo(p, i)
    return out


def _unit_name(server) -> str:
    engine = server.engine()
    with engine.connect() as conn:
        name = conn.execute(sa.text("SELECT name FROM units WHERE is_active AND kind = 'window' ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    return name


def _server_state(server, visit_id: str):
    engine = server.engine()
    with engine.connect() as conn:
        visits = conn.execute(sa.text("SELECT id, status FROM visits WHERE id = :v"), {"v": visit_id}).all()
        evidence = conn.execute(sa.text("SELECT id, sha256, item_code FROM evidence WHERE visit_id = :v"),
                                {"v": visit_id}).all()
    engine.dispose()
    return visits, evidence


def _original_hashes(server, username: str, evidence) -> set[str]:
    headers, _ = server.token(username)
    out = set()
    for ev in evidence:
        status, body, _ = server.request("GET", f"/api/v1/evidence/{ev.id}/original", headers=headers)
        assert status == 200
        out.add(hashlib.sha256(body).hexdigest())
    return out


def test_an_offline_visit_with_three_photos_survives_a_reload_and_arrives_once(server, context, photos):
    base = f"http://127.0.0.1:{server.port}"
    page = context.new_page()
    login(page, base, "inspector1")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the page and assets are precached
    context.set_offline(True)
    files = list(photos)
    visit_id = start_visit(page, _unit_name(server), "inspector2")
    fill_checklist(page, {"A1": [files[0]], "A2": [files[1]], "A4": [files[2]]})
    page.click("[data-test=submit]")
    wait_state(page, "待发送")

    page.reload()  # offline: the service worker serves the page, IndexedDB still holds the visit
    page.wait_for_selector("[data-item]")
    wait_state(page, "待发送")
    assert page.locator("[data-test=photo]").count() == 3
    assert page.locator("[data-item=A1] [data-field=note] textarea, [data-item=A1] textarea[data-field=note]") \
        .input_value() == "A1 现场发现的问题"
    assert _server_state(server, visit_id) == ([], [])

    logs = []
    page.on("console", lambda m: logs.append(m.text))
    context.set_offline(False)
    try:
        wait_state(page, "已发送")
    except Exception:
        print(page.inner_text("body")[:600], logs[:20], page.evaluate("navigator.onLine"))
        print((server.instance / "gunicorn.log").read_text()[-3000:])
        raise
    visits, evidence = _server_state(server, visit_id)
    assert [tuple(v) for v in visits] == [(visit_id, "submitted")]
    assert len(evidence) == 3
    want = {photos[f] for f in files[:3]}
    assert {e.sha256 for e in evidence} == want
    assert _original_hashes(server, "inspector1", evidence) == want
    assert {e.item_code for e in evidence} == {"A1", "A2", "A4"}
    assert page.locator("figcaption", has_text="已上传").count() == 3
