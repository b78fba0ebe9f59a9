"""Floats in the PDF: a figure that does not fit below the text before it lets the text after it go first.

WeasyPrint has no page floats, so a tall figure that follows a short paragraph starts a new page and leaves the rest
of the page before it blank (in the reference study, two thirds of a page before the Kaplan–Meier figures). After a
layout, `deferred` finds the first float (a figure, or a landscape table) that starts a page whose previous page
ends more than `MIN_BLANK` of its height early, and moves it, with the floats right after it, below as many of the
blocks that follow as fit into that blank (as laid out): paragraphs, subheadings, and floats of the other kind. A
float of its own kind met on the way joins it, so figures and tables keep their numbering order; nothing passes a
section heading (`h2`). The caller typesets again until nothing moves (`report.pdf.settled`). Only the PDF is
rearranged; the HTML keeps the written order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MIN_BLANK = 0.25  # share of the page's text area left blank before a float that is worth filling
BARRIERS = {"h1", "h2"}
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>|<!--.*?-->", re.S)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class Block:
    """A child of the body as laid out: its tag, id, classes, first and last page, height over all its pages."""

    tag: str
    id: str | None
    classes: frozenset[str]
    first_page: int
    last_page: int
    height: float

    @property
    def kind(self) -> str | None:
        """'figure' or 'table' for a float, None for flowing text."""
        if self.tag != "figure":
            return None
        if "figure" in self.classes:
            return "figure"
        return "table" if "wide" in self.classes else None


def laid_out_blocks(document: Any) -> tuple[list[Block], dict[int, float]]:
    """The body's children in order, and the blank height at the foot of each page (px), from a WeasyPrint
    `Document`."""
    order: list[Any] = []
    seen: dict[int, dict[str, Any]] = {}
    blank: dict[int, float] = {}
    for number, page in enumerate(document.pages):
        box = page._page_box
        area_top = box.content_box_y()
        area_bottom = area_top + box.height
        bodies = [b for b in box.children[0].children if b.element_tag == "body"] if box.children else []
        bottom = area_top
        for child in bodies[0].children if bodies else []:
            bottom = max(bottom, child.position_y + child.margin_height())
            key = id(child.element)
            if key not in seen:
                order.append(child.element)
                seen[key] = {"first": number, "last": number, "height": 0.0}
            seen[key]["last"] = number
            seen[key]["height"] += child.margin_height()
        blank[number] = area_bottom - bottom
    blocks = []
    for element in order:
        s = seen[id(element)]
        blocks.append(Block(str(element.tag).rsplit("}", 1)[-1], element.get("id"),
                            frozenset((element.get("class") or "").split()), s["first"], s["last"], s["height"]))
    return blocks, blank


def plan(blocks: list[Block], blank: dict[int, float], page_height: float) -> tuple[int, list[int]] | None:
    """(index of the first float worth deferring, the new order of the blocks from there to the last one moved)
    as indices into `blocks`; None when no float is worth it. The run of floats starting there goes below the
    blocks that fit into the blank; a float of the run's kind met on the way joins the run (it would follow it
    onto the next page anyway), and the blocks after it may pass too while the blank lasts."""
    for i, b in enumerate(blocks):
        if b.kind is None or i == 0 or b.first_page == 0:
            continue
        room = blank.get(b.first_page - 1, 0.0)
        if blocks[i - 1].last_page != b.first_page - 1 or room < MIN_BLANK * page_height:
            continue
        run: list[int] = []
        passed: list[int] = []
        k = i
        while k < len(blocks) and blocks[k].kind is not None:
            run.append(k)
            k += 1
        kinds = {blocks[j].kind for j in run}
        while k < len(blocks) and blocks[k].tag not in BARRIERS:
            if blocks[k].kind in kinds:
                if not passed:
                    break
                run.append(k)  # a float of the run's kind: it joins the run, below what has passed
            elif room >= blocks[k].height:
                room -= blocks[k].height
                passed.append(k)
            else:
                break
            k += 1
        while run and run[-1] > (passed[-1] if passed else -1):
            run.pop()  # floats after the last block passed stay where they are
        if passed:
            return i, passed + run
    return None


def body_children(html: str) -> list[tuple[int, int, str]]:
    """(start, end, tag) of each element directly inside <body> in the source, by a scan of its tags."""
    body = re.search(r"<body\b[^>]*>", html)
    if body is None:
        return []
    out, depth, start, tag = [], 0, 0, ""
    for m in TAG.finditer(html, body.end()):
        if m.group(0).startswith("<!--"):
            continue
        closing, name, selfclosing = m.group(1) == "/", m.group(2).lower(), m.group(3) == "/"
        if name in VOID or selfclosing:
            if depth == 0:
                out.append((m.start(), m.end(), name))
            continue
        if closing:
            if depth == 0:  # </body>
                break
            depth -= 1
            if depth == 0:
                out.append((start, m.end(), tag))
        else:
            if depth == 0:
                start, tag = m.start(), name
            depth += 1
    return out


def deferred(html: str, document: Any) -> str | None:
    """`html` with the first float worth deferring moved below the blocks that fill the page before it (see the
    module docstring), or None when no float is worth it or the source does not match the layout."""
    if not document.pages:
        return None
    blocks, blank = laid_out_blocks(document)
    moved = plan(blocks, blank, document.pages[0]._page_box.height)
    if moved is None:
        return None
    spans = body_children(html)
    if [s[2] for s in spans] != [b.tag for b in blocks]:
        return None  # the layout's blocks are not the source's elements one to one: leave the order alone
    first, order = moved
    last = max(order)
    pieces = [html[spans[k][0]:spans[k][1]] for k in order]
    return html[:spans[first][0]] + "\n".join(pieces) + html[spans[last][1]:]
