"""Render the manuscript from results.json: Jinja2 templates -> self-contained HTML -> PDF (WeasyPrint).

Rendering never computes statistics: tables, figures and prose read results.json through `report.inline`
and `report.formatting`. Every output is written atomically, so a failure leaves the previous report intact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from paperlock.atomic import atomic_path, atomic_write_text
from paperlock.results import Results
from paperlock.spec import LoadedSpec
from report import formatting
from report.inline import Inline
from report.tables.baseline import baseline_table_spec
from report.tables.style import TableSpec, render_table_html

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


def build_tables(loaded: LoadedSpec, results: Results) -> list[TableSpec]:
    spec = loaded.spec
    return [baseline_table_spec(spec, t, results, number=i + 1) for i, t in enumerate(spec.baseline_tables)]


def render_html(loaded: LoadedSpec, results: Results) -> str:
    env = template_environment(loaded)
    inline = Inline(results, loaded.spec.display)
    tables = build_tables(loaded, results)
    context = {
        "spec": loaded.spec,
        "meta": results.meta,
        "tables": {t.id: {"caption": t.caption, "number": t.number, "html": Markup(render_table_html(t))}
                   for t in tables},
        "css": Markup(env.loader.get_source(env, "manuscript.css")[0]),
        **inline.globals(),
    }
    return env.get_template("manuscript.html.j2").render(**context)


def write_pdf(html: str, base_url: Path, target: Path) -> None:
    from weasyprint import HTML

    with atomic_path(target) as tmp:
        HTML(string=html, base_url=str(base_url)).write_pdf(tmp)


def render_all(loaded: LoadedSpec, results: Results, out_dir: Path, formats: tuple[str, ...] = ("html", "pdf"),
               timings: Timings | None = None) -> dict[str, Path]:
    """Render every requested format into `out_dir`; returns {format: path}."""
    timings = timings or Timings()
    outputs: dict[str, Path] = {}
    start = time.perf_counter()
    html = render_html(loaded, results)
    timings.record("render html", start)
    if "html" in formats:
        outputs["html"] = out_dir / "manuscript.html"
        atomic_write_text(outputs["html"], html)
    if "pdf" in formats:
        start = time.perf_counter()
        outputs["pdf"] = out_dir / "manuscript.pdf"
        write_pdf(html, out_dir, outputs["pdf"])
        timings.record("write pdf", start)
    return outputs
