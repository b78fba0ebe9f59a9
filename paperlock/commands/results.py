"""`paperlock results`: compute every statistic of the study into results.json (atomically)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", default=".", help="study folder holding study.yaml (default: .)")
    parser.add_argument("--out", default=None, help="results file (default: <study>/build/results.json)")


def run(args: argparse.Namespace) -> int:
    from analysis.run import compute
    from paperlock.results import write_results
    from paperlock.spec import load_spec

    start = time.perf_counter()
    loaded = load_spec(args.study)
    out = Path(args.out) if args.out else loaded.root / "build" / "results.json"
    results = compute(loaded)
    write_results(results, out)
    for name, listing in sorted(results.listings.items()):
        for flag in listing.get("small_counts", []):
            print(f"results: privacy: listing {name!r} has {flag['field']}={flag['value']} in {flag['n']} row(s), "
                  f"below {listing['min_count']} (flagged in results.json)")
    if results.meta.lock_id:
        print(f"results: data lock {results.meta.lock_id}")
    print(f"results: {len(results.statistics)} statistics -> {out} ({time.perf_counter() - start:.2f} s)")
    return 0
