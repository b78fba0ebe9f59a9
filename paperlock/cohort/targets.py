"""Read the generator's targets from the published record (by key) and its settings file.

Every published number comes from `data/published.yaml` (format: docs/keys.md); `data/cohort_targets.yaml`
only says how to build the cohort and which record entries are excluded (with the reason).
When one key is printed in several places the table entry is used; disagreements are listed in `conflicts`
(the calibration report measures every entry on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paperlock.errors import PaperlockError

PLACE_ORDER = ("table1", "table2", "table3", "table4", "table5", "table6")


@dataclass(frozen=True)
class Entry:
    id: str
    key: str
    place: str
    value: float
    printed: str
    decimals: int
    kind: str


class Record:
    """The published record's entries with a key, minus the excluded ones; `limits`: {id: reason} of the entries
    the generator's model cannot meet together (still targets, unlike exclusions)."""

    def __init__(self, entries: list[Entry], exclusions: dict[str, str],
                 limits: dict[str, str] | None = None) -> None:
        self.all_entries = entries
        self.exclusions = exclusions
        self.limits = limits or {}
        self.entries = [e for e in entries if e.id not in exclusions]
        self._by_key: dict[str, list[Entry]] = {}
        self.conflicts: list[str] = []  # keys printed with different values; the table's value is used
        for e in self.entries:
            self._by_key.setdefault(e.key, []).append(e)
        for key, es in self._by_key.items():
            es.sort(key=lambda e: (PLACE_ORDER.index(e.place) if e.place in PLACE_ORDER else 99, e.id))
            if len({round(e.value, 10) for e in es}) > 1:
                self.conflicts.append(key)

    def has(self, key: str) -> bool:
        return key in self._by_key

    def value(self, key: str) -> float:
        try:
            return self._by_key[key][0].value
        except KeyError:
            raise PaperlockError(f"the published record has no (non-excluded) entry for {key!r}") from None

    def entry(self, key: str) -> Entry:
        self.value(key)
        return self._by_key[key][0]

    def get(self, key: str, default: float | None = None) -> float | None:
        return self.value(key) if key in self._by_key else default

    def times_printed(self, key: str) -> int:
        """How many (non-excluded) entries print this key: the audit counts each of them."""
        return len(self._by_key.get(key, []))

    def keys_with_prefix(self, prefix: str) -> list[str]:
        return sorted(k for k in self._by_key if k.startswith(prefix))

    def excluded(self, key: str) -> bool:
        """Whether the record prints this key only in excluded entries."""
        return key not in self._by_key and any(e.key == key for e in self.all_entries)


def load_record(path: Path, exclusions: dict[str, str], limits: list[dict[str, Any]] | None = None) -> Record:
    """The record's keyed entries; `exclusions` {id: reason} and the settings' `limits` ([{reason, entries}])
    must name entries that exist."""
    if not path.exists():
        raise PaperlockError(f"{path}: published record not found (pass --record)")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []
    for raw in doc.get("entries", []):
        if raw.get("key") is None or raw.get("value") is None:
            continue
        entries.append(Entry(str(raw["id"]), str(raw["key"]), str(raw.get("place", "")), float(raw["value"]),
                             str(raw.get("printed", raw["value"])), int(raw.get("decimals", 0) or 0),
                             str(raw.get("kind", ""))))
    known = {e.id for e in entries}
    unknown = sorted(set(exclusions) - known)
    if unknown:
        raise PaperlockError(f"exclusions name record entries that do not exist: {', '.join(unknown)}")
    by_id = {}
    for limit in limits or []:
        unknown = sorted(set(limit["entries"]) - known)
        if unknown:
            raise PaperlockError(f"limits name record entries that do not exist: {', '.join(unknown)}")
        by_id.update({i: str(limit["reason"]) for i in limit["entries"]})
    return Record(entries, exclusions, by_id)


def load_settings(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise PaperlockError(f"{path}: generator settings not found")
    return yaml.safe_load(path.read_text(encoding="utf-8"))
