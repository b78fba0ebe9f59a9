"""The published record (data/published.yaml) as the audit reads it: entries, facts, identities, claims.

A printed number stands for an interval: "19.1" is any value in [19.05, 19.15]. Every check compares
intervals, so a discrepancy is reported only when no rounding of the printed digits can explain it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from paperlock.errors import PaperlockError
from report.formatting import round_half_up

REQUIRED = ("id", "key", "place", "where", "value", "printed", "decimals", "kind")


@dataclass(frozen=True)
class Entry:
    """One printed number."""

    id: str
    key: str | None
    place: str
    where: dict[str, Any]
    value: float
    printed: str
    decimals: int
    kind: str
    uncertain: str | None = None

    @property
    def digits(self) -> Decimal:
        """The printed number as decimal digits (the record's value at its printed precision)."""
        return round_half_up(self.value, self.decimals)

    @property
    def position(self) -> str:
        """Where in its place it is printed: 'row "Male", column "TKI (n = 21)"' or 'sentence 3, number 1'."""
        w = self.where
        if "row" in w:
            return f'row "{w["row"]}"' + (f', column "{w["column"]}"' if "column" in w else "")
        if "sentence" in w:
            return f"sentence {w['sentence']}" + (f", number {w['position']}" if "position" in w else "")
        return ", ".join(f"{k} {v}" for k, v in w.items())

    @property
    def half_unit(self) -> float:
        return 0.5 * 10.0 ** (-self.decimals)

    @property
    def low(self) -> float:
        return self.value - self.half_unit

    @property
    def high(self) -> float:
        return self.value + self.half_unit

    @property
    def exact(self) -> Fraction:
        """The printed digits as an exact fraction."""
        return Fraction(Decimal(str(self.value)))

    @property
    def is_table(self) -> bool:
        return self.place.startswith("table")

    @property
    def locator(self) -> str:
        """A short human reference: 'table4 row "SN (high vs. low)", column "..."' or 'text2.5 sentence 4, number 1'."""
        return f"{self.place} {self.position}"


@dataclass
class Record:
    """The whole record with look-ups by key."""

    entries: list[Entry]
    facts: dict[str, Any] = field(default_factory=dict)
    identities: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def by_key(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for e in self.entries:
            out.setdefault(e.key, []).append(e)
        return out

    @cached_property
    def places(self) -> list[str]:
        return sorted({e.place for e in self.entries})

    def canonical(self, key: str) -> Entry | None:
        """The entry that stands for a key: its first table printing, else its first printing anywhere."""
        found = self.by_key.get(key)
        if not found:
            return None
        tables = [e for e in found if e.is_table]
        return (tables or found)[0]

    def value(self, key: str) -> float | None:
        e = self.canonical(key)
        return None if e is None else e.value

    def in_place(self, place: str) -> list[Entry]:
        return [e for e in self.entries if e.place == place]

    def fact(self, name: str, default: Any = None) -> Any:
        item = self.facts.get(name, default)
        return item.get("value", default) if isinstance(item, dict) and "value" in item else item


# ------------------------------------------------------------------------------------------------- templates
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}|\*")


def template_regex(template: str) -> re.Pattern[str]:
    """`baseline.{var}.*.{group}.n` -> a regex: {name} binds one key segment, * any one segment (group `star`)."""
    out, pos, stars = [], 0, 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        if m.group(1):
            out.append(f"(?P<{m.group(1)}>[^.]+)")
        else:
            out.append(f"(?P<star{stars}>[^.]+)")
            stars += 1
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def fill(template: str, binding: dict[str, str]) -> str:
    """Substitute bound placeholders; a * stays."""
    return re.sub(r"\{([a-z_]+)\}", lambda m: binding.get(m.group(1), m.group(0)), template)


def names(template: str) -> set[str]:
    return set(re.findall(r"\{([a-z_]+)\}", template))


def match_keys(template: str, keys: Iterable[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Every key matching the template, with the binding of its named placeholders."""
    rx = template_regex(template)
    for key in keys:
        m = rx.fullmatch(key)
        if m:
            yield key, {k: v for k, v in m.groupdict().items() if not k.startswith("star")}


# ------------------------------------------------------------------------------------------------- loading
def _entry(raw: dict[str, Any], index: int, require_key: bool = True) -> Entry:
    missing = [f for f in REQUIRED if f not in raw]
    if missing:
        raise PaperlockError(f"published record: entry {index + 1} lacks {', '.join(missing)}")
    if raw["key"] is None and require_key:
        raise PaperlockError(f"published record: entry {raw['id']} has no key")
    return Entry(id=str(raw["id"]), key=raw["key"] and str(raw["key"]), place=str(raw["place"]),
                 where=dict(raw["where"]), value=float(raw["value"]), printed=str(raw["printed"]),
                 decimals=int(raw["decimals"]), kind=str(raw["kind"]), uncertain=raw.get("uncertain"))


def parse_record(data: dict[str, Any], require_keys: bool = True) -> Record:
    """The record's entries, checked; `require_keys=False` admits entries without a results key."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise PaperlockError("published record: expected a mapping with an 'entries' list")
    entries = [_entry(raw, i, require_keys) for i, raw in enumerate(data["entries"])]
    seen: set[str] = set()
    for e in entries:
        if e.id in seen:
            raise PaperlockError(f"published record: duplicate id {e.id}")
        seen.add(e.id)
    return Record(entries=entries, facts=data.get("facts") or {}, identities=data.get("identities") or [],
                  claims=data.get("claims") or [], source=data.get("source") or {})


def load_record(path: Path) -> Record:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError as exc:
        raise PaperlockError(f"published record not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise PaperlockError(f"published record {path}: not valid YAML ({exc})") from exc
    return parse_record(data)
