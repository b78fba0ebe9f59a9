"""Parallel rendering and reuse (issue 9): worker processes give the same files as a serial run, an output is
rewritten exactly when what it is made from changed, and a failure in any worker leaves the previous build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperlock.cli import main
from paperlock.errors import PaperlockError
from paperlock.results import dumps, load_results
from paperlock.spec import load_spec
from report import figure_build, pdf
from report.figure_build import FigureSet, share_out


def run_cli(*args: str) -> int:
    return main(list(args))


def snapshot(build: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the build folder (hidden ones too) with its modification time and bytes."""
    return {str(p.relative_to(build)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(build.rglob("*")) if p.is_file()}


def draw(study: Path, staging: Path) -> dict[str, bytes]:
    loaded = load_spec(study)
    results = load_results(study / "build" / "results.json")
    figures = FigureSet(loaded, results, dumps(results), study / "build", staging)
    try:
        figures.finish()
    finally:
        figures.close()
    return {p.name: p.read_bytes() for p in sorted((staging / "figures").iterdir())}


def test_parallel_drawing_gives_the_serial_bytes(mini_study: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    """SVG and PNG of every figure are byte-identical whether drawn in two worker processes or in order here."""
    assert run_cli("results", "--study", str(mini_study)) == 0
    monkeypatch.setenv("PAPERLOCK_JOBS", "1")
    serial = draw(mini_study, tmp_path / "serial")
    monkeypatch.setenv("PAPERLOCK_JOBS", "2")
    parallel = draw(mini_study, tmp_path / "parallel")
    assert sorted(serial) == sorted(parallel)
    assert {n for n in serial if n.endswith((".svg", ".png"))} == {f"figure{i}.{e}" for i in range(1, 5)
                                                                   for e in ("svg", "png")}
    for name in serial:
        assert serial[name] == parallel[name], name


def test_figures_are_shared_out_by_cost():
    """The two Kaplan–Meier grids (the slowest figures) go to different workers; each share keeps manuscript order."""
    from paperlock.spec import Figure

    figs = [Figure(id="f1", kind="flow", title="x"), Figure(id="f2", kind="km_grid", title="x", panels=["a", "b"]),
            Figure(id="f3", kind="km_grid", title="x", panels=["c", "d"]), Figure(id="f4", kind="forest", title="x")]
    shares = share_out(figs, 2)
    assert sorted(map(sorted, shares)) == [["f1", "f3"], ["f2", "f4"]]
    assert share_out(figs, 1) == [["f1", "f2", "f3", "f4"]]
    assert sorted(share_out(figs, 8)) == [["f1"], ["f2"], ["f3"], ["f4"]]


def test_unchanged_outputs_are_kept_and_changed_ones_rewritten(mini_study: Path):
    assert run_cli("results", "--study", str(mini_study)) == 0
    build = mini_study / "build"
    report = ("report", "--study", str(mini_study), "--formats", "html,docx,qmd")
    assert run_cli(*report) == 0
    first = snapshot(build)
    # nothing changed: Word and Quarto files (and the figures) are left as they were
    assert run_cli(*report) == 0
    again = snapshot(build)
    for name in ("manuscript.docx", "manuscript.qmd", "figures/figure2.png"):
        assert again[name] == first[name], name
    # a template edit that changes the HTML rewrites both
    template = mini_study / "templates" / "sections" / "results.html.j2"
    template.write_text(template.read_text().replace("Median PFS was", "The median PFS was"))
    assert run_cli(*report) == 0
    edited = snapshot(build)
    assert edited["manuscript.docx"][1] != first["manuscript.docx"][1]
    assert "The median PFS was" in (build / "manuscript.qmd").read_text()
    # a file changed by hand is not trusted: it is rewritten
    (build / "manuscript.qmd").write_text("changed by hand")
    assert run_cli(*report) == 0
    assert (build / "manuscript.qmd").read_bytes() == edited["manuscript.qmd"][1]
    # --no-cache rewrites everything, to the same bytes
    assert run_cli(*report, "--no-cache") == 0
    forced = snapshot(build)
    assert forced["manuscript.docx"][0] != edited["manuscript.docx"][0]
    assert forced["manuscript.docx"][1] == edited["manuscript.docx"][1]


def test_a_failing_pdf_worker_leaves_the_previous_build(mini_study: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]):
    assert run_cli("results", "--study", str(mini_study)) == 0
    build = mini_study / "build"
    assert run_cli("report", "--study", str(mini_study), "--formats", "html,qmd") == 0
    template = mini_study / "templates" / "sections" / "results.html.j2"
    template.write_text(template.read_text().replace("Median PFS was", "The median PFS was"))
    before = snapshot(build)

    def broken(html: str, base_url: Path, target: Path) -> None:
        target.write_bytes(b"half a PDF")
        raise PaperlockError("typesetting broke")

    monkeypatch.setattr(pdf, "write_pdf", broken)  # the worker is forked after this, so it runs `broken`
    assert run_cli("report", "--study", str(mini_study)) == 2
    assert "typesetting broke" in capsys.readouterr().err
    assert snapshot(build) == before


def test_a_failing_figure_worker_leaves_the_previous_build(mini_study: Path, monkeypatch: pytest.MonkeyPatch):
    assert run_cli("results", "--study", str(mini_study)) == 0
    build = mini_study / "build"
    assert run_cli("report", "--study", str(mini_study), "--formats", "html") == 0
    before = snapshot(build)
    (mini_study / "study.yaml").write_text((mini_study / "study.yaml").read_text() + "\n# figures must be redrawn\n")

    def broken(*args: object) -> None:
        raise ValueError("cannot draw this")

    monkeypatch.setenv("PAPERLOCK_JOBS", "2")
    monkeypatch.setitem(figure_build.DRAWERS, "km_grid", broken)
    with pytest.raises(RuntimeError, match="cannot draw this"):
        run_cli("report", "--study", str(mini_study), "--formats", "html")
    assert snapshot(build) == before


def test_shared_style_parsing_gives_the_same_pdf(tmp_path: Path):
    """Parsing each distinct style attribute once (as the inlined table CSS repeats them) changes no PDF byte."""
    from weasyprint import HTML

    cell = '<td style="padding: 2px 5px; border-top: 1px solid #000; text-align: center; font-weight: bold">{}</td>'
    rows = "".join(f"<tr>{cell.format(i)}{cell.format(i * i)}</tr>" for i in range(60))
    page = f'<html><body><p style="color: #333; font-size: 9pt">Table</p><table>{rows}</table></body></html>'
    pdf.write_pdf(page, tmp_path, tmp_path / "shared.pdf")
    with pdf.fixed_font_stamps():  # as write_pdf typesets (the font subsets' time stamp)
        HTML(string=page, base_url=str(tmp_path)).write_pdf(tmp_path / "plain.pdf")
    assert (tmp_path / "shared.pdf").read_bytes() == (tmp_path / "plain.pdf").read_bytes()
    import tinycss2
    import weasyprint.css

    assert weasyprint.css.tinycss2 is tinycss2  # put back afterwards


def test_the_renderer_imports_no_heavy_library_until_it_needs_one():
    """A re-render whose tables, figures and outputs are current needs neither pandas nor matplotlib nor WeasyPrint."""
    import subprocess
    import sys

    code = ("import sys, report.render\n"
            "print(','.join(m for m in ('pandas', 'matplotlib', 'great_tables', 'weasyprint') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_same_manuscript_typeset_later_gives_the_same_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """fontTools stamps each embedded font subset with the current time: two PDFs of one page typeset a second
    apart differed (a flaky byte comparison). write_pdf fixes the stamp unless SOURCE_DATE_EPOCH is set."""
    import time as time_module

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    page = '<html><body><p>Median OS 7.50 months (95% CI 4.06-10.94)</p></body></html>'
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pdf.write_pdf(page, tmp_path / "a", tmp_path / "a" / "m.pdf")
    later = time_module.time() + 86400.0
    monkeypatch.setattr(time_module, "time", lambda: later)
    pdf.write_pdf(page, tmp_path / "b", tmp_path / "b" / "m.pdf")
    assert (tmp_path / "a" / "m.pdf").read_bytes() == (tmp_path / "b" / "m.pdf").read_bytes()
    assert "SOURCE_DATE_EPOCH" not in os.environ  # put back afterwards
