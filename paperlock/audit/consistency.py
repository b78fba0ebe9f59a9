"""Consistency between places and within summaries: the same key printed twice with different values, medians
outside their IQR, pooled quantiles outside their groups' range, and the text's claims about the tables."""

from __future__ import annotations

from typing import Any

from paperlock.audit.findings import Finding, Severity, fmt
from paperlock.audit.record import Entry, Record, fill, match_keys


def _agree(a: Entry, b: Entry) -> bool:
    """Both printings can stand for one value (their rounding intervals overlap)."""
    return a.low <= b.high + 1e-12 and b.low <= a.high + 1e-12


def check_same_key(rec: Record) -> list[Finding]:
    """A key printed in several places must print the same value (up to each place's precision)."""
    out: list[Finding] = []
    for key, entries in sorted(rec.by_key.items()):
        ref = rec.canonical(key)
        if ref is None or len(entries) < 2:
            continue
        for other in entries:
            if other is ref or _agree(ref, other):
                continue
            gap = abs(other.value - ref.value)
            unit = 10.0 ** (-min(ref.decimals, other.decimals))
            relative = gap / max(abs(ref.value), 1e-12)
            severity: Severity = "rounding-level" if gap <= unit + 1e-12 else "gross" if relative > 0.1 else "moderate"
            rounds = f"{ref.value:.{other.decimals}f}"
            out.append(Finding(
                "same-key", f"same-key/{other.id}", severity,
                f"{key}: {other.place} prints {other.printed}, {ref.place} prints {ref.printed}",
                f"The same statistic is {ref.printed} in {ref.locator} but {other.printed} in {other.locator}"
                + (f" ({ref.printed} rounds to {rounds} at that precision)." if other.decimals < ref.decimals
                   else "."),
                tuple(sorted({ref.place, other.place})), (key,),
                {ref.place: ref.printed, other.place: other.printed, "kind": ref.kind}))
    return out


def _summaries(rec: Record) -> dict[tuple[str, str], dict[str, Entry]]:
    out: dict[tuple[str, str], dict[str, Entry]] = {}
    for e in rec.entries:
        if e.kind in ("median", "q1", "q3") and e.key.endswith("." + e.kind):
            out.setdefault((e.key.rsplit(".", 1)[0], e.place), {})[e.kind] = e
    return out


def check_quantiles(rec: Record) -> list[Finding]:
    """Q1 <= median <= Q3 in every place; a pooled group's quantiles lie within its parts' (facts.group_parts)."""
    out: list[Finding] = []
    summaries = _summaries(rec)
    for (stem, place), s in sorted(summaries.items()):
        if {"median", "q1", "q3"} <= set(s) and not s["q1"].value <= s["median"].value <= s["q3"].value:
            shown = f"{s['median'].printed} [{s['q1'].printed}, {s['q3'].printed}]"
            out.append(Finding(
                "quantile-order", f"quantile-order/{place}/{stem}", "gross",
                f"{place} {stem}: median outside its IQR ({shown})",
                f"A median must lie between its quartiles; {shown} cannot be a median and IQR.",
                (place,), tuple(e.key for e in s.values()), {"printed": shown}))
    parts_of: dict[str, list[str]] = rec.facts.get("group_parts") or {}
    for (stem, place), s in sorted(summaries.items()):
        head, group = stem.rsplit(".", 1)
        children = [summaries.get((f"{head}.{c}", place)) for c in parts_of.get(group, [])]
        if not children or any(c is None for c in children):
            continue
        for stat, e in sorted(s.items()):
            vals = [c[stat] for c in children if stat in c]  # type: ignore[index]
            if len(vals) < 2:
                continue
            lo, hi = min(v.low for v in vals), max(v.high for v in vals)
            if not (lo <= e.high and e.low <= hi):
                out.append(Finding(
                    "pooled-quantile", f"pooled-quantile/{place}/{stem}.{stat}", "moderate",
                    f"{place} {stem}.{stat}: {e.printed} lies outside its groups' {stat}s",
                    f"A pooled {stat} must lie between the groups' {stat}s "
                    f"({', '.join(v.printed for v in vals)}), but the whole cohort's is {e.printed}.",
                    (place,), (e.key, *(v.key for v in vals)), {"pooled": e.printed,
                                                               "groups": {v.key: v.printed for v in vals}}))
    return out


# ------------------------------------------------------------------------------------------------ claims
def _model_p(rec: Record, model: str) -> dict[str, tuple[Entry, Entry | None]]:
    """covariate -> (p entry, hr entry) of one Cox model, from the tables."""
    out: dict[str, tuple[Entry, Entry | None]] = {}
    for key, b in match_keys(model + ".{covariate}.p", rec.by_key):
        p = rec.canonical(key)
        if p is not None:
            out[b["covariate"]] = (p, rec.canonical(key[: -len(".p")] + ".hr"))
    return out


def _claim_finding(claim: dict[str, Any], n: int, severity: Severity, title: str, text: str, keys: list[str],
                   evidence: dict[str, Any]) -> Finding:
    where = ", ".join(f"{k} {v}" for k, v in sorted(claim.get("where", {}).items()))
    return Finding("claim", f"claim/{claim['place']}/{n}", severity, f"{claim['place']} ({where}): {title}",
                   text, (claim["place"],), tuple(sorted(set(keys))), {"claim": claim.get("says", ""), **evidence})


def _significant_claim(rec: Record, claim: dict[str, Any], n: int, alpha: float) -> Finding | None:
    model = _model_p(rec, claim["model"])
    if not model:
        return None
    members = set(claim["members"])
    protective = claim.get("direction") == "protective"
    sig = {c for c, (p, hr) in model.items()
           if p.value < alpha and (not protective or (hr is not None and hr.value < 1))}
    extra = sorted(members - sig)
    missing = sorted(sig - members) if claim["type"] == "significant_set" else []
    if not extra and not missing:
        return None
    entry_p = rec.fact("cox_entry_p")
    detail = [f"{c} (p = {model[c][0].printed})" if c in model else f"{c} (not in the table)" for c in extra]
    text = f"The text counts {', '.join(detail)} as significant, but p is not below {alpha}" if extra else ""
    if extra and entry_p is not None and all(c in model and model[c][0].value < entry_p for c in extra):
        text += f" (only below the entry threshold {entry_p})"
    if missing:
        text += ("; " if text else "") + "it omits " + ", ".join(
            f"{c} (p = {model[c][0].printed})" for c in missing)
    keys = [model[c][0].key for c in [*extra, *missing] if c in model]
    return _claim_finding(claim, n, "moderate", f"claimed significant set differs in {claim['model']}",
                          text + ".", keys, {"claimed": sorted(members), "significant": sorted(sig),
                                             "alpha": alpha})


def _most_common_claim(rec: Record, claim: dict[str, Any], n: int) -> Finding | None:
    summed = claim.get("sum_over")
    counts: dict[str, float] = {}
    for key, b in match_keys(claim["keys"], rec.by_key):
        name = next(v for k, v in b.items() if k != summed)
        if name not in claim.get("exclude", []):
            counts[name] = counts.get(name, 0) + (rec.value(key) or 0)
    members = [m for m in claim["members"] if m in counts]
    if not members:
        return None
    floor = min(counts[m] for m in members)
    above = sorted(c for c in counts if c not in members and counts[c] > floor)
    if not above:
        return None
    ranked = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: len(members) + len(above)])
    return _claim_finding(
        claim, n, "moderate", "the most common events named differ from the table",
        f"{', '.join(f'{c} ({counts[c]:g})' for c in above)} occurred more often than "
        f"{', '.join(f'{m} ({counts[m]:g})' for m in members if counts[m] < max(counts[a] for a in above))}, "
        "which the text names among the most common.",
        [], {"counts": {k: fmt(v) for k, v in ranked.items()}, "named": members})


def _interval_label_claim(rec: Record, claim: dict[str, Any], n: int) -> Finding | None:
    label_kinds = set(claim.get("label_kinds", []))
    labelled = [e for e in rec.in_place(claim["place"]) if e.kind in ("ci_lower", "ci_upper", "q1", "q3")]
    wrong = [e for e in labelled if e.kind not in label_kinds]
    if not wrong:
        return None
    elsewhere = sorted({x.place for e in wrong for x in rec.by_key[e.key] if x.place != e.place})
    return _claim_finding(
        claim, n, "moderate", "interval mislabelled",
        f"The footnote presents {len(wrong)} interval limits as {'/'.join(sorted(label_kinds))}, but they are "
        f"{'/'.join(sorted({e.kind for e in wrong}))}"
        + (f": the same numbers are printed as confidence limits in {', '.join(elsewhere)}." if elsewhere else "."),
        [e.key for e in wrong], {"entries": len(wrong), "also_in": elsewhere})


def check_claims(rec: Record) -> list[Finding]:
    alpha = float(rec.fact("alpha", 0.05))
    out: list[Finding] = []
    for n, claim in enumerate(rec.claims, start=1):
        kind = claim.get("type")
        finding: Finding | None = None
        if kind in ("significant_set", "significant_includes"):
            finding = _significant_claim(rec, claim, n, alpha)
        elif kind == "most_common":
            finding = _most_common_claim(rec, claim, n)
        elif kind == "interval_label":
            finding = _interval_label_claim(rec, claim, n)
        elif kind == "all_at_least":
            low = [(k, rec.canonical(k)) for k, _ in match_keys(claim["keys"], rec.by_key)]
            low = [(k, e) for k, e in low if e is not None and e.value < claim["threshold"]]
            if low:
                finding = _claim_finding(claim, n, "moderate", "a p value contradicts the claim",
                                         f"{', '.join(f'{k} = {e.printed}' for k, e in low)} is below "
                                         f"{claim['threshold']}.", [k for k, _ in low], {})
        elif kind == "greater":
            a, b = (rec.canonical(fill(k, {})) for k in claim["keys"])
            if a is not None and b is not None and not a.value > b.value:
                finding = _claim_finding(claim, n, "moderate", "comparison reversed",
                                         f"{a.key} = {a.printed} is not greater than {b.key} = {b.printed}.",
                                         [a.key, b.key], {})
        if finding:
            out.append(finding)
    return out
