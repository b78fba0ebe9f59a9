"""How narrow a Cox CI can be, given the sizes of the covariate's two groups.

For a 0/1 covariate the information about log HR at the estimate is I = sum over the events of p(1 - p), where p
is the (risk-weighted) share of the exposed group in the event's risk set; Breslow and Efron ties alike. The score
is zero at the estimate, so sum p = d1, the events in the exposed group, and sum p^2 >= d1^2 / d (Cauchy-Schwarz
over the d events). Hence I <= d1 d0 / d and SE(log HR) >= sqrt(1/d1 + 1/d0), with d0 the events of the other
group. In a multivariable model the covariate's variance is at least 1 / its diagonal information, so the bound
holds there too. The group sizes cap d1 and d0: a printed CI narrower than every split of the events allows
cannot come from a Cox fit of those patients.

The record names, per covariate, the Table 1 count of one of its two groups (facts.cox_groups, a key template with
{group} for the model's population; the bound is symmetric in the groups); the population's events are
`events.<endpoint>.<population>.n` where printed, else bounded by the whole cohort's events and the patients
outside the population. A model fitted on fewer patients (missing values) only has fewer events to split, so
the bound from the table's counts still holds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from paperlock.audit.findings import Finding, Severity, fmt
from paperlock.audit.record import Record, fill

if TYPE_CHECKING:
    from paperlock.audit.cox import Estimate


def min_se(n1: int, n0: int, d_lo: int, d_hi: int) -> tuple[float, int, int] | None:
    """Smallest sqrt(1/d1 + 1/d0) over d1 <= n1, d0 <= n0 with d1 + d0 in [d_lo, d_hi], both >= 1 (the split
    attaining it); None if no split has events in both groups."""
    best: tuple[float, int, int] | None = None
    for d in range(max(d_lo, 2), min(d_hi, n1 + n0) + 1):
        for d1 in range(max(1, d - n0), min(n1, d - 1) + 1):
            se = math.sqrt(1 / d1 + 1 / (d - d1))
            if best is None or se < best[0]:
                best = (se, d1, d - d1)
    return best


def _events(rec: Record, endpoint: str, population: str) -> tuple[int, int] | None:
    """Bounds on the population's events of the endpoint: printed, or from the whole cohort's."""
    own = rec.value(f"events.{endpoint}.{population}.n")
    if own is not None:
        return int(own), int(own)
    total, n_all, n_pop = (rec.value(f"events.{endpoint}.all.n"), rec.value("cohort.n.all"),
                           rec.value(f"cohort.n.{population}"))
    if total is None or n_all is None or n_pop is None:
        return None
    return max(0, int(total - (n_all - n_pop))), int(min(total, n_pop))


def check_ci_width(rec: Record, ests: list[Estimate], z: float) -> list[Finding]:
    """A finding for every printed CI narrower than the covariate's group sizes allow (module docstring)."""
    groups: dict[str, str] = rec.facts.get("cox_groups") or {}
    out: list[Finding] = []
    for est in ests:
        _, population, endpoint, *_ = est.stem.split(".")
        template = groups.get(est.covariate)
        n_pop = rec.value(f"cohort.n.{population}")
        n1 = None if template is None else rec.value(fill(template, {"group": population}))
        events = _events(rec, endpoint, population)
        if n1 is None or n_pop is None or events is None or not 0 < n1 < n_pop:
            continue
        n1, n0 = int(n1), int(n_pop - n1)
        best = min_se(n1, n0, *events)
        lo, up = est.lower, est.upper
        widest = math.log(up.high / max(lo.low, 1e-6)) / (2 * z)
        if best is None or best[0] <= widest:
            continue
        se, d1, d0 = best
        loose = math.log((up.value + 3 * up.half_unit) / max(lo.value - 3 * lo.half_unit, 1e-6)) / (2 * z)
        severity: Severity = ("rounding-level" if se <= loose else "gross" if se / widest > 1.25 else "moderate")
        ev: dict[str, Any] = {"printed": est.shown, "place": est.place, "group_sizes": [n1, n0],
                              "events": list(events), "min_se": fmt(se, 4), "widest_printed_se": fmt(widest, 4),
                              "best_split": [d1, d0]}
        events_text = (f"{events[0]} events" if events[0] == events[1] else
                       f"{events[0]} to {events[1]} events (the cohort's events less the patients outside it)")
        attained = (f", a bound reached only if all {n1 + n0} patients had the event" if (d1, d0) == (n1, n0)
                    else f" ({d1} and {d0} events at best)")
        out.append(Finding(
            "ci-width", f"ci-width/{est.place}/{est.stem}", severity,
            f"{est.place} {est.covariate}: CI narrower than its groups allow",
            f"With {n1} and {n0} patients in the two groups and {events_text}, SE(log HR) is at least "
            f"sqrt(1/{d1} + 1/{d0}) = {se:.3f}{attained}, since the information at the estimate is at most "
            f"d1·d0/d; every rounding of the printed CI {lo.printed}–{up.printed} implies at most {widest:.3f}.",
            (est.place,), (lo.key, up.key), ev))
    return out
