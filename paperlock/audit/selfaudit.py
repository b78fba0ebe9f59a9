"""The paper's self-audit (`paperlock audit-paper`) as the reproduction audit uses it: its findings, each
cited against the record ids it implicates (entries whose key and place the finding names).

The findings come from `paperlock.audit.paper.audit` when that module is importable, else from a findings.json
it wrote; with neither, the audit runs without contradiction evidence and says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperlock.errors import PaperlockError


@dataclass(frozen=True)
class Citation:
    """One self-audit finding as evidence against a printed number."""

    finding: str
    check: str
    severity: str
    title: str
    explanation: str

    def to_json(self) -> dict[str, str]:
        return {"finding": self.finding, "check": self.check, "severity": self.severity, "title": self.title,
                "explanation": self.explanation}

    @property
    def short(self) -> str:
        return f"{self.finding} ({self.severity}): {self.title}"


@dataclass(frozen=True)
class SelfAudit:
    source: str
    findings: list[dict[str, Any]]

    def citations(self, entries: list[dict[str, Any]]) -> dict[str, list[Citation]]:
        """{record id: findings naming its key in its place}, in the self-audit's order."""
        by_place_key: dict[tuple[str, str], list[str]] = {}
        for e in entries:
            if e.get("key"):
                by_place_key.setdefault((str(e["place"]), str(e["key"])), []).append(str(e["id"]))
        out: dict[str, list[Citation]] = {}
        for f in self.findings:
            cite = Citation(str(f["id"]), str(f["check"]), str(f["severity"]), str(f["title"]),
                            str(f.get("explanation", "")))
            for place in f.get("places", []):
                for key in f.get("keys", []):
                    for entry_id in by_place_key.get((place, key), []):
                        if cite not in out.setdefault(entry_id, []):
                            out[entry_id].append(cite)
        return out


def from_record(record_data: dict[str, Any]) -> SelfAudit | None:
    """Run the paper's self-audit on the record, when its module exists."""
    try:
        from paperlock.audit.paper import audit
        from paperlock.audit.record import parse_record
    except ImportError:
        return None
    keyed = {**record_data, "entries": [e for e in record_data.get("entries", []) if e.get("key")]}
    report = audit(parse_record(keyed))
    return SelfAudit("paperlock.audit.paper", list(report["findings"]))


def from_file(path: Path) -> SelfAudit:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperlockError(f"{path}: no self-audit findings; run `paperlock audit-paper` first") from None
    except json.JSONDecodeError as exc:
        raise PaperlockError(f"{path}: not valid JSON ({exc})") from None
    return SelfAudit(str(path), list(doc.get("findings", [])))


def load_self_audit(record_data: dict[str, Any], findings_file: Path | None, fallback: Path) -> SelfAudit:
    """Findings from an explicit file, else the self-audit module, else `fallback` if present, else none."""
    if findings_file is not None:
        return from_file(findings_file)
    found = from_record(record_data)
    if found is not None:
        return found
    if fallback.is_file():
        return from_file(fallback)
    return SelfAudit("none (no self-audit available)", [])
