"""The render worker (`inspect-api documents worker`): takes queued render jobs one at a time and renders
each in a child process of its own, with a memory limit and a time limit.

WeasyPrint keeps the whole document and its decoded images in memory and does not give it back
(STACK.md), so the web workers never render, and the worker's own memory stays flat: the child exits
after one document. The child never touches the database: the parent builds the context, the child
turns it into PDF bytes in a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import pickle
import resource
import tempfile
import threading
import time
import traceback
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from inspect_api.audit import services as audit
from inspect_api.core import clock, worker_loop
from inspect_api.core.storage import get_storage
from inspect_api.db import db
from inspect_api.documents import context as ctxmod
from inspect_api.documents.models import Document, DocumentUnit, RenderJob
from inspect_api.org.recipients import liaison_ids

log = logging.getLogger(__name__)


def _child(ctx_path: str, out_path: str, meta_path: str, asset_root: str, memory_mb: int) -> None:
    """Runs in the child process: render one document, write the PDF and what it cost."""
    meta: dict = {}
    try:
        meta["nice"] = worker_loop.lower_priority(0)  # started at its priority (`render_in_child`)
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from inspect_api.documents.render import render

        with open(ctx_path, "rb") as fh:
            ctx = pickle.load(fh)
        t0 = time.perf_counter()
        result = render(ctx, asset_root=asset_root)
        Path(out_path).write_bytes(result.pdf)
        meta.update(page_count=result.page_count, seconds=time.perf_counter() - t0,
                    refused=list(result.refused_urls))
    except MemoryError:
        meta["error"] = "内存超出限制 (memory limit reached)"
    except Exception as exc:  # reported to the parent, which records it on the job
        meta.update(error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc(limit=5))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    meta["peak_rss_mb"] = usage.ru_maxrss / 1024
    meta["cpu_s"] = usage.ru_utime + usage.ru_stime  # its start-up included
    Path(meta_path).write_text(json.dumps(meta))


def render_in_child(ctx: dict, asset_root: Path, *, memory_mb: int, timeout_s: int,
                    nice: int = 0) -> tuple[bytes, dict]:
    """Render in a fresh process, `nice` steps below this one's priority. Returns (pdf, meta) or
    raises RuntimeError saying why not."""
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        paths = {k: str(Path(tmp) / k) for k in ("ctx.pickle", "out.pdf", "meta.json")}
        with open(paths["ctx.pickle"], "wb") as fh:
            pickle.dump(ctx, fh)
        proc = mp.get_context("spawn").Process(
            target=_child, args=(paths["ctx.pickle"], paths["out.pdf"], paths["meta.json"], str(asset_root),
                                 memory_mb), daemon=True)
        # Started from a thread at the lower priority, which the child inherits: its start-up (a new
        # interpreter importing the app and WeasyPrint, about a second of CPU) yields to the app
        # servers too, not only the render after it.
        failed: list[BaseException] = []

        def start() -> None:
            try:
                worker_loop.lower_priority(nice)
                proc.start()
            except BaseException as exc:  # handed to this thread
                failed.append(exc)

        starter = threading.Thread(target=start, name="render-start")
        starter.start()
        starter.join()
        if failed or proc.pid is None:
            raise RuntimeError(f"生成进程未能启动 (render process did not start): {failed[:1]}")
        proc.join(timeout_s)
        if proc.is_alive():
            proc.kill()
            proc.join()
            raise RuntimeError(f"生成超时 (timed out after {timeout_s} s)")
        meta_file = Path(paths["meta.json"])
        if not meta_file.exists():
            raise RuntimeError(f"生成进程异常退出 (render process died, exit code {proc.exitcode})")
        meta = json.loads(meta_file.read_text())
        if "error" in meta:
            raise RuntimeError(meta["error"])
        return Path(paths["out.pdf"]).read_bytes(), meta


def _asset_dir() -> Path:
    return Path(current_app.config["INSPECT_RENDER_ASSET_DIR"])


def claim_next() -> int | None:
    """Take the oldest queued job (or one whose worker died), mark it rendering, commit."""
    stale = clock.now() - timedelta(seconds=2 * current_app.config["INSPECT_RENDER_TIMEOUT_S"] + 60)
    stmt = (sa.select(RenderJob).where(sa.or_(RenderJob.status == "queued",
                                              sa.and_(RenderJob.status == "rendering",
                                                      RenderJob.started_at < stale)))
            .order_by(RenderJob.requested_at, RenderJob.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = db.session.scalar(stmt)
    if job is None:
        db.session.rollback()
        return None
    job.status, job.started_at, job.attempts = "rendering", clock.now(), job.attempts + 1
    db.session.commit()
    return job.id


def process(job_id: int) -> str:
    """Render one claimed job and record the outcome. Returns the job's final status."""
    cfg = current_app.config
    job = db.session.get(RenderJob, job_id)
    doc = db.session.get(Document, job.document_id)
    try:
        if job.purpose == "final":
            if doc.status == "issued":  # already done by an earlier attempt: never render again
                job.status, job.finished_at = "done", clock.now()
                db.session.commit()
                return job.status
            ctx = ctxmod.thaw(doc.issued_context)
        else:
            from inspect_api.documents.services import policy

            ctx = ctxmod.build(doc, policy(), today=clock.today())
        ctx = ctxmod.resolve_photos(ctx, _asset_dir())
        db.session.rollback()  # nothing is held while the child renders
        pdf, meta = render_in_child(ctx, _asset_dir(), memory_mb=cfg["INSPECT_RENDER_MEMORY_MB"],
                                    timeout_s=cfg["INSPECT_RENDER_TIMEOUT_S"], nice=cfg["INSPECT_WORKER_NICE"])
    except Exception as exc:
        db.session.rollback()
        job = db.session.get(RenderJob, job_id)
        job.status, job.finished_at, job.error = "failed", clock.now(), str(exc)[:2000]
        db.session.commit()
        log.warning("render job %s failed: %s", job_id, exc)
        return "failed"
    sha = hashlib.sha256(pdf).hexdigest()
    key = f"documents/{sha[:2]}/{sha}.pdf"
    storage = get_storage()
    with tempfile.NamedTemporaryFile(dir=storage.scratch_dir(), suffix=".pdf", delete=False) as fh:
        fh.write(pdf)
        tmp = Path(fh.name)
    try:
        storage.put(key, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    job = db.session.get(RenderJob, job_id)
    job.status, job.finished_at, job.error = "done", clock.now(), None
    job.pdf_key, job.pdf_sha256, job.page_count = key, sha, meta["page_count"]
    job.seconds, job.peak_rss_mb = round(meta["seconds"], 3), round(meta["peak_rss_mb"], 1)
    if job.purpose == "final":
        doc = db.session.get(Document, job.document_id, with_for_update=True)
        if doc.status == "issuing":
            doc.status, doc.pdf_key, doc.pdf_sha256, doc.pdf_size, doc.page_count = ("issued", key, sha, len(pdf),
                                                                                      meta["page_count"])
            audit.record("document.issued", "document", doc.id, after={
                "number": doc.number, "pdf_sha256": sha, "pages": meta["page_count"], "bytes": len(pdf)})
            _tell_units(doc)
    db.session.commit()
    return "done"


def _tell_units(doc: Document) -> None:
    from inspect_api.notifications.services import notify

    units = sa.select(DocumentUnit.unit_id).where(DocumentUnit.document_id == doc.id)
    for user_id in liaison_ids(units, above=False):
        notify(user_id, "document.issued", f"效能办印发{doc.number}", doc.title, {"document_id": doc.id},
               f"document.issued:{doc.id}:{user_id}")


def run_once() -> bool:
    """Process one if there is one; True when one was processed."""
    return worker_loop.run_once(claim_next, process)


def drain() -> int:
    """Process everything waiting now; how many."""
    return worker_loop.drain(claim_next, process)


def run_forever(poll_seconds: float) -> None:  # pragma: no cover - the loop of core.worker_loop
    worker_loop.run_forever("document render worker", claim_next, process, poll_seconds)
