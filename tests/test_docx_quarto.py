"""The Word and Quarto outputs of the mini study (and of the reference study when its cohort exists), checked
against the rendered HTML: real Word tables cell for cell, the prose, the figures' PNGs, deterministic bytes;
a Quarto document that pandoc converts, with every table and figure id and no raw cross-reference links."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import docx
import lxml.html
import pypandoc
import pytest

from paperlock.cli import main
from paperlock.errors import PaperlockError
from report.docx import write_docx
from report.quarto import write_quarto

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).resolve().parent / "fixtures" / "mini_study"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def text(el) -> str:
    return " ".join(el.text_content().split())


def words(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study = tmp_path_factory.mktemp("docx") / "mini"
    shutil.copytree(MINI, study)
    assert main(["results", "--study", str(study)]) == 0
    assert main(["report", "--study", str(study), "--formats", "html"]) == 0
    return study / "build"


@pytest.fixture(scope="module")
def html(build: Path) -> str:
    return (build / "manuscript.html").read_text()


@pytest.fixture(scope="module")
def body(html: str):
    return lxml.html.document_fromstring(html).find("body")


@pytest.fixture(scope="module")
def document(build: Path, html: str) -> docx.document.Document:
    write_docx(html, build, build / "manuscript.docx")
    return docx.Document(str(build / "manuscript.docx"))


def html_tables(body) -> list:
    return body.xpath("//figure[contains(@class, 'table')]//table")


def grid_texts(table) -> dict[tuple[int, int], str]:
    """The HTML table's header and body cells by grid position (tfoot notes excluded)."""
    rows = table.xpath("./thead/tr | ./tbody/tr | ./tr")
    taken: set[tuple[int, int]] = set()
    out = {}
    for r, tr in enumerate(rows):
        c = 0
        for cell in tr.xpath("./th | ./td"):
            while (r, c) in taken:
                c += 1
            rs, cs = int(cell.get("rowspan", 1)), int(cell.get("colspan", 1))
            out[(r, c)] = text(cell)
            taken |= {(r + i, c + j) for i in range(rs) for j in range(cs)}
            c += cs
    return out


# ------------------------------------------------------------------------------------------------- Word
def test_word_tables_are_real_tables_with_the_html_cell_texts(document, body):
    tables = html_tables(body)
    assert len(tables) >= 3
    assert len(document.tables) == len(tables) + 1  # + the colophon
    for html_table, word_table in zip(tables, document.tables, strict=False):
        expected = grid_texts(html_table)
        n_rows = 1 + max(r for r, _ in expected)
        n_cols = 1 + max(c for _, c in expected)
        assert (len(word_table.rows), len(word_table.columns)) == (n_rows, n_cols)
        for (r, c), value in expected.items():
            assert words(word_table.cell(r, c).text) == value, (r, c)


def test_word_tables_keep_spans_rules_and_header_rows(document, body):
    baseline = document.tables[0]
    html_head = html_tables(body)[0].xpath("./thead/tr")
    first_row_tcs = baseline.rows[0]._tr.findall(f"{W}tc")
    assert len(first_row_tcs) == len(html_head[0].xpath("./th | ./td"))  # a spanner is one merged cell
    spans = [tc.find(f"{W}tcPr/{W}gridSpan") for tc in first_row_tcs]
    assert any(s is not None and int(s.get(f"{W}val")) > 1 for s in spans)
    for r in range(len(html_head)):
        assert baseline.rows[r]._tr.find(f"{W}trPr/{W}tblHeader") is not None  # repeats on each page
    top = first_row_tcs[0].find(f"{W}tcPr/{W}tcBorders/{W}top")
    assert top is not None and top.get(f"{W}val") == "single" and int(top.get(f"{W}sz")) >= 8
    size = baseline.cell(len(html_head), 1).paragraphs[0].style.font.size
    assert size.pt == 9


def test_word_table_notes_and_captions(document, body):
    paragraphs = [words(p.text) for p in document.paragraphs]
    for figure in body.xpath("//figure"):
        assert text(figure.find("figcaption")) in paragraphs
    for note in body.xpath("//figure[contains(@class, 'table')]//tfoot//td"):
        assert text(note) in paragraphs


def test_word_document_has_the_prose_headings_and_notice(document, body):
    paragraphs = {words(p.text): p.style.name for p in document.paragraphs}
    prose = [p for p in body.xpath("//p") if text(p)]
    assert prose
    for p in prose:
        assert text(p) in paragraphs, text(p)[:60]
    notice = body.xpath("//p[@class='synthetic']")[0]
    assert paragraphs[text(notice)] == "Synthetic Notice"
    for h2 in body.xpath("//h2"):
        assert paragraphs[text(h2)] == "Heading 1"
    assert paragraphs[text(body.find("h1"))] == "Title"
    assert document.core_properties.title == text(body.find("h1"))


def test_word_cross_references_link_to_captions(document, body):
    xml = document.element.xml
    for link in body.xpath("//a[@class='xref']"):
        anchor = link.get("href")[1:].replace("-", "_")
        assert f'w:anchor="{anchor}"' in xml
        assert f'w:name="{anchor}"' in xml  # the bookmark on the caption


def test_word_figures_are_the_300_dpi_pngs(document, body, build):
    figures = body.xpath("//figure[contains(@class, 'figure')]//img")
    assert len(figures) >= 1
    assert len(document.inline_shapes) == len(figures)
    embedded = {hashlib.sha256(part.blob).hexdigest() for part in document.part.package.image_parts}
    for img in figures:
        assert hashlib.sha256((build / img.get("data-png")).read_bytes()).hexdigest() in embedded
    section = document.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    assert all(shape.width <= text_width for shape in document.inline_shapes)


def test_word_footer_numbers_pages(document):
    footer = document.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer


def test_word_output_is_byte_identical_and_atomic(build, html, document):
    target = build / "again.docx"
    write_docx(html, build, target)
    assert target.read_bytes() == (build / "manuscript.docx").read_bytes()
    assert not list(build.glob(".*.tmp"))


def test_word_missing_figure_is_a_clear_error(build, html, tmp_path):
    before = b"previous document"
    target = tmp_path / "m.docx"
    target.write_bytes(before)
    with pytest.raises(PaperlockError, match="does not exist"):
        write_docx(html, tmp_path, target)  # no figures/ in tmp_path
    assert target.read_bytes() == before


# ----------------------------------------------------------------------------------------------- Quarto
@pytest.fixture(scope="module")
def qmd(build: Path, html: str) -> str:
    write_quarto(html, build, build / "manuscript.qmd")
    return (build / "manuscript.qmd").read_text()


def test_quarto_front_matter_and_no_raw_links(qmd, body):
    assert qmd.startswith("---\ntitle: ")
    front = qmd.split("---")[1]
    for fmt in ("html:", "pdf:", "docx:"):
        assert fmt in front
    assert text(body.find("h1")) in front
    assert '<a class="xref"' not in qmd
    assert "::: callout-warning" in qmd


def test_quarto_tables_figures_and_references(qmd, body, build):
    for figure in body.xpath("//figure[contains(@class, 'table')]"):
        block = re.search(r"::: \{#" + figure.get("id") + r"\}\n\n```\{=html\}\n(.*?)\n```\n\n(.*?)\n:::",
                          qmd, re.S)
        assert block and block.group(1).startswith("<table"), figure.get("id")
        raw = lxml.html.fragment_fromstring(block.group(1))
        assert grid_texts(raw) == grid_texts(figure.xpath(".//table")[0])  # spanners and all
        assert not block.group(2).startswith("Table")  # Quarto writes the label
    for figure in body.xpath("//figure[contains(@class, 'figure')]"):
        png = figure.find(".//img").get("data-png")
        assert (build / png).is_file()
        image = re.search(r"!\[([^\]]+)\]\(" + re.escape(png) + r"\)\{#" + figure.get("id"), qmd)
        assert image and not image.group(1).startswith("Figure"), figure.get("id")
    for link in body.xpath("//a[@class='xref']"):
        assert re.search(r"@\{?" + link.get("href")[1:] + r"\b", qmd)


def test_quarto_document_converts_with_pandoc(qmd, build, body):
    out = pypandoc.convert_file(str(build / "manuscript.qmd"), "html", format="markdown")
    for figure in body.xpath("//figure"):
        assert f'id="{figure.get("id")}"' in out
    cites = set(re.findall(r'data-cites="([^"]+)"', out))
    assert cites == {a.get("href")[1:] for a in body.xpath("//a[@class='xref']")}
    assert "PAPERLOCK" not in out


# ------------------------------------------------------------------------------------ reference study
@pytest.mark.skipif(not (ROOT / "data" / "cohort.csv").exists()
                    or not os.environ.get("PAPERLOCK_REFERENCE_TESTS"),
                    reason="the reference study's report takes ~25 s: set PAPERLOCK_REFERENCE_TESTS=1")
def test_reference_study_word_and_quarto(tmp_path):
    """The whole reference manuscript: every table cell for cell in Word, a Quarto file pandoc converts."""
    study = tmp_path / "ref"
    study.mkdir()
    for name in ("study.yaml", "data", "templates"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, study / name)
        elif src.exists():
            shutil.copy(src, study / name)
    assert main(["results", "--study", str(study)]) == 0
    assert main(["report", "--study", str(study), "--formats", "html"]) == 0
    build = study / "build"
    page = (build / "manuscript.html").read_text()
    write_docx(page, build, build / "manuscript.docx")
    write_quarto(page, build, build / "manuscript.qmd")
    tables = html_tables(lxml.html.document_fromstring(page).find("body"))
    word = docx.Document(str(build / "manuscript.docx"))
    assert len(word.tables) == len(tables) + 1
    for html_table, word_table in zip(tables, word.tables, strict=False):
        for (r, c), value in grid_texts(html_table).items():
            assert words(word_table.cell(r, c).text) == value
    out = pypandoc.convert_file(str(build / "manuscript.qmd"), "html", format="markdown")
    assert '<a class="xref"' not in out


def test_quarto_panel_letters_follow_the_reference():
    from report.quarto import qmd_text

    page = ('<html><body><h1>T</h1><p>As shown (<a class="xref" href="#fig-figure2">Figure 2A</a>–B; '
            '<a class="xref" href="#tbl-table2">Table 2</a>).</p></body></html>')
    qmd = qmd_text(page)
    assert "(@{fig-figure2}A–B; @tbl-table2)." in qmd
    out = pypandoc.convert_text(qmd, "html", format="markdown")
    assert re.search(r'data-cites="fig-figure2">[^<]*</span>A–B', out)


def test_word_wide_table_gets_a_landscape_page_and_prose_returns_to_portrait(tmp_path):
    from docx.enum.section import WD_ORIENT

    page = ('<html><body><h1>T</h1><p>Before.</p><figure class="table wide" id="tbl-t1">'
            '<figcaption><b>Table 1.</b> Wide</figcaption>'
            '<table><thead><tr><th rowspan="2"></th><th colspan="2">Arm</th></tr>'
            '<tr><th>A</th><th>B</th></tr></thead><tbody><tr><th>x</th><td>1</td><td>2</td></tr></tbody>'
            '</table></figure><p>After.</p></body></html>')
    write_docx(page, tmp_path, tmp_path / "w.docx")
    document = docx.Document(str(tmp_path / "w.docx"))
    assert [s.orientation for s in document.sections] == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE,
                                                          WD_ORIENT.PORTRAIT]
    assert document.sections[1].page_width > document.sections[1].page_height
    table = document.tables[0]
    assert [words(table.cell(r, c).text) for r in range(3) for c in range(3)] == [
        "", "Arm", "Arm", "", "A", "B", "x", "1", "2"]
