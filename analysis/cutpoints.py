"""Data-driven cut-points declared in the spec, each with its selection-adjusted p-value.

Keys: `cutpoint.<variable>.<endpoint>.value`, `.statistic`, `.p_permutation`, `.p_lausen_schumacher`,
`.p_naive` (the unadjusted log-rank p of the chosen split, recorded so a reader can see how much selection
inflates it), `.n_low`, `.n_high`; the scanned statistics are kept under `curves` for a plot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats import cutpoint
from paperlock.results import ResultsBuilder
from paperlock.spec import CutpointSearch, Spec


def add_cutpoints(spec: Spec, searches: list[CutpointSearch], frame: pd.DataFrame, raw: pd.DataFrame,
                  rb: ResultsBuilder) -> None:
    """Every search, computed together (searches with the same seed share their permutations, see
    `cutpoint.max_logrank_cutpoints`), recorded in the spec's order."""
    problems, kept = [], []
    for search in searches:
        ep = spec.endpoints[search.endpoint]
        marker = frame[search.variable].to_numpy(dtype=float)
        time = raw[ep.time].to_numpy(dtype=float) / spec.conventions.month_days
        event = raw[ep.event].to_numpy(dtype=int)
        ok = ~np.isnan(marker)
        kept.append(int(ok.sum()))
        problems.append(cutpoint.CutpointProblem(marker[ok], time[ok], event[ok], min_prop=search.min_prop,
                                                 max_prop=search.max_prop, n_perm=search.permutations,
                                                 seed=search.seed))
    for search, res, n in zip(searches, cutpoint.max_logrank_cutpoints(problems), kept, strict=True):
        _record(search, res, n, rb)


def add_cutpoint(spec: Spec, search: CutpointSearch, frame: pd.DataFrame, raw: pd.DataFrame,
                 rb: ResultsBuilder) -> None:
    """One search (`add_cutpoints` does several at once, with the same results)."""
    add_cutpoints(spec, [search], frame, raw, rb)


def _record(search: CutpointSearch, res: cutpoint.CutpointResult, n: int, rb: ResultsBuilder) -> None:
    m = rb.method("cutpoint.maxstat", "maximally selected log-rank statistic (X-tile-like optimal cut-point)",
                  reference="Lausen & Schumacher 1992; R maxstat::maxstat.test(smethod = 'LogRank')",
                  candidates=f"observed values with {search.min_prop:g}–{search.max_prop:g} of patients below",
                  adjusted_p=f"permutation ({search.permutations} permutations, seed {search.seed}) and "
                             "Lausen–Schumacher approximation", lower_group="value <= cut-point")
    base = f"cutpoint.{search.variable}.{search.endpoint}"
    rb.add(f"{base}.value", res.cutpoint, "cutoff", m)
    rb.add(f"{base}.statistic", res.statistic, "statistic", m)
    rb.add(f"{base}.p_permutation", res.p_permutation, "p", m)
    rb.add(f"{base}.p_lausen_schumacher", res.p_lausen_schumacher, "p", m)
    rb.add(f"{base}.p_naive", res.logrank_p, "p", m,
           note="unadjusted log-rank p of the selected split; overstates the evidence")
    count = rb.method("count", "number of patients")
    rb.add(f"{base}.n_low", int(res.n_lower), "n", count)
    rb.add(f"{base}.n_high", int(n - res.n_lower), "n", count)
    rb.curves[base] = {"candidates": res.candidates, "statistics": res.statistics}
