"""Hazard ratios: each printed HR (95% CI) p against itself, allowing for the rounding of every printed digit.

- Wald p implied by the CI: log-scale SE = (ln U - ln L) / (2 z), estimate at the CI's log-centre; the
  interval of p values over every (L, U) consistent with the printed bounds is compared with the printed p.
- the HR should sit at the geometric centre sqrt(L U) of its CI;
- a CI excluding 1 should go with p < alpha and vice versa;
- the univariable -> multivariable entry rule (facts.cox_entry_p);
- two covariates of one model printing the same CI (a copied cell);
- a CI narrower than the covariate's group sizes allow (`cox_width`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

from paperlock.audit.cox_width import check_ci_width
from paperlock.audit.findings import Finding, Severity, fmt
from paperlock.audit.record import Entry, Record

STATS = ("hr", "ci_lower", "ci_upper", "p")


@dataclass(frozen=True)
class Estimate:
    """One printed HR (CI) p: the key stem is cox.<population>.<endpoint>.<model>.<covariate>."""

    stem: str
    place: str
    hr: Entry
    lower: Entry
    upper: Entry
    p: Entry | None

    @property
    def model(self) -> str:
        return self.stem.rsplit(".", 1)[0]

    @property
    def covariate(self) -> str:
        return self.stem.rsplit(".", 1)[1]

    @property
    def shown(self) -> str:
        p = f", p = {self.p.printed}" if self.p else ""
        return f"HR {self.hr.printed} ({self.lower.printed}–{self.upper.printed}){p}"

    @property
    def uncertain(self) -> str | None:
        return self.hr.uncertain


def estimates(rec: Record) -> list[Estimate]:
    cells: dict[tuple[str, str], dict[str, Entry]] = {}
    for e in rec.entries:
        if e.key.startswith("cox.") and e.kind in STATS:
            cells.setdefault((e.key.rsplit(".", 1)[0], e.place), {})[e.kind] = e
    return [Estimate(stem, place, c["hr"], c["ci_lower"], c["ci_upper"], c.get("p"))
            for (stem, place), c in sorted(cells.items()) if {"hr", "ci_lower", "ci_upper"} <= set(c)]


def _bounds(e: Entry) -> tuple[float, float]:
    """The printed value's rounding interval, kept positive (a printed 0.0 bound means 'below 0.05')."""
    return max(e.low, 1e-6), e.high


def wald_p_interval(lower: Entry, upper: Entry, z: float, widen: float = 1.0) -> tuple[float, float]:
    """Smallest and largest two-sided Wald p over every CI consistent with the printed bounds.

    With a = ln L, b = ln U the statistic is z (a + b) / (b - a); it is monotone in a and in b separately,
    so its extremes over the rounding box lie at the corners (and |z| reaches 0 if the sign changes).
    """
    (l0, l1), (u0, u1) = _bounds(lower), _bounds(upper)
    if widen != 1.0:
        l0, l1 = lower.value - widen * lower.half_unit, lower.value + widen * lower.half_unit
        u0, u1 = upper.value - widen * upper.half_unit, upper.value + widen * upper.half_unit
        l0 = max(l0, 1e-6)
    zs = []
    for lo, up in itertools.product((l0, l1), (u0, u1)):
        a, b = math.log(lo), math.log(up)
        if b <= a:
            continue
        zs.append(z * (a + b) / (b - a))
    if not zs:
        return 0.0, 1.0
    zmax = max(abs(x) for x in zs)
    zmin = 0.0 if min(zs) <= 0 <= max(zs) else min(abs(x) for x in zs)
    return 2 * stats.norm.sf(zmax), 2 * stats.norm.sf(zmin)


def centre_interval(lower: Entry, upper: Entry) -> tuple[float, float]:
    (l0, l1), (u0, u1) = _bounds(lower), _bounds(upper)
    return math.sqrt(l0 * u0), math.sqrt(l1 * u1)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] + 1e-12 and b[0] <= a[1] + 1e-12


def _p_point(est: Estimate, z: float) -> float:
    a, b = math.log(max(est.lower.value, 1e-6)), math.log(est.upper.value)
    return 2 * stats.norm.sf(abs(z * (a + b) / (b - a))) if b > a else 1.0


def check_estimate(est: Estimate, z: float, alpha: float,
                   same_p: dict[str, list[Estimate]] | None = None) -> list[Finding]:
    out: list[Finding] = []
    ev_base: dict[str, Any] = {"printed": est.shown, "place": est.place}
    if est.uncertain:
        ev_base["placement_uncertain"] = est.uncertain
    # Ordering.
    if not est.lower.value <= est.hr.value <= est.upper.value:
        out.append(_finding("hr-order", est, "gross", f"{est.shown}: the HR lies outside its own CI",
                            "A hazard ratio must lie inside its confidence interval.", ev_base))
        return out
    # HR at the geometric centre of its CI.
    centre = centre_interval(est.lower, est.upper)
    hr_iv = (est.hr.low, est.hr.high)
    if not _overlap(centre, hr_iv):
        mid = math.sqrt(max(est.lower.value, 1e-6) * est.upper.value)
        ratio = est.hr.value / mid
        wide = (math.sqrt(max(est.lower.value - 2 * est.lower.half_unit, 1e-6)
                          * (est.upper.value - 2 * est.upper.half_unit)),
                math.sqrt((est.lower.value + 2 * est.lower.half_unit) * (est.upper.value + 2 * est.upper.half_unit)))
        severity: Severity = ("rounding-level" if _overlap(wide, (est.hr.value - 2 * est.hr.half_unit,
                                                                 est.hr.value + 2 * est.hr.half_unit))
                              else "moderate" if abs(math.log(ratio)) < math.log(1.25) else "gross")
        out.append(_finding(
            "hr-centre", est, severity, f"{est.shown}: HR is not at the centre of its CI",
            f"A Cox CI is symmetric on the log scale, so the HR should be about sqrt(L·U) = {mid:.3f}; the printed "
            f"{est.hr.printed} is {ratio:.2f} times that.",
            {**ev_base, "geometric_centre": [fmt(centre[0]), fmt(centre[1])], "hr_interval": [fmt(hr_iv[0]),
                                                                                               fmt(hr_iv[1])]}))
    if est.p is None:
        return out
    # Wald p implied by the CI.
    implied = wald_p_interval(est.lower, est.upper, z)
    printed = (max(est.p.low, 0.0), est.p.high)
    if not _overlap(implied, printed):
        point = _p_point(est, z)
        loose = wald_p_interval(est.lower, est.upper, z, widen=3.0)
        wrong_side = (point < alpha) != (est.p.value < alpha)
        factor = max(point, 1e-300) / max(est.p.value, 1e-300)
        severity = ("rounding-level" if _overlap(loose, (max(est.p.value - 3 * est.p.half_unit, 0),
                                                          est.p.value + 3 * est.p.half_unit))
                    else "gross" if wrong_side or not 1 / 3 <= factor <= 3 else "moderate")
        twins = [o for o in (same_p or {}).get(est.p.printed, []) if o.stem != est.stem and est.p.decimals >= 3
                 and _overlap(wald_p_interval(o.lower, o.upper, z), (o.p.low, o.p.high))]  # type: ignore[union-attr]
        hint = (f" The same p is printed, consistently with its own CI, for {twins[0].covariate} in "
                f"{twins[0].place} ({twins[0].model}): possibly copied." if twins else "")
        ev = {**ev_base, "implied_p_interval": [fmt(implied[0]), fmt(implied[1])], "implied_p": fmt(point),
              "printed_p_interval": [fmt(printed[0]), fmt(printed[1])]}
        if twins:
            ev["same_printed_p"] = [f"{o.place}/{o.stem}" for o in twins]
        out.append(_finding(
            "wald-p", est, severity, f"{est.shown}: p does not match the CI",
            f"The CI implies a Wald p of about {point:.3g} (between {implied[0]:.3g} and {implied[1]:.3g} for every "
            f"rounding of the printed bounds), not {est.p.printed}.{hint}", ev))
    # CI excluding 1 versus p < alpha.
    excludes = est.lower.value > 1 or est.upper.value < 1
    touches = 1.0 in (est.lower.value, est.upper.value) or est.p.value == alpha
    if not touches and excludes != (est.p.value < alpha):
        out.append(_finding(
            "ci-vs-p", est, "gross", f"{est.shown}: CI and p disagree about significance",
            f"The 95% CI {'excludes' if excludes else 'includes'} 1, but p = {est.p.printed} is "
            f"{'not ' if excludes else ''}below {alpha}.", {**ev_base, "ci_excludes_1": excludes}))
    return out


def _finding(check: str, est: Estimate, severity: Severity, title: str, text: str, ev: dict[str, Any]) -> Finding:
    keys = tuple(e.key for e in (est.hr, est.lower, est.upper, est.p) if e is not None)
    return Finding(check, f"{check}/{est.place}/{est.stem}", severity, f"{est.place} {est.covariate}: {title}", text,
                   (est.place,), keys, ev)


def check_entry_rule(rec: Record, ests: list[Estimate]) -> list[Finding]:
    """Univariable p < threshold <=> a multivariable estimate is printed (per table, population, endpoint)."""
    threshold = rec.fact("cox_entry_p")
    if threshold is None:
        return []
    out: list[Finding] = []
    by = {(e.place, e.stem): e for e in ests}
    for e in ests:
        if ".uni." not in e.stem or e.p is None or not e.place.startswith("table"):
            continue
        multi_stem = e.stem.replace(".uni.", ".multi.")
        has_multi = (e.place, multi_stem) in by
        below = e.p.high <= threshold
        above = e.p.low >= threshold
        if below and not has_multi:
            why = f"; {e.uncertain}" if e.uncertain else ""
            out.append(Finding(
                "entry-rule", f"entry-rule/{e.place}/{e.stem}", "moderate",
                f"{e.place} {e.covariate}: univariable p = {e.p.printed} but no multivariable estimate",
                f"The Methods enter every covariate with univariable p < {threshold} into the multivariable model, "
                f"yet {e.place} prints no multivariable estimate for {e.covariate}{why}.",
                (e.place,), (e.p.key,), {"univariable": e.shown, "threshold": threshold,
                                         "placement_uncertain": bool(e.uncertain)}))
        if above and has_multi:
            m = by[(e.place, multi_stem)]
            out.append(Finding(
                "entry-rule", f"entry-rule/{e.place}/{multi_stem}", "moderate",
                f"{e.place} {e.covariate}: in the multivariable model with univariable p = {e.p.printed}",
                f"{e.covariate} has univariable p = {e.p.printed} (not below {threshold}) yet a multivariable "
                f"estimate {m.shown}.", (e.place,), (e.p.key, m.hr.key), {"threshold": threshold}))
    return out


def check_duplicate_ci(ests: list[Estimate]) -> list[Finding]:
    """Two covariates of one model (same table) printing the identical CI."""
    out: list[Finding] = []
    groups: dict[tuple[str, str, str, str], list[Estimate]] = {}
    for e in ests:
        groups.setdefault((e.place, e.model, e.lower.printed, e.upper.printed), []).append(e)
    for (place, model, lo, up), same in sorted(groups.items()):
        if len(same) < 2:
            continue
        covs = [e.covariate for e in same]
        out.append(Finding(
            "duplicate-ci", f"duplicate-ci/{place}/{model}/{lo}-{up}", "moderate",
            f"{place}: {', '.join(covs)} print the same CI ({lo}–{up}) in {model}",
            f"Different covariates of one model share the interval {lo}–{up} "
            f"({'; '.join(e.covariate + ' ' + e.shown for e in same)}); one is probably copied from the other.",
            (place,), tuple(x.key for e in same for x in (e.lower, e.upper)),
            {"estimates": {e.covariate: e.shown for e in same}}))
    return out


def check_cox(rec: Record) -> tuple[list[Finding], dict[str, Any]]:
    alpha = float(rec.fact("alpha", 0.05))
    level = float(rec.fact("ci_level", 0.95))
    z = float(stats.norm.ppf(0.5 + level / 2))
    ests = estimates(rec)
    same_p: dict[str, list[Estimate]] = {}
    for e in ests:
        if e.p is not None:
            same_p.setdefault(e.p.printed, []).append(e)
    findings = [f for e in ests for f in check_estimate(e, z, alpha, same_p)]
    findings += check_entry_rule(rec, ests)
    findings += check_duplicate_ci(ests)
    findings += check_ci_width(rec, ests, z)
    with_p = [e for e in ests if e.p is not None]
    consistent = sum(_overlap(wald_p_interval(e.lower, e.upper, z), (e.p.low, e.p.high))  # type: ignore[union-attr]
                     for e in with_p)
    return findings, {"estimates": len(ests), "with_p": len(with_p), "wald_p_consistent": int(consistent),
                      "z": fmt(z, 6)}
