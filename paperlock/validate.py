"""Validate a data file against the study's data dictionary and spec; report every problem at once.

Steps: read the file (`paperlock.io`), map its headers and coded values onto the dictionary, then run two
pandera schemas built at run time: one for the columns (missing, extra), one for the content (types, levels,
plausible ranges, identifiers, survival times and event codes, the dictionary's cross-column `checks`, empty
groups). Every rule comes from the dictionary or the spec; each failure becomes a `Problem` with file, row,
column and value. A file that passes is returned normalised (canonical text, dictionary column order).

Speed: per-cell rules depend on the cell's value only, so they are computed once per distinct value of a column
(`paperlock.io.distinct`). Every rule is first screened that way; only when one fails somewhere does the
pandera schema run to find and word each failure (the screen cannot pass a file pandera would fail: each rule
is the same function, on the same values).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paperlock.data_dictionary import DataDictionary, LoadedDictionary, load_dictionary
from paperlock.io import Table, read_table
from paperlock.io.distinct import by_value, factorize, recode, values_of
from paperlock.io.values import number_text
from paperlock.problems import Problem, ValidationFailed, show_value
from paperlock.spec import LoadedSpec, Spec

# --------------------------------------------------------------------------------------------------- parsing


def parse_numbers(s: pd.Series) -> pd.Series:
    """Floats; NaN where the text is blank, not a number or not finite."""
    return by_value(s, _parse_numbers).astype(float)


def _parse_numbers(s: pd.Series) -> pd.Series:
    out = pd.to_numeric(s, errors="coerce").astype(float)
    return out.where(np.isfinite(out))


def parse_dates(s: pd.Series, fmt: str | None) -> pd.Series:
    return by_value(s, lambda u: _parse_dates(u, fmt))


def _parse_dates(s: pd.Series, fmt: str | None) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(s, format=fmt or "ISO8601", errors="coerce")


def level_key(value: Any) -> str:
    """Compare level values as text, numbers by value: 1, 1.0 and '1' are the same level."""
    if isinstance(value, bool):
        return str(int(value))
    text = str(value).strip()
    try:
        x = float(text)
    except ValueError:
        return text
    return number_text(x) if np.isfinite(x) else text


# ----------------------------------------------------------------------------------------------------- rules


@dataclass
class Rule:
    """One check and how to word its failures. `cell` rules get (row, value); `row` rules get the row number."""

    id: str
    column: str | None
    check: Any
    on_cell: Callable[[Any], str] | None = None
    on_row: Callable[[int], tuple[str, str]] | None = None  # -> (column, message)
    on_frame: str | None = None
    fn: Callable[[Any], Any] | None = None  # the check's function (for the distinct-value screen)
    ignore_na: bool = True
    elementwise: bool = True  # a cell's verdict depends on its own value only


@dataclass
class RuleSet:
    frame: pd.DataFrame
    file: str
    codes: dict[str, Any] = field(default_factory=dict)  # column -> (codes, distinct values), when known
    column_rules: dict[str, list[Rule]] = field(default_factory=dict)
    frame_rules: list[Rule] = field(default_factory=list)
    by_id: dict[str, Rule] = field(default_factory=dict)

    def _new_id(self) -> str:
        return f"paperlock-rule-{len(self.by_id)}"

    def cell(self, column: str, ok: Callable[[pd.Series], pd.Series], message: Callable[[Any], str],
             ignore_na: bool = True, elementwise: bool = True) -> None:
        """A per-cell rule; `elementwise`: `ok` judges each cell by its own value (else by the whole column)."""
        import pandera.pandas as pa

        if column not in self.frame.columns:
            return
        rid = self._new_id()
        fn = _safe(ok)
        rule = Rule(rid, column, pa.Check(fn, error=rid, ignore_na=ignore_na), on_cell=message, fn=fn,
                    ignore_na=ignore_na, elementwise=elementwise)
        self.column_rules.setdefault(column, []).append(rule)
        self.by_id[rid] = rule

    def row(self, columns: list[str], ok: Callable[[pd.DataFrame], pd.Series],
            message: Callable[[int], tuple[str, str]]) -> None:
        import pandera.pandas as pa

        if any(c not in self.frame.columns for c in columns):
            return
        rid = self._new_id()
        fn = _safe(ok)
        rule = Rule(rid, columns[0], pa.Check(fn, error=rid), on_row=message, fn=fn, elementwise=False)
        self.frame_rules.append(rule)
        self.by_id[rid] = rule

    def whole(self, column: str, ok: Callable[[pd.DataFrame], bool], message: str) -> None:
        import pandera.pandas as pa

        if column not in self.frame.columns:
            return
        rid = self._new_id()
        fn = _safe(ok)
        rule = Rule(rid, column, pa.Check(fn, error=rid), on_frame=message, fn=fn, elementwise=False)
        self.frame_rules.append(rule)
        self.by_id[rid] = rule


def _safe(fn: Callable) -> Callable:
    """A check never crashes validation: an exception inside a rule fails the rule's rows, not the program."""

    def wrapped(obj: Any) -> Any:
        try:
            return fn(obj)
        except Exception:  # noqa: BLE001 - reported as a failed check
            return False

    return wrapped


def _present(s: pd.Series) -> pd.Series:
    return s.notna()


def _each(s: pd.Series, test: Callable[[Any], bool]) -> pd.Series:
    """`s.map(test)` as booleans, evaluated once per distinct value."""
    return by_value(s, lambda u: u.map(test).astype(bool)).astype(bool)


def _add_type_rules(rs: RuleSet, name: str, col_type: str, fmt: str | None, origin: str) -> None:
    if col_type in ("integer", "number"):
        def ok_number(s: pd.Series, integer: bool = col_type == "integer") -> pd.Series:
            x = parse_numbers(s)
            return x.notna() & (x.round() == x) if integer else x.notna()

        def msg_number(v: Any, integer: bool = col_type == "integer") -> str:
            text = str(v)
            if re.fullmatch(r"[-+]?\d+,\d+", text.strip()):
                return f"value {show_value(v)} is not a number (decimal comma? write {text.replace(',', '.')})"
            if integer and np.isfinite(parse_numbers(pd.Series([v])).iloc[0]):
                return f"value {show_value(v)} is not a whole number (expected: integer, from {origin})"
            return f"value {show_value(v)} is not a number (expected: {col_type}, from {origin})"

        rs.cell(name, ok_number, msg_number)
    elif col_type == "boolean":
        allowed = {"0", "1", "true", "false"}
        rs.cell(name, lambda s: _each(s, lambda v: level_key(v).lower() in allowed),
                lambda v: f"value {show_value(v)} is not a yes/no value (0/1 or true/false)")
    elif col_type == "date":
        expected = f"a date as {fmt}" if fmt else "an ISO 8601 date (YYYY-MM-DD)"
        rs.cell(name, lambda s: parse_dates(s, fmt).notna(),
                lambda v: f"value {show_value(v)} is not {expected} ({origin}"
                          f"{'' if fmt else '; it may declare a `format:`'})")


def _add_level_rule(rs: RuleSet, column: str, values: list[Any], what: str) -> None:
    keys = {level_key(v) for v in values}
    shown = ", ".join(sorted({str(v) for v in values}, key=str))
    rs.cell(column, lambda s: _each(s, lambda v: level_key(v) in keys),
            lambda v: f"value {show_value(v)} is not {what} (allowed: {shown})")


def _add_dictionary_rules(rs: RuleSet, dictionary: DataDictionary) -> None:
    origin = "the data dictionary"
    for name, col in dictionary.columns.items():
        if name not in rs.frame.columns:
            continue
        if not col.nullable or col.identifier:
            rs.cell(name, _present, lambda v: f"value missing; {origin} requires one", ignore_na=False)
        _add_type_rules(rs, name, col.type, col.format, origin)
        if col.allowed_values is not None:
            _add_level_rule(rs, name, col.allowed_values, "a level the data dictionary declares")
        if col.min is not None or col.max is not None:
            lo = -np.inf if col.min is None else col.min
            hi = np.inf if col.max is None else col.max
            lo_text = number_text(lo) if col.min is not None else "…"
            span = f"{lo_text}–{number_text(hi) if col.max is not None else '…'}"
            unit = f" {col.unit}" if col.unit else ""
            rs.cell(name, lambda s, lo=lo, hi=hi: ~parse_numbers(s).lt(lo) & ~parse_numbers(s).gt(hi),
                    lambda v, span=span, unit=unit: f"value {show_value(v)} is implausible (outside {span}{unit}, "
                                                    "the data dictionary's plausible range)")
        if col.unique or col.identifier:
            _add_unique_rule(rs, name, mask=col.identifier)
    for check in dictionary.checks:
        if check.rule == "non_empty_levels":
            assert check.column
            for level in dictionary.columns[check.column].allowed_values or []:
                _add_non_empty(rs, check.column, [level], f"level {level!r}", check.message)
        else:
            _add_order_rule(rs, dictionary, check.rule, check.left or "", check.right or "", check.message)


def _add_unique_rule(rs: RuleSet, column: str, mask: bool) -> None:
    frame = rs.frame

    def msg(v: Any) -> str:
        first = frame.index[(frame[column] == v).to_numpy()][0]
        shown = "an identifier" if mask else f"value {show_value(v)}"
        return f"duplicate: {shown} already used in row {first}" + (" (value not shown: identifier)" if mask else "")

    rs.cell(column, lambda s: ~s.duplicated(keep="first"), msg, elementwise=False)


def _add_order_rule(rs: RuleSet, dictionary: DataDictionary, rule: str, left: str, right: str,
                    note: str | None) -> None:
    kind = "date" if dictionary.columns[left].type == "date" else "number"
    fmts = dictionary.columns[left].format, dictionary.columns[right].format
    frame = rs.frame

    def parsed(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        if kind == "date":
            return parse_dates(df[left], fmts[0]), parse_dates(df[right], fmts[1])
        return parse_numbers(df[left]), parse_numbers(df[right])

    def ok(df: pd.DataFrame) -> pd.Series:
        a, b = parsed(df)
        both = a.notna() & b.notna()
        good = a <= b if rule == "less_equal" else a < b
        return ~both | good

    sign = "≤" if rule == "less_equal" else "<"
    word = ("later than" if rule == "less_equal" else "not earlier than") if kind == "date" else \
        ("greater than" if rule == "less_equal" else "not less than")

    def msg(row: int) -> tuple[str, str]:
        lv, rv = frame.at[row, left], frame.at[row, right]
        text = (f"value {show_value(lv)} is {word} {right} ({show_value(rv)}) in the same row; the data "
                f"dictionary requires {left} {sign} {right}")
        return left, text + (f" ({note})" if note else "")

    rs.row([left, right], ok, msg)


def _add_non_empty(rs: RuleSet, column: str, values: list[Any], what: str, note: str | None) -> None:
    keys = {level_key(v) for v in values}
    text = f"no row has {what}: that group would be empty" + (f" ({note})" if note else "")
    rs.whole(column, lambda df: bool(_each(df[column].dropna(), lambda v: level_key(v) in keys).any()), text)


def _add_endpoint_rules(rs: RuleSet, spec: Spec) -> None:
    """Survival times present, numeric and not negative; event codes present and 0 or 1."""
    origin = "the study spec"
    for ep_name, ep in spec.endpoints.items():
        rs.cell(ep.time, _present, lambda v, n=ep_name: f"survival time missing (endpoint {n})", ignore_na=False)
        _add_type_rules(rs, ep.time, "number", None, f"{origin}, endpoint {ep_name}")
        rs.cell(ep.time, lambda s: ~parse_numbers(s).lt(0),
                lambda v, n=ep_name: f"value {show_value(v)} is a negative survival time (endpoint {n})")
        rs.cell(ep.event, _present, lambda v, n=ep_name: f"event code missing (endpoint {n})", ignore_na=False)
        rs.cell(ep.event, lambda s: _each(s, lambda v: level_key(v) in {"0", "1"}),
                lambda v, n=ep_name: f"value {show_value(v)} is not an event code: 0 (censored) or 1 (event), "
                                     f"endpoint {n}")


def _add_variable_rules(rs: RuleSet, spec: Spec, covered: set[str]) -> None:
    """Numeric columns behind continuous variables, declared levels, and no empty group (unless the dictionary's
    `non_empty_levels` already covers the column)."""
    origin = "the study spec"
    for name, var in spec.variables.items():
        columns = [var.column] + ([var.change.followup] if var.change else [])
        if var.type == "continuous" or var.cut or var.change:
            for col in columns:
                _add_type_rules(rs, col, "number", None, f"{origin}, variable {name}")
        elif var.levels:
            values = [v for lvl in var.levels for v in (lvl.values or [lvl.code])]
            _add_level_rule(rs, var.column, values, f"a level of variable {name!r} in the study spec")
    for gname, grouping in spec.groupings.items():
        var = spec.variables[grouping.variable]
        if var.cut or var.change or var.column in covered:
            continue
        for lvl in var.levels:
            _add_non_empty(rs, var.column, list(lvl.values or [lvl.code]),
                           f"level {lvl.code!r} ({', '.join(map(str, lvl.values or [lvl.code]))})",
                           f"grouping {gname!r} needs every group")


# -------------------------------------------------------------------------------------------------- mapping


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def map_table(table: Table, dictionary: DataDictionary | None, spec: Spec | None) -> tuple[Table, list[str]]:
    """Rename headers onto dictionary names (exact, alias, then case/punctuation-insensitive), blank out the
    dictionary's missing-value markers and show SPSS codes as labels where the column is categorical."""
    notes: list[str] = []
    frame = table.frame  # never changed in place: each step below makes a new frame
    codes = dict(table.codes)
    if dictionary is not None:
        by_key: dict[str, str] = {}
        for name, col in dictionary.columns.items():
            for alias in [name, *col.aliases]:
                by_key.setdefault(alias, name)
                by_key.setdefault(_header_key(alias), name)
        renames: dict[str, str] = {}
        taken = set(frame.columns) & set(dictionary.columns)
        for col in frame.columns:
            if col in dictionary.columns:
                continue
            target = by_key.get(col) or by_key.get(_header_key(col))
            if target and target not in taken:
                renames[col] = target
                taken.add(target)
                notes.append(f"column {col!r} read as {target!r}")
        if renames:
            frame = frame.rename(columns=renames)
            codes = {renames.get(c, c): v for c, v in codes.items()}
        table_labels = {renames.get(c, c): v for c, v in table.value_labels.items()}
        markers = {m.strip() for m in dictionary.missing_values if m.strip()}
        if markers:
            frame, codes = _blank_markers(frame, codes, markers)
    else:
        table_labels = dict(table.value_labels)
    labelled = _label_columns(table_labels, frame, dictionary, spec)
    if labelled:
        frame = frame.copy()
    for col in labelled:
        mapping = table_labels[col]
        frame[col] = frame[col].map(lambda v, m=mapping: None if v is None else m.get(v, v)).astype(object)
        codes.pop(col, None)
        notes.append(f"column {col!r}: SPSS value labels applied ({len(mapping)} labels)")
    return Table(frame=frame, path=table.path, format=table.format, description=table.description,
                 value_labels=table.value_labels, problems=table.problems, header_row=table.header_row,
                 broken_rows=table.broken_rows, codes=codes), notes


def _blank_markers(frame: pd.DataFrame, codes: dict, markers: set[str]) -> tuple[pd.DataFrame, dict]:
    """Cells whose text is a missing-value marker become None (per distinct value where the codes are known)."""
    if not codes.keys() >= set(frame.columns):
        return frame.apply(lambda s: s.where(~s.isin(markers), None)).astype(object), {}
    codes = {c: recode(codes[c], lambda v: None if v in markers else v) for c in frame.columns}
    data = {c: values_of(codes[c]) for c in frame.columns}
    return pd.DataFrame(data, index=frame.index, columns=frame.columns, dtype=object, copy=False), codes


def _label_columns(labels: dict[str, dict[str, str]], frame: pd.DataFrame, dictionary: DataDictionary | None,
                   spec: Spec | None) -> list[str]:
    """Columns whose codes are shown as labels: categorical/string in the dictionary, or (without one) columns
    whose labels are level values of a spec variable."""
    out = []
    for col, mapping in labels.items():
        if col not in frame.columns or not mapping:
            continue
        if dictionary is not None and col in dictionary.columns:
            if dictionary.columns[col].type in ("categorical", "string"):
                out.append(col)
            continue
        spec_values = {str(v) for var in (spec.variables.values() if spec else []) if var.column == col
                       for lvl in var.levels for v in (lvl.values or [lvl.code])}
        if spec_values & set(mapping.values()):
            out.append(col)
    return out


# ------------------------------------------------------------------------------------------------ validation


@dataclass
class Outcome:
    """What validation found; `frame` is the normalised data when there is no problem."""

    table: Table
    problems: list[Problem]
    notes: list[str]
    warnings: list[str]
    dictionary: LoadedDictionary | None
    frame: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def study_dictionary(loaded: LoadedSpec) -> LoadedDictionary | None:
    rel = loaded.spec.data.dictionary
    return load_dictionary(loaded.resolve(rel)) if rel else None


def validate_file(path: Path, spec: Spec | None, dictionary: LoadedDictionary | None) -> Outcome:
    """Read, map and validate `path`; never raises for a data problem (only for an unreadable file)."""
    d = dictionary.dictionary if dictionary else None
    return validate_table(read_table(path, encoding=d.encoding if d else None), spec, dictionary)


def validate_table(table: Table, spec: Spec | None, dictionary: LoadedDictionary | None) -> Outcome:
    """Map `table` onto the dictionary and validate it against the dictionary and spec."""
    d = dictionary.dictionary if dictionary else None
    table, notes = map_table(table, d, spec)
    problems = list(table.problems)
    problems += _config_problems(spec, dictionary)
    problems += _structure_problems(table, d, spec)
    broken = [r for r in table.broken_rows if r in table.frame.index]
    content = table.frame.drop(index=broken) if broken else table.frame
    rs = RuleSet(frame=content, file=table.name, codes={} if broken else table.codes)
    if spec is not None:
        _add_endpoint_rules(rs, spec)
    if d is not None:
        _add_dictionary_rules(rs, d)
    if spec is not None:
        covered = {c.column for c in d.checks if c.column and c.rule == "non_empty_levels"} if d else set()
        _add_variable_rules(rs, spec, covered)
    if len(content):
        if not passes_everywhere(rs):
            problems += _run_rules(rs, table.first_last_rows())
    elif not table.broken_rows:
        problems.append(Problem(table.name, (table.header_row or 0) + 1, None, "no data rows"))
    outcome = Outcome(table=table, problems=_dedupe(problems), notes=notes,
                      warnings=d.warnings() if d else [], dictionary=dictionary)
    if outcome.ok:
        outcome.frame = normalise(table.frame, d, table.codes)
    return outcome


def _config_problems(spec: Spec | None, dictionary: LoadedDictionary | None) -> list[Problem]:
    if spec is None or dictionary is None:
        return []
    out = []
    for column, used_by in spec_columns(spec).items():
        if column not in dictionary.dictionary.columns:
            out.append(Problem(str(dictionary.path), None, column,
                               f"the study spec uses this column ({used_by}), which the data dictionary does "
                               "not declare"))
    return out


def spec_columns(spec: Spec) -> dict[str, str]:
    """{column: what in the spec uses it} for every raw column the analysis reads from the cohort."""
    used: dict[str, str] = {}
    for name, ep in spec.endpoints.items():
        used.setdefault(ep.time, f"endpoint {name}")
        used.setdefault(ep.event, f"endpoint {name}")
    for name, var in spec.variables.items():
        used.setdefault(var.column, f"variable {name}")
        if var.change:
            used.setdefault(var.change.followup, f"variable {name}")
    for table in spec.graded_event_tables:
        for ev in table.events:
            if ev.column:
                used.setdefault(ev.column, f"table {table.id}")
    if spec.flow and spec.flow.stop_column:
        used.setdefault(spec.flow.stop_column, "flow")
    for name, listing in spec.listings.items():
        for source in listing.fields.values():
            if source not in spec.variables:
                used.setdefault(source, f"listing {name}")
    return used


def _structure_problems(table: Table, dictionary: DataDictionary | None, spec: Spec | None) -> list[Problem]:
    """Missing and extra columns, checked by a pandera schema of the expected columns."""
    import pandera.pandas as pa

    if dictionary is not None:
        expected = {name: col.required for name, col in dictionary.columns.items()}
    else:
        expected = dict.fromkeys(spec_columns(spec) if spec else {}, True)
    schema = pa.DataFrameSchema({c: pa.Column(required=req) for c, req in expected.items()},
                                strict=dictionary is not None)
    cases = _failure_cases(schema, table.frame.head(0))
    row = table.header_row
    out = []
    missing = [str(c) for c in cases.loc[cases["check"] == "column_in_dataframe", "failure_case"]]
    extra = [str(c) for c in cases.loc[cases["check"] == "column_in_schema", "failure_case"]]
    for col in missing:
        close = difflib.get_close_matches(col, extra, n=1)
        hint = f" (the file has {close[0]!r}: misspelt? the dictionary may list it under `aliases:`)" if close else ""
        out.append(Problem(table.name, row, col, f"required column is missing{hint}"))
    for col in extra:
        out.append(Problem(table.name, row, col, "column is not in the data dictionary (add it there, or remove "
                                                 "it from the file)"))
    return out


def _failure_cases(schema: Any, frame: pd.DataFrame) -> pd.DataFrame:
    import pandera.pandas as pa

    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    except pa.errors.SchemaError as exc:  # a non-lazy error (should not happen with lazy=True)
        return pd.DataFrame([{"check": str(exc), "failure_case": None, "index": None, "column": None}])
    return pd.DataFrame(columns=["check", "failure_case", "index", "column"])


def passes_everywhere(rs: RuleSet) -> bool:
    """True when no rule fails on any row, judged once per distinct value of each column (frame-wide rules run
    as they are). False sends the frame to pandera (`_run_rules`), which finds and words each failure."""
    for column, rules in rs.column_rules.items():
        codes, uniques = rs.codes.get(column) or factorize(rs.frame[column])
        blanks = bool((codes < 0).any())
        for rule in rules:
            assert rule.fn is not None
            if not rule.elementwise:  # the uniqueness rule: no value twice among the filled cells
                if int((codes >= 0).sum()) != uniques.size:
                    return False
                continue
            values = uniques if rule.ignore_na or not blanks else np.append(uniques, None)
            if values.size and not _all_true(rule.fn(pd.Series(values, dtype=object))):
                return False
    return all(_all_true(rule.fn(rs.frame)) for rule in rs.frame_rules if rule.fn is not None)


def _all_true(verdict: Any) -> bool:
    if isinstance(verdict, bool | np.bool_):
        return bool(verdict)
    values = np.asarray(verdict)
    return values.dtype == bool and bool(values.all())


def _run_rules(rs: RuleSet, all_rows: str) -> list[Problem]:
    """Run every rule as one pandera schema (lazy: all failures collected) and word each failure."""
    import pandera.pandas as pa

    columns = {c: pa.Column(object, nullable=True, checks=[r.check for r in rules])
               for c, rules in rs.column_rules.items()}
    schema = pa.DataFrameSchema(columns, checks=[r.check for r in rs.frame_rules], strict=False, coerce=False)
    cases = _failure_cases(schema, rs.frame)
    problems: list[Problem] = []
    seen_rows: set[tuple[str, Any]] = set()
    order = {rid: i for i, rid in enumerate(rs.by_id)}
    records = sorted(cases.to_dict(orient="records"), key=lambda c: order.get(str(c["check"]), -1))
    for case in records:
        rule = rs.by_id.get(str(case["check"]))
        if rule is None:
            problems.append(Problem(rs.file, None, case.get("column"), f"schema check failed: {case['check']}"))
            continue
        index = case.get("index")
        row = None if index is None or (isinstance(index, float) and np.isnan(index)) else int(index)
        if rule.on_cell is not None:
            value = case["failure_case"]
            value = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
            problems.append(Problem(rs.file, row, rule.column, rule.on_cell(value)))
        elif rule.on_row is not None and row is not None:
            if (rule.id, row) in seen_rows:
                continue
            seen_rows.add((rule.id, row))
            column, message = rule.on_row(row)
            problems.append(Problem(rs.file, row, column, message))
        elif rule.on_frame is not None:
            problems.append(Problem(rs.file, None, rule.column, rule.on_frame, rows=all_rows))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem per cell (the first rule that failed it) and no repeated file-level problem."""
    out, seen = [], set()
    for p in problems:
        key = (p.file, p.row, p.column) if p.row is not None else (p.file, p.row, p.column, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# ------------------------------------------------------------------------------------------------ normalising


def normalise(frame: pd.DataFrame, dictionary: DataDictionary | None,
              codes: dict[str, Any] | None = None) -> pd.DataFrame:
    """Canonical text per dictionary type (numbers without trailing zeros, ISO dates), blanks as None,
    dictionary column order, rows numbered from 0 in file order. Computed once per distinct value of each
    column (`codes`: the columns' codes when known)."""
    codes = codes or {}
    order = [c for c in dictionary.columns if c in frame.columns] if dictionary is not None else []
    data = {}
    for name in order + [c for c in frame.columns if c not in order]:
        coded = codes.get(name) or factorize(frame[name])
        kind = dictionary.columns[name].type if name in order and dictionary is not None else None
        if kind in ("integer", "number"):
            texts = _number_texts(pd.Series(coded[1], dtype=object))
        elif kind == "date":
            texts = _date_texts(pd.Series(coded[1], dtype=object), dictionary.columns[name].format)
        else:
            texts = list(coded[1])
        data[name] = values_of((coded[0], np.array(texts + [None], dtype=object)[:-1]))
    return pd.DataFrame(data, columns=list(data), dtype=object, copy=False)


def _number_texts(s: pd.Series) -> list[str | None]:
    return [None if np.isnan(x) else number_text(float(x)) for x in _parse_numbers(s)]


def _date_texts(s: pd.Series, fmt: str | None) -> list[str | None]:
    return [None if pd.isna(x) else x.date().isoformat() if x.time() == pd.Timestamp(0).time()
            else x.isoformat() for x in _parse_dates(s, fmt)]


def raise_problems(outcome: Outcome) -> None:
    """Raise `ValidationFailed` listing the outcome's problems (the first 50), if it has any."""
    if not outcome.ok:
        raise ValidationFailed(outcome.problems, outcome.table.description, limit=50,
                               hint="Nothing was written. Fix the file (or the data dictionary) and run again.")


def load_validated(loaded: LoadedSpec, path: Path) -> Outcome:
    """`path` validated against the study's dictionary and spec; raises listing all problems."""
    outcome = validate_file(path, loaded.spec, study_dictionary(loaded))
    raise_problems(outcome)
    return outcome
