"""Binary outcome tables by group: tumour response categories and adverse events by worst grade.

Each row is a yes/no outcome (a response category, a union such as ORR = CR + PR, an adverse event at or above a
grade); keys `<prefix>.<row>.<group>.n|pct` (and `<prefix>.<row>.<grade>.<group>...` for graded events), its
test `<prefix>.<row>[.<grade>].p` comparing the groups on the 2 × k table of yes/no counts, and with `exact_ci`
a Clopper–Pearson interval `<prefix>.<row>.<group>.ci_lower|ci_upper` (percent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.baseline import ALL, _add_categorical_test, group_codes
from analysis.codes import level_index
from analysis.stats import binomial
from paperlock.io.distinct import by_value
from paperlock.results import ResultsBuilder
from paperlock.spec import BaselineRow, BinaryOutcomeTable, GradedEventTable, Spec


def _add_counts(rb: ResultsBuilder, key: str, yes: np.ndarray, counted: np.ndarray, by: np.ndarray,
                groups: list[str], exact_ci: bool, level: float) -> None:
    """Counts over the `counted` rows (group `all`) and over those of each group (`by`: index in `groups`)."""
    m_n = rb.method("count", "number of patients")
    m_pct = rb.method("percent", "n / non-missing N in the group × 100")
    in_group = counted & (by >= 0)
    yes_n = np.bincount(by[in_group & yes], minlength=len(groups)).tolist()
    totals = np.bincount(by[in_group], minlength=len(groups)).tolist()
    cells = [(ALL, int(yes[counted].sum()), int(counted.sum())), *zip(groups, yes_n, totals, strict=True)]
    for g, n, total in cells:
        rb.add(f"{key}.{g}.n", n, "n", m_n)
        rb.add(f"{key}.{g}.pct", 100.0 * n / total if total else None, "pct", m_pct, unit="%")
        if exact_ci and total:
            lower, upper = binomial.clopper_pearson(n, total, level=level)
            m_ci = rb.method("binomial.clopper_pearson", "exact binomial confidence interval (Clopper–Pearson)",
                             reference="R binom.test", level=f"{level:g}")
            rb.add(f"{key}.{g}.ci_lower", 100.0 * lower, "ci_lower", m_ci, unit="%")
            rb.add(f"{key}.{g}.ci_upper", 100.0 * upper, "ci_upper", m_ci, unit="%")


def _test(spec: Spec, rb: ResultsBuilder, key: str, yes: np.ndarray, by: np.ndarray, groups: list[str],
          test: str) -> None:
    """`by`: each row's index in `groups` (-1: in none)."""
    ok = by >= 0
    yes_n = np.bincount(by[ok & yes], minlength=len(groups))
    observed = np.array([yes_n, np.bincount(by[ok], minlength=len(groups)) - yes_n])
    # reuse the baseline machinery: the row's "variable" segment is the outcome's key stem
    _add_categorical_test(spec, BaselineRow(variable=key, test=test), observed, rb, key=f"{key}.p")


def add_outcome_table(spec: Spec, table: BinaryOutcomeTable, frame: pd.DataFrame, rb: ResultsBuilder) -> None:
    by_var = spec.groupings[table.by].variable
    groups = group_codes(spec, table.by)
    by = level_index(frame[by_var], groups)
    assert table.variable is not None
    values = frame[table.variable]
    present = values.notna().to_numpy()
    rows: dict[str, list[str]] = {lvl.code: [lvl.code] for lvl in spec.variables[table.variable].level_list}
    rows.update(table.composites)
    for row, members in rows.items():
        yes = values.isin(members).to_numpy() & present
        key = f"{table.key_prefix}.{row}"
        _add_counts(rb, key, yes, present, by, groups, table.exact_ci, spec.conventions.confidence_level)
        if table.test != "none" and (table.tested is None or row in table.tested):
            _test(spec, rb, key, yes[present], by[present], groups, table.test)
    rb.tables[table.id] = {"by": table.by, "groups": groups, "rows": list(rows), "key_prefix": table.key_prefix}


def add_graded_event_table(spec: Spec, table: GradedEventTable, frame: pd.DataFrame, raw: pd.DataFrame,
                           rb: ResultsBuilder) -> None:
    groups = group_codes(spec, table.by)
    by = level_index(frame[spec.groupings[table.by].variable], groups)
    everyone = np.ones(len(frame), dtype=bool)
    worst = {e.code: _grades(raw, e.column, spec) for e in table.events if e.column}
    graded = {e.code: e.graded for e in table.events}
    for grade_key, threshold in table.grades.items():
        def occurred(code: str, threshold: int = threshold) -> np.ndarray:
            return worst[code] >= (threshold if graded[code] else 1)

        for event in table.events:
            if event.column:
                yes = occurred(event.code)
            else:
                yes = np.column_stack([occurred(c) for c in event.any_of]).any(axis=1)
            key = f"{table.key_prefix}.{event.code}.{grade_key}"
            _add_counts(rb, key, yes, everyone, by, groups, False, spec.conventions.confidence_level)
            if table.test != "none" and (table.tested is None or event.code in table.tested):
                _test(spec, rb, key, yes, by, groups, table.test)
    rb.tables[table.id] = {"by": table.by, "groups": groups, "grades": list(table.grades),
                           "rows": [e.code for e in table.events], "key_prefix": table.key_prefix}


def _grades(raw: pd.DataFrame, column: str | None, spec: Spec) -> np.ndarray:
    assert column is not None
    values = by_value(raw[column], lambda u: pd.to_numeric(u, errors="coerce"))  # once per distinct text
    bad = values.isna() & raw[column].notna()
    if bad.any():
        from paperlock.errors import PaperlockError

        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise PaperlockError(f"{spec.data.cohort}: row {row + 2}, column {column!r}: "
                             f"grade {raw[column].iloc[row]!r} is not a number")
    return values.fillna(0).to_numpy()
