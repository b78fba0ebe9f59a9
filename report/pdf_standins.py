"""Stand-ins: parts of the manuscript typeset once, kept, and drawn again into later PDFs as Form XObjects.

Figures and most tables do not change when the prose does, yet WeasyPrint lays them out and draws them again at
every render, which is most of the typesetting time. `report.pdf_figures` and `report.pdf_tables` typeset them on
their own (a *sheet*, kept in `<build>/.cache/` under a key of everything it is made from); the manuscript given
to WeasyPrint then holds a stand-in image of the same size in their place, which draws a region of a sheet page.
The layout around a stand-in is the same, and so is what is drawn: the sheet's own vector content and text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from paperlock.atomic import atomic_write_bytes, atomic_write_text
from report.pdf_objects import Copier, ObjectTable, Page

VERSION = 1
CODE = Path(__file__).resolve().parent
SCHEME = "paperlock-sheet:"  # URL of a stand-in image: paperlock-sheet:<sheet>/<item>
WIDTH_TOLERANCE_PX = 0.01
T = TypeVar("T")


def sheet_key(kind: str, parts: list[bytes], code: tuple[str, ...]) -> str:
    """Hash of everything a sheet is made from: its parts, the code making and reading it, the libraries."""
    h = hashlib.sha256(f"{VERSION}\0{kind}\0".encode())
    for name in ("weasyprint", "pydyf"):
        h.update(f"{name}={metadata.version(name)}\0".encode())
    for name in ("pdf_objects.py", "pdf_standins.py", *code):
        h.update((CODE / name).read_bytes())
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def kept_sheet(folder: Path | None, kind: str, key: str, make: Callable[[], tuple[bytes, dict[str, Any]]],
               read: Callable[[bytes, dict[str, Any]], T]) -> T:
    """`read(sheet PDF, its notes)` of the sheet kept in `folder` under `key`; when there is none, or it cannot
    be read (`SheetError`, e.g. damaged), of a sheet made now, which is kept in place of any older one."""
    stem = f"pdf-{kind}-"
    pdf = folder / f"{stem}{key[:32]}.pdf" if folder is not None else None
    notes = pdf.with_suffix(".json") if pdf is not None else None
    if pdf is not None and notes is not None and pdf.is_file() and notes.is_file():
        try:
            kept = json.loads(notes.read_text(encoding="utf-8"))
            if isinstance(kept, dict) and kept.get("key") == key:
                return read(pdf.read_bytes(), kept)
        except (OSError, ValueError):  # SheetError is a ValueError
            pass
    data, made = make()
    made = {**made, "key": key}
    out = read(data, made)
    if pdf is not None and notes is not None:
        try:
            for old in pdf.parent.glob(f"{stem}*"):
                if old.name not in (pdf.name, notes.name):
                    old.unlink(missing_ok=True)
            atomic_write_bytes(pdf, data)
            atomic_write_text(notes, json.dumps(made, sort_keys=True))
        except OSError:
            pass  # a read-only build folder: the sheet is made again next time
    return out


@dataclass(frozen=True)
class Region:
    """Where a stand-in's content is on its sheet: a page and a rectangle on it, in PDF points (y up), which is
    drawn onto the stand-in's box. Nothing else is on that page, so the page is not clipped to it."""

    page: Page
    box: tuple[float, float, float, float]


class StandIn:
    """What WeasyPrint takes for an image: it has the intrinsic size of the part it stands for, and draws
    the part's region of the sheet (its content filled in by `StandIns.finish`, once the PDF is assembled)."""

    def __init__(self, owner: StandIns, sheet: int, region: Region, size: tuple[float, float],
                 exact_width: bool) -> None:
        self.owner, self.sheet, self.region, self.size = owner, sheet, region, size
        self.exact_width = exact_width  # a table: laid out for this width, wrong at any other

    def get_intrinsic_size(self, image_resolution: float, font_size: float) -> tuple[float, float, float]:
        width, height = self.size
        return width, height, width / height

    def draw(self, stream: Any, concrete_width: float, concrete_height: float, *_: Any) -> None:
        """Draw the region into the image box, scaled to fit and centred (as SVG's default xMidYMid meet)."""
        if self.exact_width and abs(concrete_width - self.size[0]) > WIDTH_TOLERANCE_PX:
            self.owner.mismatched = True  # laid out for another width: the PDF is typeset again without it
        x0, y0, x1, y1 = self.region.box
        scale = min(concrete_width / (x1 - x0), concrete_height / (y1 - y0))
        dx, dy = (concrete_width - (x1 - x0) * scale) / 2, (concrete_height - (y1 - y0) * scale) / 2
        px0, py0, px1, py1 = self.region.page.box  # the whole page: what overflows the region is drawn too
        group = stream.add_group(px0, py0, px1 - px0, py1 - py0)
        stream.transform(a=scale, d=-scale, e=dx - x0 * scale, f=dy + y1 * scale)  # sheet points -> image box
        stream.draw_x_object(group.id)
        self.owner.placed.append((group, self.sheet, self.region.page))


class _Lookups(dict):
    """WeasyPrint's image cache, remembering which URLs were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def __contains__(self, url: object) -> bool:
        self.asked.add(str(url))
        return super().__contains__(url)


@dataclass
class StandIns:
    """The sheets, the stand-in images (WeasyPrint's image cache) and the finisher that fills them in."""

    sheets: list[ObjectTable] = field(default_factory=list)
    images: _Lookups = field(default_factory=_Lookups)
    placed: list = field(default_factory=list)
    finished: bool = False
    mismatched: bool = False

    def add_sheet(self, table: ObjectTable) -> int:
        self.sheets.append(table)
        return len(self.sheets) - 1

    def add(self, sheet: int, region: Region, size: tuple[float, float], exact_width: bool = False) -> str:
        """Register a stand-in; returns the URL to put in the `src` of its `<img>`."""
        url = f"{SCHEME}{sheet}/{len(self.images)}"
        self.images[url] = StandIn(self, sheet, region, size, exact_width)
        return url

    def finish(self, document: Any, pdf: Any) -> None:
        """WeasyPrint's finisher: give each drawn stand-in its sheet page's content and resources."""
        copiers = [Copier(table, pdf) for table in self.sheets]
        for group, sheet, page in self.placed:
            group.stream = [page.contents]
            group.extra.pop("Group", None)
            group.extra["Resources"] = copiers[sheet].reference(page.resources)
        self.finished = True

    def complete(self) -> bool:
        """True when WeasyPrint took every stand-in, each at the width it was laid out for, and finished."""
        return self.finished and not self.mismatched and self.images.asked.issuperset(self.images)
