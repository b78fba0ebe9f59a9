"""Write the manuscript as a Word document, built with python-docx directly from the rendered HTML.

Why not pandoc HTML -> DOCX: pandoc's tables would need a second pass anyway (three-line rules, spanner rules,
column widths, repeated header rows, 9-pt text), and matching its output back to the HTML tables is fragile.
Walking the HTML once gives real Word tables cell for cell (colspan/rowspan become merges), keeps the
styles in one place (`define_styles`, built at run time: no binary template to maintain) and yields
byte-identical files: python-docx writes the same XML for the same input, the core properties carry a
fixed date, and the zip is rewritten with fixed timestamps.

Input is the HTML contract of `report.render`: `<h1>`-`<h4>`, `<p>` (`class="synthetic"` for the notice),
`<figure class="table [wide]" id="tbl-...">` (caption above, great_tables `<table>`, notes in `<tfoot>`),
`<figure class="figure" id="fig-...">` (`<img data-png="...">` relative to the build folder, caption below),
`<a class="xref" href="#...">` (an internal link to the caption's bookmark) and `<section class="colophon">`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.html import HtmlElement

from paperlock.atomic import atomic_write_bytes
from paperlock.errors import PaperlockError
from report.manuscript_html import manuscript_body

SERIF = "Times New Roman"  # Liberation Serif on systems without it (metric-compatible)
SANS = "Arial"              # Liberation Sans likewise
MONO = "Courier New"
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM = Mm(20), Mm(22), Mm(20)
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN_SIDE
FIXED_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # core properties: no wall-clock time in the file
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TABLE_PT = 9               # table text size
CELL_MARGINS = Pt(8)       # left + right cell margins
STUB_MIN_EM = 10           # a wrapped stub (row labels) keeps at least this width, in em
# Arial / Liberation Sans advance widths in 1/1000 em; other characters count as 556 (digits, most lower case)
GLYPH_WIDTHS = {
    **dict.fromkeys("ijl", 222), **dict.fromkeys(" .,:;!|/[]ft'I", 278), **dict.fromkeys("()-r*", 333),
    **dict.fromkeys("ckszvxyJ\"", 500), **dict.fromkeys("=+<>~±≤≥×", 584), **dict.fromkeys("FTZ", 611),
    **dict.fromkeys("ABEKPSVXY", 667), **dict.fromkeys("CDHNRUw", 722), **dict.fromkeys("GOQ", 778),
    **dict.fromkeys("Mm", 833), **dict.fromkeys("%W", 900), "—": 1000,
}
KEEP_TOGETHER_ROWS = 30    # tables up to this many rows are kept on one page when they fit
RULE_THICK, RULE_THIN, RULE_SPANNER = 12, 6, 4  # border widths in eighths of a point: 1.5, 0.75, 0.5 pt
HEADINGS = {"h1": "Title", "h2": "Heading 1", "h3": "Heading 2", "h4": "Heading 3"}
# OOXML fixes the order of property elements (Word rejects a file that breaks it): what may follow what
PPR_AFTER_SHD = ("w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
                 "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
                 "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
                 "w:suppressOverlap", "w:jc",
                 "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
                 "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
TCPR_AFTER_BORDERS = ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign",
                      "w:hideMark", "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange")
PARAGRAPH_STYLES = {"blockquote": "Quote", "pre": "Colophon Text"}
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "table", "ul", "ol", "section", "div",
              "blockquote", "pre", "main", "article", "header", "footer", "aside", "nav"}
SKIPPED = {"style", "script", "title", "head", "meta", "link"}


# --------------------------------------------------------------------------------------------- styles
def _font(element, name: str) -> None:
    """Set a font on every script slot of a style's or run's rPr, dropping theme fonts (which win in Word)."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), name)


def _style(doc: DocxDocument, name: str, kind: WD_STYLE_TYPE = WD_STYLE_TYPE.PARAGRAPH,
           base: str | None = "Normal"):
    styles = doc.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, kind)
    if base and kind == WD_STYLE_TYPE.PARAGRAPH and name != base:
        style.base_style = styles[base]
    return style


def _paragraph_style(doc: DocxDocument, name: str, *, font: str, size: float, bold: bool = False,
                     italic: bool = False, before: float = 0, after: float = 0, line: float = 1.0,
                     keep_next: bool = False, base: str | None = "Normal"):
    style = _style(doc, name, base=base)
    _font(style.element, font)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = italic
    style.font.color.rgb = RGBColor(0, 0, 0)
    pf = style.paragraph_format
    pf.space_before, pf.space_after, pf.line_spacing = Pt(before), Pt(after), line
    pf.keep_with_next = keep_next
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):  # the template's Title has a coloured rule under it
        ppr.remove(border)
    return style


def define_styles(doc: DocxDocument) -> None:
    """A journal-manuscript look: serif body, sans headings and captions, 9-pt sans tables."""
    _paragraph_style(doc, "Normal", font=SERIF, size=11, after=6, line=1.5, base=None)
    doc.styles["Normal"].paragraph_format.widow_control = True
    _paragraph_style(doc, "Title", font=SANS, size=16, bold=True, after=12, line=1.2)
    heading = {"font": SANS, "line": 1.2, "keep_next": True}
    _paragraph_style(doc, "Heading 1", size=13, bold=True, before=18, after=6, **heading)
    _paragraph_style(doc, "Heading 2", size=11, bold=True, before=12, after=4, **heading)
    _paragraph_style(doc, "Heading 3", size=11, italic=True, before=10, after=4, **heading)
    _paragraph_style(doc, "Caption", font=SANS, size=10, before=12, after=4, line=1.2, keep_next=True)
    _paragraph_style(doc, "Figure", font=SERIF, size=11, before=12, after=0, line=1.0, keep_next=True)
    doc.styles["Figure"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph_style(doc, "Figure Caption", font=SANS, size=10, before=4, after=12, line=1.2, base="Caption")
    _paragraph_style(doc, "Table Text", font=SANS, size=9, before=1, after=1)
    _paragraph_style(doc, "Table Note", font=SANS, size=8, before=2, after=0)
    _paragraph_style(doc, "Colophon Text", font=MONO, size=7.5, before=0, after=0)
    _paragraph_style(doc, "Header", font=SANS, size=8)
    _paragraph_style(doc, "Footer", font=SANS, size=8)
    doc.styles["Footer"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Header"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    notice = _paragraph_style(doc, "Synthetic Notice", font=SERIF, size=9.5, before=6, after=12, line=1.2)
    ppr = notice.element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        borders.append(_border_element(side, 4, "B35900", space=4))
    ppr.insert_element_before(borders, *PPR_AFTER_SHD, "w:shd")
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), "FFF4E5")
    ppr.insert_element_before(shading, *PPR_AFTER_SHD)


def _border_element(side: str, size: int, color: str = "000000", space: int = 0):
    el = OxmlElement(f"w:{side}")
    el.set(qn("w:val"), "single" if size else "nil")
    if size:
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), str(space))
        el.set(qn("w:color"), color)
    return el


# ------------------------------------------------------------------------------------------- page layout
def _field(paragraph: Paragraph, instruction: str, placeholder: str) -> None:
    """A Word field (PAGE, NUMPAGES) whose result the viewer computes."""
    def char(kind: str) -> None:
        run = paragraph.add_run()
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        run._r.append(el)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    char("separate")
    paragraph.add_run(placeholder)
    char("end")


def set_up_pages(doc: DocxDocument, header_text: str) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.left_margin = section.right_margin = MARGIN_SIDE
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.header_distance = section.footer_distance = Mm(10)
    footer = section.footer.paragraphs[0]
    footer.style = doc.styles["Footer"]
    footer.add_run("Page ")
    _field(footer, "PAGE", "1")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES", "1")
    if header_text:
        header = section.header.paragraphs[0]
        header.style = doc.styles["Header"]
        header.add_run(header_text)


# -------------------------------------------------------------------------------------------- inline text
@dataclass(frozen=True)
class Fmt:
    bold: bool | None = None
    italic: bool | None = None
    sup: bool = False
    sub: bool = False
    mono: bool = False
    anchor: str | None = None  # internal link target (bookmark name)
    url: str | None = None     # external link


def bookmark_name(html_id: str) -> str:
    """Word bookmark names: a letter first, then letters, digits and underscores, at most 40 characters."""
    name = re.sub(r"\W", "_", html_id)
    return (name if name[:1].isalpha() else f"b_{name}")[:40]


def _css(el: HtmlElement, prop: str) -> str | None:
    match = re.search(rf"(?:^|;)\s*{prop}\s*:\s*([^;]+)", el.get("style", ""))
    return match.group(1).strip().lower() if match else None


def _element_fmt(el: HtmlElement, fmt: Fmt) -> Fmt:
    tag = el.tag
    weight, style = _css(el, "font-weight"), _css(el, "font-style")
    if tag in ("b", "strong") or weight in ("bold", "700", "800", "900"):
        fmt = replace(fmt, bold=True)
    elif weight in ("normal", "400"):
        fmt = replace(fmt, bold=False)
    if tag in ("i", "em") or style == "italic":
        fmt = replace(fmt, italic=True)
    if tag == "sup":
        fmt = replace(fmt, sup=True)
    if tag == "sub":
        fmt = replace(fmt, sub=True)
    if tag in ("code", "kbd", "samp"):
        fmt = replace(fmt, mono=True)
    if tag == "a" and el.get("href", "").startswith("#"):
        fmt = replace(fmt, anchor=bookmark_name(el.get("href")[1:]))
    elif tag == "a" and el.get("href"):
        fmt = replace(fmt, url=el.get("href"))
    return fmt


def inline_segments(el: HtmlElement, fmt: Fmt = Fmt()) -> list[tuple[str, Fmt]]:
    """The element's text as (text, format) pieces with HTML whitespace collapsed; '\\n' marks a <br>."""
    pieces: list[tuple[str, Fmt]] = []

    def walk(node: HtmlElement, f: Fmt) -> None:
        if node.text:
            pieces.append((node.text, f))
        for child in node:
            if isinstance(child.tag, str) and child.tag not in SKIPPED:
                if child.tag == "br":
                    pieces.append(("\n", f))
                else:
                    walk(child, _element_fmt(child, f))
            if child.tail:
                pieces.append((child.tail, f))

    walk(el, fmt)
    out: list[tuple[str, Fmt]] = []
    at_space = True
    for text, f in pieces:
        if text == "\n":
            out.append(("\n", f))
            at_space = True
            continue
        text = re.sub(r"\s+", " ", text)
        if at_space:
            text = text.lstrip(" ")
        if text:
            out.append((text, f))
            at_space = text.endswith(" ")
    while out and out[-1][0].endswith(" "):
        stripped = out[-1][0].rstrip(" ")
        out[-1:] = [(stripped, out[-1][1])] if stripped else []
    return out


def plain_text(el: HtmlElement) -> str:
    """The element's text as a reader sees it (whitespace collapsed)."""
    return "".join(text for text, _ in inline_segments(el)).strip()


def add_inline(paragraph: Paragraph, segments: list[tuple[str, Fmt]]) -> None:
    hyperlink, link_key = None, None
    for text, f in segments:
        key = f.anchor or f.url
        if key != link_key:
            hyperlink, link_key = (_hyperlink(paragraph, f) if key else None), key
        run = paragraph.add_run()
        if text == "\n":
            run.add_break(WD_BREAK.LINE)
        else:
            run.text = text
        run.bold, run.italic = f.bold, f.italic
        if f.sup:
            run.font.superscript = True
        if f.sub:
            run.font.subscript = True
        if f.mono:
            _font(run._r, MONO)
        if f.url:
            run.font.underline = True
            run.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
        if hyperlink is not None:
            hyperlink.append(run._r)


def _hyperlink(paragraph: Paragraph, f: Fmt):
    el = OxmlElement("w:hyperlink")
    if f.anchor:
        el.set(qn("w:anchor"), f.anchor)
    else:
        el.set(qn("r:id"), paragraph.part.relate_to(f.url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True))
    el.set(qn("w:history"), "1")
    paragraph._p.append(el)
    return el


def add_bookmark(paragraph: Paragraph, name: str, bookmark_id: int) -> None:
    """Wrap the paragraph's content in a bookmark, the target of cross-reference links."""
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), str(bookmark_id))
    ppr = paragraph._p.pPr
    if ppr is not None:
        ppr.addnext(start)
    else:
        paragraph._p.insert(0, start)
    paragraph._p.append(end)


# ------------------------------------------------------------------------------------------------- tables
@dataclass
class HtmlCell:
    el: HtmlElement
    row: int
    col: int
    rowspan: int
    colspan: int
    header: bool


@dataclass
class Grid:
    """An HTML table's header and body cells placed on a grid; `<tfoot>` cells are its notes."""

    cells: list[HtmlCell]
    n_rows: int
    n_cols: int
    n_head: int
    notes: list[HtmlElement]

    def natural_widths(self) -> list[int]:
        """Each column's width (EMU) for its widest one-column cell: body text unwrapped, header labels on at
        most two lines (broken at a space)."""
        widths = [text_width("0000")] * self.n_cols
        for cell in self.cells:
            if cell.colspan == 1:
                lines = plain_text(cell.el).split("\n")
                need = max(text_width(line) for line in lines)
                if cell.header:
                    need = max([need // 2] + [text_width(word) for line in lines for word in line.split()])
                widths[cell.col] = max(widths[cell.col], need)
        return [int(w + CELL_MARGINS) for w in widths]

    def rows_kept_with_next(self) -> set[int]:
        """Rows whose paragraphs keep with the next: all of a short table (it moves to the next page whole),
        the header rows, a variable's label row with its indented level rows, the last row with the notes."""
        if self.n_rows <= KEEP_TOGETHER_ROWS:
            return set(range(self.n_rows))
        indented = {c.row for c in self.cells if "gt_indent" in c.el.get("class", "")}
        return set(range(self.n_head)) | {r - 1 for r in indented} | {self.n_rows - 1}

    def fits(self, total: int) -> bool:
        """Whether the values fit unwrapped in `total` once the stub (row labels) wraps."""
        widths = self.natural_widths()
        return min(widths[0], stub_floor()) + sum(widths[1:]) <= total


def text_width(text: str) -> int:
    """The width (EMU) of `text` set in 9-pt Arial, from the glyph advance widths."""
    return int(Pt(TABLE_PT) * sum(GLYPH_WIDTHS.get(ch, 556) for ch in text) / 1000)


def stub_floor() -> int:
    return int(Pt(TABLE_PT) * STUB_MIN_EM + CELL_MARGINS)


def table_grid(table: HtmlElement) -> Grid:
    head = [tr for section in table.findall("thead") for tr in section.findall("tr")]
    body = [tr for section in table.findall("tbody") for tr in section.findall("tr")]
    body += table.findall("tr")
    taken: set[tuple[int, int]] = set()
    cells: list[HtmlCell] = []
    for r, tr in enumerate(head + body):
        c = 0
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            while (r, c) in taken:
                c += 1
            rowspan, colspan = max(1, int(td.get("rowspan", 1))), max(1, int(td.get("colspan", 1)))
            cells.append(HtmlCell(td, r, c, rowspan, colspan, header=r < len(head)))
            taken.update((r + i, c + j) for i in range(rowspan) for j in range(colspan))
            c += colspan
    notes = [td for section in table.findall("tfoot") for tr in section.findall("tr") for td in tr
             if td.tag in ("td", "th")]
    n_cols = max((c for _, c in taken), default=-1) + 1
    if not cells or not n_cols:
        raise PaperlockError("a table in the manuscript HTML has no cells")
    return Grid(cells, len(head) + len(body), n_cols, len(head), notes)


def column_widths(natural: list[int], total: int) -> list[int]:
    """Widths (EMU) filling `total` in proportion to the natural widths; when those overflow, the widest
    columns (long labels, which wrap) give way first, down to `STUB_MIN_EM`."""
    cap, floor = max(natural), stub_floor()
    while sum(min(n, cap) for n in natural) > total and cap > floor:
        cap -= int(Pt(2))
    need = [min(n, cap) for n in natural]
    widths = [int(n * total / sum(need)) for n in need]
    widths[-1] += total - sum(widths)
    return widths


def _alignment(el: HtmlElement) -> WD_ALIGN_PARAGRAPH:
    align = _css(el, "text-align") or next((c[3:] for c in el.get("class", "").split()
                                              if c in ("gt_left", "gt_center", "gt_right")), "left")
    return {"center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}.get(
        align, WD_ALIGN_PARAGRAPH.LEFT)


def _cell_borders(cell, **sides: int) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = tcpr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tcpr.insert_element_before(borders, *TCPR_AFTER_BORDERS)
    current = {el.tag: el for el in borders}
    current |= {qn(f"w:{side}"): _border_element(side, size) for side, size in sides.items()}
    for el in list(borders):
        borders.remove(el)
    for side in ("top", "left", "bottom", "right"):  # schema order
        if qn(f"w:{side}") in current:
            borders.append(current[qn(f"w:{side}")])


def _paragraph_rule(paragraph: Paragraph, size: int) -> None:
    """A rule under the paragraph's text, as wide as the cell minus its margins."""
    borders = OxmlElement("w:pBdr")
    borders.append(_border_element("bottom", size, space=1))
    paragraph._p.get_or_add_pPr().insert_element_before(borders, "w:shd", *PPR_AFTER_SHD)


def _distinct(cells: list) -> list:
    """A row's cells once each (python-docx repeats a horizontally merged cell for every grid column)."""
    seen: set[int] = set()
    return [c for c in cells if not (id(c._tc) in seen or seen.add(id(c._tc)))]


def _table_properties(table: Table) -> None:
    """Fixed layout (Word keeps the computed widths) and narrow left/right cell margins."""
    table.autofit = False  # w:tblLayout type="fixed"
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(CELL_MARGINS / 2 / 635)))  # twentieths of a point
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    table._tbl.tblPr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription",
                                           "w:tblPrChange")


def add_table(doc: DocxDocument, grid: Grid, total: int, *, style: str = "Table Text",
              rules: bool = True) -> Table:
    """A real Word table: merged spans, repeated header rows, rows that do not split, journal rules (thick top
    and bottom, thin under the header and under each spanner), widths from the content, fixed layout."""
    out = doc.add_table(rows=grid.n_rows, cols=grid.n_cols)
    out.alignment = WD_TABLE_ALIGNMENT.CENTER
    _table_properties(out)
    widths = column_widths(grid.natural_widths(), total)
    for column, width in zip(out.columns, widths, strict=True):
        column.width = Emu(width)
    cells = [row.cells for row in out.rows]  # before merging: the top-left cell of every span stays valid
    for r, row in enumerate(out.rows):
        trpr = row._tr.get_or_add_trPr()
        trpr.append(OxmlElement("w:cantSplit"))
        if r < grid.n_head:
            trpr.append(OxmlElement("w:tblHeader"))
        for target, width in zip(cells[r], widths, strict=True):
            target.width = Emu(width)
    style_id = doc.styles[style].style_id
    keep = grid.rows_kept_with_next()
    for cell in grid.cells:
        target = cells[cell.row][cell.col]
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(cells[cell.row + cell.rowspan - 1][cell.col + cell.colspan - 1])
        paragraph = target.paragraphs[0]
        paragraph._p.style = style_id
        paragraph.alignment = _alignment(cell.el)
        # keep a short table on one page, and any table with the notes under it
        paragraph.paragraph_format.keep_with_next = cell.row + cell.rowspan - 1 in keep
        indent = re.search(r"gt_indent_(\d+)", cell.el.get("class", ""))
        if indent:
            paragraph.paragraph_format.left_indent = Cm(0.2 * int(indent.group(1)))
        add_inline(paragraph, inline_segments(cell.el, _element_fmt(cell.el, Fmt())))  # with the cell's CSS
        target.vertical_alignment = (WD_CELL_VERTICAL_ALIGNMENT.BOTTOM if cell.header
                                     else WD_CELL_VERTICAL_ALIGNMENT.TOP)
        if rules and cell.header and cell.row + cell.rowspan < grid.n_head and cell.colspan > 1:
            _paragraph_rule(paragraph, RULE_SPANNER)  # under a spanner label, inset like booktabs' cmidrule
    if rules:
        rows = out.rows
        for target in _distinct(rows[0].cells):
            _cell_borders(target, top=RULE_THICK)
        for target in _distinct(rows[-1].cells):
            _cell_borders(target, bottom=RULE_THICK)
        if 0 < grid.n_head < grid.n_rows:
            for target in _distinct(rows[grid.n_head - 1].cells):
                _cell_borders(target, bottom=RULE_THIN)
    return out


# ------------------------------------------------------------------------------------------- the document
class DocxWriter:
    """Walks the manuscript HTML body once, appending Word content in document order.

    A table marked `wide`, or too wide for a portrait page, goes on a landscape page (a section of its own).
    """

    def __init__(self, doc: DocxDocument, build_dir: Path) -> None:
        self.doc = doc
        self.build_dir = Path(build_dir)
        self.bookmarks = 0
        self.style_ids = {style.name: style.style_id for style in doc.styles}

    @property
    def text_width(self) -> int:
        section = self.doc.sections[-1]
        return int(section.page_width - section.left_margin - section.right_margin)

    def orient(self, landscape: bool) -> None:
        """Start a new section (on a new page) when the orientation changes."""
        if (self.doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE) == landscape:
            return
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = (PAGE_HEIGHT, PAGE_WIDTH) if landscape else (PAGE_WIDTH,
                                                                                                 PAGE_HEIGHT)

    def paragraph(self, el: HtmlElement, style: str) -> Paragraph | None:
        segments = inline_segments(el)
        if not segments:
            return None
        paragraph = self.doc.add_paragraph()
        paragraph._p.style = self.style_ids[style]
        add_inline(paragraph, segments)
        return paragraph

    def caption(self, el: HtmlElement | None, style: str, target_id: str) -> None:
        paragraph = self.paragraph(el, style) if el is not None else None
        if paragraph is not None and target_id:
            self.bookmarks += 1
            add_bookmark(paragraph, bookmark_name(target_id), self.bookmarks)

    def table_figure(self, el: HtmlElement) -> None:
        tables = el.xpath(".//table")
        if not tables:
            raise PaperlockError(f"table {el.get('id')!r} in the manuscript HTML has no <table>")
        grid = table_grid(tables[0])
        self.orient("wide" in el.get("class", "").split() or not grid.fits(int(TEXT_WIDTH)))
        self.caption(el.find("figcaption"), "Caption", el.get("id", ""))
        add_table(self.doc, grid, self.text_width)
        for i, note in enumerate(grid.notes):
            paragraph = self.paragraph(note, "Table Note")
            if paragraph is not None and i < len(grid.notes) - 1:
                paragraph.paragraph_format.keep_with_next = True
        spacer = self.doc.add_paragraph(style="Table Note")  # air between the table (and notes) and the prose
        spacer.paragraph_format.space_after = Pt(6)

    def image_figure(self, el: HtmlElement) -> None:
        img = el.find(".//img")
        if img is None or not img.get("data-png"):
            raise PaperlockError(f"figure {el.get('id')!r} has no data-png image for the Word document")
        path = self.build_dir / img.get("data-png")
        if not path.is_file():
            raise PaperlockError(f"figure {el.get('id')!r}: {path} does not exist; render the figures first")
        self.orient(False)
        native = Image.from_file(str(path)).width
        paragraph = self.doc.add_paragraph(style="Figure")
        shape = paragraph.add_run().add_picture(str(path), width=min(native, self.text_width))
        doc_pr = shape._inline.docPr
        doc_pr.set("descr", img.get("alt", ""))
        doc_pr.set("name", path.name)
        self.caption(el.find("figcaption"), "Figure Caption", el.get("id", ""))

    def colophon(self, el: HtmlElement) -> None:
        self.orient(False)
        self.doc.add_paragraph(style="Normal").paragraph_format.space_after = Pt(12)
        for child in el:
            if child.tag == "table":
                add_table(self.doc, table_grid(child), self.text_width, style="Colophon Text", rules=False)
            elif isinstance(child.tag, str):
                self.block(child)

    def block(self, el: HtmlElement) -> None:
        tag, classes = el.tag, set(el.get("class", "").split())
        if not isinstance(tag, str) or tag in SKIPPED:
            return
        if tag == "figure" and "table" in classes:
            self.table_figure(el)
            return
        if tag == "figure":
            self.image_figure(el)
        elif tag == "section" and "colophon" in classes:
            self.colophon(el)
        elif tag == "table":
            self.orient(False)
            add_table(self.doc, table_grid(el), self.text_width)
        elif tag in ("section", "div", "main", "article", "header", "footer", "aside", "nav") and any(
                isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el):
            for child in el:
                self.block(child)
        else:
            self.orient(False)
            if tag in ("ul", "ol"):
                for li in el.findall("li"):
                    self.paragraph(li, "List Bullet" if tag == "ul" else "List Number")
            else:
                self.paragraph(el, HEADINGS.get(tag) or PARAGRAPH_STYLES.get(tag) or (
                    "Synthetic Notice" if "synthetic" in classes else "Normal"))


def _set_core_properties(doc: DocxDocument, title: str) -> None:
    props = doc.core_properties
    props.title = title
    props.author = props.last_modified_by = "paperlock"
    props.comments = "Generated by paperlock from results.json; do not edit numbers by hand."
    props.created = props.modified = FIXED_DATE
    props.revision = 1


def normalised_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and permissions, so the same document gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()


def build_docx(html: str, build_dir: Path) -> bytes:
    """The Word document for the manuscript HTML, as bytes."""
    body, title_el = manuscript_body(html)
    title = plain_text(title_el) if title_el is not None else ""
    notice = body.find(".//p[@class='synthetic']/b")
    doc = Document()
    define_styles(doc)
    set_up_pages(doc, plain_text(notice).rstrip(".") if notice is not None else "")
    writer = DocxWriter(doc, build_dir)
    for child in body:
        writer.block(child)
    _set_core_properties(doc, title)
    buffer = io.BytesIO()
    doc.save(buffer)
    return normalised_zip(buffer.getvalue())


def write_docx(html: str, build_dir: Path, target: Path) -> None:
    """Write `target` (.docx) atomically from the manuscript HTML; figures are read from `build_dir`."""
    atomic_write_bytes(Path(target), build_docx(html, build_dir))
