"""Render the manuscript from results.json: Jinja2 templates -> self-contained HTML -> PDF (WeasyPrint).

Rendering never computes statistics: tables, figures and prose read results.json through `report.inline`
and `report.formatting`. Every output is written atomically, so a failure leaves the previous report intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

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
from report.figure_build import build_figures, commit_figures
from report.inline import Inline
from report.tables.baseline import baseline_table_spec
from report.tables.cox import cox_table_spec
from report.tables.outcomes import graded_table_spec, outcome_table_spec
from report.tables.style import TableSpec, render_table_html
from report.tables.survival import survival_table_spec

ENGINE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)

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


def render_html(loaded: LoadedSpec, results: Results, build_dir: Path | None = None,
                staging: Path | None = None, results_json: str | None = None) -> str:
    """The manuscript as one self-contained HTML string (figures embedded as SVG data URIs)."""
    env = template_environment(loaded)
    inline = Inline(results, loaded.spec.display)
    tables = build_tables(loaded, results)
    refs = cross_references(loaded)

    def ref(target: str, panel: str = "") -> Markup:
        """A cross-reference link: 'Table 2', 'Figure 2A'; numbers come from the manuscript order."""
        if target not in refs:
            raise PaperlockError(f"the manuscript refers to {target!r}, which the study spec does not declare")
        prefix = "tbl" if refs[target].startswith("Table") else "fig"
        return Markup('<a class="xref" href="#{}-{}">{}{}</a>').format(prefix, target, refs[target], panel)

    context = {
        "ref": ref,
        "spec": loaded.spec,
        "meta": results.meta,
        "methods": results.methods,
        "sections": loaded.spec.manuscript.sections if loaded.spec.manuscript else ["results"],
        "tables": {t.id: {"caption": t.caption, "title": t.title, "number": t.number, "wide": t.wide, "long": t.long,
                          "html": Markup(render_table_html(t))} for t in tables},
        "figures": (build_figures(loaded, results, results_json or dumps(results), build_dir, staging)
                    if build_dir is not None and staging is not None and loaded.spec.figures else {}),
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


def write_pdf(html: str, base_url: Path, target: Path) -> None:
    from weasyprint import HTML

    HTML(string=html, base_url=str(base_url)).write_pdf(target)


FORMATS = ("html", "pdf", "docx", "qmd")


def render_all(loaded: LoadedSpec, results: Results, out_dir: Path, formats: tuple[str, ...] = FORMATS,
               timings: Timings | None = None) -> dict[str, Path]:
    """Render every requested format into `out_dir`; returns {format: path}.

    Everything is produced in a staging folder first (figures included) and moved into place only when every
    format succeeded, so a failure at any stage leaves the previous report untouched."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise PaperlockError(f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    timings = timings or Timings()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        start = time.perf_counter()
        html = render_html(loaded, results, out_dir, staging)
        timings.record("render html", start)
        if not (staging / "figures").is_dir() and (out_dir / "figures").is_dir():
            shutil.copytree(out_dir / "figures", staging / "figures")  # reused figures, for DOCX and Quarto
        staged: dict[str, Path] = {}
        if "html" in formats:
            staged["html"] = staging / "manuscript.html"
            staged["html"].write_text(html, encoding="utf-8")
        if "pdf" in formats:
            start = time.perf_counter()
            staged["pdf"] = staging / "manuscript.pdf"
            write_pdf(html, out_dir, staged["pdf"])
            timings.record("write pdf", start)
        if "docx" in formats:
            from report.docx import write_docx

            start = time.perf_counter()
            staged["docx"] = staging / "manuscript.docx"
            write_docx(html, staging, staged["docx"])
            timings.record("write docx", start)
        if "qmd" in formats:
            from report.quarto import write_quarto

            start = time.perf_counter()
            staged["qmd"] = staging / "manuscript.qmd"
            write_quarto(html, staging, staged["qmd"])
            timings.record("write qmd", start)
        commit_figures(staging, out_dir)
        outputs = {}
        for name, path in staged.items():
            outputs[name] = out_dir / path.name
            os.replace(path, outputs[name])
        return outputs
    finally:
        shutil.rmtree(staging, ignore_errors=True)
