"""Known reproduction gaps: published numbers the shipped data do not reproduce, recorded with their evidence.

`paperlock audit --write-gaps FILE` writes every number that is not reproduced (or not computed without a
recorded reason) together with what was recomputed and the tier it missed. The test suite turns each recorded
gap into a strict expected failure carrying that evidence, so a gap is visible in every test run, a number that
starts to reproduce must be taken off the list, and any *new* miss fails. The audit itself still reports every
gap as not reproduced and exits non-zero: the list documents the gaps, it never hides them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from paperlock.atomic import atomic_write_text
from paperlock.audit.reproduction import NOT_COMPUTED, Row


def gap_entries(rows: list[Row]) -> list[dict]:
    out = []
    for r in rows:
        if not r.fails_audit:
            continue
        e = r.entry
        entry = {"id": e.id, "printed": e.printed, "status": r.status}
        if r.status == NOT_COMPUTED:
            entry["evidence"] = f"not computed: {r.note}"
        else:
            entry["evidence"] = f"recomputed {r.recomputed:.10g} prints as {r.rounded}; tier '{r.tier}': {r.tier_rule}"
        out.append(entry)
    return out


def write_gaps(rows: list[Row], path: Path, data_note: str) -> int:
    entries = gap_entries(rows)
    header = (
        "# Published numbers the shipped data do not reproduce, with the evidence (written by\n"
        "# `paperlock audit --write-gaps`; do not edit by hand). " + data_note + "\n"
    )
    atomic_write_text(path, header + yaml.safe_dump({"gaps": entries}, sort_keys=False, allow_unicode=True,
                                                    width=110))
    return len(entries)


def read_gaps(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {g["id"]: g for g in doc.get("gaps", [])}
