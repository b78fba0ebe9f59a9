"""Figures and tables drawn into the PDF from kept sheets (issue 9): the PDF reads and looks as WeasyPrint would
typeset it directly, the sheets are reused across renders, and anything laid out differently falls back."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pydyf
import pytest
from PIL import Image, ImageChops

from paperlock.cli import main
from report import pdf, pdf_figures, pdf_tables
from report.pdf_objects import Copier, ObjectTable, Page, SheetError
from report.pdf_standins import Region, StandIns
from report.pdf_table_context import _may_match, context_key, uses_counters

MINI = Path(__file__).resolve().parent / "fixtures" / "mini_study"
POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None
AA_NOISE = 16  # grey levels: sub-pixel anti-aliasing where a form is placed 1e-4 pt off; a moved glyph is 255


@pytest.fixture(scope="module")
def manuscript(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The mini study's manuscript HTML (four figures, six tables)."""
    study = tmp_path_factory.mktemp("standins") / "mini"
    shutil.copytree(MINI, study)
    assert main(["results", "--study", str(study)]) == 0
    assert main(["report", "--study", str(study), "--formats", "html"]) == 0
    return (study / "build" / "manuscript.html").read_text(encoding="utf-8")


def quick_html(html: str, folder: Path) -> tuple[str, StandIns]:
    stand_ins = StandIns()
    out = pdf_tables.stand_in_tables(html, stand_ins, folder, str(folder))
    return pdf_figures.stand_in_figures(out, stand_ins, folder), stand_ins


def test_every_figure_and_unbreakable_table_is_drawn_from_a_sheet(manuscript: str, tmp_path: Path):
    """The layout is WeasyPrint's own: same pages, every anchor at the same place."""
    from weasyprint import HTML

    html, stand_ins = quick_html(manuscript, tmp_path)
    assert html.count("paperlock-sheet:") == len(stand_ins.images)
    assert manuscript.count("data:image/svg+xml") == 4 and "data:image/svg+xml" not in html
    tables = re.findall(r'<figure class="(table\b[^"]*)"', manuscript)
    unbreakable = [t for t in tables if "long" not in t.split()]
    assert unbreakable and len(stand_ins.images) == 4 + len(unbreakable)
    plain = HTML(string=manuscript, base_url=str(tmp_path)).render()
    quick = HTML(string=html, base_url=str(tmp_path)).render(cache=stand_ins.images)
    assert [(p.width, p.height) for p in quick.pages] == [(p.width, p.height) for p in plain.pages]
    for quick_page, plain_page in zip(quick.pages, plain.pages, strict=True):
        assert quick_page.anchors.keys() == plain_page.anchors.keys()  # ids in tables stay named destinations
        for name, box in plain_page.anchors.items():
            assert quick_page.anchors[name] == pytest.approx(box, abs=1e-6), name


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) not installed")
def test_the_pdf_reads_and_looks_as_typeset_directly(manuscript: str, tmp_path: Path):
    from weasyprint import HTML

    placed = pdf.settled(manuscript, tmp_path)[0]  # the floats placed (report.pdf_floats), as write_pdf does
    HTML(string=placed, base_url=str(tmp_path)).write_pdf(tmp_path / "plain.pdf")
    pdf.write_pdf(manuscript, tmp_path, tmp_path / "quick.pdf")
    for layout in ([], ["-layout"]):
        texts = [subprocess.run(["pdftotext", *layout, str(tmp_path / f"{name}.pdf"), "-"], capture_output=True,
                                check=True).stdout for name in ("plain", "quick")]
        assert texts[0] == texts[1]  # figure and table text included, in the same order
    for name in ("plain", "quick"):
        subprocess.run(["pdftoppm", "-r", "60", "-gray", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True)
    pages = sorted(tmp_path.glob("plain-*.pgm"))
    assert pages and len(pages) == len(list(tmp_path.glob("quick-*.pgm")))
    for page in pages:
        quick = Image.open(page.with_name(page.name.replace("plain", "quick")))
        difference = ImageChops.difference(Image.open(page), quick)
        assert max(difference.getextrema()) <= AA_NOISE, page.name


def test_kept_sheets_are_reused_and_give_the_same_bytes(manuscript: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    pdf.write_pdf(manuscript, tmp_path, tmp_path / "cold.pdf")
    kept = sorted(p.name for p in (tmp_path / ".cache").iterdir())
    assert len(kept) == 4  # figures and tables: a PDF and its notes each

    def refuse(*args: object) -> None:
        raise AssertionError("a current sheet was typeset again")

    monkeypatch.setattr(pdf_figures, "typeset_sheet", refuse)
    monkeypatch.setattr(pdf_tables, "typeset_sheet", refuse)
    pdf.write_pdf(manuscript, tmp_path, tmp_path / "warm.pdf")
    assert (tmp_path / "warm.pdf").read_bytes() == (tmp_path / "cold.pdf").read_bytes()
    assert sorted(p.name for p in (tmp_path / ".cache").iterdir()) == kept


def test_a_damaged_sheet_is_typeset_again(manuscript: str, tmp_path: Path):
    pdf.write_pdf(manuscript, tmp_path, tmp_path / "first.pdf")
    for sheet in (tmp_path / ".cache").glob("*.pdf"):
        sheet.write_bytes(b"%PDF-1.7\nnot a sheet\n")
    pdf.write_pdf(manuscript, tmp_path, tmp_path / "again.pdf")
    assert (tmp_path / "again.pdf").read_bytes() == (tmp_path / "first.pdf").read_bytes()


def table_sheet_key(html: str) -> str:
    tables = pdf_tables.candidates(html)
    return pdf_tables.sheet_key("tables", [context_key(html, tables)], ("pdf_tables.py",))


def test_edits_outside_the_tables_keep_their_sheet_unless_the_stylesheet_changes(manuscript: str):
    key = table_sheet_key
    head, body = manuscript.split("<body>", 1)
    reworded = manuscript.replace("patients", "persons")
    assert reworded != manuscript and key(reworded) == key(manuscript)
    assert key(head + '<body><p class="note" title="x">New</p>' + body) == key(manuscript)
    assert key(manuscript.replace("font-size: 10.5pt", "font-size: 11pt")) != key(manuscript)
    assert key(manuscript.replace('<html lang="en">', '<html lang="de">')) != key(manuscript)


def test_markup_before_a_table_matters_when_a_selector_reaches_the_table_through_it(manuscript: str):
    """`p.note + figure.table` styles a table by what precedes it: adding that paragraph changes the sheet's key;
    a selector whose subject never occurs in a table (`h1 + .running`) does not make markup matter."""
    styled = manuscript.replace("</style>", "p.note + figure.table { font-size: 7pt }</style>", 1)
    first_table = re.search(r'<figure class="table\b', styled)
    assert first_table is not None
    before = styled[: first_table.start()]
    noted = before + '<p class="note">N</p>' + styled[first_table.start():]
    elsewhere = styled.replace("<body>", '<body><p class="note">N</p>', 1)
    assert table_sheet_key(noted) != table_sheet_key(styled)
    assert table_sheet_key(elsewhere) == table_sheet_key(styled)  # matches no table there
    assert _may_match(".running", manuscript) is False and _may_match("figure.table", manuscript)


def test_a_page_with_css_counters_draws_its_tables_itself(manuscript: str, tmp_path: Path):
    """Hidden elements do not count in the sheet, so counters there could differ from the manuscript's."""
    counted = manuscript.replace("</style>", "figure.table { counter-increment: tbl }</style>", 1)
    assert uses_counters(counted) and not uses_counters(manuscript)
    assert pdf_tables.stand_in_tables(counted, StandIns(), tmp_path, str(tmp_path)) == counted


def test_tables_that_may_break_link_or_nest_are_left_to_weasyprint():
    table = '<figure class="table{}" id="tbl-{}"><figcaption>T</figcaption><table><tr><td>{}</td></tr></table></figure>'
    html = ('<html><head></head><body><a href="#c2">see</a>'
            + table.format("", "a", "1") + table.format("", "b", '<a href="https://x.org">x</a>')
            + table.format("", "c", '<span id="c2">2</span>') + table.format("", "d", "<h3>x</h3>")
            + table.format(" long", "e", "5") + "</body></html>")
    assert list(pdf_tables.candidates(html)) == ["tbl-a", "tbl-e"]  # e: its sheet shows it may break


def test_a_table_laid_out_for_another_width_sends_the_pdf_back_to_weasyprint(manuscript: str, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    """Should a kept sheet not match the manuscript (here: its key made blind to a wider page), nothing of it is
    used: the PDF is the one WeasyPrint typesets directly."""
    from weasyprint import HTML

    monkeypatch.setattr(pdf_tables, "sheet_key", lambda kind, parts, code: "blind")
    pdf.write_pdf(manuscript, tmp_path, tmp_path / "narrow.pdf")
    wide = manuscript.replace("margin: 22mm 20mm 20mm 20mm", "margin: 22mm 10mm 20mm 10mm")
    assert wide != manuscript
    pdf.write_pdf(wide, tmp_path, tmp_path / "wide.pdf")
    with pdf.shared_style_attributes(), pdf.fixed_font_stamps():  # as write_pdf typesets
        placed = pdf.settled(wide, tmp_path)[0]  # the floats placed (report.pdf_floats)
        HTML(string=placed, base_url=str(tmp_path)).write_pdf(tmp_path / "plain.pdf")
    assert (tmp_path / "wide.pdf").read_bytes() == (tmp_path / "plain.pdf").read_bytes()


def test_object_table_copies_a_graph_with_new_numbers():
    source = pydyf.PDF()
    font = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type1", "BaseFont": "/Helvetica"})
    source.add_object(font)
    resources = pydyf.Dictionary({"Font": pydyf.Dictionary({"F1": font.reference})})
    source.add_object(resources)
    content = pydyf.Stream([b"BT /F1 12 Tf 10 10 Td (Hi) Tj ET"])
    source.add_object(content)
    source.add_page(pydyf.Dictionary({"Type": "/Page", "Parent": source.pages.reference, "Contents": content.reference,
                                      "Resources": resources.reference, "MediaBox": pydyf.Array([0, 0, 50, 20])}))
    from io import BytesIO

    out = BytesIO()
    source.write(out)
    table = ObjectTable(out.getvalue())
    (page,) = table.pages()
    assert page.contents == b"BT /F1 12 Tf 10 10 Td (Hi) Tj ET" and page.box == (0, 0, 50, 20)
    target = pydyf.PDF()
    for _ in range(7):
        target.add_object(pydyf.Dictionary())
    copier = Copier(table, target)
    reference = copier.reference(page.resources)
    assert copier.reference(page.resources) == reference  # copied once
    written = BytesIO()
    target.write(written)
    assert b"/BaseFont /Helvetica" in written.getvalue() and reference == b"10 0 R"


def test_anything_but_a_sheet_is_refused():
    with pytest.raises(SheetError):
        ObjectTable(b"%PDF-1.7\nnothing here\n")
    with pytest.raises(SheetError):
        ObjectTable(b"1 0 obj\n<</Length 99>>\nstream\nshort\nendstream\nendobj\n")


def test_a_stand_in_drawn_at_another_width_is_reported():
    class Stream:
        def add_group(self, *args: float) -> object:
            return type("Group", (), {"id": "x0"})()

        def transform(self, **kwargs: float) -> None:
            pass

        def draw_x_object(self, name: str) -> None:
            pass

    stand_ins = StandIns()
    region = Region(page=Page(b"", 1, (0.0, 0.0, 75.0, 30.0)), box=(0.0, 0.0, 75.0, 30.0))
    url = stand_ins.add(0, region, (100.0, 40.0), exact_width=True)
    stand_ins.images[url].draw(Stream(), 100.0, 40.0)
    assert not stand_ins.mismatched
    stand_ins.images[url].draw(Stream(), 120.0, 48.0)
    assert stand_ins.mismatched and not stand_ins.complete()


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) not installed")
def test_a_long_table_prints_its_notes_once(tmp_path: Path):
    """A table spanning pages repeats its header on each page but its notes (`<tfoot>`) only at its end: a footer
    group repeated Table 1's p-value legend at the foot of both pages it spans."""
    from weasyprint import CSS, HTML

    rows = "".join(f"<tr><td>row {i}</td><td>{i}</td></tr>" for i in range(120))
    html = ('<html><body><figure class="table long"><figcaption>Table 1. Long</figcaption><table>'
            "<thead><tr><th>Variable</th><th>Value</th></tr></thead>"
            f"<tbody>{rows}</tbody><tfoot><tr><td colspan=2>NOTE-LEGEND</td></tr></tfoot></table></figure>"
            "</body></html>")
    css = CSS(filename=str(Path(pdf.__file__).resolve().parent.parent / "templates" / "manuscript.css"))
    HTML(string=html, base_url=str(tmp_path)).write_pdf(tmp_path / "long.pdf", stylesheets=[css])
    pages = subprocess.run(["pdftotext", str(tmp_path / "long.pdf"), "-"], capture_output=True, check=True,
                           text=True).stdout.split("\f")
    spanned = [i for i, page in enumerate(pages) if "row " in page]
    assert len(spanned) >= 2
    assert [i for i, page in enumerate(pages) if "Variable" in page] == spanned  # the header repeats
    assert [i for i, page in enumerate(pages) if "NOTE-LEGEND" in page] == [spanned[-1]]


def test_the_floats_settle_and_keep_their_numbering_order(manuscript: str, tmp_path: Path):
    """After write_pdf's rounds no float is left to defer, and figures and tables each keep their written order."""
    from report.pdf_floats import deferred

    placed, document, _ = pdf.settled(manuscript, tmp_path)
    assert deferred(placed, document) is None
    for prefix in ("fig-", "tbl-"):
        ids = [i for i in re.findall(r'<figure class="[^"]*" id="([^"]+)"', manuscript) if i.startswith(prefix)]
        assert ids and [i for i in re.findall(r'<figure class="[^"]*" id="([^"]+)"', placed)
                        if i.startswith(prefix)] == ids
    assert sorted(placed.split()) == sorted(manuscript.split())  # moved, nothing added or lost
