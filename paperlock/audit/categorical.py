"""Every categorical p value recomputed from the printed counts, and each table's decision rule inferred.

A p key `<stem>.p` is categorical when the record holds counts `<stem>[.<level>].<group>.n` for the compared
groups (facts.comparison_groups). A single printed level is completed with its complement (N - n).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paperlock.audit.contingency import all_tests, min_expected
from paperlock.audit.findings import Finding, Severity, fmt
from paperlock.audit.record import Entry, Record

TEST_NAMES = {"pearson": "Pearson χ² (no correction)", "yates": "Yates-corrected χ²", "fisher": "Fisher exact"}


Chooser = Callable[[dict[str, Any]], str]


def _fisher_below_5(cells: str, otherwise: str) -> Chooser:
    """Fisher when the smallest expected (or observed) count is below 5, else `otherwise` (Pearson for r x c)."""
    return lambda row: "fisher" if row[cells] < 5 else (otherwise if otherwise in row["p"] else "pearson")


DECISION_RULES: dict[str, tuple[str, Chooser]] = {
    "pearson": ("Pearson χ² throughout", lambda row: "pearson"),
    "yates": ("Yates χ² for 2×2 tables, Pearson otherwise (R chisq.test default)",
              lambda row: "yates" if "yates" in row["p"] else "pearson"),
    "fisher": ("Fisher exact throughout", lambda row: "fisher"),
    "pearson_or_fisher": ("Fisher when an expected count is below 5, else Pearson χ²",
                          _fisher_below_5("min_expected", "pearson")),
    "yates_or_fisher": ("Fisher when an expected count is below 5, else Yates χ²",
                        _fisher_below_5("min_expected", "yates")),
    "pearson_or_fisher_observed": ("Fisher when an observed count is below 5, else Pearson χ²",
                                   _fisher_below_5("min_observed", "pearson")),
    "yates_or_fisher_observed": ("Fisher when an observed count is below 5, else Yates χ²",
                                 _fisher_below_5("min_observed", "yates")),
}


def contingency_table(rec: Record, p_entry: Entry) -> tuple[list[list[int]], list[str]] | None:
    """Rows = levels, columns = compared groups; None when the p is not for printed counts."""
    stem = p_entry.key[: -len(".p")]
    groups: list[str] = list(rec.fact("comparison_groups", []))
    levels: dict[str, dict[str, int]] = {}
    for key in rec.by_key:
        if not key.startswith(stem + ".") or not key.endswith(".n"):
            continue
        middle = key[len(stem) + 1 : -len(".n")].split(".")
        group, level = middle[-1], ".".join(middle[:-1])
        if group in groups and level.count(".") == 0:
            levels.setdefault(level, {})[group] = int(rec.value(key) or 0)
    levels = {lv: cells for lv, cells in levels.items() if set(cells) == set(groups)}
    if not levels:
        return None
    names = sorted(levels)
    table = [[levels[lv][g] for g in groups] for lv in names]
    if len(table) == 1:
        sizes = [rec.value(f"cohort.n.{g}") for g in groups]
        if any(s is None for s in sizes):
            return None
        table.append([int(s) - c for s, c in zip(sizes, table[0], strict=True)])  # type: ignore[arg-type]
        names.append("(rest)")
    return table, names


def _reproduces(p: float, e: Entry) -> bool:
    return e.low - 1e-12 <= p <= e.high + 1e-12


def check_categorical(rec: Record) -> tuple[list[Finding], dict[str, Any]]:
    alpha = float(rec.fact("alpha", 0.05))
    stated = set(rec.fact("categorical_tests", []))
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for e in rec.entries:
        if e.kind != "p" or not e.key.endswith(".p"):
            continue
        built = contingency_table(rec, e)
        if built is None:
            continue
        table, levels = built
        tests = all_tests(table)
        match = sorted(name for name, p in tests.items() if _reproduces(p, e))
        rows.append({"id": e.id, "place": e.place, "key": e.key, "printed": e.printed, "table": table,
                     "levels": levels, "min_expected": fmt(min_expected(table)),
                     "min_observed": min(min(r) for r in table),
                     "p": {k: fmt(v) for k, v in sorted(tests.items())}, "reproduced_by": match})
        if not match:
            nearest = min(tests, key=lambda k: abs(tests[k] - e.value))
            crosses = any((p < alpha) != (e.value < alpha) for p in tests.values())
            severity: Severity = "gross" if crosses and all((p < alpha) != (e.value < alpha)
                                                           for p in tests.values()) else "moderate"
            findings.append(Finding(
                "categorical-p", f"categorical-p/{e.id}", severity,
                f"p = {e.printed} is not reproduced by any test ({e.locator})",
                f"From the printed counts {table}, Pearson gives {fmt(tests['pearson'], 3)}, "
                + (f"Yates {fmt(tests['yates'], 3)}, " if "yates" in tests else "")
                + f"Fisher {fmt(tests['fisher'], 3)}; the nearest is {TEST_NAMES[nearest]}.",
                (e.place,), (e.key,), {"printed": e.printed, "counts": table, "levels": levels,
                                       "p": {k: fmt(v) for k, v in sorted(tests.items())}}))
    rules = _infer_rules(rows)
    findings += _rule_findings(rows, rules, stated)
    return findings, {"tests": rows, "decision_rules": rules}


def _infer_rules(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per place: how many printed p values each candidate decision rule reproduces."""
    out: dict[str, Any] = {}
    for place in sorted({r["place"] for r in rows}):
        mine = [r for r in rows if r["place"] == place]
        scores = {}
        for name, (_, choose) in DECISION_RULES.items():
            chosen = [choose(r) for r in mine]
            scores[name] = sum(c in r["reproduced_by"] for c, r in zip(chosen, mine, strict=True))
        best = max(scores.values())
        out[place] = {"p_values": len(mine), "reproduced": scores,
                      "best": sorted(k for k, v in scores.items() if v == best),
                      "best_description": [DECISION_RULES[k][0] for k in sorted(scores) if scores[k] == best],
                      "informative": sum(1 for r in mine if 0 < len(r["reproduced_by"]) < len(r["p"]))}
    return out


def _rule_findings(rows: list[dict[str, Any]], rules: dict[str, Any], stated: set[str]) -> list[Finding]:
    """A table whose p values need a test the Methods do not name."""
    out: list[Finding] = []
    for place, info in rules.items():
        mine = [r for r in rows if r["place"] == place]
        only_unstated = [r for r in mine if r["reproduced_by"] and not set(r["reproduced_by"]) & stated]
        if not only_unstated:
            continue
        tests = sorted({t for r in only_unstated for t in r["reproduced_by"]})
        out.append(Finding(
            "categorical-rule", f"categorical-rule/{place}", "moderate",
            f"{place}: {len(only_unstated)} p value(s) reproduce only with {', '.join(TEST_NAMES[t] for t in tests)}",
            f"The Methods name {', '.join(TEST_NAMES[t] for t in sorted(stated))}, yet {len(only_unstated)} of "
            f"{len(mine)} p values in {place} are reproduced only by {', '.join(TEST_NAMES[t] for t in tests)}; "
            f"the best single rule is: {'; '.join(info['best_description'])}.",
            (place,), tuple(r["key"] for r in only_unstated),
            {"p_values": {r["key"]: {"printed": r["printed"], **r["p"]} for r in only_unstated},
             "rule_scores": info["reproduced"]}))
    return out
