"""The phone app's figures in Debian's Chromium against a real gunicorn (issue 18):

- JS + CSS of the first load, raw and gzipped (what a gzip-serving proxy transfers; aim <= 300 KB);
- time to open a full checklist from the visit list (performance.measure "checklist-open"; aim <= 100 ms);
- a backlog of 50 visits with 150 photos sent in one go: wall time and the longest main-thread task.

    .venv/bin/python scripts/bench_phone.py [--visits 50]      -> bench-results/phone.json
    ./scripts/bench --phone (or --only phone)                 -> bench-results/bench.json, key "phone"
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.system.phone import VIEWPORT, chromium, ensure_built, fill_checklist, login, start_visit  # noqa: E402
from tests.system.server import LiveServer, server_database_url  # noqa: E402

LONGTASKS = """
window.__longtasks = [];
try {
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push(e.duration) })
    .observe({ type: 'longtask', buffered: true });
} catch (e) {}
"""

# Copies one stored visit N times with new ids and its photos replaced by new ones, all queued, straight
# into IndexedDB (the app's own tables), as if an inspector had worked offline for days.
SEED = """
async ({ n, photos }) => {
  const open = () => new Promise((ok, ko) => { const r = indexedDB.open('inspect-phone'); r.onsuccess = () => ok(r.result); r.onerror = ko });
  const db = await open();
  const all = (store) => new Promise((ok) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result) });
  const [base] = await all('visits');
  const tx = db.transaction(['visits', 'photos', 'blobs'], 'readwrite');
  for (let i = 0; i < n; i++) {
    const id = photos[i * 3].visitId;
    const v = structuredClone(base);
    Object.assign(v, { id, serverVersion: null, serverStatus: null, code: null, submitRequested: true,
      outbox: { state: 'queued', attempts: 0, nextAttemptAt: null, message: null, code: null } });
    for (const a of Object.values(v.answers)) a.findingId = crypto.randomUUID();
    tx.objectStore('visits').put(v);
    for (const p of photos.slice(i * 3, i * 3 + 3)) {
      const bytes = Uint8Array.from(atob(p.b64), (c) => c.charCodeAt(0)).buffer;
      tx.objectStore('photos').put({ key: `${id}/${p.sha256}`, sha256: p.sha256, visitId: id, itemCode: p.itemCode,
        name: `${p.sha256.slice(0, 8)}.jpg`, mediaType: 'image/jpeg', size: bytes.byteLength, sent: false,
        createdAt: new Date().toISOString(), thumb: null });
      tx.objectStore('blobs').put({ key: `${id}/${p.sha256}`, bytes });
    }
  }
  await new Promise((ok) => { tx.oncomplete = ok });
  return n;
}
"""


def jpeg(seed: int) -> bytes:
    img = Image.effect_noise((1024, 768), 20 + seed % 50).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    return buf.getvalue()


def bench_phone(visits: int = 50) -> dict:
    """The figures as a dict (also called by scripts/bench.py --phone)."""
    ensure_built()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server = LiveServer(server_database_url(None, tmp), tmp / "instance")
        # Server and page both on the real clock, as in use: a page dated by the real day against the
        # tests' instant had every backlog visit refused as "in the future", and Playwright's clock
        # (at_test_instant) fakes `performance`, which the checklist figure is read from.
        server.env.pop("INSPECT_CLOCK_START")
        server.prepare()
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
                ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai",
                                          service_workers="block")
                ctx.add_init_script(LONGTASKS)
                page = ctx.new_page()
                assets: dict[str, bytes] = {}
                page.on("response", lambda r: assets.__setitem__(r.url, r.body())
                        if r.url.endswith((".js", ".css")) and r.ok else None)
                login(page, base, "inspector1")
                raw = sum(len(b) for b in assets.values())
                gz = sum(len(gzip.compress(b, 6)) for b in assets.values())
                out["first_load"] = {"files": sorted(u.rsplit("/", 1)[1] for u in assets), "raw_kb": round(raw / 1024, 1),
                                     "gzip_kb": round(gz / 1024, 1)}

                photo = tmp / "p.jpg"
                photo.write_bytes(jpeg(1))
                visit_id = start_visit(page, "1号窗口", "inspector2")
                fill_checklist(page, {"A1": [photo]})
                opens = []
                for _ in range(7):
                    page.click(".van-nav-bar__left")
                    page.wait_for_selector("[data-test=visit-row]")
                    page.evaluate("performance.clearMeasures('checklist-open')")
                    page.click("[data-test=visit-row]")
                    page.wait_for_selector("[data-item=F3]")
                    page.wait_for_function("performance.getEntriesByName('checklist-open').length > 0")
                    opens.append(page.evaluate("performance.getEntriesByName('checklist-open')[0].duration"))
                out["open_checklist_ms"] = {"items": page.locator("[data-item]").count(),
                                            "median": round(statistics.median(opens), 1), "max": round(max(opens), 1)}

                # the backlog: n visits x 3 photos queued (as after days offline), then the page opens online
                n = visits
                photos = []
                for i in range(n):
                    vid = str(uuid.uuid4())
                    for j, code in enumerate(("A1", "A2", "A4")):
                        data = jpeg(i * 3 + j)
                        photos.append({"visitId": vid, "itemCode": code, "sha256": hashlib.sha256(data).hexdigest(),
                                       "b64": base64.b64encode(data).decode()})
                t0 = time.monotonic()
                page.evaluate(SEED, {"n": n, "photos": photos})
                page.evaluate("(id) => new Promise((ok) => { const r = indexedDB.open('inspect-phone'); r.onsuccess = () => {"
                              " const tx = r.result.transaction('visits', 'readwrite'); tx.objectStore('visits').delete(id);"
                              " tx.oncomplete = ok } })", visit_id)
                page.evaluate("location.hash = '#/today'")
                page.reload()  # the page opens on a backlog, the way a phone back in coverage does
                finished = True
                try:
                    page.wait_for_function(f"document.querySelectorAll('[data-test=state]').length === {n} && "
                                           "[...document.querySelectorAll('[data-test=state]')].every(e => e.textContent.trim() === '已发送')",
                                           timeout=600_000, polling=500)
                except PlaywrightTimeout:  # a very busy machine: report how far it got instead of nothing
                    finished = False
                wall = time.monotonic() - t0
                tasks = page.evaluate("window.__longtasks")
                states = page.evaluate("[...document.querySelectorAll('[data-test=state]')].map(e => e.textContent.trim())")
                sent, refused = states.count("已发送"), states.count("需处理")
                out["backlog"] = {"visits": n, "photos": 3 * n, "seconds": round(wall, 1), "finished": finished,
                                  "visits_sent_on_the_page": sent, "visits_refused": refused,
                                  "longest_task_ms": round(max(tasks), 1) if tasks else 0, "long_tasks": len(tasks)}
                browser.close()
        finally:
            server.stop()
        engine = server.engine()
        with engine.connect() as conn:
            import sqlalchemy as sa

            out["backlog"]["server_visits"] = conn.execute(sa.text("SELECT count(*) FROM visits")).scalar()
            out["backlog"]["server_evidence"] = conn.execute(sa.text("SELECT count(*) FROM evidence")).scalar()
        engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=50)
    args = parser.parse_args()
    out = bench_phone(args.visits)
    (ROOT / "bench-results").mkdir(exist_ok=True)
    (ROOT / "bench-results" / "phone.json").write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
