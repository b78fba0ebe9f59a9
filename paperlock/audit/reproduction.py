"""`paperlock audit`: every published number against its recomputation in results.json.

Joins the published record with results.json by key. Each printed number gets the recomputed value rounded at
the printed precision (half away from zero, `report.formatting.round_half_up`) and a status: reproduced exactly,
within the tolerance of its tier (data/audit_tiers.yaml), not reproduced, contradicted by the paper itself
(the self-audit's findings cited per record id), or not computed. p-values and CIs also name the method that
prints the paper's digits. Writes audit.json and a filterable HTML page; exits non-zero when a number is not
reproduced, or not computed without a recorded reason.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from paperlock.audit.methods import (
    Candidate,
    contingency_candidates,
    contingency_table,
    method_note,
    prints_as,
    stored_alternatives,
)
from paperlock.audit.record import Entry, parse_record
from paperlock.audit.selfaudit import Citation, SelfAudit, load_self_audit
from paperlock.audit.tiers import DEFAULT_FILE, AuditConfig, load_config
from paperlock.errors import PaperlockError
from paperlock.results import Results, load_results
from report.formatting import round_half_up

REPRODUCED, WITHIN, NOT_REPRODUCED, CONTRADICTED, NOT_COMPUTED = (
    "reproduced", "within_tier", "not_reproduced", "contradicted", "not_computed")
STATUSES = (REPRODUCED, WITHIN, CONTRADICTED, NOT_REPRODUCED, NOT_COMPUTED)
STATUS_LABELS = {REPRODUCED: "reproduced exactly", WITHIN: "within tier", CONTRADICTED: "contradicted by the paper",
                 NOT_REPRODUCED: "not reproduced", NOT_COMPUTED: "not computed"}
PASSING = (REPRODUCED, WITHIN)
METHOD_KINDS = ("p", "ci_lower", "ci_upper")


@dataclass
class Row:
    """The audit of one published number."""

    entry: Entry
    status: str
    recomputed: float | None = None
    rounded: str | None = None
    deviation: str | None = None
    tier: str | None = None
    tier_rule: str | None = None
    method: str | None = None
    method_note: str = ""
    methods_reproducing: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    reason: str | None = None
    note: str | None = None

    @property
    def passed(self) -> bool:
        return self.status in PASSING

    @property
    def fails_audit(self) -> bool:
        return self.status == NOT_REPRODUCED or (self.status == NOT_COMPUTED and not self.reason)

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        return {
            "id": e.id, "key": e.key, "place": e.place, "where": e.where, "locator": e.position, "kind": e.kind,
            "printed": e.printed, "published": f"{e.digits:f}", "decimals": e.decimals,
            "recomputed": self.recomputed, "rounded": self.rounded, "deviation": self.deviation,
            "status": self.status, "tier": self.tier, "tier_rule": self.tier_rule, "method": self.method,
            "methods_reproducing": self.methods_reproducing, "method_note": self.method_note,
            "citations": [c.to_json() for c in self.citations], "reason": self.reason, "note": self.note,
            "uncertain": e.uncertain,
        }


@dataclass(frozen=True)
class Context:
    """Everything an entry is judged against."""

    results: Results
    config: AuditConfig
    citations: dict[str, list[Citation]]
    facts: dict[str, Any]

    def fact(self, name: str, default: Any = None) -> Any:
        item = self.facts.get(name, default)
        return item.get("value", default) if isinstance(item, dict) and "value" in item else item


def judge(entry: Entry, ctx: Context) -> Row:
    """The status of one published number."""
    cites = ctx.citations.get(entry.id, [])
    reason = ctx.config.not_computed_reason(entry.id)
    if not entry.key:
        return Row(entry, NOT_COMPUTED, reason=reason, note="the record gives no results key", citations=cites)
    stat = ctx.results.statistics.get(entry.key)
    if stat is None:
        return Row(entry, NOT_COMPUTED, reason=reason, note="results.json does not hold this key",
                   citations=cites)
    tier = ctx.config.tier_for(entry.kind, entry.key, stat.method)
    row = Row(entry, NOT_REPRODUCED, tier=tier.name, tier_rule=tier.describe(), method=stat.method,
              citations=cites, reason=reason)
    if stat.value is None:
        row.note = f"recomputed as {stat.status.replace('_', ' ')}" + (f" ({stat.note})" if stat.note else "")
        row.status = CONTRADICTED if cites else NOT_REPRODUCED
        return row
    printed = entry.digits
    rounded = round_half_up(stat.value, entry.decimals)
    row.recomputed, row.rounded, row.deviation = float(stat.value), f"{rounded:f}", f"{rounded - printed:+f}"
    if rounded == printed:
        row.status = REPRODUCED
    elif not tier.exact and tier.within(rounded, printed):
        row.status = WITHIN
    else:
        row.status = CONTRADICTED if cites else NOT_REPRODUCED
    if entry.kind in METHOD_KINDS:
        _name_method(row, ctx)
    if cites and row.passed:
        row.note = "flagged by the paper's self-audit, yet the recomputation reproduces the printed value"
    return row


def _name_method(row: Row, ctx: Context) -> None:
    """Name the method(s) whose value prints the paper's digits."""
    e = row.entry
    assert e.key is not None
    own = ctx.results.statistics[e.key].method
    candidates: list[Candidate]
    cont = ctx.config.contingency
    table = None
    if e.kind == "p" and cont and any(fnmatchcase(e.key, k) for k in cont.keys):
        groups = cont.comparison_groups or list(ctx.fact("comparison_groups", []) or [])
        table = contingency_table(ctx.results, e.key, groups)
    if table is not None:
        assert cont is not None
        candidates = contingency_candidates(table, list(cont.tests))
        stated = [f"test.{t}" for t in ctx.fact("categorical_tests", []) or []]
        phrase = "Methods states " + " or ".join(
            next((c.label for c in candidates if c.method == s), s) for s in stated)
    else:
        candidates = stored_alternatives(ctx.results, e.key, ctx.config.variants(e.key))
        stated = [own]
        phrase = f"the spec's convention ({candidates[0].label if candidates else own}) does not"
    reproducing = [c for c in candidates if prints_as(c.value, e.decimals, e.digits)]
    row.methods_reproducing = [c.method for c in reproducing]
    if len(candidates) > 1 or table is not None:
        row.method_note = method_note(reproducing, candidates, stated, phrase)
    elif reproducing:
        row.method_note = f"matches {reproducing[0].label}"


def audit_numbers(record: dict[str, Any], results: Results, config: AuditConfig, self_audit: SelfAudit) -> list[Row]:
    """Every published number of the record, in record order."""
    entries = list(record.get("entries") or [])
    if not entries:
        raise PaperlockError("published record: no entries")
    ctx = Context(results, config, self_audit.citations(entries), dict(record.get("facts") or {}))
    return [judge(entry, ctx) for entry in parse_record(record, require_keys=False).entries]


def headline(rows: list[Row]) -> str:
    """The audit's last line."""
    count = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return (f"audit: {count[REPRODUCED] + count[WITHIN]} of {len(rows)} published numbers reproduced "
            f"({count[CONTRADICTED]} contradicted by the paper, {count[NOT_REPRODUCED]} not reproduced, "
            f"{count[NOT_COMPUTED]} not computed)")


def exit_code(rows: list[Row]) -> int:
    return 1 if any(r.fails_audit for r in rows) else 0


# ----------------------------------------------------------------------------------------------------- running
@dataclass(frozen=True)
class Inputs:
    record: dict[str, Any]
    record_path: Path
    results: Results
    config: AuditConfig
    config_path: Path
    self_audit: SelfAudit


def load_inputs(study: Path, results_path: Path | None = None, record_path: Path | None = None,
                tiers_path: Path | None = None, findings_path: Path | None = None,
                results: Results | None = None) -> Inputs:
    """Read the record, results.json, the audit tiers and the self-audit's findings for a study folder."""
    from paperlock.spec import load_spec

    loaded = load_spec(study)
    if record_path is None:
        if not loaded.spec.data.published:
            raise PaperlockError(f"{loaded.path}: data.published names no published record to audit against")
        record_path = loaded.resolve(loaded.spec.data.published)
    try:
        record = yaml.safe_load(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperlockError(f"published record not found: {record_path}") from None
    if results is None:
        results = load_results(results_path or loaded.root / "build" / "results.json")
    tiers_path = tiers_path or loaded.root / DEFAULT_FILE
    config = load_config(tiers_path)
    self_audit = load_self_audit(record, findings_path, loaded.root / "build" / "audit-paper" / "findings.json")
    return Inputs(record, record_path, results, config, tiers_path, self_audit)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", default=".", help="study folder holding study.yaml (default: .)")
    parser.add_argument("--results", default=None, help="results file (default: <study>/build/results.json)")
    parser.add_argument("--out", default=None, help="output folder (default: <study>/build/audit)")
    parser.add_argument("--record", default=None, help="published record (default: the spec's data.published)")
    parser.add_argument("--tiers", default=None, help=f"audit tiers (default: <study>/{DEFAULT_FILE})")
    parser.add_argument("--findings", default=None,
                        help="the self-audit's findings.json (default: run the self-audit on the record)")
    parser.add_argument("--write-gaps", default=None, metavar="FILE",
                        help="also record every number not reproduced, with its evidence, in FILE (YAML)")


def run(args: argparse.Namespace) -> int:
    from paperlock.audit.report import summary_lines, write_outputs

    study = Path(args.study).resolve()
    inputs = load_inputs(study, Path(args.results) if args.results else None,
                         Path(args.record) if args.record else None, Path(args.tiers) if args.tiers else None,
                         Path(args.findings) if args.findings else None)
    rows = audit_numbers(inputs.record, inputs.results, inputs.config, inputs.self_audit)
    out = Path(args.out) if args.out else study / "build" / "audit"
    provenance = {
        "record": {"path": _relative(inputs.record_path, study),
                   "sha256": hashlib.sha256(inputs.record_path.read_bytes()).hexdigest()},
        "tiers": {"path": _relative(inputs.config_path, study),
                  "sha256": hashlib.sha256(inputs.config_path.read_bytes()).hexdigest()},
        "results": {"inputs": inputs.results.meta.inputs, "spec_sha256": inputs.results.meta.spec_sha256},
        "self_audit": {"source": inputs.self_audit.source, "findings": len(inputs.self_audit.findings)},
    }
    paths = write_outputs(rows, inputs.config, provenance, out)
    for line in summary_lines(rows):
        print(line)
    failing = [r for r in rows if r.fails_audit]
    for r in failing[:20]:
        what = r.note if r.status == NOT_COMPUTED else f"recomputed {r.rounded}; tier: {r.tier_rule}"
        print(f"  FAIL {r.entry.id} ({r.entry.place} {r.entry.position}): printed {r.entry.printed}; {what}")
    if len(failing) > 20:
        print(f"  ... and {len(failing) - 20} more (see {paths[0]})")
    print(f"audit: report -> {', '.join(str(p) for p in paths)}")
    if args.write_gaps:
        from paperlock.audit.gaps import write_gaps

        note = ("The cohort is a synthetic reconstruction; these are the numbers its calibration "
                "(data/calibration.md) does not reach.") if inputs.results.meta.synthetic else ""
        n = write_gaps(rows, Path(args.write_gaps), note)
        print(f"audit: {n} gaps recorded -> {args.write_gaps}")
    print(headline(rows))
    return exit_code(rows)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
