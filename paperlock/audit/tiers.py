"""The reproduction audit's declarative configuration (data/audit_tiers.yaml): tolerance tiers, method
alternatives and recorded reasons for numbers the data cannot give.

A tier is declared once per kind of statistic (optionally narrowed by key pattern or by the method results.json
names); the first tier that matches a printed number applies. No record id and no study variable is named in
Python: everything here is read from the file.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import norm

from paperlock.errors import PaperlockError

DEFAULT_FILE = Path("data") / "audit_tiers.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Strict):
    """How close a recomputed value, rounded at the printed precision, must come to the printed value.

    `exact`: the rounded value equals the printed digits. Otherwise the deviation |rounded - printed| must be
    within `abs`, or within `rel` × |printed|, or (p-values) the two-sided normal quantiles of the two p-values
    within `z`; any one satisfied criterion suffices."""

    name: str
    kinds: list[str] = Field(description="record kinds this tier covers (n, pct, median, hr, p, ...)")
    keys: list[str] = Field(default_factory=list, description="glob patterns on the results key; empty = any")
    methods: list[str] = Field(default_factory=list, description="results method ids; empty = any")
    exact: bool = False
    abs: float | None = None
    rel: float | None = None
    z: float | None = None
    rationale: str

    @model_validator(mode="after")
    def _one_rule(self) -> Tier:
        if not self.exact and self.abs is None and self.rel is None and self.z is None:
            raise ValueError(f"tier {self.name!r}: give `exact: true` or a tolerance (abs, rel, z)")
        return self

    def matches(self, kind: str, key: str, method: str | None) -> bool:
        return (kind in self.kinds and (not self.keys or any(fnmatchcase(key, k) for k in self.keys))
                and (not self.methods or method in self.methods))

    def describe(self) -> str:
        if self.exact:
            return "exact at the printed precision"
        parts = [f"±{self.abs:g}" if self.abs is not None else "",
                 f"±{self.rel:.0%} relative" if self.rel is not None else "",
                 f"±{self.z:g} on the z scale" if self.z is not None else ""]
        return "within " + " or ".join(p for p in parts if p)

    def within(self, rounded: Decimal, printed: Decimal) -> bool:
        """True when the rounded recomputation is within this tier's tolerance of the printed value."""
        gap = abs(rounded - printed)
        if self.abs is not None and gap <= Decimal(repr(self.abs)):
            return True
        if self.rel is not None and gap <= Decimal(repr(self.rel)) * abs(printed):
            return True
        return self.z is not None and abs(_z(float(rounded)) - _z(float(printed))) <= self.z


def _z(p: float) -> float:
    """Two-sided normal quantile of a p-value (p = 0 is capped at 1e-16)."""
    return float(norm.isf(max(min(p, 1.0), 1e-16) / 2))


class Alternative(_Strict):
    """Other conventions results.json stores beside a statistic: `variants` are key segments inserted before
    the last segment (km....tki.ci_lower -> km....tki.log.ci_lower)."""

    keys: list[str]
    variants: list[str]


class ContingencyTests(_Strict):
    """p-values recomputed from the recomputed counts under each test, to name the one the paper used."""

    keys: list[str] = Field(description="glob patterns of categorical p keys")
    tests: list[Literal["pearson", "yates", "fisher"]]
    comparison_groups: list[str] = Field(default_factory=list,
                                         description="the compared groups (default: the record's facts)")


class NotComputedReason(_Strict):
    ids: list[str] = Field(description="glob patterns on record ids")
    reason: str


class AuditConfig(_Strict):
    schema_version: int = 1
    tiers: list[Tier]
    alternatives: list[Alternative] = Field(default_factory=list)
    contingency: ContingencyTests | None = None
    not_computed_reasons: list[NotComputedReason] = Field(default_factory=list)

    def tier_for(self, kind: str, key: str, method: str | None) -> Tier:
        for tier in self.tiers:
            if tier.matches(kind, key, method):
                return tier
        raise PaperlockError(f"audit tiers: no tier covers kind {kind!r} (key {key}); add one to the tiers file")

    def not_computed_reason(self, entry_id: str) -> str | None:
        for item in self.not_computed_reasons:
            if any(fnmatchcase(entry_id, p) for p in item.ids):
                return item.reason
        return None

    def variants(self, key: str) -> list[str]:
        out: list[str] = []
        for alt in self.alternatives:
            if any(fnmatchcase(key, k) for k in alt.keys):
                out += [v for v in alt.variants if v not in out]
        return out


def parse_config(data: object, source: str = "audit tiers") -> AuditConfig:
    try:
        return AuditConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                             for e in exc.errors())
        raise PaperlockError(f"{source}: invalid audit configuration: {problems}") from None


def load_config(path: Path) -> AuditConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperlockError(f"{path}: no audit tiers file") from None
    except yaml.YAMLError as exc:
        raise PaperlockError(f"{path}: not valid YAML ({exc})") from None
    return parse_config(data, str(path))


def is_finite(x: float | int | None) -> bool:
    return x is not None and math.isfinite(float(x))
