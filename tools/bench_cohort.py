"""Synthetic large cohorts for `make bench`: any size, every column a study spec reads, deterministic by seed.

Two sources, chosen automatically:

* the study's own cohort file, when it exists: whole rows are resampled with replacement (so the columns keep
  their joint distribution and the level values their spelling), survival times are jittered
  (× exp(N(0, 0.25)), whole days, at most the study's longest; one factor per patient so every endpoint's
  time keeps its order, e.g. PFS <= OS) so a large cohort has realistic, not 70-fold, ties;
* otherwise (or with `--draw spec`) a draw from the spec alone: categorical columns uniform over the declared
  raw values, cut columns log-normal around the cut-off (both sides populated), changes as the baseline
  × exp(N(0, 0.5)), adverse-event grades mostly 0, survival times exponential in whole days with uniform
  administrative censoring, each endpoint's time at least the previous endpoint's (the spec's order). Every
  column is independent, so covariate patterns are as many as 2^k: the hard case for a Cox fit (resampled
  rows repeat the study's few dozen patterns).

The result is a study folder: `<out>/study.yaml` (a copy of the spec whose `data.cohort` points at the new file)
and `<out>/data/cohort.csv` (plus a screening file when the spec declares a flow chart).
Usage: `python tools/bench_cohort.py --study . --n 100000 --seed 1 --out /tmp/bench-100000`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis.load import read_cohort  # noqa: E402
from paperlock.spec import Spec, load_spec  # noqa: E402

COHORT_NAME = "data/cohort.csv"
SCREENING_NAME = "data/screening.csv"


def _raw_values(var) -> list:
    return [v for lvl in var.level_list for v in (lvl.values or [lvl.code])]


def _spec_columns(spec: Spec, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One array per raw column the spec reads, drawn from the spec alone."""
    cols: dict[str, np.ndarray] = {}
    cuts: dict[str, float] = {}
    for var in spec.variables.values():
        if var.cut is not None:
            cuts.setdefault(var.column, var.cut.at)
    for var in spec.variables.values():
        if var.column in cols:
            continue
        if var.change is not None or var.type == "continuous" or var.cut is not None:
            at = cuts.get(var.column)
            centre = at if at is not None else 1.0 + 9.0 * rng.random()
            if at is not None and float(at).is_integer() and at <= 20:  # a small count: 1 + Poisson
                cols[var.column] = 1 + rng.poisson(0.8 * at, n)
                continue
            values = centre * np.exp(rng.normal(0.0, 0.25 if at and at >= 20 else 0.8, n))
            integral = at is not None and float(at).is_integer()
            cols[var.column] = np.round(values).astype(int) if integral else np.round(values, 1)
        else:
            values = np.asarray(_raw_values(var), dtype=object)
            cols[var.column] = values[rng.integers(0, values.size, n)]
    for var in spec.variables.values():
        if var.change is not None and var.change.followup not in cols:
            cols[var.change.followup] = np.round(cols[var.column] * np.exp(rng.normal(0.0, 0.5, n)), 1)
    censor = rng.uniform(365.0, 3 * 365.0, n)
    latent = np.zeros(n)
    for k, ep in enumerate(spec.endpoints.values()):
        median_days = 180.0 * (k + 1)
        latent = np.maximum(latent, rng.exponential(median_days / np.log(2), n))  # endpoints in order
        cols[ep.time] = np.maximum(1, np.round(np.minimum(latent, censor))).astype(int)
        cols[ep.event] = (latent <= censor).astype(int)
    for table in spec.graded_event_tables:
        for event in table.events:
            if event.column and event.column not in cols:
                if event.graded:
                    cols[event.column] = rng.choice(5, size=n, p=[0.7, 0.12, 0.1, 0.06, 0.02])
                else:
                    cols[event.column] = (rng.random(n) < 0.15).astype(int)
    for listing in spec.listings.values():
        for source in listing.fields.values():
            if source not in spec.variables and source not in cols:
                cols[source] = np.round(np.clip(rng.normal(0.0, 30.0, n), -100, None), 1)
    if spec.flow and spec.flow.stop_column and spec.flow.stop_column not in cols:
        reasons = np.asarray([v for lvl in spec.flow.stop_reasons for v in (lvl.values or [lvl.code])], dtype=object)
        cols[spec.flow.stop_column] = reasons[rng.integers(0, reasons.size, n)]
    return cols


def _resampled(spec: Spec, source: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rows of the real cohort drawn with replacement; survival times jittered to whole days."""
    frame = source.iloc[rng.integers(0, len(source), n)].reset_index(drop=True)
    factor = np.exp(rng.normal(0.0, 0.25, n))  # one per patient: the endpoints' times keep their order
    for ep in spec.endpoints.values():
        days = pd.to_numeric(frame[ep.time]).to_numpy(dtype=float)
        # at most the study's longest time (so within the dictionary's plausible range, and still in order)
        frame[ep.time] = np.clip(np.round(days * factor), 1, max(1.0, days.max())).astype(int)
    id_col = next((c for c in frame.columns if c.lower() in ("patient_id", "id")), None)
    if id_col:
        frame[id_col] = [f"B{i:07d}" for i in range(1, n + 1)]
    return frame


def _screening(source: pd.DataFrame, last_stage: dict, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """The study's screening file scaled to n analysed patients: analysed rows and the others, resampled."""
    analysed = np.ones(len(source), dtype=bool)
    for column, value in last_stage.items():
        analysed &= (source[column].astype(str) == str(value)).to_numpy()
    inside, outside = source[analysed], source[~analysed]
    n_out = int(round(n * len(outside) / max(len(inside), 1)))
    parts = [inside.iloc[rng.integers(0, len(inside), n)]]
    if n_out and len(outside):
        parts.append(outside.iloc[rng.integers(0, len(outside), n_out)])
    return pd.concat(parts, ignore_index=True)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a project dependency
        frame.to_csv(path, index=False)
        return
    table = pa.Table.from_pandas(frame.astype({c: str for c in frame.columns if frame[c].dtype == object}),
                                 preserve_index=False)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def make_cohort(study: Path | str, n: int, seed: int, out: Path | str, draw: str = "auto") -> Path:
    """Write a study folder with an n-patient cohort at `out`; returns the folder. `draw`: 'auto' (resample the
    study's cohort when it exists), 'resample' or 'spec'."""
    loaded = load_spec(study)
    spec = loaded.spec
    rng = np.random.default_rng(seed)
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    source_path = loaded.resolve(spec.data.cohort)
    if draw == "resample" or (draw == "auto" and source_path.is_file()):
        frame = _resampled(spec, read_cohort(source_path), n, rng)
    else:
        frame = pd.DataFrame(_spec_columns(spec, n, rng))
        frame.insert(0, "patient_id", [f"B{i:07d}" for i in range(1, n + 1)])
    _write_csv(frame, out / COHORT_NAME)
    doc = yaml.safe_load(loaded.path.read_text(encoding="utf-8"))
    doc["data"]["cohort"] = COHORT_NAME
    for extra in ("dictionary", "published"):
        if doc["data"].get(extra) and not loaded.resolve(doc["data"][extra]).is_file():
            doc["data"].pop(extra)
        elif doc["data"].get(extra):
            doc["data"][extra] = str(loaded.resolve(doc["data"][extra]))
    if spec.flow is not None and loaded.resolve(spec.flow.file).is_file() and spec.flow.stages[-1].where:
        screening = read_cohort(loaded.resolve(spec.flow.file))
        _write_csv(_screening(screening, spec.flow.stages[-1].where, n, rng), out / SCREENING_NAME)
        doc["flow"]["file"] = SCREENING_NAME
    else:  # no screening file to scale: the flow chart is left out of the bench study
        doc.pop("flow", None)
    (out / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT), help="study folder whose spec (and cohort) to use")
    parser.add_argument("--n", type=int, required=True, help="number of patients")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="folder to write (created)")
    parser.add_argument("--draw", choices=("auto", "resample", "spec"), default="auto",
                        help="resample the study's cohort (auto: when it exists) or draw from the spec alone")
    args = parser.parse_args()
    out = make_cohort(args.study, args.n, args.seed, args.out, args.draw)
    print(f"bench cohort: {args.n} patients -> {out / COHORT_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
