"""Median survival table (Table 2 style): median (95% CI) in months per group and endpoint."""

from __future__ import annotations

import pandas as pd

from paperlock.results import Results
from paperlock.spec import Spec, SurvivalTable
from report import formatting as fmt
from report.tables.style import TableSpec


def survival_table_spec(spec: Spec, table: SurvivalTable, results: Results, number: int) -> TableSpec:
    d = spec.display
    stats = results.statistics
    rows = []
    for block in table.rows:
        curves = {ep: results.curves[f"km.{ep}.{block.stratifier}"] for ep in table.endpoints}
        first = curves[table.endpoints[0]]
        for g in block.groups or first["order"]:
            info = first["groups"][g]
            row = {"label": f"{info['label']} (n = {info['n']})", "group": block.heading or ""}
            for ep in table.endpoints:
                prefix = f"km.{ep}.{block.stratifier}.{g}"
                med = stats[f"{prefix}.median"]
                row[ep] = fmt.median_ci(med.value, stats[f"{prefix}.ci_lower"].value,
                                        stats[f"{prefix}.ci_upper"].value, d.months_digits, med.status)
            rows.append(row)
    grouped = any(block.heading for block in table.rows)
    frame = pd.DataFrame(rows, columns=["label", *table.endpoints, *(["group"] if grouped else [])])
    labels = {ep: f"Median {spec.endpoints[ep].abbreviation}, months ({d.ci_label})" for ep in table.endpoints}
    method = stats[f"km.{table.endpoints[0]}.{table.rows[0].stratifier}.{_first_group(results, table)}.median"]
    note = (f"Kaplan–Meier estimates; {results.methods[method.method].conventions.get('ci', '')}; "
            f"months = days / {spec.conventions.month_days:g}. NR, not reached.")
    return TableSpec(id=table.id, number=number, title=table.title, frame=frame, stub="label",
                     column_labels={"label": "", **labels}, footnotes=[note],
                     row_groups="group" if grouped else None)


def _first_group(results: Results, table: SurvivalTable) -> str:
    block = table.rows[0]
    curve = results.curves[f"km.{table.endpoints[0]}.{block.stratifier}"]
    return block.groups[0] if block.groups else curve["order"][0]
