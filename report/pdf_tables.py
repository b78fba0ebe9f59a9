"""Tables in the PDF, drawn from a sheet typeset once (see `report.pdf_standins`).

Laying out the tables (about a thousand cells, each with its own computed style) is over half of WeasyPrint's
time once the figures are reused, and tables only change with the results or the spec. The tables' sheet is the
manuscript itself with everything but the table figures hidden and each of those on a page of its own: same
stylesheet, same page sizes, same width, so each is laid out exactly as in the manuscript. A table figure that
may break across pages (`break-inside: auto`, e.g. a long table), links or headings, or is not a child of the
body is left to WeasyPrint. The sheet is typeset again when a table or the stylesheet changes, or the markup
around the tables changes what a selector of the stylesheet matches in them (`report.pdf_table_context`); an edit
of the prose or of other markup leaves it current.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

from report.pdf_objects import ObjectTable, SheetError
from report.pdf_standins import Region, StandIns, kept_sheet, sheet_key
from report.pdf_table_context import context_key, uses_counters

TABLE_FIGURE = re.compile(r'(<figure\b[^>]*\bclass="table\b[^"]*"[^>]*>)(.*?)(</figure>)', re.S)
ID = re.compile(r'\bid="([^"]+)"')
UNBREAKABLE = ("avoid", "avoid-page")


def candidates(html: str) -> dict[str, re.Match[str]]:
    """{id: match} of the table figures that could be drawn from a sheet: no links, headings or nested figures."""
    out = {}
    for found in TABLE_FIGURE.finditer(html):
        figure_id = ID.search(found.group(1))
        inner = found.group(2)
        if figure_id is None or re.search(r"<figure\b|\bhref=|<h[1-6]\b", inner):
            continue
        if any(f'href="#{inner_id}"' in html for inner_id in ID.findall(inner)):
            continue
        out[figure_id.group(1)] = found
    return out


def sheet_html(html: str, ids: list[str]) -> str:
    """The manuscript with only the table figures shown, each on a page of its own."""
    shown = ", ".join(f"body > #{figure_id}" for figure_id in ids)
    style = (f"<style>body > * {{ display: none !important }} {shown} {{ display: block !important; "
             f"break-before: page !important; break-after: page !important }}</style>")
    return html.replace("</head>", style + "</head>", 1)


def _figure_box(page: Any, figure_id: str) -> Any:
    for box in page._page_box.descendants():  # WeasyPrint's layout tree
        element = getattr(box, "element", None)
        if getattr(box, "element_tag", None) == "figure" and element is not None and element.get("id") == figure_id:
            return box
    return None


def typeset_sheet(html: str, inner_ids: dict[str, list[str]], base_url: str) -> tuple[bytes, dict[str, Any]]:
    """(the sheet, uncompressed; {"regions": {id: {page, box (points), size (px), anchors}}}) for the table
    figures that sit on one page and cannot break; `inner_ids` are the ids inside each (as written in the HTML),
    whose places the manuscript keeps as named destinations."""
    ids = list(inner_ids)
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import MarginBox

    document = HTML(string=sheet_html(html, ids), base_url=base_url).render()
    regions: dict[str, dict[str, Any]] = {}
    for figure_id in ids:
        found = [(n, box) for n, page in enumerate(document.pages) if (box := _figure_box(page, figure_id))]
        if len(found) != 1 or found[0][1].style["break_inside"] not in UNBREAKABLE:
            continue
        n, box = found[0]
        x, y, width, height = box.content_box_x(), box.content_box_y(), box.width, box.height
        page_height = document.pages[n].height * 0.75
        anchors = document.pages[n].anchors
        inner = [(raw, anchors[unescape(raw)]) for raw in inner_ids[figure_id] if unescape(raw) in anchors]
        regions[figure_id] = {"page": n, "size": [width, height],
                              "box": [x * 0.75, page_height - (y + height) * 0.75, (x + width) * 0.75,
                                      page_height - y * 0.75],
                              "anchors": [[raw, x1 - x, y1 - y, x2 - x1, y2 - y1] for raw, (x1, y1, x2, y2) in inner]}
    for page in document.pages:  # running heads and page numbers: clipped away, but their text would remain
        page._page_box.children = [box for box in page._page_box.children if not isinstance(box, MarginBox)]
    return document.write_pdf(uncompressed_pdf=True), {"regions": regions}


def stand_in_tables(html: str, stand_ins: StandIns, folder: Path | None, base_url: str) -> str:
    """`html` with each table figure that can be drawn from the tables' sheet holding a stand-in instead of its
    caption and table (unchanged when there is none, or the sheet cannot be read)."""
    tables = candidates(html)
    if not tables or "</head>" not in html or uses_counters(html):
        return html
    parts = [context_key(html, tables), *(found.group(0).encode() for found in tables.values())]
    key = sheet_key("tables", parts, ("pdf_tables.py", "pdf_table_context.py"))
    inner_ids = {figure_id: ID.findall(found.group(2)) for figure_id, found in tables.items()}

    def read(data: bytes, notes: dict[str, Any]) -> tuple[ObjectTable, list]:
        table = ObjectTable(data)
        pages = table.pages()
        try:
            return table, [(figure_id, Region(pages[r["page"]], tuple(r["box"])),
                            (float(r["size"][0]), float(r["size"][1])), "".join(_anchor(*a) for a in r["anchors"]))
                           for figure_id, r in notes["regions"].items() if figure_id in tables]
        except (KeyError, IndexError, TypeError) as exc:
            raise SheetError(f"the tables' notes do not fit the sheet: {exc}") from None

    try:
        table, chosen = kept_sheet(folder, "tables", key, lambda: typeset_sheet(html, inner_ids, base_url), read)
    except SheetError:
        return html
    sheet = stand_ins.add_sheet(table)
    replaced = {figure_id: (stand_ins.add(sheet, region, size, exact_width=True), anchors)
                for figure_id, region, size, anchors in chosen if size[0] > 0 and size[1] > 0}

    def stand_in(found: re.Match[str]) -> str:
        figure_id = ID.search(found.group(1))
        if figure_id is None or figure_id.group(1) not in replaced:
            return found.group(0)
        url, anchors = replaced[figure_id.group(1)]
        return (f'{found.group(1)}<div style="position: relative"><img src="{url}" alt="" '
                f'style="display: block; width: 100%; overflow: visible">{anchors}</div>{found.group(3)}')

    return TABLE_FIGURE.sub(stand_in, html)


def _anchor(raw_id: str, left: float, top: float, width: float, height: float) -> str:
    """An empty box where an element with an id was in the table, so the PDF keeps it as a named destination."""
    return (f'<span id="{raw_id}" style="position: absolute; left: {left!r}px; top: {top!r}px; '
            f'width: {width!r}px; height: {height!r}px"></span>')
