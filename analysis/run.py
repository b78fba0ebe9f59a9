"""One analysis pass: spec + locked data in, every statistic of the study out, as a `Results` document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.baseline import add_baseline_table, add_group_sizes
from analysis.load import read_cohort
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
    cohort_path = loaded.resolve(spec.data.cohort)
    raw = read_cohort(cohort_path)
    raw = _numeric_endpoints(loaded, raw, cohort_path)
    frame = derive_all(spec, raw, cohort_path)
    rb = ResultsBuilder()
    add_group_sizes(spec, frame, rb)
    for table in spec.baseline_tables:
        add_baseline_table(spec, table, frame, rb)
    for analysis in spec.survival:
        add_survival(spec, analysis, frame, raw, rb)
    inputs = {spec.data.cohort: sha256_file(cohort_path)}
    if spec.data.dictionary:
        dict_path = loaded.resolve(spec.data.dictionary)
        if dict_path.is_file():
            inputs[spec.data.dictionary] = sha256_file(dict_path)
    meta = Meta(study=spec.study.id, synthetic=spec.study.synthetic, spec_sha256=loaded.sha256,
                inputs=inputs, git_commit=git_commit(ANALYSIS_ROOT), packages=package_versions())
    return rb.build(meta)
