"""Publication styling for every table: three-line rules, spanners, indented levels, footnotes.

A table is first described as an immutable `TableSpec` (a frame of already-formatted strings plus layout),
then rendered once with great_tables to HTML with inline CSS — WeasyPrint ranks `style=""` below
great_tables' id-scoped rules, so styles are inlined (css-inline) to survive in the PDF.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from paperlock.results import Results

TABLE_FONT = ["Liberation Sans", "DejaVu Sans", "Arial", "sans-serif"]


@dataclass(frozen=True)
class TableSpec:
    id: str
    number: int
    title: str
    frame: pd.DataFrame
    stub: str
    column_labels: dict[str, str]
    # (label, columns, level): level 0 sits just above the column labels, 1 above that
    spanners: list[tuple[str, list[str], int]] = field(default_factory=list)
    row_groups: str | None = None  # column of the frame holding a row-group label
    wide: bool = False  # set on a landscape page in the PDF

    @property
    def long(self) -> bool:
        """Long tables may break across pages (their header repeats); short ones are kept whole."""
        return len(self.frame) > 25
    indented_rows: list[int] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)

    @property
    def caption(self) -> str:
        return f"Table {self.number}. {self.title}"


TEST_MARKS = ("†", "‡", "§", "¶", "‖", "#")  # journal footnote symbols; * is left to mean significance


def test_marks(methods: set[str]) -> dict[str, str]:
    """Each method's symbol, in the order of the sorted method ids (as the footnote lists them); none for a
    single test."""
    if len(methods) <= 1:
        return {}
    if len(methods) > len(TEST_MARKS):
        raise ValueError(f"a table with {len(methods)} different tests has more than {len(TEST_MARKS)} marks")
    return {m: TEST_MARKS[i] for i, m in enumerate(sorted(methods))}


def mark_tests(frame: pd.DataFrame, cell_methods: dict[tuple[int, str], str],
               results: Results) -> tuple[pd.DataFrame, str]:
    """The p-value footnote, and the frame with each p-value marked by its test when the table uses more than
    one: 'p-values: † Pearson's χ² test ...; ‡ Fisher's exact test ...' (`cell_methods`: (row, column) -> method
    of the p-value shown there). With one test the footnote names it and no cell is marked."""
    methods = sorted(set(cell_methods.values()))
    names = {m: results.methods[m].description for m in methods}
    mark = test_marks(set(methods))
    if not mark:
        return frame, "".join(f"p-values: {names[m]}." for m in methods)
    out = frame.copy()
    for (row, col), m in cell_methods.items():
        out.at[row, col] = f"{out.at[row, col]}{mark[m]}"
    return out, "p-values: " + "; ".join(f"{mark[m]} {names[m]}" for m in methods) + "."


def render_table_html(t: TableSpec) -> str:
    from great_tables import GT, loc, style

    # great_tables escapes labels, spanners and notes but not body cells: escape those here, once
    frame = t.frame.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    gt = GT(frame, id=t.id.replace(".", "-")).tab_stub(rowname_col=t.stub, groupname_col=t.row_groups)
    gt = gt.cols_label(**{c: lab for c, lab in t.column_labels.items() if c in t.frame.columns})
    for i, (label, cols, level) in enumerate(sorted(t.spanners, key=lambda s: s[2])):
        if cols:
            gt = gt.tab_spanner(label=label, columns=cols, level=level, id=f"sp{i}")
    if t.indented_rows:
        gt = gt.tab_stub_indent(rows=t.indented_rows, indent=2)
    for note in t.footnotes:
        if note:
            gt = gt.tab_source_note(note)
    value_cols = [c for c in t.frame.columns if c not in (t.stub, t.row_groups)]
    gt = (
        gt.cols_align("center", columns=value_cols)
        .tab_style(style.text(weight="normal"), loc.stub())
        .tab_options(
            table_font_names=TABLE_FONT, table_font_size="9pt", table_width="100%",
            heading_border_bottom_style="none", table_border_top_style="solid", table_border_top_width="1.5px",
            table_border_top_color="#000", column_labels_border_top_style="solid",
            column_labels_border_top_color="#000", column_labels_border_bottom_style="solid",
            column_labels_border_bottom_width="1px", column_labels_border_bottom_color="#000",
            table_body_border_bottom_style="solid", table_body_border_bottom_width="1.5px",
            table_body_border_bottom_color="#000", table_body_hlines_style="none", stub_border_style="none",
            table_border_bottom_style="none", source_notes_font_size="8pt", data_row_padding="2px",
            column_labels_font_weight="bold",
        )
    )
    return gt.as_raw_html(inline_css=True)
