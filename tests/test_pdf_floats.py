"""Floats in the PDF (report.pdf_floats): a tall figure lets the text after it fill the page before it."""

from __future__ import annotations

import re

from report.pdf_floats import Block, body_children, deferred, laid_out_blocks, plan

PAGE = ("@page { size: 400px 600px; margin: 20px } body { margin: 0; font: 12px/16px sans-serif } "
        "p, h3 { margin: 0 } figure { break-inside: avoid }")


def _html(body: str) -> str:
    return f"<!DOCTYPE html><html><head><style>{PAGE}</style></head><body>\n{body}\n</body></html>"


def _figure(n: int, height: int = 550) -> str:
    return f'<figure class="figure" id="fig-{n}" style="margin: 0"><div style="height: {height}px"></div></figure>'


def _render(html: str):
    from weasyprint import HTML

    return HTML(string=html).render()


def _order(html: str) -> list[str]:
    return re.findall(r'id="([^"]+)"', html)


def test_a_tall_figure_lets_the_following_text_fill_the_page_before_it() -> None:
    html = _html('<p id="a">Before.</p>\n' + _figure(1) + '\n<h3 id="h">Next part</h3>\n<p id="b">After one.</p>'
                 '\n<p id="c">After two.</p>\n<h2 id="s">Section</h2>\n<p id="d">Later.</p>')
    first = _render(html)
    blocks, blank = laid_out_blocks(first)
    assert [b.id for b in blocks] == ["a", "fig-1", "h", "b", "c", "s", "d"]
    assert blocks[1].first_page == 1 and blank[0] > 400  # the figure left page 1 nearly empty
    moved = deferred(html, first)
    assert moved is not None
    assert _order(moved) == ["a", "h", "b", "c", "fig-1", "s", "d"]  # never past the section heading
    blocks, blank = laid_out_blocks(_render(moved))
    assert {b.id: b.first_page for b in blocks}["c"] == 0
    assert deferred(moved, _render(moved)) is None  # settled


def test_a_figure_that_fits_stays_where_it_is_written() -> None:
    html = _html('<p id="a">Before.</p>\n' + _figure(1, height=200) + '\n<p id="b">After.</p>')
    assert deferred(html, _render(html)) is None


def _block(tag: str, page: int, height: float, classes: str = "", id_: str | None = None) -> Block:
    return Block(tag, id_, frozenset(classes.split()), page, page, height)


def test_plan_keeps_the_numbering_order_and_the_room() -> None:
    blocks = [_block("p", 0, 100), _block("figure", 1, 500, "figure"), _block("figure", 2, 500, "figure"),
              _block("p", 3, 80), _block("figure", 3, 200, "table"), _block("p", 3, 90),
              _block("figure", 3, 300, "figure"), _block("p", 4, 50), _block("h2", 4, 40), _block("p", 4, 60)]
    # both figures go below the text and the table; the next figure joins them, and the text after it passes too
    assert plan(blocks, {0: 450.0}, 560.0) == (1, [3, 4, 5, 7, 1, 2, 6])
    # the text after the third figure does not fit: it stays where it is, after the three figures
    assert plan(blocks, {0: 380.0}, 560.0) == (1, [3, 4, 5, 1, 2])
    assert plan(blocks, {0: 300.0}, 560.0) == (1, [3, 4, 1, 2])  # then the text does not fit (80 + 200 + 90)
    assert plan(blocks, {0: 250.0}, 560.0) == (1, [3, 1, 2])  # the table does not fit (80 + 200)
    assert plan(blocks, {0: 100.0}, 560.0) is None  # less blank than MIN_BLANK of the page
    assert plan(blocks[:3] + [_block("h2", 3, 40)] + blocks[3:], {0: 450.0}, 560.0) is None  # a section heading


def test_plan_leaves_a_float_whose_previous_block_runs_onto_its_page() -> None:
    blocks = [Block("p", None, frozenset(), 0, 1, 900), _block("figure", 1, 500, "figure"), _block("p", 2, 80)]
    assert plan(blocks, {0: 0.0, 1: 400.0}, 560.0) is None


def test_body_children_scans_the_source_elements() -> None:
    html = _html('<p>a<br>b</p>\n<!-- a <div> in a comment -->\n<img src="x.png">\n<figure><div><p>x</p></div>'
                 '</figure>\n<hr/>')
    spans = body_children(html)
    assert [t for _, _, t in spans] == ["style", "p", "img", "figure", "hr"][1:]
    assert html[spans[2][0]:spans[2][1]] == "<figure><div><p>x</p></div></figure>"


def test_a_source_that_does_not_match_the_layout_is_left_alone() -> None:
    html = _html('<p id="a">Before.</p>\n' + _figure(1) + '\n<p id="b">After.</p>')
    document = _render(html)
    assert deferred(html.replace('<p id="a">Before.</p>', '<p id="a">Before.</p><p></p>'), document) is None
