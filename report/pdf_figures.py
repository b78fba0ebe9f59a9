"""SVG figures in the PDF, drawn from a sheet typeset once (see `report.pdf_standins`).

WeasyPrint draws an SVG node by node, and its text glyph by glyph, in Python: about a third of the manuscript's
typesetting time. The figures' sheet has one page per figure, exactly the figure's size, the figure drawn on it
at its intrinsic size; it is typeset again only when a figure (or WeasyPrint, or this code) changes.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from report.pdf_objects import ObjectTable, SheetError
from report.pdf_standins import Region, StandIns, kept_sheet, sheet_key

SVG_IMAGE = re.compile(r'(<img\b[^>]*?\bsrc=")data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)(")')
SVG_ROOT = re.compile(rb"<svg\b[^>]*>")
LENGTH_PX = {"pt": 4 / 3, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}


def _length_px(root: bytes, name: bytes) -> float | None:
    found = re.search(rb"\s" + name + rb'="([0-9.]+)(pt|px|in|cm|mm)"', root)
    return float(found.group(1)) * LENGTH_PX[found.group(2).decode()] if found else None


def svg_size_px(svg: bytes) -> tuple[float, float] | None:
    """(width, height) of an SVG in CSS px when its root gives both as absolute lengths, as matplotlib's do."""
    root = SVG_ROOT.search(svg)
    if root is None:
        return None
    width, height = _length_px(root.group(), rb"width"), _length_px(root.group(), rb"height")
    return (width, height) if width and height else None


def sheet_html(sizes: list[tuple[float, float]], uris: list[str]) -> str:
    """One page per figure, exactly the figure's size, the figure at its intrinsic size on it."""
    css = ["body { margin: 0 } img { display: block }"]
    for i, (width, height) in enumerate(sizes):
        css.append(f"@page f{i} {{ size: {width!r}px {height!r}px; margin: 0 }} "
                   f"img.f{i} {{ page: f{i}; width: {width!r}px; height: {height!r}px }}")
    images = "".join(f'<img class="f{i}" src="{uri}" alt="">' for i, uri in enumerate(uris))
    return f"<!DOCTYPE html><html><head><style>{' '.join(css)}</style></head><body>{images}</body></html>"


def typeset_sheet(svgs: list[bytes], sizes: list[tuple[float, float]]) -> bytes:
    """The sheet as pydyf writes it uncompressed (which `report.pdf_objects` reads back)."""
    from weasyprint import HTML

    uris = ["data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii") for svg in svgs]
    return HTML(string=sheet_html(sizes, uris)).write_pdf(uncompressed_pdf=True)


def figure_regions(table: ObjectTable, sizes: list[tuple[float, float]]) -> list[Region]:
    """Each figure's page, whole; `SheetError` unless there is one page per figure, of the figure's size."""
    pages = table.pages()
    if len(pages) != len(sizes):
        raise SheetError(f"{len(pages)} pages for {len(sizes)} figures")
    for page, (width, height) in zip(pages, sizes, strict=True):
        x0, y0, x1, y1 = page.box
        if abs(x1 - x0 - width * 0.75) > 0.01 or abs(y1 - y0 - height * 0.75) > 0.01:
            raise SheetError(f"page {page.box} does not fit a figure of {width} x {height} px")
    return [Region(page, page.box) for page in pages]


def stand_in_figures(html: str, stand_ins: StandIns, folder: Path | None) -> str:
    """`html` with each SVG figure of absolute size replaced by a stand-in drawing it from the figures' sheet
    (unchanged when there is none, or the sheet cannot be read)."""
    svgs: dict[str, bytes] = {}
    for found in SVG_IMAGE.finditer(html):
        svg = base64.b64decode(found.group(2))
        if svg_size_px(svg) is not None:
            svgs.setdefault(found.group(2), svg)
    if not svgs:
        return html
    sizes: list[tuple[float, float]] = [svg_size_px(svg) for svg in svgs.values()]  # type: ignore[misc]
    key = sheet_key("figures", list(svgs.values()), ("pdf_figures.py",))

    def read(data: bytes, notes: dict) -> tuple[ObjectTable, list[Region]]:
        table = ObjectTable(data)
        return table, figure_regions(table, sizes)

    try:
        table, regions = kept_sheet(folder, "figures", key, lambda: (typeset_sheet(list(svgs.values()), sizes), {}),
                                    read)
    except SheetError:
        return html
    sheet = stand_ins.add_sheet(table)
    urls = {encoded: stand_ins.add(sheet, region, size)
            for encoded, region, size in zip(svgs, regions, sizes, strict=True)}

    def stand_in(found: re.Match[str]) -> str:
        url = urls.get(found.group(2))
        return found.group(0) if url is None else f"{found.group(1)}{url}{found.group(3)}"

    return SVG_IMAGE.sub(stand_in, html)
