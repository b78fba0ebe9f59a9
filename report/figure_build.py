"""Assemble the manuscript's figures from the spec's `figures` list and results.json.

Drawing lives in `report.figures` (which knows no study); this module only maps spec + results onto its inputs:
labels from the spec, numbers from results. Figures are written as SVG (embedded in the HTML and PDF) and 300-dpi
PNG (DOCX, journals) to `<build>/figures/`, and are redrawn only when results, spec or figure code change.

Drawing runs in worker processes, the figures shared out by expected cost. Each worker saves the SVGs of its
figures first and reports each one, then their PNGs, so the HTML (and the PDF typesetting) can start before the
PNGs, which only the Word and Quarto outputs need. A figure is always drawn, saved as SVG, then saved as PNG
within one process, as in a serial run, so the files are the same bytes however the work was shared out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paperlock.results import Results
from paperlock.spec import Figure, LoadedSpec, Spec
from report import formatting as fmt
from report import workers

FIGURE_CODE = Path(__file__).resolve().parent / "figures"
PNG_NICENESS = 3  # drawing processes yield to the PDF typesetting once their SVGs are out


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


def figure_order(spec: Spec) -> list[str]:
    return spec.manuscript.figures if spec.manuscript else [f.id for f in spec.figures]


def expected_cost(fig_spec: Figure) -> float:
    """Rough drawing time in seconds (measured on the reference study), to share figures out evenly."""
    if fig_spec.kind == "km_grid":
        return 0.45 * max(1, len(fig_spec.panels))
    return {"flow": 0.3}.get(fig_spec.kind, 0.8)


def share_out(figures: list[Figure], n_workers: int) -> list[list[str]]:
    """Figure ids per worker: longest first to the least loaded worker; each list keeps manuscript order."""
    loads = [0.0] * n_workers
    shares: list[list[str]] = [[] for _ in range(n_workers)]
    for fig_spec in sorted(figures, key=expected_cost, reverse=True):
        i = loads.index(min(loads))
        loads[i] += expected_cost(fig_spec)
        shares[i].append(fig_spec.id)
    position = {f.id: i for i, f in enumerate(figures)}
    return [sorted(share, key=position.__getitem__) for share in shares if share]


Emit = Callable[[str, str], None]


def draw_figures(loaded: LoadedSpec, results: Results, figure_ids: list[str], target: Path, emit: Emit,
                 png_niceness: int = 0) -> None:
    """Draw `figure_ids` into `target`: every SVG (calling `emit("svg", id)`), then every PNG (`emit("png", id)`).

    `png_niceness` lowers this process's priority before the PNGs (which only the Word and Quarto files need),
    so that they take the cores the PDF typesetting leaves free."""
    from report.figures.save import save_png, save_svg

    declared = {f.id: f for f in loaded.spec.figures}
    drawn = []
    for fig_id in figure_ids:
        fig = DRAWERS[declared[fig_id].kind](loaded.spec, declared[fig_id], results)
        save_svg(fig, target / fig_id)
        emit("svg", fig_id)
        drawn.append((fig_id, fig))
    if png_niceness:
        os.nice(png_niceness)
    for fig_id, fig in drawn:
        save_png(fig, target / fig_id)
        emit("png", fig_id)


def _draw_worker(loaded: LoadedSpec, results: Results, figure_ids: list[str], target: Path, events: Any) -> None:
    """Body of a drawing process: reports ("svg"|"png", id) as files are written, ("error", ...) on failure."""
    try:
        draw_figures(loaded, results, figure_ids, target, lambda kind, fig_id: events.put((kind, fig_id)),
                     png_niceness=PNG_NICENESS)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
        events.put(("error", *workers.portable(exc)))


class FigureSet:
    """The manuscript's figures: reused from `<build>/figures`, or being drawn into `<staging>/figures`."""

    def __init__(self, loaded: LoadedSpec, results: Results, results_json: str, build_dir: Path,
                 staging: Path) -> None:
        spec = loaded.spec
        self.order = figure_order(spec)
        self.declared = {f.id: f for f in spec.figures}
        self.fingerprint = _fingerprint(loaded, results_json)
        self.folder = build_dir / "figures"
        self._done: dict[str, set[str]] = {"svg": set(), "png": set()}
        self._processes: list[Any] = []
        self._events: Any = None
        stamp = self.folder / ".fingerprint"
        self.reused = stamp.is_file() and stamp.read_text() == self.fingerprint
        if self.reused:
            self._done = {"svg": set(self.order), "png": set(self.order)}
            return
        self.folder = staging / "figures"
        self.folder.mkdir(parents=True, exist_ok=True)
        figures = [self.declared[i] for i in self.order]
        if workers.jobs() <= 1 or not figures:  # one core: draw here, in order
            draw_figures(loaded, results, self.order, self.folder, lambda kind, fig_id: self._done[kind].add(fig_id))
            return
        import report.figures  # noqa: F401 - matplotlib loaded once, here; forked workers inherit it

        ctx = workers.context()
        self._events = ctx.Queue()
        for share in share_out(figures, min(workers.jobs(), len(figures))):
            process = ctx.Process(target=_draw_worker, args=(loaded, results, share, self.folder, self._events),
                                  name="paperlock-figures", daemon=True)
            process.start()
            self._processes.append(process)

    @property
    def root(self) -> Path:
        """The folder holding `figures/` (what the HTML's `data-png` paths are relative to)."""
        return self.folder.parent

    def wait(self, kind: str) -> None:
        """Block until every figure's `kind` ("svg" or "png") file is written; a worker's error is raised here."""
        while len(self._done[kind]) < len(self.order):
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                if all(p.exitcode is not None for p in self._processes) and self._events.empty():
                    codes = [p.exitcode for p in self._processes]
                    raise RuntimeError(f"a figure worker stopped before finishing (exit codes {codes})") from None
                continue
            if event[0] == "error":
                workers.reraise(event[1], event[2], "drawing a figure")
            self._done[event[0]].add(event[1])

    def entries(self) -> dict[str, dict]:
        """{id: {number, title, caption, data_uri, png}} once the SVGs are written (waits for them)."""
        self.wait("svg")
        out = {}
        for number, fig_id in enumerate(self.order, start=1):
            svg = (self.folder / f"{fig_id}.svg").read_bytes()
            title = self.declared[fig_id].title
            out[fig_id] = {"number": number, "title": title, "caption": title,
                           "data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
                           "png": f"figures/{fig_id}.png"}
        return out

    def finish(self) -> None:
        """Wait for the PNGs, then stamp the folder (index and fingerprint) so the next run can reuse it."""
        self.wait("png")
        self.close()
        if not self.reused and not (self.folder / ".fingerprint").is_file():
            (self.folder / "index.json").write_text(json.dumps(self.order))
            (self.folder / ".fingerprint").write_text(self.fingerprint)

    def close(self) -> None:
        """Stop any worker still running (after an error elsewhere) and reap every worker."""
        for process in self._processes:
            if process.exitcode is None and len(self._done["png"]) < len(self.order):
                process.terminate()
            process.join()
        self._processes = []
        if self._events is not None:
            self._events.close()
            self._events.join_thread()
            self._events = None


def build_figures(loaded: LoadedSpec, results: Results, results_json: str, build_dir: Path,
                  staging: Path) -> dict[str, dict]:
    """Draw (or reuse) every declared figure; returns {id: {number, title, caption, data_uri, png}}.

    Current figures in `<build_dir>/figures` are reused; otherwise they are drawn into `<staging>/figures`, which
    `commit_figures` moves into place once the whole report has rendered."""
    figures = FigureSet(loaded, results, results_json, build_dir, staging)
    try:
        entries = figures.entries()
        figures.finish()
    finally:
        figures.close()
    return entries


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
