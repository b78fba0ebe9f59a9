"""`python -m paperlock.cohort [--seed N] [--out DIR] [--quick]`: build, calibrate and write the synthetic cohort."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from paperlock.atomic import atomic_write_text
from paperlock.cohort.assemble import assemble
from paperlock.cohort.calibrate import Calibrator, calibrate
from paperlock.cohort.design import build_design, initial_matrix
from paperlock.cohort.dictionary import dictionary_yaml
from paperlock.cohort.measure import covariate_matrix, measure
from paperlock.cohort.progress import Progress
from paperlock.cohort.report import (
    build_report,
    early_progressions,
    index_correlation,
    most_events_per_day,
    pfs_censoring_gaps,
    render_markdown,
    to_json,
    unmatched_events,
)
from paperlock.cohort.screening import screening_frame
from paperlock.cohort.targets import load_record, load_settings
from paperlock.cohort.value_structure import loadings, value_correlation
from paperlock.errors import PaperlockError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m paperlock.cohort", description=__doc__)
    p.add_argument("--settings", type=Path, default=Path("data/cohort_targets.yaml"))
    p.add_argument("--record", type=Path, default=None, help="published record (default: from the settings)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the settings)")
    p.add_argument("--out", type=Path, default=Path("data"), help="output folder")
    p.add_argument("--quick", action="store_true", help="short search (for tests); a worse fit")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def dichotomised(settings: dict) -> list[str]:
    """The Cox covariates that cut a continuous variable (age, the inflammation indices)."""
    return [name for name, src in settings["cox_covariates"].items() if "continuous" in src]


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings)
    loadings(settings, str(args.settings))  # a bad value_structure fails here, not after the calibration
    record = load_record(args.record or Path(settings["record"]), settings.get("exclusions", {}),
                         settings.get("limits", []))
    seed = int(settings["seed"] if args.seed is None else args.seed)
    effort = settings["effort"]["quick" if args.quick else "full"]
    progress = Progress(enabled=not args.quiet)
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    progress.stage("design from the record")
    design = build_design(record, settings, rng)
    X = initial_matrix(design, rng)
    cal = Calibrator(design, record, settings)
    progress.done(patients=design.n, km_targets=len(cal.km), cox_targets=len(cal.cox),
                  multivariable_models=len(cal.multi_sets))
    state = calibrate(cal, X, rng, effort, progress)
    df, extra = assemble(design, record, settings, state, rng, int(effort["values"]), progress)
    seconds = time.monotonic() - t0
    progress.stage("measuring and writing")
    measured = measure(df, settings, design.cuts, cal.multi_sets)
    realism = {"most_events_per_day": most_events_per_day(df),
               "max_events_per_day": settings.get("realism", {}).get("max_events_per_day"),
               "max_pfs_censoring_gap": settings.get("realism", {}).get("max_pfs_censoring_gap"),
               "unmatched": unmatched_events(df), "pfs_censoring": pfs_censoring_gaps(df),
               "min_progression_day": settings.get("realism", {}).get("min_progression_day"),
               "early_progressions": early_progressions(df, settings.get("realism", {}).get("first_assessment_day")),
               "index_correlation": index_correlation(covariate_matrix(df, settings, design.cuts),
                                                      dichotomised(settings)),
               "value_correlation": value_correlation(df, settings)}
    rep = build_report(record, settings, measured, seconds, seed,
                       {"quick": bool(args.quick), "value_residual": extra["value_residual"], "realism": realism})
    out = args.out
    atomic_write_text(out / "cohort.csv", df.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "screening.csv",
                      screening_frame(record, list(df["patient_id"])).to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "dictionary.yaml", dictionary_yaml(df))
    atomic_write_text(out / "calibration.json", to_json(rep))
    atomic_write_text(out / "calibration.md", render_markdown(rep))
    fails = sum(t["targets"] - t["pass"] for t in rep["summary"].values())
    progress.done(written=str(out), failing_targets=fails)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except PaperlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
