"""`make bench`: wall time of each `make report` stage, cold and warm, as ratios to a bare `python -c pass`.

Benchmarks are not tests: this prints figures and asserts nothing. Every figure is measured in the same run as
its baseline, so ratios compare across machines.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", default=".")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    baseline = timed([py, "-c", "pass"], repeat=5)
    out = Path(tempfile.mkdtemp(prefix="paperlock-bench-"))
    results = out / "results.json"
    cli = [py, "-m", "paperlock.cli"]
    rows: list[tuple[str, float]] = [("python -c pass (baseline)", baseline)]
    rows.append(("paperlock --help", timed([*cli, "--help"], args.repeat)))
    rows.append(("results (cold)", timed([*cli, "results", "--study", args.study, "--out", str(results)])))
    rows.append(("results (warm)", timed([*cli, "results", "--study", args.study, "--out", str(results)],
                                         args.repeat)))
    report = [*cli, "report", "--study", args.study, "--results", str(results), "--out", str(out)]
    rows.append(("report html+pdf (cold)", timed(report)))
    rows.append(("report html+pdf (warm)", timed(report, args.repeat)))
    rows.append(("report html only (warm)", timed([*report, "--formats", "html"], args.repeat)))
    shutil.rmtree(out, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"bench {name:<{width}}  {seconds:7.3f} s  {seconds / baseline:7.1f}x python")
    return 0


if __name__ == "__main__":
    sys.exit(main())
