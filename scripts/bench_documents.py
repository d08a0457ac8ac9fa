"""Bench: a supervision bulletin with 300 typical cases and 300 photos, rendered as the worker renders
it (a child process per document, photos at the 600 px the documents embed) against WeasyPrint
alone rendering the same final HTML in a bare child process, in the same run; time and peak memory.

    .venv/bin/python scripts/bench_documents.py [--cases 300]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _weasyprint_alone(html_path: str, base_url: str, out: str, meta: str) -> None:
    from weasyprint import HTML

    t0 = time.perf_counter()
    HTML(filename=html_path, base_url=base_url).write_pdf(out)
    Path(meta).write_text(json.dumps({"seconds": time.perf_counter() - t0,
                                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def bench_documents(cases: int = 300, runs: int = 2) -> dict:
    from inspect_api.documents import samples
    from inspect_api.documents.render import TEMPLATES_DIR, render_html
    from inspect_api.documents.worker import render_in_child

    tmp = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    ctx = samples.bulletin_context(tmp)
    ctx["typical_cases"] = samples.many_cases(cases, tmp, photos_per_case=1, photo_size=(600, 450))
    photo_mb = sum(p.stat().st_size for p in tmp.glob("case-*.jpg")) / 1e6
    html = tmp / "final.html"
    html.write_text(render_html(ctx), encoding="utf-8")
    ours, alone = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        pdf, meta = render_in_child(ctx, tmp, memory_mb=3072, timeout_s=900)
        ours.append({"wall_s": time.perf_counter() - t0, "render_s": meta["seconds"],
                     "peak_rss_mb": meta["peak_rss_mb"], "pages": meta["page_count"], "pdf_mb": len(pdf) / 1e6})
        out, meta_path = tmp / "alone.pdf", tmp / "alone.json"
        t0 = time.perf_counter()
        proc = mp.get_context("spawn").Process(target=_weasyprint_alone, args=(
            str(html), str(TEMPLATES_DIR / "documents") + "/", str(out), str(meta_path)))
        proc.start()
        proc.join()
        m = json.loads(meta_path.read_text())
        alone.append({"wall_s": time.perf_counter() - t0, "render_s": m["seconds"], "peak_rss_mb": m["peak_rss_mb"],
                      "pdf_mb": out.stat().st_size / 1e6})
    best = min(ours, key=lambda r: r["wall_s"])
    base = min(alone, key=lambda r: r["wall_s"])
    return {"cases": cases, "photos": cases, "photo_input_mb": round(photo_mb, 1), "worker": ours,
            "weasyprint_alone": alone, "time_ratio": best["wall_s"] / base["wall_s"],
            "memory_ratio": best["peak_rss_mb"] / base["peak_rss_mb"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--runs", type=int, default=2)
    a = parser.parse_args()
    print(json.dumps(bench_documents(a.cases, a.runs), indent=2, ensure_ascii=False))
