"""`paperlock report`: render the manuscript (HTML, PDF, Word, Quarto) from results.json; never recomputes
statistics. Figures, tables and output files whose inputs did not change are reused (see report.render)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", default=".", help="study folder holding study.yaml (default: .)")
    parser.add_argument("--results", default=None, help="results file (default: <study>/build/results.json)")
    parser.add_argument("--out", default=None, help="output folder (default: <study>/build)")
    parser.add_argument("--formats", default="html,pdf,docx,qmd",
                        help="comma-separated subset of html,pdf,docx,qmd (default: all)")
    parser.add_argument("--no-cache", action="store_true",
                        help="rewrite every table and output file even when its inputs are unchanged "
                             "(figures are still reused while current)")


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    from report.pdf import PdfWorker

    pdf_worker = PdfWorker() if "pdf" in formats else None  # imports WeasyPrint while the results load
    try:
        from paperlock.results import load_results
        from paperlock.spec import load_spec
        from report.render import Timings, render_all

        loaded = load_spec(args.study)
        out_dir = Path(args.out) if args.out else loaded.root / "build"
        results = load_results(Path(args.results) if args.results else out_dir / "results.json")
        timings = Timings()
        timings.record("load", start)
        outputs = render_all(loaded, results, out_dir, formats, timings, use_cache=not args.no_cache,
                             pdf_worker=pdf_worker)
    finally:
        if pdf_worker is not None:
            pdf_worker.close()
    for stage, seconds in timings.stages.items():
        print(f"report: {stage:<12} {seconds:6.2f} s")
    if timings.reused:
        print(f"report: unchanged since the last render, kept: {', '.join(timings.reused)}")
    print(f"report: total        {time.perf_counter() - start:6.2f} s")
    for fmt_name, path in outputs.items():
        print(f"report: {fmt_name:<4} -> {path}")
    return 0
