"""Binary outcome tables: tumour response (Table 3 style) and adverse events by grade (Table 6 style)."""

from __future__ import annotations

import pandas as pd

from paperlock.results import Results
from paperlock.spec import BinaryOutcomeTable, GradedEventTable, Spec
from report import formatting as fmt
from report.tables.style import TableSpec, mark_tests


def _group_labels(spec: Spec, grouping: str, results: Results, groups: list[str]) -> dict[str, str]:
    levels = {lvl.code: lvl.label for lvl in spec.variables[spec.groupings[grouping].variable].level_list}
    return {g: f"{levels[g]} (n = {fmt.integer(results.statistics[f'cohort.n.{g}'].value)})" for g in groups}


def _cells(spec: Spec, results: Results, key: str, groups: list[str], suffix: str, row_index: int,
           methods: dict[tuple[int, str], str]) -> dict:
    stats = results.statistics
    d = spec.display
    row = {f"{g}{suffix}": fmt.n_pct(stats[f"{key}.{g}.n"].value, stats[f"{key}.{g}.pct"].value, d.pct_digits)
           for g in groups}
    p = stats.get(f"{key}.p")
    row[f"p{suffix}"] = fmt.pvalue(p.value, d.p_digits) if p else ""
    if p and p.value is not None:
        methods[(row_index, f"p{suffix}")] = p.method
    return row


def outcome_table_spec(spec: Spec, table: BinaryOutcomeTable, results: Results, number: int) -> TableSpec:
    layout = results.tables[table.id]
    groups = layout["groups"]
    assert table.variable is not None
    labels = {lvl.code: lvl.label for lvl in spec.variables[table.variable].level_list} | table.composite_labels
    methods: dict[tuple[int, str], str] = {}
    rows = [{"label": labels[r], **_cells(spec, results, f"{table.key_prefix}.{r}", groups, "", i, methods)}
            for i, r in enumerate(layout["rows"])]
    frame, p_note = mark_tests(pd.DataFrame(rows, columns=["label", *groups, "p"]), methods, results)
    col_labels = {"label": "", **_group_labels(spec, table.by, results, groups), "p": "p"}
    return TableSpec(id=table.id, number=number, title=table.title, frame=frame, stub="label",
                     column_labels=col_labels, footnotes=["Data are n (%).", p_note])


def graded_table_spec(spec: Spec, table: GradedEventTable, results: Results, number: int) -> TableSpec:
    layout = results.tables[table.id]
    groups = layout["groups"]
    methods: dict[tuple[int, str], str] = {}
    rows, indented = [], []
    for event in table.events:
        row = {"label": event.label}
        for grade in table.grades:
            row |= _cells(spec, results, f"{table.key_prefix}.{event.code}.{grade}", groups, f"_{grade}", len(rows),
                          methods)
        if event.indent:
            indented.append(len(rows))
        rows.append(row)
    columns = ["label"] + [f"{c}_{grade}" for grade in table.grades for c in (*groups, "p")]
    frame, p_note = mark_tests(pd.DataFrame(rows, columns=columns), methods, results)
    group_labels = _group_labels(spec, table.by, results, groups)
    col_labels = {"label": "Adverse event"}
    spanners = []
    for grade in table.grades:
        col_labels |= {f"{g}_{grade}": group_labels[g] for g in groups} | {f"p_{grade}": "p"}
        spanners.append((table.grade_labels[grade], [f"{c}_{grade}" for c in (*groups, "p")], 0))
    return TableSpec(id=table.id, number=number, title=table.title, frame=frame, stub="label",
                     column_labels=col_labels, spanners=spanners, indented_rows=indented,
                     footnotes=["Data are n (%) of patients by worst grade.", p_note])
