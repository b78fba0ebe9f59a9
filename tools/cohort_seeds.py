"""Compare whole calibrations of the synthetic cohort across seeds: how many targets each seed meets.

The search's outcome moves with its seed by tens of targets, and one calibration takes most of the 10-minute
budget, so `make cohort` runs one seed (the settings' `seed`) and the seed is chosen offline among measured
ones. This tool makes that choice reproducible: it runs `python -m paperlock.cohort --seed N --out DIR` for each
seed (one at a time, so each run has both cores), or reads runs already in DIR, and prints per seed the targets
met per tier, the total and the calibration time, best first (ties: the lower seed).

Usage: `python tools/cohort_seeds.py --out /tmp/seeds 20250306 20250307 ...` (`make cohort-seeds SEEDS="..."`);
`--read-only` tabulates the runs already in the folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def run_seed(seed: int, out: Path) -> None:
    """One whole calibration into `out/<seed>/` (its own cohort.csv and calibration.json)."""
    subprocess.run([sys.executable, "-m", "paperlock.cohort", "--seed", str(seed), "--out", str(out / str(seed)),
                    "--quiet"], check=True)


def summary(folder: Path) -> dict | None:
    """(seed, targets met, targets, per tier, seconds) of a finished run, or None."""
    path = folder / "calibration.json"
    if not path.exists():
        return None
    cal = json.loads(path.read_text())
    tiers = {t: (v["pass"], v["targets"]) for t, v in sorted(cal["summary"].items())}
    return {"seed": cal["seed"], "met": sum(p for p, _ in tiers.values()),
            "targets": sum(n for _, n in tiers.values()), "tiers": tiers, "seconds": cal["calibration_seconds"],
            "quick": cal["quick"]}


def table(rows: list[dict]) -> str:
    """A markdown table of the runs, best first."""
    rows = sorted(rows, key=lambda r: (-r["met"], r["seed"]))
    tiers = list(rows[0]["tiers"]) if rows else []
    head = "| seed | met | " + " | ".join(tiers) + " | seconds |"
    lines = [head, "|" + "---:|" * (len(tiers) + 3)]
    for r in rows:
        cells = " | ".join(f"{r['tiers'][t][0]}/{r['tiers'][t][1]}" for t in tiers)
        flag = " (quick)" if r["quick"] else ""
        lines.append(f"| {r['seed']}{flag} | {r['met']}/{r['targets']} | {cells} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds", nargs="*", type=int)
    ap.add_argument("--out", type=Path, required=True, help="folder holding one sub-folder per seed")
    ap.add_argument("--read-only", action="store_true", help="tabulate the runs already in --out")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.read_only:
        for seed in args.seeds:
            if summary(args.out / str(seed)) is None:
                run_seed(seed, args.out)
    wanted = {str(s) for s in args.seeds}
    rows = [s for d in sorted(args.out.iterdir()) if d.is_dir() and (not wanted or d.name in wanted)
            if (s := summary(d)) is not None]
    if not rows:
        print(f"no finished calibration in {args.out}", file=sys.stderr)
        return 1
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
