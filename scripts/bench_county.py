"""A county's year on one box (`scripts/bench.py --county-year [--scale 0.05]`).

Build: on SQLite (with `--postgres`, on PostgreSQL), 500 window units, 50 inspectors, 6,000
submitted visits (every checklist item answered, five findings each, written and submitted through
the visit services, so their findings, codes, audit trail and review statuses are the real ones) and
30,000 photos (distinct small JPEGs made with Pillow, stored under their SHA-256 like an upload, rows
inserted in bulk; the derived copies are hard links to the original, so the files exist but take no
space of their own). `--scale` multiplies every count.

Replay, against a real gunicorn on that database, warmed first by a few phones' visits: a peak
morning. Every phone (50 at scale 1) sends two visits as the phone app's outbox sends each one (the
visit, its photos, the visit again to submit, then the unread notifications, revalidated by their ETag),
all phones at once; meanwhile the office pages through the review queue and confirms findings, and a
bulletin renders in a child process as the document worker does it. Reported: p50/p99 of every phone
and office request kind (aim: every phone kind's p99 < 300 ms), the phones' throughput, mean time and
requests in flight (Little's law), the CPU each part used in the morning (each app worker, the media
worker, the phones, the render, the whole machine), the bulletin's time, the build's time and the disk
used, and the counts stored against those requested. Several phone counts replay one morning each on
the same county, fewest first.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FULL = {"units": 500, "inspectors": 50, "visits": 6000, "photos": 30000, "phones": 50}
VISITS_PER_PHONE = 2
TICK_S = 3.0  # the phone app's sender runs every 3 s (web/apps/phone/src/sender.ts)
NOTICES_EVERY_S = 30.0  # and reads the notices after a send, otherwise at most this often (NOTICES_EVERY_MS)
PHOTOS_PER_PHONE_VISIT = 3
WARM_CONNECTIONS = 8  # the server's request threads by default on 2 cores (4 workers x 2)
CHECKLIST = ("sanxiang_covert", 1)


def _print(message: str) -> None:
    print(message, flush=True)


def counts_for(scale: float) -> dict:
    n = {k: max(2, round(v * scale)) for k, v in FULL.items()}
    n["photos"] = max(n["photos"], n["visits"])
    return n


def _percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else None


def _summary(latencies: list[float], errors: list[str]) -> dict:
    return {"requests": len(latencies), "p50_ms": round(_percentile(latencies, 50) * 1000, 1) if latencies else None,
            "p99_ms": round(_percentile(latencies, 99) * 1000, 1) if latencies else None,
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "errors": len(errors), "first_error": errors[0] if errors else None}


def small_jpeg(i: int, size=(160, 120)) -> bytes:
    """A real JPEG whose bytes differ for every i."""
    from PIL import Image, ImageDraw

    rnd = random.Random(i)
    img = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.rectangle([x, y, x + rnd.randrange(5, 60), y + rnd.randrange(5, 40)],
                       fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw.text((4, 4), f"#{i}", fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


CAMERA_PX = (4000, 3000)
CAMERA_POOL = 3  # distinct scenes; each photo sent is one of them with bytes of its own (`_unique`)


def camera_jpeg(seed: int, size=CAMERA_PX) -> bytes:
    """A JPEG like a phone camera's: 12 megapixels with sensor-like noise over shapes and gradients,
    quality 90, about 3.7 MB (the phone app sends the camera's file byte for byte), where the default
    1280 x 960 pictures of flat shapes are a few tens of KB."""
    from PIL import Image, ImageChops, ImageDraw

    rnd = random.Random(seed)
    img = Image.merge("RGB", [Image.linear_gradient("L").rotate(rnd.choice([0, 90, 180, 270])).resize(size)
                              for _ in range(3)])
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.rectangle([x, y, x + rnd.randrange(50, 900), y + rnd.randrange(50, 700)],
                       fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    noise = Image.merge("RGB", [Image.effect_noise(size, 10) for _ in range(3)])
    out = io.BytesIO()
    ImageChops.add(img, noise, scale=1.0, offset=-128).save(out, "JPEG", quality=90)
    return out.getvalue()


def _unique(jpeg: bytes, tag: str) -> bytes:
    """The same picture with bytes of its own (a comment segment after the start marker): another
    SHA-256, the same decoding work."""
    text = tag.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def _database_bytes(url: str, tmp: Path) -> int:
    """The database's size on disk: SQLite's files (with the WAL), or PostgreSQL's own count."""
    import sqlalchemy as sa

    if not url.startswith("postgresql"):
        return sum(p.stat().st_size for p in tmp.glob("server.db*"))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT pg_database_size(current_database())"))
    finally:
        engine.dispose()


def _disk_bytes(path: Path) -> int:
    """Bytes on disk under path, each inode once (the derived copies are hard links)."""
    seen, total = set(), 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


# --- build ------------------------------------------------------------------------------------------

def _table_counts() -> dict:
    import sqlalchemy as sa

    from inspect_api.auth.models import User
    from inspect_api.db import db
    from inspect_api.org.models import Unit
    from inspect_api.visits.models import Evidence, Finding, Visit

    def count(stmt):
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))

    return {"units": count(sa.select(Unit.id).where(Unit.kind == "window")),
            "inspectors": count(sa.select(User.id).where(User.role == "inspector")),
            "visits": count(sa.select(Visit.id).where(Visit.status == "submitted")),
            "photos": count(sa.select(Evidence.id)),
            "findings": count(sa.select(Finding.id).where(Finding.visit_id.is_not(None)))}


def build(server, n: dict, seed: int = 1, log=_print) -> dict:
    """Fill the server's (prepared) database with a county's year, in this process."""
    import sqlalchemy as sa

    from inspect_api.app import create_app
    from inspect_api.auth import services as auth
    from inspect_api.auth.models import User
    from inspect_api.checklists import services as checklists
    from inspect_api.config import DEMO_PASSWORD, Config
    from inspect_api.core import clock
    from inspect_api.core.storage import get_storage
    from inspect_api.db import db
    from inspect_api.org import services as org
    from inspect_api.org.models import Unit
    from inspect_api.visits import services as visits
    from inspect_api.visits.models import Evidence, Visit
    from inspect_api.visits.schemas import VisitContentSchema
    from tests.system.workload import visit_payload

    app = create_app(Config(env={**server.env, "INSPECT_ACCESS_LOG": "0"}))
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    with app.app_context():
        before = _table_counts()
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        hall = db.session.scalar(sa.select(Unit).where(Unit.kind == "hall").order_by(Unit.id))
        units = [org.create_unit({"code": f"CY-W{i:04d}", "name": f"清川县政务服务中心{i + 1}号窗口", "kind": "window",
                                  "parent_id": hall.id, "tags": ["窗口单位"]}, actor=admin).id for i in range(n["units"])]
        inspectors = [auth.create_user(username=f"cy-insp{i:03d}", password=DEMO_PASSWORD, full_name=f"督查员{i + 1}",
                                       role="inspector", actor=admin, check_password=False)
                      for i in range(n["inspectors"])]
        db.session.commit()
        log(f"  {len(units)} units, {len(inspectors)} inspectors in {time.perf_counter() - t0:.1f} s")
        template = json.loads(json.dumps(checklists.pinned_template(*CHECKLIST)[0]))
        storage = get_storage()
        schema = VisitContentSchema()
        start = clock.now()
        photo_no = 0
        per_visit = [n["photos"] // n["visits"] + (1 if i < n["photos"] % n["visits"] else 0) for i in range(n["visits"])]
        for v in range(n["visits"]):
            a, b = rnd.sample(range(len(inspectors)), 2)
            actor, partner = inspectors[a], inspectors[b]
            payload = visit_payload(template, unit_id=rnd.choice(units), team=[actor.id, partner.id],
                                    findings=5, seed=seed * 1_000_000 + v)
            began = start - timedelta(days=1 + v * 330 // n["visits"], hours=rnd.randrange(0, 6))
            payload.update(started_at=began.isoformat(), ended_at=(began + timedelta(minutes=35)).isoformat(),
                           device_time=(began + timedelta(minutes=36)).isoformat())
            for f in payload["findings"]:
                f["observed_at"] = (began + timedelta(minutes=10)).isoformat()
            vid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            visit = visits.upsert(vid, schema.load(payload), actor, if_match=None, base_version_given=False).visit
            db.session.commit()
            finding_ids = [str(f["id"]) for f in payload["findings"]]
            rows = []
            for k in range(per_visit[v]):
                data = small_jpeg(seed * 10_000_000 + photo_no)
                photo_no += 1
                sha = hashlib.sha256(data).hexdigest()
                keys = visits._evidence_keys(sha, "jpg", visit.code)
                original = storage.path(keys["original_key"])
                original.parent.mkdir(parents=True, exist_ok=True)
                original.write_bytes(data)
                for key in ("display_key", "thumbnail_key", "watermarked_key"):
                    copy = storage.path(keys[key])
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    if not copy.exists():
                        os.link(original, copy)
                rows.append({"id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "visit_id": vid,
                             "finding_id": finding_ids[k % len(finding_ids)], "item_code": None, "sha256": sha,
                             "size_bytes": len(data), "media_type": "image/jpeg", "width": 160, "height": 120,
                             "captured_at": began + timedelta(minutes=10), "gps_lat": 30.1, "gps_lng": 104.2,
                             "original_filename": f"IMG_{photo_no:06d}.jpg", "uploaded_by": actor.id,
                             "uploaded_at": began + timedelta(minutes=40), **keys,
                             "derivatives": "ready", "derivatives_attempts": 0})  # copies linked above
            db.session.execute(Evidence.__table__.insert(), rows)
            visits.submit(db.session.get(Visit, vid), actor)
            db.session.commit()
            db.session.expunge_all()  # the users stay usable detached (nothing expires on commit)
            if (v + 1) % max(1, n["visits"] // 10) == 0:
                log(f"  {v + 1} visits, {photo_no} photos, {time.perf_counter() - t0:.0f} s")
        after = _table_counts()
        db.session.remove()
        db.engine.dispose()
    stored = {k: after[k] - before[k] for k in ("units", "inspectors", "visits", "photos", "findings")}
    return {"seconds": round(time.perf_counter() - t0, 1), "stored": stored,
            "usernames": [f"cy-insp{i:03d}" for i in range(n["inspectors"])]}


# --- replay -----------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float | None:
    """A process's CPU so far (user + system seconds, from /proc); None once it is gone."""
    try:
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(after_name[11]) + int(after_name[12])) / _TICK


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _machine_busy_s(cpus: set[int] | None = None) -> float:
    """CPU time every core of the machine (or these cores) spent on anything but idling so far
    (/proc/stat)."""
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if cpus is None and name == "cpu" or cpus is not None and name[3:].isdigit() and int(name[3:]) in cpus:
            fields = [int(v) for v in values]
            busy += sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait; guests are in user
    return busy / _TICK


def _descendants(pid: int) -> list[int]:
    found = _children(pid)
    for child in list(found):
        found += _descendants(child)
    return found


def _threads(*pids: int | None) -> list[int]:
    """The thread ids of these processes and of their descendants (those gone meanwhile left out)."""
    tids = []
    for proc in [p for pid in pids if pid for p in (pid, *_descendants(pid))]:
        with contextlib.suppress(OSError):
            tids += [int(t) for t in os.listdir(f"/proc/{proc}/task")]
    return tids


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of a process and of its descendants onto these cores (threads and processes they
    start later inherit it)."""
    for tid in _threads(pid):
        with contextlib.suppress(OSError):  # gone meanwhile
            os.sched_setaffinity(tid, cpus)


class CpuMeter:
    """CPU each part of the morning used: the app server's processes (each worker apart), the media
    worker, and the whole machine (the rest is the bulletin's render, the phones and the system), or
    with `cpus` only the cores the server was kept on (the rest is then the render's and the system's)."""

    def __init__(self, server_pid: int, media_pid: int | None, cpus: set[int] | None = None):
        self.server_pid, self.media_pid, self.cpus = server_pid, media_pid, cpus

    def _read(self) -> dict:
        app = {pid: _cpu_s(pid) for pid in [self.server_pid, *_children(self.server_pid)]}
        return {"app": app, "media": _cpu_s(self.media_pid) if self.media_pid else None,
                "machine": _machine_busy_s(self.cpus)}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict:
        after = self._read()
        spent = {pid: after["app"][pid] - self.before["app"].get(pid, 0.0)
                 for pid in after["app"] if after["app"][pid] is not None}
        workers = sorted((v for pid, v in spent.items() if pid != self.server_pid), reverse=True)
        return {"app_s": round(sum(spent.values()), 2), "app_workers_s": [round(v, 2) for v in workers],
                "app_workers_restarted": sum(pid not in self.before["app"] for pid in after["app"]),
                "media_worker_s": round(after["media"] - self.before["media"], 2)
                if after["media"] is not None and self.before["media"] is not None else None,
                "machine_busy_s": round(after["machine"] - self.before["machine"], 2),
                **({"server_threads_elsewhere": self._threads_elsewhere()} if self.cpus else {})}

    def _threads_elsewhere(self) -> int:
        """The server's and the media worker's threads, those started in the morning too, that may
        run off the cores they were kept on."""
        count = 0
        for tid in _threads(self.server_pid, self.media_pid):
            with contextlib.suppress(OSError):  # gone meanwhile
                count += not os.sched_getaffinity(tid) <= self.cpus
        return count


def _warm(_):
    """A phone process ready before the morning starts (the interpreter and what the phones use loaded)."""
    import http.client  # noqa: F401

    import tests.system.workload  # noqa: F401
    return os.getpid()


def _phone(args):
    """One process of phones: each thread is one inspector's phone, sending what the phone app's
    outbox sends (web/apps/phone/src/sender.ts) for each visit it holds: the visit through
    `POST /sync`, its photos, the visit again with `submit` (whose answer gives the visit's number),
    then the unread notifications, with the ETag of the last answer as the browser sends it (an
    unchanged list is a 304); a 3 s tick come during the run makes it go round once more, which reads
    them again only once 30 s have passed since the last read. Photos
    and payloads are made before `start_at` (a phone takes its photos in the field, on its own
    processor), so the morning's clock times only the exchanges."""
    import http.client

    from tests.system.workload import multipart, visit_payload

    port, phones, template, units, seed, start_at, visits_per_phone, camera = args
    kinds: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}

    def call(conn, kind, method, path, body, headers, ok=(200, 201), tag=None):
        """`tag`: a one-item list holding the ETag to revalidate with (the browser's cache), kept up
        to date from the answers."""
        if tag is not None and tag[0]:
            headers = {**headers, "If-None-Match": tag[0]}
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as exc:
            errors.setdefault(kind, []).append(repr(exc))
            return None
        kinds.setdefault(kind, []).append(time.perf_counter() - t0)
        if resp.status not in ok:
            errors.setdefault(kind, []).append(f"{resp.status} {raw[:200]!r}")
            return None
        if tag is not None:
            tag[0] = resp.getheader("ETag") or tag[0]
        return json.loads(raw) if raw else None

    def prepare(phone_no, me, partner):
        rnd = random.Random(seed * 1000 + phone_no)
        visits = []
        for v in range(visits_per_phone):
            payload = visit_payload(template, unit_id=rnd.choice(units), team=[me, partner], findings=3,
                                    seed=seed * 100_000 + phone_no * 100 + v)
            photos = [multipart({"finding_id": payload["findings"][k % 3]["id"]}, "file", "p.jpg",
                                _photo(camera, seed * 50_000_000 + phone_no * 1000 + v * 10 + k),
                                "image/jpeg") for k in range(PHOTOS_PER_PHONE_VISIT)]
            visits.append((str(uuid.uuid4()), payload, photos))
        return visits

    def run(token, visits):
        # each phone's app started at its own moment: its ticks fall at its own phase
        t_start, ticks_seen = time.monotonic() - random.Random(token).uniform(0, TICK_S), [0]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        auth = {"Authorization": f"Bearer {token}"}
        as_json = {**auth, "Content-Type": "application/json"}
        notices_tag, notices_read = [None], [0.0]

        def read_notices():
            notices_read[0] = time.monotonic()
            call(conn, "notifications", "GET", "/api/v1/me/notifications?unread=true", None, auth,
                 ok=(200, 304), tag=notices_tag)
        for vid, payload, photos in visits:
            out = call(conn, "sync", "POST", "/api/v1/sync",
                       json.dumps({"visits": [{**payload, "id": vid}]}).encode(), as_json)
            item = out["results"][0] if out else {}
            if out and item["status"] != 201:  # the batch answers 200; each visit has its own status
                errors.setdefault("sync", []).append(f"visit {item['status']} {item['error']}")
            for body, ctype in photos:
                call(conn, "evidence", "POST", f"/api/v1/visits/{vid}/evidence", body,
                     {**auth, "Content-Type": ctype})
            out = call(conn, "sync_submit", "POST", "/api/v1/sync", json.dumps(
                {"visits": [{**payload, "id": vid, "base_version": item.get("version"), "submit": True}]}).encode(),
                as_json)
            if out and out["results"][0]["visit_status"] != "submitted":
                errors.setdefault("sync_submit", []).append(f"not submitted: {out['results'][0]['error']}")
            # the run that sent ends by reading the unread notices; the app's 3 s tick, come during the
            # run, has it go round once more (nothing left to send), which reads them only when their
            # last read is NOTICES_EVERY_S old
            read_notices()
            if int((time.monotonic() - t_start) / TICK_S) > ticks_seen[0]:  # a tick came
                ticks_seen[0] = int((time.monotonic() - t_start) / TICK_S)
                if time.monotonic() - notices_read[0] >= NOTICES_EVERY_S:
                    read_notices()
        conn.close()

    ready = [(token, prepare(no, me, partner)) for no, token, me, partner in phones]
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = time.process_time()
    threads = [threading.Thread(target=run, args=p) for p in ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return kinds, errors, time.process_time() - cpu0


def _photo(camera: list[bytes] | None, i: int) -> bytes:
    """Photo number i of a morning: a small picture of its own, or one of the camera pool's scenes."""
    return _unique(camera[i % len(camera)], f"photo {i}") if camera else small_jpeg(i, (1280, 960))


def _office(port: int, token: str, stop: threading.Event, out: dict) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    auth = {"Authorization": f"Bearer {token}"}
    kinds, errors = out.setdefault("kinds", {}), out.setdefault("errors", {})
    page = 1
    while not stop.is_set():
        t0 = time.perf_counter()
        conn.request("GET", f"/api/v1/review/findings?page={page}&page_size=50", headers=auth)
        resp = conn.getresponse()
        raw = resp.read()
        kinds.setdefault("review_page", []).append(time.perf_counter() - t0)
        if resp.status == 422 and page > 1:  # past the last page: start again
            page = 1
            continue
        if resp.status != 200:
            errors.setdefault("review_page", []).append(f"{resp.status} {raw[:200]!r}")
            break
        rows = json.loads(raw)
        page = page + 1 if page < 20 and rows else 1
        for row in rows[:2]:
            t0 = time.perf_counter()
            conn.request("POST", f"/api/v1/review/findings/{row['id']}/decision",
                         body=json.dumps({"action": "confirm"}).encode(),
                         headers={**auth, "Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            kinds.setdefault("review_confirm", []).append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.setdefault("review_confirm", []).append(f"{resp.status} {raw[:200]!r}")
    conn.close()


def _bulletin_context(cases: int) -> tuple[dict, Path]:
    """The bulletin's context with its cases' photos on disk, made before the morning: the document
    worker reads a bulletin's photos from storage, it does not make them."""
    from inspect_api.documents import samples

    tmp = Path(tempfile.mkdtemp(prefix="bench-county-doc-"))
    ctx = samples.bulletin_context(tmp)
    ctx["typical_cases"] = samples.many_cases(cases, tmp, photos_per_case=1, photo_size=(600, 450))
    return ctx, tmp


def _bulletin(ctx: dict, tmp: Path, out: dict, cpus: set[int] | None = None) -> None:
    from inspect_api.documents.worker import render_in_child

    if cpus:  # the render worker runs on the server's box: this thread's child inherits its cores
        os.sched_setaffinity(0, cpus)
    cases = len(ctx["typical_cases"])
    t0 = time.perf_counter()
    # as the document worker runs it: the render's process at the workers' lower priority
    pdf, meta = render_in_child(ctx, tmp, memory_mb=3072, timeout_s=900,
                                nice=int(os.environ.get("INSPECT_WORKER_NICE", "10")))
    out.update({"cases": cases, "wall_s": round(time.perf_counter() - t0, 2), "pages": meta["page_count"],
                "pdf_mb": round(len(pdf) / 1e6, 2), "peak_rss_mb": round(meta["peak_rss_mb"]),
                "cpu_s": round(meta["cpu_s"], 2)})


def replay(server, n: dict, usernames: list[str], seed: int = 1, processes: int = 4, bulletin_cases: int = 30,
           media_pid: int | None = None, camera: list[bytes] | None = None,
           server_cpus: set[int] | None = None) -> dict:
    """`camera`: the phones send 12-megapixel camera JPEGs made from these scenes (`camera_jpeg`)
    instead of small pictures. `server_cpus`: the cores the server, its media worker and the render
    are kept on (the machine's busy time is then theirs; this process and its phones are elsewhere)."""
    headers, _ = server.token("inspector1")
    _, units, _ = server.request("GET", "/api/v1/org/units?kind=window&page_size=500", headers=headers)
    _, template, _ = server.request("GET", f"/api/v1/checklists/{CHECKLIST[0]}/versions/{CHECKLIST[1]}",
                                    headers=headers)
    unit_ids = [u["id"] for u in units]
    phones = []
    for i in range(n["phones"]):
        status, body, _ = server.request("POST", "/api/v1/auth/token",
                                         {"username": usernames[i % len(usernames)], "password": "inspect-demo"})
        assert status == 200, body
        phones.append((i, body["access_token"], body["user"]["id"]))
    ids = [p[2] for p in phones]

    def with_partner(some):  # the next phone's inspector (two on every team)
        return [(no, token, me, next(x for x in ids[no + 1:] + ids[:no] if x != me) if len(set(ids)) > 1 else me)
                for no, token, me in some]

    jobs = []
    processes = max(1, min(processes, len(phones)))
    for p in range(processes):
        jobs.append((server.port, with_partner(phones[p::processes]), template, unit_ids, seed + p))
    office_token = server.request("POST", "/api/v1/auth/token",
                                  {"username": "office1", "password": "inspect-demo"})[1]["access_token"]
    office, bulletin, stop = {}, {}, threading.Event()
    office_thread = threading.Thread(target=_office, args=(server.port, office_token, stop, office))
    bulletin_thread = threading.Thread(target=_bulletin,
                                       args=(*_bulletin_context(bulletin_cases), bulletin, server_cpus))
    # A peak morning meets a server that has been up: every worker has served each kind of request
    # (their first ones compile statements and parse the checklist). A few phones' visits first, their
    # photos' copies made, then the morning.
    warm = (server.port, with_partner(phones[:2 * WARM_CONNECTIONS]), template, unit_ids, seed + 10_000,
            time.time(), 1, camera)
    _, warm_errors, _ = _phone(warm)
    if any(warm_errors.values()):
        raise RuntimeError(f"the warm-up failed: {warm_errors}")
    _wait_for_copies(server)
    with mp.get_context("spawn").Pool(processes) as pool:
        # the phones' processes started and their photos made before the morning's clock starts
        pool.map(_warm, range(processes))
        start_in = 2.0 + 0.05 * len(phones) / processes
        start_at = time.time() + start_in
        pending = pool.map_async(_phone, [(*job, start_at, VISITS_PER_PHONE, camera) for job in jobs])
        meter = CpuMeter(server.proc.pid, media_pid, server_cpus)
        time.sleep(max(0.0, start_at - time.time()))
        meter.start()
        t0 = time.perf_counter()
        office_thread.start()
        bulletin_thread.start()
        parts = pending.get()
    phones_s = time.perf_counter() - t0
    cpu = meter.stop()
    stop.set()
    office_thread.join()
    bulletin_thread.join()
    kinds: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}
    for k, e, phones_cpu in parts:
        for name, values in k.items():
            kinds.setdefault(name, []).extend(values)
        for name, values in e.items():
            errors.setdefault(name, []).extend(values)
        cpu["phones_s"] = round(cpu.get("phones_s", 0) + phones_cpu, 2)
    cpu["cores"] = len(server_cpus) if server_cpus else len(os.sched_getaffinity(0))
    cpu["cores_s"] = round(cpu["cores"] * phones_s, 2)  # what the cores could give in the morning
    phone = {name: _summary(values, errors.get(name, [])) for name, values in sorted(kinds.items())}
    every = [v for values in kinds.values() for v in values]
    return {"phones": len(phones), "visits_per_phone": VISITS_PER_PHONE, "photos_per_visit": PHOTOS_PER_PHONE_VISIT,
            "phone_photo_px": list(CAMERA_PX) if camera else [1280, 960],
            "phone_photo_kb": round(sum(map(len, camera)) / len(camera) / 1000) if camera else None,
            "phones_wall_s": round(phones_s, 2), "phone_kinds": phone,
            "phone_p99_max_ms": max((s["p99_ms"] or 0) for s in phone.values()) if phone else None,
            # Little's law: a phone sends its next request when the last is answered, so the requests
            # in flight (throughput x mean time) stay near the number of phones, and the mean time a
            # request takes is near phones / throughput: only a faster server lowers it
            "phone_requests": len(every), "requests_per_s": round(len(every) / phones_s, 1),
            "mean_ms": round(1000 * sum(every) / len(every), 1) if every else None,
            "in_flight": round(sum(every) / phones_s, 1), "cpu": cpu,
            "office_kinds": {name: _summary(values, office.get("errors", {}).get(name, []))
                             for name, values in sorted(office.get("kinds", {}).items())},
            "bulletin": bulletin}


def _wait_for_copies(server, timeout_s: float = 120) -> None:
    import sqlalchemy as sa

    engine = server.engine()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if not conn.scalar(sa.text("SELECT count(*) FROM evidence WHERE derivatives = 'pending'")):
                    return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise RuntimeError("the media worker did not make the warm-up photos' copies")


def _drain_media(server, log, timeout_s: float = 600) -> dict:
    """After the morning: how many photos still waited for their copies, and how long the media
    worker took to make them."""
    import sqlalchemy as sa

    engine = server.engine()
    pending = sa.text("SELECT count(*) FROM evidence WHERE derivatives = 'pending'")
    failed = sa.text("SELECT count(*) FROM evidence WHERE derivatives = 'failed'")
    t0 = time.perf_counter()
    with engine.connect() as conn:
        at_end = left = conn.scalar(pending)
    while left and time.perf_counter() - t0 < timeout_s:
        time.sleep(0.5)
        with engine.connect() as conn:
            left = conn.scalar(pending)
    with engine.connect() as conn:
        n_failed = conn.scalar(failed)
    engine.dispose()
    out = {"pending_when_phones_done": at_end, "drained_s": round(time.perf_counter() - t0, 1),
           "still_pending": left, "failed": n_failed}
    log(f"  media worker: {at_end} photos waited for copies when the phones were done; {out}")
    return out


SWEEP_KEYS = ("phones", "phones_wall_s", "phone_requests", "requests_per_s", "mean_ms", "in_flight",
              "phone_p99_max_ms", "cpu")


def bench_county_year(scale: float = 1.0, seed: int = 1, keep: Path | None = None, log=_print,
                      phones: list[int] | None = None, camera_photos: bool = False,
                      server_cores: int | None = None, database_url: str | None = None) -> dict:
    """`phones`: the mornings to replay, one after another on the same county, each with that many
    phones (default: 50 x scale); a small county's phones share its inspectors' accounts.
    `camera_photos`: the phones send 12-megapixel camera-like JPEGs (about 3.7 MB) instead of
    1280 x 960 pictures of a few tens of KB (the year's stored photos stay small either way).
    `server_cores`: the server, its media worker and the bulletin's render on that many of this
    process's cores, the phones and the office on the others (what the box's cores bound, without the
    phones' own CPU taking from them); the default shares every core. `database_url`: a PostgreSQL
    database to build the county in (a `_server` database beside it, dropped and made again) instead
    of SQLite beside the photos."""
    from inspect_api.gunicorn_conf import DEFAULT_THREADS, DEFAULT_WORKERS
    from tests.system.server import LiveServer, server_database_url

    n = counts_for(scale)
    mornings = sorted(set(phones or [n["phones"]]))
    if mornings[0] < 2:
        raise ValueError("a morning needs two phones at least: each visit's team is two of them")
    cores = sorted(os.sched_getaffinity(0))
    if server_cores is not None and not 1 <= server_cores < len(cores):
        raise ValueError(f"--server-cores takes 1 to {len(cores) - 1} of the {len(cores)} cores here: "
                         "the phones need one of their own")
    server_cpus = set(cores[:server_cores]) if server_cores else None
    n["phones"] = mornings[-1]
    tmp = keep or Path(tempfile.mkdtemp(prefix="inspect-county-"))
    url = server_database_url(database_url, tmp)
    # the server in this session, with the media worker and the bulletin's render started from here,
    # as ./scripts/run starts them (their lower priority holds only within one session)
    server = LiveServer(url, tmp / "instance", workers=DEFAULT_WORKERS, env={"INSPECT_ACCESS_LOG": "0"},
                        own_session=False)
    t0 = time.perf_counter()
    server.prepare()
    prepared = time.perf_counter() - t0
    log(f"county year at scale {scale}: {n}; gunicorn {DEFAULT_WORKERS} workers x {DEFAULT_THREADS} threads")
    built = build(server, n, seed, log=log)
    disk = {"database_mb": round(_database_bytes(url, tmp) / 1e6, 1),
            "evidence_mb": round(_disk_bytes(tmp / "instance" / "evidence") / 1e6, 1)}
    disk["total_mb"] = round(disk["database_mb"] + disk["evidence_mb"], 1)
    log(f"  built in {built['seconds']} s; disk {disk}")
    camera = [camera_jpeg(seed * 100 + k) for k in range(CAMERA_POOL)] if camera_photos else None
    if camera:
        log(f"  the phones send 12 MP camera JPEGs ({sum(map(len, camera)) / len(camera) / 1e6:.1f} MB each)")
    server.start()
    # as ./scripts/run deploys it: one media worker beside the server makes the photos' copies
    worker = subprocess.Popen([str(Path(sys.executable).parent / "inspect-api"), "media", "worker"],
                              env=server.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if server_cpus:
        pin(server.proc.pid, server_cpus)
        pin(worker.pid, server_cpus)
        os.sched_setaffinity(0, set(cores) - server_cpus)  # the phones' processes and the office inherit it
        log(f"  the server, media worker and render on cores {sorted(server_cpus)}; "
            f"the phones and the office on {sorted(set(cores) - server_cpus)}")
    sweep = []
    try:
        for i, count in enumerate(mornings):
            log(f"  replay: {count} phones x {VISITS_PER_PHONE} visits x {PHOTOS_PER_PHONE_VISIT} photos, "
                "office reviewing, a bulletin rendering, a media worker making copies ...")
            replayed = replay(server, {**n, "phones": count}, built["usernames"], seed + 1000 * i,
                              bulletin_cases=max(5, round(300 * scale)), media_pid=worker.pid, camera=camera,
                              server_cpus=server_cpus)
            replayed["media_worker"] = _drain_media(server, log)
            sweep.append({k: replayed[k] for k in SWEEP_KEYS})
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.stop()
        if server_cpus:
            os.sched_setaffinity(0, set(cores))
    requested = {k: n[k] for k in ("units", "inspectors", "visits", "photos")}
    return {"scale": scale, "database": "postgresql" if url.startswith("postgresql") else "sqlite",
            "requested": requested, "phones": n["phones"],
            "stored": built["stored"], "counts_match": all(built["stored"][k] == v for k, v in requested.items()),
            "server_cores": sorted(server_cpus) if server_cpus else None,
            "build_s": round(prepared + built["seconds"], 1), "disk": disk, "replay": replayed, "sweep": sweep,
            "aim_phone_p99_ms": 300, "directory": str(tmp)}
