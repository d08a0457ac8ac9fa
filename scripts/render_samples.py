"""Render the sample document of each kind and write the first page as docs/samples/<kind>.png.

    .venv/bin/python scripts/render_samples.py                 # all four kinds
    .venv/bin/python scripts/render_samples.py bulletin --pdf  # one kind, keep the PDF next to the PNG
    .venv/bin/python scripts/render_samples.py --all-pages     # every page (<kind>-<n>.png), for review
    .venv/bin/python scripts/render_samples.py --bench         # render time and peak memory, no files

Needs pdftoppm (Debian poppler-utils). The sample contexts live in inspect_api/documents/samples.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inspect_api.documents.render import KINDS, render
from inspect_api.documents.samples import bulletin_context, sample_context

ROOT = Path(__file__).resolve().parents[1]


def one_page_context() -> dict:
    context = sample_context("commendation")
    context.update(title="关于对县税务局办税服务厅予以通报表扬的通报", paragraphs=[], closing_paragraphs=[], cc=None)
    context["entries"] = [{**context["entries"][0], "reason": "季度群众满意率100%。"}]
    return context


def bench_child(case: str) -> dict:
    """One measurement in this (fresh) process: render twice, report both times and the peak RSS."""
    with tempfile.TemporaryDirectory(prefix="inspect-bench-") as tmp:
        if case == "one-page":
            context, root = one_page_context(), None
        else:
            context, root = bulletin_context(Path(tmp), typical_cases=300), tmp
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(2):
            started = time.perf_counter()
            rendered = render(context, asset_root=root)
            times.append(round(time.perf_counter() - started, 2))
        photos = sum(len(c["photos"]) for c in context.get("typical_cases", []))
        return {"case": case, "pages": rendered.page_count, "photos": photos, "pdf_kib": len(rendered.pdf) // 1024,
                "first_s": times[0], "second_s": times[1], "rss_before_mib": before // 1024,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def bench() -> int:
    for case in ("one-page", "bulletin-300"):
        out = subprocess.run([sys.executable, __file__, "--bench-child", case], capture_output=True, text=True,
                             check=True).stdout
        print(json.dumps(json.loads(out.splitlines()[-1]), ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="*", metavar="KIND", help=f"any of {', '.join(KINDS)} (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "samples")
    parser.add_argument("--dpi", type=int, default=60)
    parser.add_argument("--pdf", action="store_true", help="also keep <kind>.pdf")
    parser.add_argument("--all-pages", action="store_true", help="write every page, not only the first")
    parser.add_argument("--bench", action="store_true", help="measure a 1-page document and a 300-case bulletin")
    parser.add_argument("--bench-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bench_child:
        print(json.dumps(bench_child(args.bench_child)))
        return 0
    if args.bench:
        return bench()
    unknown = sorted(set(args.kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kind(s): {', '.join(unknown)}")
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: apt-get install poppler-utils", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="inspect-samples-") as tmp:
        photos = Path(tmp) / "photos"
        for kind in args.kinds or KINDS:
            started = time.perf_counter()
            rendered = render(sample_context(kind, photos), asset_root=photos)
            pdf = Path(tmp) / f"{kind}.pdf"
            pdf.write_bytes(rendered.pdf)
            if args.pdf:
                shutil.copy(pdf, args.out / f"{kind}.pdf")
            pages = [] if args.all_pages else ["-f", "1", "-l", "1", "-singlefile"]
            subprocess.run(["pdftoppm", "-png", "-r", str(args.dpi), *pages, str(pdf), str(args.out / kind)],
                           check=True)
            print(f"{kind}: {rendered.page_count} pages, {len(rendered.pdf) // 1024} KiB, "
                  f"{time.perf_counter() - started:.2f} s -> {args.out / kind}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
