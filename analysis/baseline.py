"""Baseline characteristics tables: n (%) and median [Q1, Q3] by group and overall, with a test per row.

Keys: `baseline.<var>.<level>.<group>.n|pct`, `baseline.<var>.<group>.median|q1|q3`, `baseline.<var>.p`.
Percentages are of the group's non-missing values. The test for each row comes from the spec; `auto` applies
Cochran's rule (Fisher/Freeman–Halton when expected counts are small, Pearson otherwise) and the reason is
recorded, together with the smallest expected count, so small cells are reported, never silently dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codes import cross_counts, level_index
from analysis.stats import contingency, quantiles, ranks
from paperlock.results import ResultsBuilder
from paperlock.spec import BaselineRow, BaselineTable, Spec

ALL = "all"


def group_codes(spec: Spec, grouping: str) -> list[str]:
    return [lvl.code for lvl in spec.variables[spec.groupings[grouping].variable].level_list]


def add_group_sizes(spec: Spec, frame: pd.DataFrame, rb: ResultsBuilder) -> None:
    """`cohort.n.all` and `cohort.n.<group>` for every level of every grouping."""
    m = rb.method("count", "number of patients")
    rb.add(f"cohort.n.{ALL}", len(frame), "N", m)
    for name, g in spec.groupings.items():
        counts = frame[g.variable].value_counts()
        for code in group_codes(spec, name):
            key = f"cohort.n.{code}"
            if key not in rb.statistics:
                rb.add(key, int(counts.get(code, 0)), "N", m)
        if g.within:
            parents, children = group_codes(spec, g.within), group_codes(spec, name)
            pairs = cross_counts(level_index(frame[spec.groupings[g.within].variable], parents), len(parents),
                                 level_index(frame[g.variable], children), len(children))
            members = {p: [c for j, c in enumerate(children) if pairs[i, j] > 0] for i, p in enumerate(parents)}
            rb.tables.setdefault("groupings", {})[name] = {"within": g.within, "members": members}


def add_baseline_table(spec: Spec, table: BaselineTable, frame: pd.DataFrame, rb: ResultsBuilder) -> None:
    by = spec.groupings[table.by].variable
    groups = group_codes(spec, table.by)
    layout: list[dict] = []
    for row in table.rows:
        var = spec.variables[row.variable]
        if var.type == "continuous":
            _continuous_row(spec, row, frame, by, groups, rb)
        else:
            _categorical_row(spec, row, frame, by, groups, rb)
        layout.append({"variable": row.variable, "type": var.type,
                       "levels": row.show_levels or [lvl.code for lvl in var.level_list]})
    # rows whose test reached the spec's alpha, so the text's claim about balance is read, never typed
    significant = [r.variable for r in table.rows
                   if (p := rb.statistics.get(f"baseline.{r.variable}.p")) is not None and p.value is not None
                   and p.value < spec.conventions.alpha]
    rb.tables[table.id] = {"by": table.by, "groups": groups, "overall": table.overall, "rows": layout,
                           "significant": significant}


def _categorical_row(spec: Spec, row: BaselineRow, frame: pd.DataFrame, by: str, groups: list[str],
                     rb: ResultsBuilder) -> None:
    var = spec.variables[row.variable]
    levels = [lvl.code for lvl in var.level_list]
    m_n = rb.method("count", "number of patients")
    m_pct = rb.method("percent", "n / non-missing N in the group × 100")
    level_i = level_index(frame[row.variable], levels)  # derived values are level codes or missing (-1)
    group_i = level_index(frame[by], groups)
    by_group = cross_counts(group_i, len(groups), level_i, len(levels))  # groups × levels
    overall = np.bincount(level_i[level_i >= 0], minlength=len(levels))
    for g, counts in ((ALL, overall), *zip(groups, by_group, strict=True)):
        total = int(counts.sum())  # the group's non-missing values
        for code, n in zip(levels, counts.tolist(), strict=True):
            rb.add(f"baseline.{row.variable}.{code}.{g}.n", n, "n", m_n)
            rb.add(f"baseline.{row.variable}.{code}.{g}.pct", 100.0 * n / total if total else None,
                   "pct", m_pct, unit="%")
    _add_categorical_test(spec, row, by_group.T.copy(), rb)


def _add_categorical_test(spec: Spec, row: BaselineRow, observed: np.ndarray, rb: ResultsBuilder,
                          key: str | None = None) -> None:
    """Test an r × c table of counts as the row asks; records the p under `key` with the choice and small cells."""
    if row.test == "none":
        return
    observed = observed[observed.sum(axis=1) > 0][:, observed.sum(axis=0) > 0]
    key = key or f"baseline.{row.variable}.p"
    if observed.shape[0] < 2 or observed.shape[1] < 2:
        m = rb.method("test.not_applicable", "no test: fewer than two non-empty levels or groups")
        rb.add(key, None, "p", m, status="not_applicable", note="fewer than two non-empty levels or groups")
        return
    test = row.test if row.test != "auto" else spec.conventions.categorical_test_default
    reason = "chosen in the study spec"
    if test == "auto":
        choice = contingency.choose_categorical_test(observed)
        test, reason = choice.test, choice.reason
    elif test == "auto_observed":
        # a rule seen in published tables: Fisher whenever an OBSERVED count is below 5 (not an expected one)
        small = int((observed < 5).sum())
        test = "fisher" if small else "pearson"
        reason = (f"{small} observed count(s) below 5: Fisher's exact test" if small else
                  "no observed count below 5: Pearson's χ²") + " (rule on observed counts, declared in the spec)"
    if test == "yates" and observed.shape != (2, 2):
        test, reason = "pearson", "Yates' correction applies to 2 × 2 tables only; Pearson χ² used"
    result, method = _run_categorical(test, observed, rb)
    expected = contingency.expected_counts(observed)
    note = (f"{reason}; smallest expected count {float(expected.min()):.2f}, "
            f"{int((expected < 5).sum())} of {expected.size} cells < 5")
    rb.add(key, result.p, "p", method, note=note)


def _run_categorical(test: str, observed: np.ndarray, rb: ResultsBuilder):
    if test == "pearson":
        return contingency.pearson_chi2(observed), rb.method(
            "test.pearson_chi2", "Pearson's χ² test of independence", continuity_correction="none")
    if test == "yates":
        return contingency.yates_chi2(observed), rb.method(
            "test.yates_chi2", "Pearson's χ² test with Yates' continuity correction (2 × 2)",
            continuity_correction="Yates (|O − E| − 0.5, floored at 0, as R chisq.test)")
    if observed.shape == (2, 2):
        return contingency.fisher_exact(observed), rb.method(
            "test.fisher_exact", "Fisher's exact test, two-sided",
            two_sided="sum of probabilities <= observed (relative tolerance 1e-7, as R fisher.test)")
    return contingency.freeman_halton(observed), rb.method(
        "test.freeman_halton", "Fisher–Freeman–Halton exact test for r × c tables, two-sided",
        two_sided="sum of probabilities <= observed (relative tolerance 1e-7, as R fisher.test)")


def _continuous_row(spec: Spec, row: BaselineRow, frame: pd.DataFrame, by: str, groups: list[str],
                    rb: ResultsBuilder) -> None:
    qtype = spec.conventions.quantile_type
    m_q = rb.method(f"quantile.type{qtype}", "sample quantile", quantile_type=f"Hyndman–Fan type {qtype}")
    values = frame[row.variable].to_numpy(dtype=float)
    present = ~np.isnan(values)
    group_i = level_index(frame[by], groups)
    by_group = [values[present & (group_i == k)] for k in range(len(groups))]
    for g, x in ((ALL, values[present]), *zip(groups, by_group, strict=True)):
        qs = quantiles.quantile(x, [0.25, 0.5, 0.75], type=qtype).tolist() if len(x) else [None] * 3
        for stat, value in zip(("q1", "median", "q3"), qs, strict=True):
            rb.add(f"baseline.{row.variable}.{g}.{stat}", value, stat, m_q)
    if row.test == "none":
        return
    samples = [s for s in by_group if len(s)]
    test = row.test if row.test not in ("auto",) else (
        "mann_whitney" if len(samples) == 2 else "kruskal_wallis")
    if test == "mann_whitney" and len(samples) == 2:
        res = ranks.mann_whitney(samples[0], samples[1])
        m = rb.method("test.mann_whitney", "Wilcoxon rank-sum (Mann–Whitney U) test, two-sided",
                      exact="exact when both n < 50 and no ties, else normal approximation (as R wilcox.test)",
                      continuity_correction="0.5 in the normal approximation", ties="tie-corrected variance")
    else:
        res = ranks.kruskal_wallis(samples)
        m = rb.method("test.kruskal_wallis", "Kruskal–Wallis rank-sum test",
                      ties="tie-corrected statistic (as R kruskal.test)")
    rb.add(f"baseline.{row.variable}.p", res.p, "p", m)
