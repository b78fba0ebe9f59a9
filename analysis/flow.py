"""Patient-flow facts for the flow chart: screened, excluded by reason, enrolled, and by group.

Keys: `flow.screened`, `flow.excluded.total`, `flow.excluded.<reason>`, `flow.enrolled`,
`flow.<stop_segment>.<reason>` for why the prior treatment stopped. Counts only; the chart draws them.
"""

from __future__ import annotations

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
    for col in (flow.status_column, flow.reason_column):
        if col not in screening.columns:
            raise PaperlockError(f"{path}: column {col!r} is missing")
    m = rb.method("count", "number of patients")
    status = screening[flow.status_column]
    unknown = ~status.isin([flow.enrolled_status, flow.excluded_status])
    if unknown.any():
        row = int(unknown.to_numpy().nonzero()[0][0])
        raise PaperlockError(f"{path}: row {row + 2}, column {flow.status_column!r}: "
                             f"value {status.iloc[row]!r} is neither {flow.enrolled_status!r} "
                             f"nor {flow.excluded_status!r}")
    excluded = screening[status == flow.excluded_status]
    rb.add("flow.screened", len(screening), "n", m)
    rb.add("flow.excluded.total", len(excluded), "n", m)
    reasons = excluded[flow.reason_column]
    bad = ~reasons.isin(list(flow.reasons))
    if bad.any():
        row = int(excluded.index[bad.to_numpy()][0])
        raise PaperlockError(f"{path}: row {row + 2}, column {flow.reason_column!r}: "
                             f"reason {reasons[bad].iloc[0]!r} is not declared in the study spec")
    for code in flow.reasons:
        rb.add(f"flow.excluded.{code}", int((reasons == code).sum()), "n", m)
    enrolled = int((status == flow.enrolled_status).sum())
    if enrolled != len(raw):
        raise PaperlockError(f"{path}: {enrolled} patients are marked {flow.enrolled_status!r} but the cohort "
                             f"file has {len(raw)} rows")
    rb.add("flow.enrolled", enrolled, "n", m)
    if flow.stop_column:
        stops = raw[flow.stop_column]
        for code in flow.stop_reasons:
            rb.add(f"flow.{flow.stop_segment}.{code}", int((stops == code).sum()), "n", m)
    rb.tables["flow"] = {"screened_label": flow.screened_label, "reasons": flow.reasons,
                         "stop_reasons": flow.stop_reasons}
