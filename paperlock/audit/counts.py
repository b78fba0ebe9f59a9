"""Counts and percentages: every n (%) against n/N at the printed precision, and the record's count identities.

The denominator of `....<group>.pct` is `cohort.n.<group>`; the identities (levels add up, CR + PR = ORR, ...)
and the group hierarchy come from the record, so no study variable is named here.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

from paperlock.audit.findings import Finding, Severity, fmt
from paperlock.audit.record import Entry, Record, fill, match_keys, names
from paperlock.audit.rounding import (
    RULES,
    denominators_reproducing,
    is_tie,
    matching_rules,
    numerators_reproducing,
    percent,
    round_to,
)


def _show(x: Fraction, decimals: int) -> str:
    return f"{float(x):.{decimals}f}"


def denominator_key(key: str) -> str | None:
    segs = key.split(".")
    return f"cohort.n.{segs[-2]}" if len(segs) >= 3 and segs[-1] in ("pct", "n") else None


def _count_for(rec: Record, e: Entry) -> Entry | None:
    nkey = e.key[: -len("pct")] + "n"
    same = [x for x in rec.by_key.get(nkey, []) if x.place == e.place]
    return same[0] if same else rec.canonical(nkey)


def _sum_of_printed_parts(rec: Record, entries: list[Entry]) -> list[Entry] | None:
    """Component percentages printed in the same place whose sum equals this percentage (ORR = CR% + PR%)."""
    for e in entries:
        found = _sum_in_place(rec, e)
        if found:
            return found
    return None


def _sum_in_place(rec: Record, e: Entry) -> list[Entry] | None:
    nkey = e.key[: -len("pct")] + "n"
    for ident in rec.identities:
        if ident.get("relation") != "sum" or "total" not in ident or not isinstance(ident["total"], str):
            continue
        for _, binding in match_keys(ident["total"], [nkey]):
            parts = [fill(t, binding) for t in ident["parts"]]
            if any("{" in p or "*" in p for p in parts):
                continue
            pcts = [next((x for x in rec.by_key.get(p[:-1] + "pct", []) if x.place == e.place), None)
                    for p in parts]
            if all(pcts) and sum(x.exact for x in pcts) == e.exact:  # type: ignore[union-attr]
                return pcts  # type: ignore[return-value]
    return None


def check_percentages(rec: Record) -> tuple[list[Finding], dict[str, Any]]:
    """Every percentage against its count and denominator; which rounding rule reproduces each."""
    findings: list[Finding] = []
    tally: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, str, int, int], list[Entry]] = {}
    unchecked: list[str] = []
    for e in rec.entries:
        if e.kind != "pct":
            continue
        n_entry = _count_for(rec, e)
        dkey = denominator_key(e.key)
        total = rec.value(dkey) if dkey else None
        if n_entry is None or total is None:
            unchecked.append(e.id)
            continue
        n, d = int(n_entry.value), int(total)
        exact = percent(n, d)
        rules = matching_rules(exact, e.exact, e.decimals)
        t = tally.setdefault(e.place, {"checked": 0, **{r: 0 for r in RULES}, "none": 0, "ties": 0})
        t["checked"] += 1
        t["ties"] += is_tie(exact, e.decimals)
        for r in rules:
            t[r] += 1
        t["none"] += not rules
        if "half_up" in rules or "half_even" in rules:
            continue
        groups.setdefault((e.key, e.printed, n, d), []).append(e)
    for (_, _, n, d), entries in sorted(groups.items()):
        entries.sort(key=lambda x: (not x.is_table, x.place))
        findings.append(_percentage_finding(rec, entries, n, d))
    summary = {"by_place": tally, "not_checkable": sorted(unchecked),
               "rules_compared": list(RULES)}
    return findings, summary


def _percentage_finding(rec: Record, entries: list[Entry], n: int, d: int) -> Finding:
    e = entries[0]
    exact = percent(n, d)
    rounded = round_to(exact, e.decimals, "half_up")
    truncated = round_to(exact, e.decimals, "truncate")
    places = tuple(sorted({x.place for x in entries}))
    evidence: dict[str, Any] = {"printed": e.printed, "n": n, "denominator": d, "exact_pct": fmt(float(exact), 6),
                                "rounded_half_up": _show(rounded, e.decimals),
                                "truncated": _show(truncated, e.decimals)}
    if truncated == e.exact:
        return Finding("percentage", f"percentage/{e.key}", "rounding-level",
                       f"{e.printed}% looks truncated ({n}/{d})",
                       f"{n}/{d} = {float(exact):.3f}% rounds to {evidence['rounded_half_up']}, but the paper prints "
                       f"{e.printed}, the truncated value, while its other percentages are rounded.",
                       places, (e.key,), evidence)
    gap = abs(float(e.exact - exact))
    unit = 10.0 ** (-e.decimals)
    severity: Severity = "rounding-level" if gap <= unit else "moderate" if gap <= 2 else "gross"
    reasons: list[str] = []
    parts = _sum_of_printed_parts(rec, entries)
    if parts:
        evidence["sum_of_printed_parts"] = {x.key: x.printed for x in parts}
        reasons.append(f"it equals the sum of the printed component percentages "
                       f"({' + '.join(x.printed for x in parts)})")
    upto = int(max(d, rec.value("cohort.n.all") or d))
    dens = [x for x in denominators_reproducing(n, e.exact, e.decimals, upto) if x != d]
    if dens:
        evidence["denominators_reproducing"] = dens[:6]
        reasons.append(f"it is {n}/{dens[0]}, i.e. computed on {dens[0]} patients instead of {d}")
    nums = numerators_reproducing(d, e.exact, e.decimals)
    if nums:
        evidence["counts_reproducing"] = nums
        reasons.append(f"it would fit {nums[0]}/{d} rather than the printed count {n}")
    if not reasons:
        reasons.append(f"no count out of {d} and no denominator up to {upto} reproduces it")
    return Finding("percentage", f"percentage/{e.key}", severity,
                   f"{e.printed}% does not match {n}/{d} = {float(exact):.2f}%",
                   f"{n}/{d} prints as {evidence['rounded_half_up']}%, not {e.printed}%; {'; '.join(reasons)}.",
                   places, (e.key,), evidence)


# ------------------------------------------------------------------------------------------------ identities
def _bindings(rec: Record, templates: list[str], required: set[str]) -> list[dict[str, str]]:
    seen: set[tuple[tuple[str, str], ...]] = set()
    for t in templates:
        for _, b in match_keys(t, rec.by_key):
            if required <= set(b):
                seen.add(tuple(sorted((k, b[k]) for k in required)))
    return [dict(s) for s in sorted(seen)]


def _expand(rec: Record, template: str, binding: dict[str, str]) -> list[str]:
    t = fill(template, binding)
    if "*" in t:
        return sorted(k for k, _ in match_keys(t, rec.by_key))
    return [t] if t in rec.by_key else []


def _signed_sum(rec: Record, terms: list[str], binding: dict[str, str]) -> float | None:
    total = 0.0
    for term in terms:
        sign, key = (-1, term[1:]) if term.startswith("-") else (1, term)
        v = rec.value(fill(key, binding))
        if v is None:
            return None
        total += sign * v
    return total


def check_identities(rec: Record) -> list[Finding]:
    findings: list[Finding] = []
    for ident in rec.identities:
        relation = ident.get("relation", "sum")
        if relation == "implied_sum":
            findings += _implied_sum(rec, ident)
            continue
        parts_t: list[str] = list(ident["parts"])
        required = names(ident["total"]) | set().union(*(names(t) for t in parts_t))
        for b in _bindings(rec, parts_t, required):
            total_key = fill(ident["total"], b)
            if total_key not in rec.by_key:
                continue
            expanded = [_expand(rec, t, b) for t in parts_t]
            parts = [k for ks in expanded for k in ks if k != total_key]
            if relation == "sum" and (any(not ks for ks in expanded) or len(parts) < ident.get("min_parts", 1)):
                continue
            finding = _judge(rec, ident, relation, total_key, parts, len(parts_t), all(expanded))
            if finding:
                findings.append(finding)
    return findings


def _judge(rec: Record, ident: dict[str, Any], relation: str, total_key: str, parts: list[str],
           n_templates: int, complete: bool) -> Finding | None:
    total = rec.value(total_key)
    values = {k: rec.value(k) for k in parts}
    if total is None or not values:
        return None
    s = sum(v for v in values.values() if v is not None)
    ev = {"total": {total_key: total}, "parts": values}
    if relation == "sum" and s != total:
        diff = s - total
        return Finding("identity", f"identity/{total_key}", "gross" if abs(diff) > 1 else "moderate",
                       f"{ident['name']}: {s:g} vs {total:g}",
                       f"The parts add up to {s:g}, the printed total is {total:g} (difference {diff:g}).",
                       _places(rec, [total_key, *parts]), (total_key, *parts), ev)
    if relation == "at_most":
        over = {k: v for k, v in values.items() if v is not None and v > total}
        if over:
            return Finding("identity", f"identity/{total_key}", "gross", f"{ident['name']}: {sorted(over)}",
                           f"{', '.join(sorted(over))} exceed {total_key} = {fmt(total)}, which must bound them.",
                           _places(rec, [total_key, *over]), (total_key, *sorted(over)), ev)
    if relation == "covers":
        high = s if complete and len(values) == n_templates else float("inf")
        if not (max(values.values()) <= total <= high):  # type: ignore[type-var]
            return Finding("identity", f"identity/{total_key}", "gross", f"{ident['name']}: {fmt(total)}",
                           f"{total_key} = {fmt(total)} must lie between the largest component and their sum "
                           f"({fmt(max(values.values()))}..{fmt(high)}).",  # type: ignore[type-var]
                           _places(rec, [total_key, *parts]), (total_key, *parts), ev)
    return None


def _places(rec: Record, keys: list[str]) -> tuple[str, ...]:
    return tuple(sorted({e.place for k in keys for e in rec.by_key.get(k, [])}))


def _implied_sum(rec: Record, ident: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    required = set().union(*(names(t) for t in ident["pcts"]))
    for b in _bindings(rec, ident["pcts"], required):
        pct_entries = [rec.canonical(fill(t, b)) for t in ident["pcts"]]
        dens = [_signed_sum(rec, terms, b) for terms in ident["denominators"]]
        total = _signed_sum(rec, ident["total"], b)
        if any(x is None for x in (*pct_entries, *dens, total)):
            continue
        implied = [numerators_reproducing(int(d), e.exact, e.decimals)  # type: ignore[union-attr,arg-type]
                   for e, d in zip(pct_entries, dens, strict=True)]
        sums = sorted({sum(c) for c in itertools.product(*implied)})
        if total in sums:
            continue
        keys = tuple(e.key for e in pct_entries)  # type: ignore[union-attr]
        ev = {"percentages": {e.key: e.printed for e in pct_entries},  # type: ignore[union-attr]
              "denominators": [fmt(d) for d in dens], "implied_counts": implied, "implied_totals": sums,
              "printed_total": total, "assumption": ident.get("assumption", "")}
        shown = " + ".join(f"{'/'.join(map(str, c)) or '?'} of {d:g}" for c, d in zip(implied, dens, strict=True))
        out.append(Finding(
            "identity", f"identity/{keys[0]}", "moderate",
            f"{ident['name']}: {', '.join(map(str, sums))} vs {total:g}",
            f"The percentages imply {shown} = {', '.join(map(str, sums)) or 'no integer count'}, but the tables "
            f"give {total:g} (assuming {ident.get('assumption', 'the stated denominators')}).",
            _places(rec, list(keys)), keys, ev))
    return out


def check_group_sums(rec: Record) -> list[Finding]:
    """Counts of a group equal the sum over its parts (facts.group_parts), wherever every part is printed."""
    parts_of: dict[str, list[str]] = rec.facts.get("group_parts") or {}
    out: list[Finding] = []
    for key in sorted(rec.by_key):
        segs = key.split(".")
        if segs[-1] != "n" and not (len(segs) == 3 and segs[1] == "n"):
            continue
        for i, seg in enumerate(segs):
            if seg not in parts_of:
                continue
            child_keys = [".".join([*segs[:i], c, *segs[i + 1 :]]) for c in parts_of[seg]]
            if not all(k in rec.by_key for k in child_keys):
                continue
            total = rec.value(key)
            s = sum(rec.value(k) or 0 for k in child_keys)
            if s != total:
                out.append(Finding(
                    "identity", f"group-sum/{key}", "gross" if abs(s - (total or 0)) > 1 else "moderate",
                    f"{key} is not the sum of its groups", f"{' + '.join(child_keys)} = {fmt(s)}, "
                    f"but {key} = {fmt(total or 0)}.", _places(rec, [key, *child_keys]), (key, *child_keys),
                    {"total": total, "parts": {k: rec.value(k) for k in child_keys}}))
    return out
