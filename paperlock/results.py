"""The results.json contract: typed models, a builder, and a deterministic writer.

Every statistic sits under a stable dotted key (docs/keys.md), holds its raw unrounded value and names the
method (with its conventions) that produced it. The same inputs give a byte-identical file: keys are
sorted, floats are written by `repr`, and no wall-clock time is stored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from paperlock.atomic import atomic_write_text
from paperlock.errors import PaperlockError

SCHEMA_VERSION = 1
KEY_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")

Kind = Literal[
    "N", "n", "pct", "median", "q1", "q3", "mean", "sd", "hr", "ci_lower", "ci_upper", "p", "statistic",
    "months", "se", "coef", "count", "cutoff",
]
Status = Literal["estimated", "not_reached", "not_estimable", "not_applicable"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Method(_Model):
    description: str
    conventions: dict[str, str] = Field(default_factory=dict)
    reference: str | None = None


class Statistic(_Model):
    value: float | int | None
    kind: Kind
    method: str
    unit: str | None = None
    status: Status = "estimated"
    note: str | None = None


class Meta(_Model):
    study: str
    synthetic: bool
    spec_sha256: str
    inputs: dict[str, str]
    git_commit: str
    packages: dict[str, str]
    lock_id: str | None = None


class Results(_Model):
    schema_version: int = SCHEMA_VERSION
    meta: Meta
    methods: dict[str, Method]
    statistics: dict[str, Statistic]
    curves: dict[str, Any] = Field(default_factory=dict)
    listings: dict[str, Any] = Field(default_factory=dict)
    tables: dict[str, Any] = Field(default_factory=dict)

    def value(self, key: str) -> float | int | None:
        return self.statistics[key].value


class ResultsBuilder:
    """Collects statistics during one analysis pass; refuses duplicate or malformed keys and unknown methods."""

    def __init__(self) -> None:
        self.methods: dict[str, Method] = {}
        self.statistics: dict[str, Statistic] = {}
        self.curves: dict[str, Any] = {}
        self.listings: dict[str, Any] = {}
        self.tables: dict[str, Any] = {}

    def method(self, method_id: str, description: str, reference: str | None = None, **conventions: Any) -> str:
        m = Method(description=description, reference=reference,
                   conventions={k: str(v) for k, v in sorted(conventions.items())})
        if self.methods.get(method_id, m) != m:
            raise ValueError(f"method {method_id!r} registered twice with different conventions")
        self.methods[method_id] = m
        return method_id

    def add(self, key: str, value: float | int | None, kind: str, method: str, **extra: Any) -> None:
        if not KEY_PATTERN.match(key):
            raise ValueError(f"malformed result key {key!r}")
        if key in self.statistics:
            raise ValueError(f"result key {key!r} computed twice")
        if method not in self.methods:
            raise ValueError(f"result {key!r} names unregistered method {method!r}")
        if value is not None:
            value = _plain_number(value)
            if isinstance(value, float) and not math.isfinite(value):
                extra.setdefault("status", "not_estimable")
                extra.setdefault("note", f"non-finite value ({value})")
                value = None
        self.statistics[key] = Statistic(value=value, kind=kind, method=method, **extra)

    def build(self, meta: Meta) -> Results:
        return Results(meta=meta, methods=self.methods, statistics=self.statistics,
                       curves=_plain(self.curves), listings=_plain(self.listings), tables=_plain(self.tables))


def _plain_number(x: Any) -> float | int:
    if isinstance(x, bool):
        return int(x)
    if hasattr(x, "item"):
        x = x.item()
    return x if isinstance(x, int) else float(x)


def _plain(obj: Any) -> Any:
    """numpy scalars/arrays -> Python numbers/lists, recursively, so json.dumps is exact and stable."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        columns = _plain_columns(obj)
        if columns is not None:  # a long list of flat rows, already plain: kept as it is
            return list(obj)
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _plain(obj.tolist())
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


FAST_ROWS = 1000  # row lists at least this long are checked and written column by column
_NUMBERS = {int, float, bool}
_STRINGS = {str}


def _plain_columns(rows: Any) -> dict[str, list] | None:
    """The columns of a long list of flat rows (dicts with the same string keys) whose every value is already a
    plain JSON scalar (str, int, bool, finite float, None; exact types, no numpy scalar); else None. `_plain`
    leaves such a list unchanged, so it need not visit its rows one by one."""
    if not isinstance(rows, list) or len(rows) < FAST_ROWS or set(map(type, rows)) != {dict}:
        return None
    keys = rows[0].keys()
    if any(type(k) is not str for k in keys) or not all(map(keys.__eq__, map(dict.keys, rows))):
        return None
    columns = {}
    for key in sorted(keys):
        column = list(map(dict.get, rows, repeat(key)))
        types = set(map(type, column))
        values = column
        if type(None) in types:
            types.discard(type(None))
            values = [v for v in column if v is not None]
        if not (types <= _STRINGS or types <= _NUMBERS):
            return None
        try:
            if float in types and not all(map(math.isfinite, values)):
                return None
        except OverflowError:  # an int too large for a float among them
            return None
        columns[key] = column
    return columns


def _json_scalars(column: list) -> list[str]:
    """Each value of a plain column as json.dumps(ensure_ascii=False) writes it."""
    types = set(map(type, column))
    if types == {float}:
        return list(map(float.__repr__, column))
    if types <= {str, type(None)}:
        text = {v: "null" if v is None else json.encoder.encode_basestring(v) for v in set(column)}
        return list(map(text.__getitem__, column))
    scalar: Callable[[Any], str] = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    return list(map(scalar, column))


def _rows_text(columns: dict[str, list], level: int) -> str:
    """json.dumps(rows, sort_keys=True, indent=1, ensure_ascii=False) for rows given by their columns, when the
    list's own line is indented by `level` spaces."""
    item, key = " " * (level + 1), " " * (level + 2)
    fields = [key + json.dumps(k, ensure_ascii=False).replace("%", "%%") + ": %s" for k in columns]
    template = "{\n" + ",\n".join(fields) + "\n" + item + "}"
    rows = map(template.__mod__, zip(*(_json_scalars(c) for c in columns.values()), strict=True))
    return "[\n" + item + (",\n" + item).join(rows) + "\n" + " " * level + "]"


def _with_fast_rows(listings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, list]]]:
    """The listings with each long plain row list replaced by a placeholder string, and the placeholders' rows
    by column (written by `_rows_text`, the same text json.dumps gives, many times faster)."""
    out, fast = {}, {}
    for name, listing in listings.items():
        columns = _plain_columns(listing.get("rows")) if isinstance(listing, dict) else None
        if columns is None:
            out[name] = listing
            continue
        token = f"\x00paperlock:rows:{len(fast)}\x00"
        out[name] = {**listing, "rows": token}
        fast[token] = columns
    return out, fast


def dumps(results: Results) -> str:
    doc = results.model_dump(mode="json", exclude={"listings"})
    if doc["meta"].get("lock_id") is None:
        doc["meta"].pop("lock_id", None)
    for stat in doc["statistics"].values():
        for field in ("unit", "note"):
            if stat.get(field) is None:
                stat.pop(field, None)
        if stat.get("status") == "estimated":
            stat.pop("status")
    for m in doc["methods"].values():
        if m.get("reference") is None:
            m.pop("reference")
    listings, fast = _with_fast_rows(results.listings)
    doc["listings"] = _plain(listings)
    text = _json_text(doc)
    for token, columns in fast.items():
        quoted = json.dumps(token, ensure_ascii=False)
        at = text.find(quoted)
        if at < 0 or text.find(quoted, at + 1) >= 0:  # the placeholder occurs in the data itself: no shortcut
            doc["listings"] = _plain(results.listings)
            return _json_text(doc)
        level = at - text.rindex("\n", 0, at) - 1 - len('"rows": ')
        text = text[:at] + _rows_text(columns, level) + text[at + len(quoted):]
    return text


def _json_text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_results(results: Results, path: Path) -> None:
    atomic_write_text(path, dumps(results))


def load_results(path: Path) -> Results:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperlockError(f"{path}: no results file; run `paperlock results` first") from None
    except json.JSONDecodeError as exc:
        raise PaperlockError(f"{path}: not valid JSON ({exc})") from None
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise PaperlockError(
            f"{path}: schema_version {doc.get('schema_version')!r}, expected {SCHEMA_VERSION}; "
            "re-run `paperlock results`"
        )
    return Results.model_validate(doc)
