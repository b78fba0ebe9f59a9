"""Kaplan–Meier medians: the median inside its CI, and whether the CI is symmetric (median ± z·SE, as SPSS
prints it) once the rounding of the three printed numbers is allowed for."""

from __future__ import annotations

from typing import Any

from paperlock.audit.findings import Finding, Severity, fmt
from paperlock.audit.record import Entry, Record


def _triples(rec: Record) -> list[tuple[str, str, dict[str, Entry]]]:
    cells: dict[tuple[str, str], dict[str, Entry]] = {}
    for e in rec.entries:
        if e.key.startswith("km.") and e.kind in ("median", "ci_lower", "ci_upper"):
            cells.setdefault((e.key.rsplit(".", 1)[0], e.place), {})[e.kind] = e
    return [(stem, place, c) for (stem, place), c in sorted(cells.items()) if len(c) == 3]


def check_km(rec: Record) -> tuple[list[Finding], dict[str, Any]]:
    findings: list[Finding] = []
    symmetric: list[str] = []
    asymmetric: list[str] = []
    for stem, place, c in _triples(rec):
        m, lo, up = c["median"], c["ci_lower"], c["ci_upper"]
        shown = f"{m.printed} ({lo.printed}–{up.printed})"
        keys = (m.key, lo.key, up.key)
        if not lo.value <= m.value <= up.value:
            findings.append(Finding("km-order", f"km-order/{place}/{stem}", "gross",
                                    f"{place} {stem}: median {shown} outside its CI",
                                    "A median must lie inside its confidence interval.", (place,), keys,
                                    {"printed": shown}))
            continue
        skew = lo.value + up.value - 2 * m.value  # 0 for median ± half-width
        tolerance = lo.half_unit + up.half_unit + 2 * m.half_unit
        if abs(skew) <= tolerance + 1e-9:
            symmetric.append(f"{place}/{stem}")
            continue
        asymmetric.append(f"{place}/{stem}")
        width = up.value - lo.value
        ratio = abs(skew) / width if width > 0 else 1.0
        severity: Severity = "rounding-level" if ratio < 0.05 else "moderate" if ratio < 0.25 else "gross"
        centre = (lo.value + up.value) / 2
        findings.append(Finding(
            "km-symmetry", f"km-symmetry/{place}/{stem}", severity,
            f"{place} {stem.removeprefix('km.')}: CI {shown} is not symmetric about the median",
            f"SPSS prints the median ± 1.96·SE, but {lo.printed} and {up.printed} lie {m.value - lo.value:.2f} and "
            f"{up.value - m.value:.2f} from {m.printed} (centre {centre:.3f}); the interval came from another "
            "method or a number is mistyped.",
            (place,), keys, {"printed": shown, "below": fmt(m.value - lo.value), "above": fmt(up.value - m.value),
                             "rounding_tolerance": fmt(tolerance), "software": rec.fact("software")}))
    summary = {"symmetric": len(symmetric), "asymmetric": sorted(asymmetric),
               "style": "median ± z·SE (SPSS-style)" if symmetric and len(symmetric) >= len(asymmetric)
               else "not symmetric"}
    return findings, summary
