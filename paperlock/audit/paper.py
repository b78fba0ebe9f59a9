"""`paperlock audit-paper`: audit the published record for internal consistency.

Recomputes what the printed numbers imply about each other (percentages from counts, p values from counts and
from confidence intervals, sums, repeated numbers, the text's claims) and writes `findings.json` and a
self-contained HTML page. Driven only by the record's keys, facts, identities and claims.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from paperlock.audit.categorical import check_categorical
from paperlock.audit.consistency import check_claims, check_quantiles, check_same_key
from paperlock.audit.counts import check_group_sums, check_identities, check_percentages
from paperlock.audit.cox import check_cox
from paperlock.audit.findings import MEANING, SEVERITIES, Finding
from paperlock.audit.km import check_km
from paperlock.audit.record import Record, load_record

ENGINE_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_RECORD = Path("data") / "published.yaml"
CHECKS = {
    "percentage": "every n (%) against n/N at the printed precision and rounding rule",
    "identity": "counts that must add up (levels, arms, CR + PR = ORR, ...) or bound each other",
    "categorical-p": "categorical p values recomputed from the printed counts (Pearson, Yates, Fisher)",
    "categorical-rule": "the test each table's p values need, against the tests the Methods name",
    "wald-p": "the p value implied by each hazard ratio's CI (Wald, allowing for rounding)",
    "hr-centre": "each hazard ratio at the geometric centre of its CI",
    "ci-vs-p": "a CI excluding 1 goes with p < alpha",
    "entry-rule": "the univariable -> multivariable entry rule of the Methods",
    "duplicate-ci": "two covariates of one model printing the same CI",
    "ci-width": "a hazard ratio's CI no narrower than its covariate's group sizes allow",
    "km-symmetry": "Kaplan–Meier median CIs symmetric (median ± 1.96·SE, SPSS) or not",
    "quantile-order": "medians inside their IQRs",
    "pooled-quantile": "whole-cohort quantiles between the groups' quantiles",
    "same-key": "the same statistic printed with different values in text, abstract and tables",
    "claim": "what the text says about the tables",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", default=None,
                        help="published record (default: data/published.yaml here, else the engine's copy)")
    parser.add_argument("--out", default="build/audit-paper", help="output folder (default: build/audit-paper)")


def _record_path(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    here = Path.cwd() / DEFAULT_RECORD
    return here if here.exists() else ENGINE_ROOT / DEFAULT_RECORD


def audit(rec: Record) -> dict[str, Any]:
    """Run every check; the result is JSON-ready, sorted and free of timestamps."""
    pct_findings, pct_summary = check_percentages(rec)
    cat_findings, cat_summary = check_categorical(rec)
    cox_findings, cox_summary = check_cox(rec)
    km_findings, km_summary = check_km(rec)
    findings: list[Finding] = [
        *pct_findings, *check_identities(rec), *check_group_sums(rec), *cat_findings, *cox_findings,
        *km_findings, *check_quantiles(rec), *check_same_key(rec), *check_claims(rec),
    ]
    findings.sort(key=Finding.sort_key)
    ids = [f.id for f in findings]
    assert len(ids) == len(set(ids)), "finding ids must be unique"
    counts = Counter(f.severity for f in findings)
    inferences = {"percentages": pct_summary, "categorical": cat_summary, "cox": cox_summary, "km": km_summary}
    return {
        "schema_version": 1,
        "source": rec.source,
        "record": {"entries": len(rec.entries), "places": rec.places},
        "severities": {s: MEANING[s] for s in SEVERITIES},
        "checks": CHECKS,
        "summary": {"counts": {s: counts.get(s, 0) for s in SEVERITIES}, "text": editor_summary(rec, findings,
                                                                                                  inferences)},
        "inferences": inferences,
        "findings": [f.to_json() for f in findings],
    }


def editor_summary(rec: Record, findings: list[Finding], inferences: dict[str, Any]) -> str:
    """One paragraph a journal editor can read without the tables."""
    counts = Counter(f.severity for f in findings)
    gross = [f for f in findings if f.severity == "gross"]
    cox = inferences["cox"]
    km = inferences["km"]
    rules = inferences["categorical"]["decision_rules"]
    parts = [
        f"We re-derived what the {len(rec.entries)} numbers printed in the results of this paper imply about "
        "each other: percentages from their counts, totals from their parts, categorical p values from the "
        "printed counts, p values from the hazard ratios' confidence intervals, and every number repeated between "
        "the text, the abstract and the tables.",
        f"{counts.get('gross', 0)} discrepancies are gross (no rounding can explain them), "
        f"{counts.get('moderate', 0)} moderate and {counts.get('rounding-level', 0)} at the level of rounding.",
    ]
    if gross:
        shown = sorted(gross, key=lambda f: (f.places, f.id))
        parts.append("The gross ones: " + "; ".join(f.title for f in shown[:8])
                     + (f"; and {len(shown) - 8} more." if len(shown) > 8 else "."))
    parts.append(f"{cox['wald_p_consistent']} of {cox['with_p']} hazard-ratio p values agree with their "
                 "confidence intervals.")
    if rules:
        parts.append("Categorical p values: " + "; ".join(
            f"{place} fits best '{'/'.join(info['best_description'])}' "
            f"({max(info['reproduced'].values())} of {info['p_values']})" for place, info in rules.items()) + ".")
    parts.append(f"{km['symmetric']} Kaplan–Meier median intervals are symmetric as SPSS prints them and "
                 f"{len(km['asymmetric'])} are not.")
    return " ".join(parts)


def render_html(report: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(ENGINE_ROOT / "templates")), undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True), keep_trailing_newline=True)
    return env.get_template("audit_paper.html.j2").render(report=report, severities=SEVERITIES)


def write(report: dict[str, Any], out: Path) -> list[Path]:
    from paperlock.atomic import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "findings.json", out / "index.html"]
    atomic_write_text(paths[0], json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
    atomic_write_text(paths[1], render_html(report))
    return paths


def run(args: argparse.Namespace) -> int:
    path = _record_path(args.record)
    rec = load_record(path)
    report = audit(rec)
    report["record"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    paths = write(report, Path(args.out))
    c = report["summary"]["counts"]
    print(f"audit-paper: {len(rec.entries)} printed numbers, {len(report['findings'])} findings "
          f"({c['gross']} gross, {c['moderate']} moderate, {c['rounding-level']} rounding-level) -> "
          f"{', '.join(str(p) for p in paths)}")
    return 0
