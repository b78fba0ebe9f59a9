"""One analysis pass: spec + locked data in, every statistic of the study out, as a `Results` document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.baseline import add_baseline_table, add_group_sizes
from analysis.cox_models import add_cox_models
from analysis.cutpoints import add_cutpoints
from analysis.flow import add_flow
from analysis.listings import add_listings
from analysis.load import read_cohort
from analysis.outcomes import add_graded_event_table, add_outcome_table
from analysis.package_data import is_package_source, package_input
from analysis.survival import add_survival
from analysis.variables import derive_all
from paperlock.io.distinct import by_value
from paperlock.provenance import git_commit, package_versions, sha256_file
from paperlock.results import Meta, Results, ResultsBuilder
from paperlock.spec import LoadedSpec

ANALYSIS_ROOT = Path(__file__).resolve().parent.parent


def _numeric_endpoints(loaded: LoadedSpec, raw: pd.DataFrame, source: Path) -> pd.DataFrame:
    from paperlock.errors import PaperlockError

    out = raw.copy(deep=False)  # columns are replaced below, never written into
    for ep in loaded.spec.endpoints.values():
        for col in (ep.time, ep.event):
            if col not in raw.columns:
                raise PaperlockError(f"{source}: column {col!r} (endpoint) is missing")
            num = by_value(raw[col], lambda u: pd.to_numeric(u, errors="coerce"))  # once per distinct text
            bad = num.isna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise PaperlockError(
                    f"{source}: row {row + 2}, column {col!r}: value {raw[col].iloc[row]!r} is not a number")
            out[col] = num
    return out


def compute(loaded: LoadedSpec, cohort: Path | None = None) -> Results:
    """Every statistic of the study. The cohort is validated against the data dictionary and spec first, and
    the study's data lock, when study.yaml declares one, is checked before that. `cohort` replaces the spec's
    cohort (a lock's normalised copy, for `paperlock diff`; no lock check then)."""
    from paperlock.lock import check_lock, relative
    from paperlock.privacy import flag_small_counts, refuse_identifier_listings
    from paperlock.validate import study_dictionary

    spec = loaded.spec
    packaged = cohort is None and is_package_source(spec.data.cohort)
    lock = check_lock(loaded) if cohort is None else None
    cohort_path = cohort or (Path(spec.data.cohort) if packaged else loaded.resolve(spec.data.cohort))
    dictionary = study_dictionary(loaded)
    refuse_identifier_listings(spec, dictionary.dictionary if dictionary else None)
    raw = read_cohort(spec.data.cohort if packaged else cohort_path, loaded)
    raw = _numeric_endpoints(loaded, raw, cohort_path)
    frame = derive_all(spec, raw, cohort_path)
    rb = ResultsBuilder()
    add_group_sizes(spec, frame, rb)
    for var in spec.variables.values():
        if var.cut is not None and var.cut.key:
            m = rb.method("spec.cutoff", "cut-off declared in the study spec", source=var.cut.source or "study spec")
            rb.add(var.cut.key, var.cut.at, "cutoff", m, unit=var.unit)
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
    if spec.cutpoints:
        add_cutpoints(spec, spec.cutpoints, frame, raw, rb)
    flag_small_counts(rb.listings, spec.privacy.min_count)
    cohort_key = relative(loaded, cohort_path) if cohort else spec.data.cohort
    inputs = (dict([package_input(spec.data.cohort, raw)]) if packaged
              else {cohort_key: sha256_file(cohort_path)})
    for extra in (spec.data.dictionary, spec.flow.file if spec.flow else None):
        if extra and loaded.resolve(extra).is_file():
            inputs[extra] = sha256_file(loaded.resolve(extra))
    meta = Meta(study=spec.study.id, synthetic=spec.study.synthetic, spec_sha256=loaded.sha256,
                inputs=inputs, git_commit=git_commit(ANALYSIS_ROOT), packages=package_versions(),
                lock_id=lock.lock_id if lock else None)
    return rb.build(meta)
