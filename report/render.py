"""Render the manuscript from results.json: Jinja2 templates -> self-contained HTML -> PDF, Word, Quarto.

Rendering never computes statistics: tables, figures and prose read results.json through `report.inline`
and `report.formatting`. Every output is written atomically, so a failure leaves the previous report intact.

The work is spread over the cores: figures are drawn in worker processes while the tables are built, and the
PDF is typeset in its own process while the Word and Quarto files are written. Work whose inputs did not change
is reused (`report.render_cache`): figures, rendered tables, and every output file whose HTML is unchanged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)
from markupsafe import Markup

from paperlock.errors import PaperlockError
from paperlock.results import Results, dumps
from paperlock.spec import LoadedSpec
from report import formatting
from report.figure_build import FigureSet, commit_figures
from report.inline import Inline
from report.pdf import PdfWorker
from report.render_cache import RenderCache, output_key, tables_key

if TYPE_CHECKING:
    from report.tables.style import TableSpec

ENGINE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)  # outputs left in place: their inputs did not change

    def record(self, name: str, start: float) -> None:
        self.stages[name] = time.perf_counter() - start


def template_environment(loaded: LoadedSpec) -> Environment:
    """Study templates first (a study may override any template), then the engine's."""
    loaders = [FileSystemLoader(str(p)) for p in (loaded.root / "templates", ENGINE_TEMPLATES) if p.is_dir()]
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html", "j2", "xml"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(formatting.FILTERS)
    return env


def table_order(loaded: LoadedSpec) -> list[str]:
    spec = loaded.spec
    if spec.manuscript:
        return list(spec.manuscript.tables)
    return [t.id for group in (spec.baseline_tables, spec.survival_tables, spec.outcome_tables,
                               spec.cox_tables, spec.graded_event_tables) for t in group]


def build_tables(loaded: LoadedSpec, results: Results) -> list[TableSpec]:
    """Every table in manuscript order, numbered by its position."""
    from report.tables.baseline import baseline_table_spec
    from report.tables.cox import cox_table_spec
    from report.tables.outcomes import graded_table_spec, outcome_table_spec
    from report.tables.survival import survival_table_spec

    spec = loaded.spec
    builders = {t.id: (baseline_table_spec, t) for t in spec.baseline_tables}
    builders |= {t.id: (survival_table_spec, t) for t in spec.survival_tables}
    builders |= {t.id: (outcome_table_spec, t) for t in spec.outcome_tables}
    builders |= {t.id: (cox_table_spec, t) for t in spec.cox_tables}
    builders |= {t.id: (graded_table_spec, t) for t in spec.graded_event_tables}
    out = []
    for number, table_id in enumerate(table_order(loaded), start=1):
        build, table = builders[table_id]
        out.append(build(spec, table, results, number))
    return out


def cross_references(loaded: LoadedSpec) -> dict[str, str]:
    """{'table2': 'Table 2', 'figure3': 'Figure 3', ...} generated from the manuscript order."""
    refs = {t: f"Table {i}" for i, t in enumerate(table_order(loaded), start=1)}
    figures = loaded.spec.manuscript.figures if loaded.spec.manuscript else [f.id for f in loaded.spec.figures]
    refs |= {f: f"Figure {i}" for i, f in enumerate(figures, start=1)}
    return refs


def rendered_tables(loaded: LoadedSpec, results: Results, results_json: str | None = None,
                    cache: RenderCache | None = None) -> dict[str, dict]:
    """{id: {caption, title, number, wide, long, html}} for the templates; from the cache when still current."""
    key = tables_key(results_json, loaded.sha256) if cache is not None and results_json is not None else None
    if key is not None and cache is not None and (hit := cache.tables(key)) is not None:
        return hit
    from report.tables.style import render_table_html

    out = {t.id: {"caption": t.caption, "title": t.title, "number": t.number, "wide": t.wide, "long": t.long,
                  "html": render_table_html(t)} for t in build_tables(loaded, results)}
    if key is not None and cache is not None:
        cache.record_tables(key, out)
    return out


def render_html(loaded: LoadedSpec, results: Results, build_dir: Path | None = None,
                staging: Path | None = None, results_json: str | None = None, *,
                figures: FigureSet | None = None, tables: dict[str, dict] | None = None) -> str:
    """The manuscript as one self-contained HTML string (figures embedded as SVG data URIs).

    Figures are drawn (or reused) when `build_dir` and `staging` are given, or taken from `figures`."""
    env = template_environment(loaded)
    inline = Inline(results, loaded.spec.display)
    tables = tables if tables is not None else rendered_tables(loaded, results)
    refs = cross_references(loaded)

    def ref(target: str, panel: str = "") -> Markup:
        """A cross-reference link: 'Table 2', 'Figure 2A'; numbers come from the manuscript order."""
        if target not in refs:
            raise PaperlockError(f"the manuscript refers to {target!r}, which the study spec does not declare")
        prefix = "tbl" if refs[target].startswith("Table") else "fig"
        return Markup('<a class="xref" href="#{}-{}">{}{}</a>').format(prefix, target, refs[target], panel)

    own_figures = figures is None and build_dir is not None and staging is not None and bool(loaded.spec.figures)
    if own_figures:
        assert build_dir is not None and staging is not None
        figures = FigureSet(loaded, results, results_json or dumps(results), build_dir, staging)
    try:
        figure_entries = figures.entries() if figures is not None else {}
        if own_figures and figures is not None:
            figures.finish()
    finally:
        if own_figures and figures is not None:
            figures.close()
    context = {
        "ref": ref,
        "spec": loaded.spec,
        "meta": results.meta,
        "methods": results.methods,
        "sections": loaded.spec.manuscript.sections if loaded.spec.manuscript else ["results"],
        "tables": {tid: {**t, "html": Markup(t["html"])} for tid, t in tables.items()},
        "figures": figure_entries,
        "css": Markup(env.loader.get_source(env, "manuscript.css")[0]),
        **inline.globals(),
    }
    try:
        return env.get_template("manuscript.html.j2").render(**context)
    except TemplateError as exc:
        raise PaperlockError(f"template error: {_template_location(exc)}{exc.message or exc}") from None


def _template_location(exc: TemplateError) -> str:
    """'templates/sections/results.html.j2, line 12: ' from the innermost template frame of the error."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return f"{exc.filename}, line {exc.lineno}: "
    return f"{frames[-1].filename}, line {frames[-1].lineno}: " if frames else ""


FORMATS = ("html", "pdf", "docx", "qmd")
WRITTEN_AFTER_HTML = ("pdf", "docx", "qmd")


def render_all(loaded: LoadedSpec, results: Results, out_dir: Path, formats: tuple[str, ...] = FORMATS,
               timings: Timings | None = None, use_cache: bool = True,
               pdf_worker: PdfWorker | None = None) -> dict[str, Path]:
    """Render every requested format into `out_dir`; returns {format: path}.

    Everything is produced in a staging folder first (figures included) and moved into place only when every
    format succeeded, so a failure at any stage leaves the previous report untouched. An output whose inputs are
    unchanged since the last render is left in place (`use_cache=False` rewrites everything). `pdf_worker`: one
    started by the caller (e.g. before loading the results, so WeasyPrint is imported meanwhile); it is closed
    here in any case."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise PaperlockError(f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    timings = timings or Timings()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    cache = RenderCache(out_dir, enabled=use_cache)
    if pdf_worker is not None and "pdf" not in formats:
        pdf_worker.close()
    pdf = (pdf_worker or PdfWorker()) if "pdf" in formats else None  # imports WeasyPrint meanwhile
    figures: FigureSet | None = None
    try:
        start = time.perf_counter()
        results_json = dumps(results)
        if loaded.spec.figures:  # workers draw while the tables are built here (serially: drawn right here)
            figures = FigureSet(loaded, results, results_json, out_dir, staging)
            timings.record("figures", start)
        start = time.perf_counter()
        tables = rendered_tables(loaded, results, results_json, cache)
        timings.record("tables", start)
        start = time.perf_counter()
        if figures is not None:
            figures.wait("svg")
            timings.record("figures svg", start)
            start = time.perf_counter()
        html = render_html(loaded, results, figures=figures, tables=tables)
        timings.record("render html", start)
        staged: dict[str, Path] = {}
        if "html" in formats:
            staged["html"] = staging / "manuscript.html"
            staged["html"].write_text(html, encoding="utf-8")
        fingerprint = figures.fingerprint if figures is not None else ""
        keys = {fmt: output_key(fmt, html, fingerprint) for fmt in WRITTEN_AFTER_HTML if fmt in formats}
        todo = [fmt for fmt in keys if not cache.reusable(fmt, keys[fmt], out_dir / f"manuscript.{fmt}")]
        timings.reused = [fmt for fmt in keys if fmt not in todo]
        if pdf is not None and "pdf" in todo:
            staged["pdf"] = staging / "manuscript.pdf"
            pdf.submit(html, out_dir, staged["pdf"])
        elif pdf is not None:
            pdf.close()
        if figures is not None and ("docx" in todo or "qmd" in todo):
            start = time.perf_counter()
            figures.finish()  # the Word and Quarto files use the PNGs
            timings.record("figures png", start)
        figure_root = figures.root if figures is not None else staging
        if "docx" in todo:
            from report.docx import write_docx

            start = time.perf_counter()
            staged["docx"] = staging / "manuscript.docx"
            write_docx(html, figure_root, staged["docx"])
            timings.record("write docx", start)
        if "qmd" in todo:
            from report.quarto import write_quarto

            start = time.perf_counter()
            staged["qmd"] = staging / "manuscript.qmd"
            write_quarto(html, figure_root, staged["qmd"])
            timings.record("write qmd", start)
        if pdf is not None and "pdf" in todo:
            start = time.perf_counter()
            timings.stages["write pdf"] = pdf.result()  # typesetting time, in its own process
            timings.record("wait for pdf", start)
        if figures is not None:
            figures.finish()
        for fmt in todo:
            cache.record(fmt, keys[fmt], staged[fmt])
        commit_figures(staging, out_dir)
        outputs = {}
        for name, path in staged.items():
            outputs[name] = out_dir / path.name
            os.replace(path, outputs[name])
        outputs |= {fmt: out_dir / f"manuscript.{fmt}" for fmt in timings.reused}
        cache.save()
        return {fmt: outputs[fmt] for fmt in formats if fmt in outputs}
    finally:
        if pdf is not None:
            pdf.close()
        if figures is not None:
            figures.close()
        shutil.rmtree(staging, ignore_errors=True)
