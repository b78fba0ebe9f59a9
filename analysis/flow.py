"""Patient-flow facts for the flow chart: stages (screened, eligible, analysed ...) and exits by reason.

Keys: `flow.<stage>` for each stage, `flow.<exit>.total` and `flow.<exit>.<reason>` for each exit, and
`flow.<stop_segment>.<reason>` for why the prior treatment stopped. Counts only; the chart draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import read_cohort
from paperlock.errors import PaperlockError
from paperlock.results import ResultsBuilder
from paperlock.spec import LoadedSpec


def add_flow(loaded: LoadedSpec, raw: pd.DataFrame, rb: ResultsBuilder) -> None:
    flow = loaded.spec.flow
    if flow is None:
        return
    path = loaded.resolve(flow.file)
    screening = read_cohort(path)
    needed = {flow.reason_column} | {c for st in flow.stages for c in st.where}
    missing = sorted(needed - set(screening.columns))
    if missing:
        raise PaperlockError(f"{path}: column(s) {', '.join(map(repr, missing))} missing")
    m = rb.method("count", "number of patients")
    members: dict[str, np.ndarray] = {}
    for stage in flow.stages:
        mask = np.ones(len(screening), dtype=bool)
        for col, value in stage.where.items():
            mask &= (screening[col] == value).to_numpy()
        members[stage.key] = mask
        rb.add(f"flow.{stage.key}", int(mask.sum()), "n", m)
    last = flow.stages[-1].key
    if int(members[last].sum()) != len(raw):
        raise PaperlockError(f"{path}: {int(members[last].sum())} patients reach the last flow stage {last!r} "
                             f"but the cohort file has {len(raw)} rows")
    reasons = screening[flow.reason_column].fillna("")
    for ex in flow.exits:
        left = members[ex.from_stage] & ~members[ex.to_stage]
        rb.add(f"flow.{ex.key}.total", int(left.sum()), "n", m)
        unknown = left & ~reasons.isin(list(ex.reasons)).to_numpy()
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise PaperlockError(f"{path}: row {row + 2}, column {flow.reason_column!r}: reason "
                                 f"{reasons.iloc[row]!r} is not declared for flow exit {ex.key!r} in the study spec")
        for code in ex.reasons:
            rb.add(f"flow.{ex.key}.{code}", int((left & (reasons == code).to_numpy()).sum()), "n", m)
    if flow.stop_column:
        if flow.stop_column not in raw.columns:
            raise PaperlockError(f"{loaded.spec.data.cohort}: column {flow.stop_column!r} is missing")
        stops = raw[flow.stop_column]
        for lvl in flow.stop_reasons:
            values = [str(v) for v in lvl.values or [lvl.code]]
            rb.add(f"flow.{flow.stop_segment}.{lvl.code}", int(stops.isin(values).sum()), "n", m)
