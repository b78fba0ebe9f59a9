"""Baseline characteristics table (Table 1 style): layout from the spec, numbers from results.json.

Built as a plain frame of formatted strings, then styled once by `report.tables.style.publication_table`.
"""

from __future__ import annotations

import pandas as pd

from paperlock.results import Results
from paperlock.spec import BaselineTable, Spec
from report import formatting as fmt
from report.tables.style import TableSpec, mark_tests

ALL = "all"


def baseline_frame(spec: Spec, table: BaselineTable,
                   results: Results) -> tuple[pd.DataFrame, list[int], dict[tuple[int, str], str]]:
    """Rows of formatted strings; returns (frame, indices of indented level rows, the method of each p-value
    cell by (row, column))."""
    layout = results.tables[table.id]
    groups: list[str] = ([ALL] if table.overall else []) + layout["groups"]
    d = spec.display
    stats = results.statistics
    rows: list[dict[str, str]] = []
    indented: list[int] = []
    methods: dict[tuple[int, str], str] = {}

    def val(key: str):
        return stats[key].value

    for row in layout["rows"]:
        var = spec.variables[row["variable"]]
        pkey = f"baseline.{row['variable']}.p"
        p = fmt.pvalue(val(pkey), d.p_digits) if pkey in stats else ""
        if pkey in stats and stats[pkey].value is not None:
            methods[(len(rows), "p")] = stats[pkey].method  # the variable's first row holds its p
        if var.type == "continuous":
            label = f"{var.label}, median [IQR]" if not var.unit else f"{var.label} ({var.unit}), median [IQR]"
            cells = {g: fmt.median_iqr(val(f"baseline.{row['variable']}.{g}.median"),
                                       val(f"baseline.{row['variable']}.{g}.q1"),
                                       val(f"baseline.{row['variable']}.{g}.q3"), d.continuous_digits)
                     for g in groups}
            rows.append({"label": label, **cells, "p": p})
            continue
        levels = {lvl.code: lvl.label for lvl in var.level_list}
        shown = row["levels"]
        if len(shown) == 1:
            code = shown[0]
            cells = {g: fmt.n_pct(val(f"baseline.{row['variable']}.{code}.{g}.n"),
                                  val(f"baseline.{row['variable']}.{code}.{g}.pct"), d.pct_digits) for g in groups}
            rows.append({"label": f"{var.label}, n (%)", **cells, "p": p})
            continue
        rows.append({"label": f"{var.label}, n (%)", **{g: "" for g in groups}, "p": p})
        for code in shown:
            indented.append(len(rows))
            cells = {g: fmt.n_pct(val(f"baseline.{row['variable']}.{code}.{g}.n"),
                                  val(f"baseline.{row['variable']}.{code}.{g}.pct"), d.pct_digits) for g in groups}
            rows.append({"label": levels[code], **cells, "p": ""})
    return pd.DataFrame(rows, columns=["label", *groups, "p"]), indented, methods


def baseline_table_spec(spec: Spec, table: BaselineTable, results: Results, number: int) -> TableSpec:
    frame, indented, methods = baseline_frame(spec, table, results)
    frame, p_note = mark_tests(frame, methods, results)
    grouping = spec.groupings[table.by]
    labels = {lvl.code: lvl.label for lvl in spec.variables[grouping.variable].level_list}
    labels[ALL] = "Overall"
    col_labels = {g: f"{labels[g]} (n = {fmt.integer(results.statistics[f'cohort.n.{g}'].value)})"
                  for g in frame.columns if g not in ("label", "p")}
    col_labels["p"] = "p"
    return TableSpec(
        id=table.id, number=number, title=table.title, frame=frame, stub="label", column_labels=col_labels,
        spanners=[(grouping.label, [c for c in frame.columns if c not in ("label", "p", ALL)], 0)],
        indented_rows=indented, footnotes=[p_note],
    )
