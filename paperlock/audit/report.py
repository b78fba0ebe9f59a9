"""Reports of the reproduction audit: a summary by place and by kind, audit.json (deterministic) and a
self-contained HTML page listing every number, filterable by status, place and kind."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from paperlock.atomic import atomic_write_text
from paperlock.audit.reproduction import STATUS_LABELS, STATUSES, Row, exit_code, headline
from paperlock.audit.tiers import AuditConfig

SHORT = {"reproduced": "exact", "within_tier": "in tier", "contradicted": "contradicted",
         "not_reproduced": "not repr.", "not_computed": "not comp."}
ENGINE_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


def _place_order(place: str) -> tuple[int, list[int], str]:
    """abstract, tables, text sections in numeric order, methods."""
    rank = {"abstract": 0, "table": 1, "text": 2, "methods": 3}
    stem = re.match(r"[a-z]+", place)
    return rank.get(stem.group(0) if stem else place, 4), [int(x) for x in re.findall(r"\d+", place)], place


def tally(rows: list[Row], by: str) -> dict[str, dict[str, int]]:
    """{place or kind: {status: count, ..., total}}."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        name = getattr(r.entry, by)
        t = out.setdefault(name, {s: 0 for s in (*STATUSES, "total")})
        t[r.status] += 1
        t["total"] += 1
    order = sorted(out, key=_place_order) if by == "place" else sorted(out)
    return {k: out[k] for k in order}


def summary(rows: list[Row]) -> dict[str, Any]:
    totals = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return {"numbers": len(rows), "statuses": totals,
            "not_computed_with_reason": sum(r.status == "not_computed" and bool(r.reason) for r in rows),
            "failing": sum(r.fails_audit for r in rows), "exit_code": exit_code(rows),
            "by_place": tally(rows, "place"), "by_kind": tally(rows, "kind"), "headline": headline(rows)}


def summary_lines(rows: list[Row]) -> list[str]:
    """A compact text summary: one line per place, then per kind."""
    s = summary(rows)
    head = f"{'':<10}{'total':>6}" + "".join(f"{SHORT[x]:>13}" for x in STATUSES)
    lines = ["by place:", head]
    for section in ("by_place", "by_kind"):
        if section == "by_kind":
            lines += ["by kind:", head]
        for name, t in s[section].items():
            lines.append(f"{name:<10}{t['total']:>6}" + "".join(f"{t[x]:>13}" for x in STATUSES))
    return lines


def audit_document(rows: list[Row], config: AuditConfig, provenance: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "provenance": provenance,
        "statuses": STATUS_LABELS,
        "tiers": [{"name": t.name, "kinds": t.kinds, "keys": t.keys, "methods": t.methods, "rule": t.describe(),
                   "rationale": t.rationale} for t in config.tiers],
        "summary": summary(rows),
        "numbers": [r.to_json() for r in rows],
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def render_html(doc: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(ENGINE_TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("audit.html.j2").render(doc=doc, statuses=STATUSES, labels=STATUS_LABELS)


def write_outputs(rows: list[Row], config: AuditConfig, provenance: dict[str, Any], out: Path) -> list[Path]:
    doc = audit_document(rows, config, provenance)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "audit.json", out / "index.html"]
    atomic_write_text(paths[0], dumps(doc))
    atomic_write_text(paths[1], render_html(doc))
    return paths
