"""Assemble the manuscript's figures from the spec's `figures` list and results.json.

Drawing lives in `report.figures` (which knows no study); this module only maps spec + results onto its inputs:
labels from the spec, numbers from results. Figures are written as SVG (embedded in the HTML and PDF) and 300-dpi
PNG (DOCX, journals) to `<build>/figures/`, and are redrawn only when results, spec or figure code change.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from paperlock.results import Results
from paperlock.spec import Figure, LoadedSpec, Spec
from report import formatting as fmt

FIGURE_CODE = Path(__file__).resolve().parent / "figures"


def _level_labels(spec: Spec, variable: str) -> dict[str, str]:
    return {lvl.code: lvl.label for lvl in spec.variables[variable].level_list}


def flow_facts(spec: Spec, results: Results) -> dict[str, Any]:
    """Boxes for `report.figures.flow.flow_chart`: the spec's stages, exits as side boxes, then the groups."""
    flow = spec.flow
    assert flow is not None
    s = results.statistics
    stage_index = {st.key: i for i, st in enumerate(flow.stages)}
    stages = [{"label": st.label, "n": s[f"flow.{st.key}"].value} for st in flow.stages]
    if flow.stop_reasons:
        stages[-1]["lines"] = [{"label": lvl.label, "n": s[f"flow.{flow.stop_segment}.{lvl.code}"].value}
                               for lvl in flow.stop_reasons]
    exits = [{"after": stage_index[ex.from_stage], "label": ex.label, "n": s[f"flow.{ex.key}.total"].value,
              "lines": [{"label": label, "n": s[f"flow.{ex.key}.{code}"].value} for code, label in ex.reasons.items()]}
             for ex in flow.exits]
    facts: dict[str, Any] = {"stages": stages, "exits": exits, "groups": []}
    for child_grouping, nesting in results.tables.get("groupings", {}).items():
        parent_labels = _level_labels(spec, spec.groupings[nesting["within"]].variable)
        child_labels = _level_labels(spec, spec.groupings[child_grouping].variable)
        for parent, kids in nesting["members"].items():
            facts["groups"].append({
                "label": parent_labels[parent], "n": s[f"cohort.n.{parent}"].value,
                "children": [{"label": child_labels[k], "n": s[f"cohort.n.{k}"].value} for k in kids]})
        break
    return facts


def _in_order(block: dict[str, Any]) -> dict[str, Any]:
    """The curve block with its groups in the study's order (results.json stores keys sorted)."""
    order = block.get("order") or list(block["groups"])
    return {**block, "groups": {g: block["groups"][g] for g in order},
            "at_risk": {**block["at_risk"], "n": {g: block["at_risk"]["n"][g] for g in order}}}


def _km_figure(spec: Spec, fig_spec: Figure, results: Results):
    from report.figures.km import km_panel_grid

    d = spec.display
    blocks = [_in_order(results.curves[p]) for p in fig_spec.panels]
    return km_panel_grid(
        blocks, titles=fig_spec.panel_titles or None,
        p_formatter=lambda p: f"Log-rank {fmt.p_clause(p, d.p_digits)}",
        median_formatter=lambda m: "median NR" if m is None else f"median {fmt.num(m, 1)} mo",
        xlabel="Months",
    )


def _waterfall(spec: Spec, fig_spec: Figure, results: Results):
    from report.figures.waterfall import waterfall_plot

    listing = spec.listings[fig_spec.listing or ""]
    rows = results.listings[fig_spec.listing or ""]["rows"]
    labels = {out: _level_labels(spec, src) for out, src in listing.fields.items()
              if src in spec.variables and spec.variables[src].type == "categorical"}
    return waterfall_plot(rows, facet_by="arm" if "arm" in labels else None, facet_labels=labels.get("arm"),
                          marker_field="afp_change", marker_labels=labels.get("afp_change"),
                          response_labels=labels.get("response"))


def _forest(spec: Spec, fig_spec: Figure, results: Results):
    from report.figures.forest import forest_plot

    models = next(m for m in spec.cox if m.id == fig_spec.models)
    layout = results.tables[models.id]
    s = results.statistics
    rows = []
    for ep in models.endpoints:
        for key in layout["endpoints"][ep]["multi"]:
            prefix = f"cox.{models.population}.{ep}.multi.{key}"
            hr = s[f"{prefix}.hr"]
            rows.append({"group": spec.endpoints[ep].label, "label": layout["labels"][key], "hr": hr.value,
                         "ci_lower": s[f"{prefix}.ci_lower"].value, "ci_upper": s[f"{prefix}.ci_upper"].value,
                         "p": s[f"{prefix}.p"].value, "status": hr.status})
    return forest_plot(rows, hr_formatter=lambda r: fmt.estimate_ci(r.get("hr"), r.get("ci_lower"),
                                                                    r.get("ci_upper"), spec.display.hr_digits),
                       p_formatter=lambda p: fmt.pvalue(p, spec.display.p_digits))


def _flow(spec: Spec, fig_spec: Figure, results: Results):
    from report.figures.flow import flow_chart

    return flow_chart(flow_facts(spec, results))


DRAWERS = {"km_grid": _km_figure, "waterfall": _waterfall, "forest": _forest, "flow": _flow}


def _fingerprint(loaded: LoadedSpec, results_json: str) -> str:
    h = hashlib.sha256(results_json.encode())
    h.update(loaded.sha256.encode())
    for path in sorted(FIGURE_CODE.glob("*.py")) + [Path(__file__)]:
        h.update(path.read_bytes())
    return h.hexdigest()


def build_figures(loaded: LoadedSpec, results: Results, results_json: str, build_dir: Path,
                  staging: Path) -> dict[str, dict]:
    """Draw (or reuse) every declared figure; returns {id: {number, title, caption, data_uri, png}}.

    Current figures in `<build_dir>/figures` are reused; otherwise they are drawn into `<staging>/figures`, which
    `commit_figures` moves into place once the whole report has rendered."""
    spec = loaded.spec
    order = spec.manuscript.figures if spec.manuscript else [f.id for f in spec.figures]
    declared = {f.id: f for f in spec.figures}
    source = build_dir / "figures"
    fingerprint = _fingerprint(loaded, results_json)
    stamp = source / ".fingerprint"
    if not (stamp.is_file() and stamp.read_text() == fingerprint):
        source = staging / "figures"
        _draw_all(spec, results, [declared[i] for i in order], source, fingerprint)
    out = {}
    for number, fig_id in enumerate(order, start=1):
        svg = (source / f"{fig_id}.svg").read_bytes()
        out[fig_id] = {"number": number, "title": declared[fig_id].title, "caption": declared[fig_id].title,
                       "data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
                       "png": f"figures/{fig_id}.png"}
    return out


def _draw_all(spec: Spec, results: Results, figures: list[Figure], target: Path, fingerprint: str) -> None:
    from report.figures.save import save_figure

    target.mkdir(parents=True, exist_ok=True)
    for fig_spec in figures:
        fig = DRAWERS[fig_spec.kind](spec, fig_spec, results)
        save_figure(fig, target / fig_spec.id)
    (target / "index.json").write_text(json.dumps([f.id for f in figures]))
    (target / ".fingerprint").write_text(fingerprint)


def commit_figures(staging: Path, build_dir: Path) -> None:
    """Swap freshly drawn figures into `<build_dir>/figures` (nothing to do when they were reused)."""
    new = staging / "figures"
    if not new.is_dir():
        return
    target = build_dir / "figures"
    old = build_dir / ".figures-old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
