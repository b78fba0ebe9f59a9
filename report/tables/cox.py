"""Cox regression table (Tables 4–5 style): HR (95% CI) and p for each endpoint × (univariable, multivariable)."""

from __future__ import annotations

import pandas as pd

from paperlock.results import Results
from paperlock.spec import CoxTable, Spec
from report import formatting as fmt
from report.tables.style import TableSpec

MODELS = (("uni", "Univariable"), ("multi", "Multivariable"))


def cox_table_spec(spec: Spec, table: CoxTable, results: Results, number: int) -> TableSpec:
    d = spec.display
    models = next(m for m in spec.cox if m.id == table.models)
    stats = results.statistics
    rows = []
    indented: list[int] = []

    def cells(row: dict, key: str) -> None:
        for ep in models.endpoints:
            for kind, _ in MODELS:
                prefix = f"cox.{models.population}.{ep}.{kind}.{key}"
                if f"{prefix}.hr" not in stats:
                    row[f"{ep}_{kind}_hr"], row[f"{ep}_{kind}_p"] = "", ""
                    continue
                hr = stats[f"{prefix}.hr"]
                if hr.status == "not_estimable":
                    row[f"{ep}_{kind}_hr"], row[f"{ep}_{kind}_p"] = "not estimable", ""
                    continue
                row[f"{ep}_{kind}_hr"] = fmt.estimate_ci(hr.value, stats[f"{prefix}.ci_lower"].value,
                                                         stats[f"{prefix}.ci_upper"].value, d.hr_digits)
                row[f"{ep}_{kind}_p"] = fmt.pvalue(stats[f"{prefix}.p"].value, d.p_digits)

    has_factor = False
    for cov in models.covariates:
        terms = spec.cox_terms(cov)
        if cov.type == "categorical":  # a header row with the joint test, then one indented row per level
            has_factor = True
            row = {"label": cov.label}
            for ep in models.endpoints:
                for kind, _ in MODELS:
                    joint = stats.get(f"cox.{models.population}.{ep}.{kind}.{cov.key}.p")
                    row[f"{ep}_{kind}_hr"] = ""
                    row[f"{ep}_{kind}_p"] = fmt.pvalue(joint.value, d.p_digits) + "*" if joint else ""
            rows.append(row)
        for term in terms:
            row = {"label": term.contrast or term.label}
            cells(row, term.key)
            if term.contrast:
                indented.append(len(rows))
            rows.append(row)
    columns = ["label"] + [f"{ep}_{kind}_{s}" for ep in models.endpoints for kind, _ in MODELS for s in ("hr", "p")]
    frame = pd.DataFrame(rows, columns=columns)
    labels = {"label": "Characteristic"}
    spanners: list[tuple[str, list[str], int]] = []
    for ep in models.endpoints:
        for kind, kind_label in MODELS:
            labels[f"{ep}_{kind}_hr"] = f"HR ({d.ci_label})"
            labels[f"{ep}_{kind}_p"] = "p"
            spanners.append((kind_label, [f"{ep}_{kind}_hr", f"{ep}_{kind}_p"], 0))
        spanners.append((spec.endpoints[ep].abbreviation, [c for c in columns if c.startswith(f"{ep}_")], 1))
    method = next(s.method for k, s in stats.items() if k.startswith(f"cox.{models.population}.") and k.endswith(".hr"))
    conv = results.methods[method].conventions
    note = (f"Cox proportional hazards models; ties: {conv.get('ties')}; CI: {conv.get('ci')}; p: Wald test. "
            f"Covariates with univariable p < {models.entry_p:g} entered the multivariable model.")
    notes = [note]
    if has_factor:
        entry = {"wald": "joint Wald test", "lr": "likelihood-ratio test", "any_level": "Wald p of any level"}
        notes.append(f"* Joint Wald test of all levels of a categorical covariate; such a covariate entered the "
                     f"multivariable model whole, by its univariable {entry[models.factor_entry]}.")
    return TableSpec(id=table.id, number=number, title=table.title, frame=frame, stub="label",
                     column_labels=labels, spanners=spanners, footnotes=notes, wide=len(columns) > 7,
                     indented_rows=indented)
