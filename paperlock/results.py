"""The results.json contract: typed models, a builder, and a deterministic writer.

Every statistic sits under a stable dotted key (docs/keys.md), holds its raw unrounded value and names the
method (with its conventions) that produced it. The same inputs give a byte-identical file: keys are
sorted, floats are written by `repr`, and no wall-clock time is stored.
"""

from __future__ import annotations

import json
import math
import re
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
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _plain(obj.tolist())
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(results: Results) -> str:
    doc = results.model_dump(mode="json", exclude_defaults=False)
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
