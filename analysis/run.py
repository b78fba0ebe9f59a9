"""One analysis pass: spec + locked data in, every statistic of the study out, as a `Results` document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.baseline import add_baseline_table, add_group_sizes
from analysis.cox_models import add_cox_models
from analysis.cutpoints import add_cutpoint
from analysis.flow import add_flow
from analysis.listings import add_listings
from analysis.load import read_cohort
from analysis.outcomes import add_graded_event_table, add_outcome_table
from analysis.package_data import is_package_source, package_input
from analysis.survival import add_survival
from analysis.variables import derive_all
from paperlock.provenance import git_commit, package_versions, sha256_file
from paperlock.results import Meta, Results, ResultsBuilder
from paperlock.spec import LoadedSpec

ANALYSIS_ROOT = Path(__file__).resolve().parent.parent


def _numeric_endpoints(loaded: LoadedSpec, raw: pd.DataFrame, source: Path) -> pd.DataFrame:
    from paperlock.errors import PaperlockError

    out = raw.copy()
    for ep in loaded.spec.endpoints.values():
        for col in (ep.time, ep.event):
            if col not in raw.columns:
                raise PaperlockError(f"{source}: column {col!r} (endpoint) is missing")
            num = pd.to_numeric(raw[col], errors="coerce")
            bad = num.isna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise PaperlockError(
                    f"{source}: row {row + 2}, column {col!r}: value {raw[col].iloc[row]!r} is not a number")
            out[col] = num
    return out


def compute(loaded: LoadedSpec) -> Results:
    spec = loaded.spec
    packaged = is_package_source(spec.data.cohort)
    cohort_path = Path(spec.data.cohort) if packaged else loaded.resolve(spec.data.cohort)
    raw = read_cohort(spec.data.cohort if packaged else cohort_path)
    raw = _numeric_endpoints(loaded, raw, cohort_path)
    frame = derive_all(spec, raw, cohort_path)
    rb = ResultsBuilder()
    add_group_sizes(spec, frame, rb)
    for table in spec.baseline_tables:
        add_baseline_table(spec, table, frame, rb)
    for analysis in spec.survival:
        add_survival(spec, analysis, frame, raw, rb)
    for models in spec.cox:
        add_cox_models(spec, models, frame, raw, rb)
    for table in spec.outcome_tables:
        add_outcome_table(spec, table, frame, rb)
    for table in spec.graded_event_tables:
        add_graded_event_table(spec, table, frame, raw, rb)
    add_flow(loaded, raw, rb)
    add_listings(spec, frame, raw, rb)
    for search in spec.cutpoints:
        add_cutpoint(spec, search, frame, raw, rb)
    inputs = (dict([package_input(spec.data.cohort, raw)]) if packaged
              else {spec.data.cohort: sha256_file(cohort_path)})
    for extra in (spec.data.dictionary, spec.flow.file if spec.flow else None):
        if extra and loaded.resolve(extra).is_file():
            inputs[extra] = sha256_file(loaded.resolve(extra))
    meta = Meta(study=spec.study.id, synthetic=spec.study.synthetic, spec_sha256=loaded.sha256,
                inputs=inputs, git_commit=git_commit(ANALYSIS_ROOT), packages=package_versions())
    return rb.build(meta)
