"""Rendered-output check: the numbers in the generated manuscript's tables against results.json.

Every body cell of every table in `build/manuscript.html` (great_tables HTML inside `<figure id="tbl-<id>">`;
columns named by their header ids `<id>-<column>`) and of `build/manuscript.docx` (when written) must equal
the formatting, through `report.formatting`, of the results it stands for. The expected cells are derived here
from the spec and results.json independently of `report.tables`, so a table builder reading the wrong key, a
shifted row or column, or a lost cell shows up even when results.json is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lxml.html

from paperlock.results import Results
from paperlock.spec import LoadedSpec, Spec
from report import formatting as fmt
from report.tables.style import test_marks


@dataclass(frozen=True)
class ExpectedRow:
    label: str  # the rendered row label must start with this
    cells: dict[str, str]  # column id -> exact text


@dataclass(frozen=True)
class Mismatch:
    source: str
    table: str
    row: int
    column: str
    expected: str
    rendered: str

    def __str__(self) -> str:
        return (f"{self.source} {self.table} row {self.row + 1} column {self.column!r}: "
                f"rendered {self.rendered!r}, results give {self.expected!r}")


# ------------------------------------------------------------------------------------------- expected cells
class _P(str):
    """A formatted p-value that remembers the method it came from (for the table's test marks)."""

    method: str | None = None


class _Cells:
    def __init__(self, spec: Spec, results: Results) -> None:
        self.d, self.stats = spec.display, results.statistics

    def v(self, key: str):
        return self.stats[key].value

    def n_pct(self, prefix: str) -> str:
        return f"{fmt.integer(self.v(prefix + '.n'))} ({fmt.num(self.v(prefix + '.pct'), self.d.pct_digits)})"

    def p(self, key: str) -> str:
        if key not in self.stats:
            return ""
        cell = _P(fmt.pvalue(self.v(key), self.d.p_digits))
        cell.method = self.stats[key].method if self.v(key) is not None else None
        return cell

    def estimate(self, prefix: str, point: str, digits: int) -> str:
        s = self.stats[f"{prefix}.{point}"]
        if s.status == "not_reached":
            return fmt.NOT_REACHED
        if s.value is None:
            return fmt.NA
        lo, hi = self.v(f"{prefix}.ci_lower"), self.v(f"{prefix}.ci_upper")
        return f"{fmt.num(s.value, digits)} ({fmt.num(lo, digits)}{fmt.DASH}{fmt.num(hi, digits)})"


def _baseline(spec: Spec, table, results: Results) -> list[ExpectedRow]:
    c, layout = _Cells(spec, results), results.tables[table.id]
    groups = (["all"] if table.overall else []) + list(layout["groups"])
    rows = []
    for item in layout["rows"]:
        name = item["variable"]
        var = spec.variables[name]
        p = c.p(f"baseline.{name}.p")
        if var.type == "continuous":
            dg = spec.display.continuous_digits
            q = {g: [fmt.num(c.v(f"baseline.{name}.{g}.{s}"), dg) for s in ("median", "q1", "q3")] for g in groups}
            cells = {g: f"{m} [{q1}, {q3}]" for g, (m, q1, q3) in q.items()}
            rows.append(ExpectedRow(var.label, {**cells, "p": p}))
            continue
        levels = {lvl.code: lvl.label for lvl in var.level_list}
        shown = item["levels"]
        if len(shown) == 1:
            rows.append(ExpectedRow(var.label, {**{g: c.n_pct(f"baseline.{name}.{shown[0]}.{g}") for g in groups},
                                                "p": p}))
            continue
        rows.append(ExpectedRow(var.label, {**{g: "" for g in groups}, "p": p}))
        rows += [ExpectedRow(levels[code], {**{g: c.n_pct(f"baseline.{name}.{code}.{g}") for g in groups}, "p": ""})
                 for code in shown]
    return rows


def _survival(spec: Spec, table, results: Results) -> list[ExpectedRow]:
    c, rows = _Cells(spec, results), []
    for block in table.rows:
        groups = results.curves[f"km.{table.endpoints[0]}.{block.stratifier}"]["groups"]
        for g in block.groups or list(groups):
            rows.append(ExpectedRow(groups[g]["label"], {
                ep: c.estimate(f"km.{ep}.{block.stratifier}.{g}", "median", spec.display.months_digits)
                for ep in table.endpoints}))
    return rows


def _outcome(spec: Spec, table, results: Results) -> list[ExpectedRow]:
    c, layout = _Cells(spec, results), results.tables[table.id]
    labels = {lvl.code: lvl.label for lvl in spec.variables[table.variable].level_list} | table.composite_labels
    return [ExpectedRow(labels[r], {**{g: c.n_pct(f"{table.key_prefix}.{r}.{g}") for g in layout["groups"]},
                                    "p": c.p(f"{table.key_prefix}.{r}.p")}) for r in layout["rows"]]


def _graded(spec: Spec, table, results: Results) -> list[ExpectedRow]:
    c, layout = _Cells(spec, results), results.tables[table.id]
    rows = []
    for event in table.events:
        cells: dict[str, str] = {}
        for grade in table.grades:
            prefix = f"{table.key_prefix}.{event.code}.{grade}"
            cells |= {f"{g}_{grade}": c.n_pct(f"{prefix}.{g}") for g in layout["groups"]}
            cells[f"p_{grade}"] = c.p(f"{prefix}.p")
        rows.append(ExpectedRow(event.label, cells))
    return rows


def _cox(spec: Spec, table, results: Results) -> list[ExpectedRow]:
    c = _Cells(spec, results)
    models = next(m for m in spec.cox if m.id == table.models)
    rows = []
    for cov in models.covariates:
        cells: dict[str, str] = {}
        for ep in models.endpoints:
            for kind in ("uni", "multi"):
                prefix = f"cox.{models.population}.{ep}.{kind}.{cov.key}"
                hr = c.stats.get(f"{prefix}.hr")
                if hr is None or hr.status == "not_estimable":
                    cells[f"{ep}_{kind}_hr"] = "" if hr is None else "not estimable"
                    cells[f"{ep}_{kind}_p"] = ""
                    continue
                cells[f"{ep}_{kind}_hr"] = c.estimate(prefix, "hr", spec.display.hr_digits)
                cells[f"{ep}_{kind}_p"] = c.p(f"{prefix}.p")
        rows.append(ExpectedRow(cov.label, cells))
    return rows


def _with_test_marks(rows: list[ExpectedRow]) -> list[ExpectedRow]:
    """A table whose p-values come from more than one test marks each with its test's symbol, in the order of
    the sorted method ids (as the table's footnote lists them)."""
    mark = test_marks({v.method for r in rows for v in r.cells.values() if isinstance(v, _P) and v.method})
    if not mark:
        return rows
    return [ExpectedRow(r.label, {c: v + mark[v.method] if isinstance(v, _P) and v.method else v
                                  for c, v in r.cells.items()}) for r in rows]


def expected_tables(loaded: LoadedSpec, results: Results) -> dict[str, list[ExpectedRow]]:
    """Every manuscript table's body: row label and the formatted results in each column (p-values marked by
    test where a table uses several)."""
    spec = loaded.spec
    kinds = [(spec.baseline_tables, _baseline), (spec.survival_tables, _survival), (spec.outcome_tables, _outcome),
             (spec.graded_event_tables, _graded), (spec.cox_tables, _cox)]
    marked = {_baseline, _outcome, _graded}
    builders = {t.id: (build, t) for tables, build in kinds for t in tables}
    order = list(spec.manuscript.tables) if spec.manuscript else list(builders)
    out = {}
    for tid in order:
        build, table = builders[tid]
        rows = build(spec, table, results)
        out[tid] = _with_test_marks(rows) if build in marked else rows
    return out


# ------------------------------------------------------------------------------------------------ rendered
@dataclass(frozen=True)
class RenderedTable:
    columns: list[str]  # column id per body cell position (the stub is "")
    rows: list[tuple[str, list[str]]]  # (row label, cell texts)


def _text(el) -> str:
    return " ".join(el.text_content().split())


def _leaf_columns(thead, prefix: str) -> list[str]:
    """Column ids per position, resolving rowspan/colspan of the header rows."""
    grid: dict[tuple[int, int], str] = {}
    rows = thead.findall(".//tr")
    for r, tr in enumerate(rows):
        col = 0
        for th in tr.findall("th"):
            while (r, col) in grid:
                col += 1
            span_r, span_c = int(th.get("rowspan", 1)), int(th.get("colspan", 1))
            name = (th.get("id") or "").removeprefix(prefix)
            for dr in range(span_r):
                for dc in range(span_c):
                    grid[(r + dr, col + dc)] = name
            col += span_c
    last = len(rows) - 1
    return [grid[(last, c)] for c in range(1 + max(c for (r, c) in grid if r == last))]


def html_tables(html: str) -> dict[str, RenderedTable]:
    """Every `<figure id="tbl-<id>">` table of the manuscript: columns and body rows."""
    doc = lxml.html.fromstring(html)
    out: dict[str, RenderedTable] = {}
    for fig in doc.xpath('//figure[starts-with(@id, "tbl-")]'):
        tid = fig.get("id").removeprefix("tbl-")
        table = fig.find(".//table")
        columns = _leaf_columns(table.find("thead"), tid.replace(".", "-") + "-")
        rows = [(_text(tr.find("th")) if tr.find("th") is not None else "", [_text(td) for td in tr.findall("td")])
                for tr in table.find("tbody").findall("tr")]
        out[tid] = RenderedTable(columns, rows)
    return out


def compare(expected: dict[str, list[ExpectedRow]], rendered: dict[str, RenderedTable],
            source: str) -> list[Mismatch]:
    """Every expected cell against the rendered one; missing tables, rows and columns are mismatches too."""
    out: list[Mismatch] = []
    for tid, rows in expected.items():
        table = rendered.get(tid)
        if table is None:
            out.append(Mismatch(source, tid, -1, "", "a table", "missing"))
            continue
        if len(table.rows) != len(rows):
            out.append(Mismatch(source, tid, -1, "", f"{len(rows)} rows", f"{len(table.rows)} rows"))
        for i, (want, (label, cells)) in enumerate(zip(rows, table.rows, strict=False)):
            if not label.startswith(want.label):
                out.append(Mismatch(source, tid, i, "(label)", want.label, label))
            by_col = dict(zip(table.columns[1:], cells, strict=False))
            for col, text in want.cells.items():
                got = by_col.get(col)
                if got != text:
                    out.append(Mismatch(source, tid, i, col, text, "(no such column)" if got is None else got))
    return out


def docx_tables(path: Path, expected: dict[str, list[ExpectedRow]], columns: dict[str, list[str]]
                ) -> dict[str, RenderedTable]:
    """The Word tables, in manuscript order, with the HTML's column ids; header rows are those above the first
    row whose label starts the table's first expected label."""
    from docx import Document

    tables = Document(str(path)).tables
    out: dict[str, RenderedTable] = {}
    for (tid, rows), table in zip(expected.items(), tables, strict=False):
        body = [[" ".join(cell.text.split()) for cell in tr.cells] for tr in table.rows]
        first = next((i for i, r in enumerate(body) if rows and r[0].startswith(rows[0].label)), len(body))
        body = [r for r in body[first:] if len(r) == len(columns[tid])][: len(rows)]
        out[tid] = RenderedTable(columns[tid], [(r[0], r[1:]) for r in body])
    return out


def check_outputs(loaded: LoadedSpec, results: Results, build: Path) -> tuple[list[str], list[Mismatch]]:
    """Check manuscript.html (required) and manuscript.docx (when present); returns (checked files, mismatches)."""
    expected = expected_tables(loaded, results)
    html_path = build / "manuscript.html"
    rendered = html_tables(html_path.read_text(encoding="utf-8"))
    mismatches = compare(expected, rendered, "html")
    checked = [str(html_path)]
    docx_path = build / "manuscript.docx"
    if docx_path.exists():
        columns = {tid: t.columns for tid, t in rendered.items()}
        mismatches += compare(expected, docx_tables(docx_path, expected, columns), "docx")
        checked.append(str(docx_path))
    return checked, mismatches


def cell_count(expected: dict[str, list[ExpectedRow]]) -> int:
    return sum(len(r.cells) for rows in expected.values() for r in rows)
