"""Search for survival times, events and covariate assignments that reproduce the record's KM and Cox numbers.

The state is per patient: PFS and OS days (integers, PFS <= OS), the PFS and OS event flags and the binary Cox
covariates. As many patients as the record's numbers of progressions and deaths allow have both events, plus the
settings' `unmatched_event_pairs`: a patient who progressed and was alive at last follow-up with one censored for
PFS who died later (PFS < OS); moves exchange a patient's flags only whole, so these stay as many. The cost is a
weighted sum of tolerance-scaled errors over the targeted record numbers (inside its tolerance a term is
damped, so the search still centres the value). Five phases, each with a fixed effort (deterministic for a
seed):

1. `km`: simulated annealing of times, events and AFP > 400 against the Kaplan–Meier medians/CIs and the
   arm/AFP Cox rows, one arm at a time (`KM_STAGES`): the TKI arm's curve and its regimens' curves together
   (only TKI patients move), then the TKI-ICI arm's, its regimens' and the overall curves (only TKI-ICI
   patients move; the TKI curves may not lose a met number), then the AFP curves, then every curve at a low
   temperature. An arm's curve is the union of its regimens' curves, so the two are fitted together: fitted
   one after the other, the arm's times leave no partition into regimens that meets the regimen numbers.
   (Counting the overall curves in the first stage as well met 4 more KM numbers but left times on which the
   univariable search met 25 fewer Cox numbers, measured 2026-11-24; the stages are judged by both.) Each
   of the first two stages is several independent seeded runs from the same start (on two processes), of
   which the best is kept, each ended by a greedy polish of single-day shifts. Besides random moves, targeted
   moves put a failing curve's median event (or its event nearest the target day) on the target day, move
   the events at the ends of its density estimate (u, l) towards the SE the printed CI needs, or exchange
   such an event with another regimen's patient whose event is where the curve needs one; slides move a
   patient between its regimen neighbours (the regimen curve keeps its numbers). Each curve's cost includes
   how far S is from crossing 0.5 on the target day, so the search has a slope where the median itself does
   not move, and each number is weighted by how many record entries print it (an arm median printed in the
   abstract, Table 2 and the text counts three times). A curve whose printed median is excluded but whose CI
   is kept gets the CI's midpoint as a search-only median. Then the curves once more, one endpoint at a time:
   the OS curves alone (any move), then the PFS curves alone with only PFS days moving (the OS curves keep
   what they met), each annealed freely (a move may add a failure) and polished, then every curve with the
   arm/AFP Cox rows at a low temperature (no move adds a KM failure). With both endpoints counted at once the
   curves ended at 17-21 failed numbers, one endpoint at a time at 4-8 (measured 2026-11-25). In the
   one-endpoint stages a reshaping move (`_propose_km_reshape`) moves one patient of a failing curve and solves
   the curve's interval for the new order of its events;
2. `cox_uni`: times fixed, each covariate's column searched on its own against its univariable rows
   (`cox_search`), its Wald p kept on the record's side of the multivariable entry threshold;
3. `cox_multi`: cycles over the multivariable models' covariates, each column searched against its
   univariable rows and its models' rows together (`cox_search.multivariable_phase`; the AFP column only by
   moves that add no AFP-curve failure);
4. `cox_times`: survival times and events against all Cox rows, no move adding a KM failure (`time_search`);
5. the columns of the covariates outside every multivariable model searched once more as in phase 2, on the
   final times (measured 2026-11-25 on seeds 20250306 / 7 / 11: 909 / 889 / 908 targets met against
   907 / 886 / 906, about 15 s; a second `cox_times` run before it, with or without exchanges within a regimen,
   added nothing: the time search had already stopped improving).

Phases 4 and 5 run as `tails` independent seeded runs from the state after phase 3, side by side on the two
cores; the run with the lowest Cox cost (`time_search.CoxTimeSearch`) is kept. The outcome of one run varies by a
few targets with its seed, and that cost ranks the runs as the calibration report does (measured 2026-12-07 from
the phase-3 states of seeds 20250306 / 7 / 11, four runs each: targets met 905-910 / 885-891 / 902-907, and on
every seed the cheapest run met the most; the same cost taken before phase 5 did not rank them: on seed 20250306
it put the best run third).

Only the parts a move touches are recomputed (curves holding the patient, Cox fits of one column).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperlock.cohort.cox_search import RowTargets, multivariable_phase, univariable_phase
from paperlock.cohort.design import ARMS, Design
from paperlock.cohort.fast_survival import R_TOL, Z95, KMMedian, cox_uni_sorted, km_median_spss, risk_index
from paperlock.cohort.parallel import run_jobs
from paperlock.cohort.progress import Progress
from paperlock.cohort.targets import Record

ENDPOINTS = ("pfs", "os")
POPULATIONS = ("all", "tki_ici")
KM_STATS = ("median", "ci_lower", "ci_upper")
EXACT_TOL = 0.004  # months: well inside the half unit of a 2-decimal printed value
CROSSING_UNIT = 0.01  # survival units: a curve 0.01 short of crossing 0.5 on its target day costs 1
MAX_DAYS = 2000


@dataclass
class KMTarget:
    endpoint: str
    stratifier: str
    group: str
    stat: str
    value: float
    tol: float
    weight: float = 1.0  # the number of record entries printing the number (the audit counts each)


@dataclass
class CoxTarget:
    population: str
    endpoint: str
    model: str
    covariate: str
    stat: str
    value: float
    tol_abs: float


def km_targets(record: Record, settings: dict[str, Any]) -> list[KMTarget]:
    tiers = settings["tiers"]
    out = []
    for key in record.keys_with_prefix("km."):
        parts = key.split(".")
        if len(parts) != 5 or parts[4] not in KM_STATS:
            continue
        _, ep, strat, group, stat = parts
        value = record.value(key)
        tol = EXACT_TOL
        if stat != "median" and not km_interval_symmetric(record, f"km.{ep}.{strat}.{group}",
                                                          float(settings["month_days"])):
            tol = float(tiers["km_ci_asymmetric"]["abs"])
        out.append(KMTarget(ep, strat, group, stat, value, tol, float(record.times_printed(key))))
    return out + implied_medians(out, float(settings["month_days"]))


def implied_medians(targets: list[KMTarget], month_days: float) -> list[KMTarget]:
    """A search-only median for a curve whose printed median is excluded but whose CI is kept: SPSS's CI is
    symmetric, so the median is the interval's midpoint, rounded to a whole day."""
    by_curve: dict[tuple[str, str, str], dict[str, float]] = {}
    for t in targets:
        by_curve.setdefault((t.endpoint, t.stratifier, t.group), {})[t.stat] = t.value
    out = []
    for (ep, strat, group), vals in by_curve.items():
        if "median" not in vals and "ci_lower" in vals and "ci_upper" in vals:
            day = round((vals["ci_lower"] + vals["ci_upper"]) / 2 * month_days)
            out.append(KMTarget(ep, strat, group, "median", day / month_days, EXACT_TOL))
    return out


def km_interval_symmetric(record: Record, base: str, month_days: float) -> bool:
    """True when some half-width h rounds median - h and median + h to the printed bounds (SPSS prints the
    median ± z·SE, rounding half up), with the median an exact number of days (the printed median rounded to a
    whole day / month). With a = median - lower and b = upper - median, the bounds need h in
    (a - δl, a + δl] and [b - δu, b + δu) (δ: half a printed unit). These meet in an interval only when
    |a - b| < δl + δu; at |a - b| = δl + δu they share at most one point (h = 4.305 exactly for REG mOS
    3.19–11.80 about 7.50), which a computed SE does not hit, so such an interval is not symmetric."""
    vals = {}
    for e in record.all_entries:
        if e.key.startswith(base + ".") and e.key.rsplit(".", 1)[1] in KM_STATS:
            vals.setdefault(e.key.rsplit(".", 1)[1], e)
    if len(vals) < 3:
        return False
    median = round(vals["median"].value * month_days) / month_days
    slack = sum(0.5 * 10.0 ** -vals[s].decimals for s in ("ci_lower", "ci_upper"))
    a, b = median - vals["ci_lower"].value, vals["ci_upper"].value - median
    return abs(a - b) < slack - 1e-9


def cox_targets(record: Record, settings: dict[str, Any], cov_names: list[str]) -> list[CoxTarget]:
    tiers = settings["tiers"]
    out = []
    for key in record.keys_with_prefix("cox."):
        parts = key.split(".")
        if len(parts) != 6 or parts[5] not in ("hr", "ci_lower", "ci_upper") or parts[4] not in cov_names:
            continue
        _, pop, ep, model, cov, stat = parts
        value = record.value(key)
        tol = float(tiers[f"cox_{model}_hr"]["abs"]) if stat == "hr" else float(tiers[f"cox_{model}_ci"]["rel"]) * value
        out.append(CoxTarget(pop, ep, model, cov, stat, value, tol))
    return out


def entry_p(record: Record, pop: str, ep: str, cov: str) -> float | None:
    """The univariable p that puts a covariate on its side of the multivariable entry threshold: the printed p,
    or where that p is excluded (contradicted by its own CI) the Wald p its printed CI implies."""
    stem = f"cox.{pop}.{ep}.uni.{cov}"
    p = record.get(f"{stem}.p")
    lower, upper = record.get(f"{stem}.ci_lower"), record.get(f"{stem}.ci_upper")
    if p is not None or not record.excluded(f"{stem}.p") or lower is None or upper is None:
        return p
    z = Z95 * (math.log(lower) + math.log(upper)) / (math.log(upper) - math.log(lower))
    return math.erfc(abs(z) / math.sqrt(2.0))


def multivariable_sets(record: Record, settings: dict[str, Any], cov_names: list[str]) -> dict:
    """(population, endpoint) -> covariates whose univariable p (`entry_p`) is below the threshold."""
    thr = float(settings["multivariable_p_threshold"])
    out = {}
    for pop in POPULATIONS:
        for ep in ENDPOINTS:
            covs = [c for c in cov_names if (p := entry_p(record, pop, ep, c)) is not None and p < thr]
            if covs and any(record.has(f"cox.{pop}.{ep}.multi.{c}.hr") for c in covs):
                out[(pop, ep)] = covs
    return out


def term(err: np.ndarray | float, tol: np.ndarray | float) -> np.ndarray | float:
    """Tolerance-scaled error r: 0.05·r² inside the tolerance, 1 + r beyond it (a miss costs at least 1)."""
    if isinstance(err, float) and isinstance(tol, float):  # the KM cost's scalars: same arithmetic, no arrays
        r = abs(err) / tol
        return 1.0 + r if r > 1.0 else 0.05 * r * r
    r = np.abs(err) / tol
    return np.where(r > 1.0, 1.0 + r, 0.05 * r * r)


@dataclass
class State:
    """Per patient: PFS and OS days, the event flags (`ev[0]` progression or death, `ev[1]` death) and the
    binary Cox covariates. A patient whose flags differ is *unmatched*: (1, 0) progressed and alive at last
    follow-up, (0, 1) censored for PFS (at a day before death) and died."""

    pfs: np.ndarray
    os: np.ndarray
    ev: np.ndarray  # (2, n) int64
    X: np.ndarray
    max_gap: int | None = None  # most days from PFS censoring to last follow-up of a patient alive, censored for PFS
    min_progression: int | None = None  # earliest day of a progression that is not a death (`realism`)

    def copy(self) -> State:
        return State(self.pfs.copy(), self.os.copy(), self.ev.copy(), self.X.copy(), self.max_gap,
                     self.min_progression)

    def take(self, other: State) -> None:
        """Overwrite the days, flags and covariates in place with `other`'s (a searched copy kept)."""
        for name in ("pfs", "os", "ev", "X"):
            getattr(self, name)[...] = getattr(other, name)

    def time(self, ep: str) -> np.ndarray:
        return self.pfs if ep == "pfs" else self.os

    def events(self, ep: str) -> np.ndarray:
        return self.ev[0] if ep == "pfs" else self.ev[1]

    def censored_then_dead(self, i: int) -> bool:
        """Patient i was censored for PFS and died later (so PFS < OS)."""
        return bool(self.ev[0, i] == 0 and self.ev[1, i] == 1)

    def order_ok(self, i: int, pfs: int, os_: int) -> bool:
        """Whether patient i may have these days: PFS <= OS, and PFS < OS if censored for PFS but dead."""
        if not (pfs < os_ or (pfs == os_ and not self.censored_then_dead(i))):
            return False
        if self.min_progression is not None and self.ev[0, i] and pfs < self.min_progression \
                and not (self.ev[1, i] and pfs == os_):
            return False  # a progression (not a death) before the first assessments
        return self.max_gap is None or bool(self.ev[0, i] or self.ev[1, i]) or os_ - pfs <= self.max_gap

    def unmatched(self) -> int:
        return int((self.ev[0] != self.ev[1]).sum())


@dataclass
class Calibrator:
    design: Design
    record: Record
    settings: dict[str, Any]
    km: list[KMTarget] = field(default_factory=list)
    cox: list[CoxTarget] = field(default_factory=list)
    multi_sets: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.design
        self.cov_names = [c.name for c in d.covariates]
        self.col = {c: j for j, c in enumerate(self.cov_names)}
        self.km = km_targets(self.record, self.settings)
        self.cox = cox_targets(self.record, self.settings, self.cov_names)
        self.multi_sets = multivariable_sets(self.record, self.settings, self.cov_names)
        self.model_covariates = {c for covs in self.multi_sets.values() for c in covs}  # in any model
        self.month = float(self.settings["month_days"])
        w = self.settings["weights"]
        self.w_km, self.w_uni, self.w_multi = float(w["km"]), float(w["cox_uni"]), float(w["cox_multi"])
        self.afp_col = self.col.get("afp_gt400")
        self.max_ties = int(self.settings.get("realism", {}).get("max_events_per_day", 0)) or None
        self.active: set[tuple[str, str, str]] | None = None  # KM curves the cost counts (None = all)
        self._fixed_masks: dict[tuple[str, str], np.ndarray] = {}  # curve membership by design
        self.pop_mask = {"all": np.ones(d.n, dtype=bool), "tki_ici": d.is_ici}
        # KM curves: (endpoint, stratifier, group) -> list of targets
        self.curves: dict[tuple[str, str, str], list[KMTarget]] = {}
        for t in self.km:
            self.curves.setdefault((t.endpoint, t.stratifier, t.group), []).append(t)
        # probe times (months) just before and at each curve's target median day
        self.median_probe = {key: ((round(t.value * self.month) - 0.5) / self.month,
                                   (round(t.value * self.month) + 0.5) / self.month)
                             for key, ts in self.curves.items() for t in ts if t.stat == "median"}
        # univariable target arrays per (population, endpoint): shape (3, n_cov), nan where no target
        m = len(self.cov_names)
        self.uni_t = {(p, e): np.full((3, m), np.nan) for p in POPULATIONS for e in ENDPOINTS}
        self.uni_tol = {(p, e): np.ones((3, m)) for p in POPULATIONS for e in ENDPOINTS}
        # printed univariable p per (population, endpoint) and column (the search pulls z towards it), and the
        # side of the entry threshold (`entry_p`: an excluded p is not pulled towards, its CI still gives a side)
        thr = float(self.settings["multivariable_p_threshold"])

        def per_column(get: Callable[[str, str, str], float | None]) -> dict:
            return {(p, e): np.array([np.nan if (v := get(p, e, c)) is None else v for c in self.cov_names])
                    for p in POPULATIONS for e in ENDPOINTS}

        self.uni_p = per_column(lambda p, e, c: self.record.get(f"cox.{p}.{e}.uni.{c}.p"))
        self.uni_side = {k: np.where(np.isnan(v), np.nan, (v < thr).astype(float))
                         for k, v in per_column(lambda p, e, c: entry_p(self.record, p, e, c)).items()}
        self.entry_threshold = thr
        self._row_targets: dict = {}
        self.multi_t: dict = {}
        for t in self.cox:
            row = ("hr", "ci_lower", "ci_upper").index(t.stat)
            if t.model == "uni":
                self.uni_t[(t.population, t.endpoint)][row, self.col[t.covariate]] = t.value
                self.uni_tol[(t.population, t.endpoint)][row, self.col[t.covariate]] = t.tol_abs
            elif (t.population, t.endpoint) in self.multi_sets:
                covs = self.multi_sets[(t.population, t.endpoint)]
                if t.covariate in covs:
                    arr = self.multi_t.setdefault((t.population, t.endpoint),
                                                  (np.full((3, len(covs)), np.nan), np.ones((3, len(covs)))))
                    arr[0][row, covs.index(t.covariate)] = t.value
                    arr[1][row, covs.index(t.covariate)] = t.tol_abs
        # printed multivariable p per model covariate (nan = none)
        self.multi_p = {k: np.array([np.nan if (v := self.record.get(f"cox.{k[0]}.{k[1]}.multi.{c}.p")) is None
                                     else v for c in covs]) for k, covs in self.multi_sets.items()}

    # ---- curve membership -------------------------------------------------------------------------
    def curve_mask(self, s: State, strat: str, group: str) -> np.ndarray:
        if strat == "afp_baseline":
            hi = s.X[:, self.afp_col] == 1
            return hi if group == "gt400" else ~hi
        key = (strat, group)
        if key not in self._fixed_masks:  # membership by design: computed once
            d = self.design
            if strat == "overall":
                mask = np.ones(d.n, dtype=bool)
            elif strat == "arm":
                mask = d.arm == group
            elif strat == "regimen":
                mask = d.regimen == group
            else:
                raise ValueError(strat)
            mask.flags.writeable = False
            self._fixed_masks[key] = mask
        return self._fixed_masks[key]

    def curves_of(self, s: State, i: int, ep: str | None) -> list[tuple[str, str, str]]:
        hi = bool(s.X[i, self.afp_col] == 1) if self.afp_col is not None else False
        out = []
        for key in self.curves:
            if ep is not None and key[0] != ep:
                continue
            if key[1] == "afp_baseline":
                if hi == (key[2] == "gt400"):
                    out.append(key)
            elif self.curve_mask(s, key[1], key[2])[i]:
                out.append(key)
        return out

    # ---- cost components ---------------------------------------------------------------------------
    def km_cost(self, s: State, key: tuple[str, str, str]) -> tuple[float, int, KMMedian]:
        ep, strat, group = key
        if self.active is not None and key not in self.active:
            return 0.0, 0, KMMedian(np.nan, np.nan, np.nan, False)
        mask = self.curve_mask(s, strat, group)
        probe = self.median_probe.get(key, ())
        med = km_median_spss(s.time(ep)[mask].astype(float) / self.month, s.events(ep)[mask], at=probe)
        cost, fails = 0.0, 0
        if probe:  # how far S is from crossing 0.5 on the target day: a slope where the median is flat
            before, on = med.s_at
            cost += (max(0.0, on - 0.5 - R_TOL) + max(0.0, 0.5 + R_TOL - before)) / CROSSING_UNIT
        vals = {"median": med.median, "ci_lower": med.lower, "ci_upper": med.upper}
        for t in self.curves[key]:
            v = vals[t.stat]
            if not np.isfinite(v):
                cost += 200.0
                fails += 1
                continue
            err = abs(v - t.value)
            fails += err > t.tol
            cost += t.weight * float(term(err, t.tol))
        if med.exactly_half:
            cost += 50.0
            fails += 1
        return self.w_km * cost, fails, med

    def uni_fit(self, s: State, pop: str, ep: str, cols: np.ndarray | None = None,
                beta0: np.ndarray | None = None, steps: int = 12):
        """Univariable Breslow fits of `cols` (all columns if None) in one population and endpoint, by the counting
        form of the risk sets (the covariates are 0/1, as in `cox_search`)."""
        mask = self.pop_mask[pop]
        X = s.X[mask] if cols is None else s.X[mask][:, cols]
        order, last = risk_index(s.time(ep)[mask])
        Xs = X[order]
        return cox_uni_sorted(Xs.astype(float), last, s.events(ep)[mask][order].astype(bool), beta0, steps,
                              binary=True)

    def uni_cost_from(self, fit, pop: str, ep: str, cols: np.ndarray | None = None,
                      miss: str = "linear") -> np.ndarray:
        key = (pop, ep, None if cols is None else tuple(int(j) for j in np.atleast_1d(cols)))
        rows = self._row_targets.get(key)
        if rows is None:  # prepared once per population, endpoint and set of columns
            t, tol = self.uni_t[(pop, ep)], self.uni_tol[(pop, ep)]
            p, side = self.uni_p[(pop, ep)], self.uni_side[(pop, ep)]
            if cols is not None:
                t, tol, p, side = t[:, cols], tol[:, cols], p[cols], side[cols]
            rows = self._row_targets[key] = RowTargets.of(t, tol, p, side)
        return self.w_uni * rows.cost(fit, self.entry_threshold, miss)


class Search:
    """Cached cost components over a state, with apply/revert of one move at a time."""

    uni_miss = "linear"  # the shape of a missed univariable number's cost (`cox_search.miss_cost`)

    def __init__(self, cal: Calibrator, state: State, uni_cols: list[int] | None) -> None:
        self.cal, self.s = cal, state
        self.uni_cols = uni_cols  # restrict univariable targets to these columns (phase 1)
        self.movable = np.arange(cal.design.n)  # the patients whose survival moves may change
        self.slidable: np.ndarray | None = None  # the patients slides may move (None: the movable ones)
        self.km: dict = {}
        self.km_fail: dict = {}
        self.km_med: dict = {}
        self.uni: dict = {}
        self.uni_beta: dict = {}
        self.uni_se: dict = {}
        for key in cal.curves:
            self.km[key], self.km_fail[key], self.km_med[key] = cal.km_cost(state, key)
        for pop in POPULATIONS:
            for ep in ENDPOINTS:
                self._refit_uni(pop, ep, full=True)

    def _refit_uni(self, pop: str, ep: str, full: bool = False) -> None:
        m = len(self.cal.cov_names)
        if full:
            self.uni[(pop, ep)] = np.zeros(m)
            self.uni_beta[(pop, ep)] = np.zeros(m)
            self.uni_se[(pop, ep)] = np.full(m, np.inf)
        cols = np.arange(m) if self.uni_cols is None else np.array(self.uni_cols, dtype=int)
        if not len(cols):
            return
        fit = self.cal.uni_fit(self.s, pop, ep, cols=cols, beta0=self.uni_beta[(pop, ep)][cols],
                               steps=12 if full else 4)
        self.uni[(pop, ep)][cols] = self.cal.uni_cost_from(fit, pop, ep, cols=cols, miss=self.uni_miss)
        self.uni_beta[(pop, ep)][cols] = fit.beta
        self.uni_se[(pop, ep)][cols] = fit.se

    def total(self) -> float:
        return sum(self.km.values()) + sum(float(v.sum()) for v in self.uni.values())

    def km_failures(self) -> int:
        return int(sum(self.km_fail.values()))

    def snapshot(self, keys_km, uni_keys) -> tuple:
        return ({k: (self.km[k], self.km_fail[k], self.km_med[k]) for k in keys_km},
                {k: (self.uni[k].copy(), self.uni_beta[k].copy(), self.uni_se[k].copy()) for k in uni_keys})

    def restore(self, snap: tuple) -> None:
        for k, (c, f, m) in snap[0].items():
            self.km[k], self.km_fail[k], self.km_med[k] = c, f, m
        for k, (c, b, se) in snap[1].items():
            self.uni[k], self.uni_beta[k], self.uni_se[k] = c, b, se

    def recompute(self, keys_km, uni_keys, cols: list[int] | None = None) -> None:
        for k in keys_km:
            self.km[k], self.km_fail[k], self.km_med[k] = self.cal.km_cost(self.s, k)
        for pop, ep in uni_keys:
            if cols is None:
                self._refit_uni(pop, ep)
            else:
                cidx = np.array(cols)
                beta0 = self.uni_beta[(pop, ep)][cidx]
                fit = self.cal.uni_fit(self.s, pop, ep, cols=cidx, beta0=beta0, steps=5)
                c = self.cal.uni_cost_from(fit, pop, ep, cols=cidx, miss=self.uni_miss)
                if self.uni_cols is not None:
                    c = c * np.isin(cidx, self.uni_cols)
                self.uni[(pop, ep)][cidx] = c
                self.uni_beta[(pop, ep)][cidx] = fit.beta
                self.uni_se[(pop, ep)][cidx] = fit.se


def anneal(search: Search, rng: np.random.Generator, iterations: int, moves: dict[str, float],
           progress: Progress, t0: float, t1: float, protect_km: bool = False,
           locked: set | None = None) -> None:
    """Simulated annealing over `moves` (kind -> weight). `protect_km`: a move may not add to the failures of
    the curves it touches; `locked`: curves none of whose failure counts may grow (a met number stays met)."""
    s, d = search.s, search.cal.design
    names = list(moves)
    probs = np.array([moves[k] for k in names], dtype=float)
    probs /= probs.sum()
    swap_cols = [j for j, c in enumerate(d.covariates) if c.kind == "swap"]
    range_cols = [j for j, c in enumerate(d.covariates) if c.kind == "range"]
    if search.uni_cols is not None:
        swap_cols = [j for j in swap_cols if j in search.uni_cols]
        range_cols = [j for j in range_cols if j in search.uni_cols]
    current = search.total()
    accepted = 0
    for it in range(iterations):
        temp = t0 * (t1 / t0) ** (it / max(1, iterations - 1))
        kind = names[int(rng.choice(len(names), p=probs))]
        undo = _propose(kind, search, rng, swap_cols, range_cols)
        if undo is None:
            continue
        if not _ties_allowed(search, undo):
            _undo(s, undo)
            continue
        keys_km, uni_keys, cols = _affected(search, kind, undo)
        snap = search.snapshot(keys_km, uni_keys)
        fails_before = sum(search.km_fail[k] for k in keys_km)
        locked_before = {k: search.km_fail[k] for k in keys_km if locked and k in locked}
        search.recompute(keys_km, uni_keys, cols)
        new = search.total()
        delta = new - current
        ok = delta <= 0 or rng.random() < math.exp(-delta / temp)
        if ok and protect_km and sum(search.km_fail[k] for k in keys_km) > fails_before:
            ok = False
        if ok and any(search.km_fail[k] > f for k, f in locked_before.items()):
            ok = False
        if ok:
            current = new
            accepted += 1
        else:
            _undo(s, undo)
            search.restore(snap)
        if it % 200 == 0:
            progress.update(iter=f"{it}/{iterations}", cost=current, km_fail=search.km_failures(),
                            accepted=accepted)
    progress.done(iter=iterations, cost=search.total(), km_fail=search.km_failures(), accepted=accepted)


POLISH_SHIFTS = np.array([d for k in (1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65) for d in (-k, k)])


def km_polish(search: Search, rng: np.random.Generator, rounds: int, progress: Progress) -> None:
    """Greedy descent after annealing: every movable patient's PFS or OS day tried at fixed shifts (in a random
    order); a shift that lowers the cost without a new failure on the curves it touches (or on a locked curve)
    is kept. Repeated while a round still improves, at most `rounds` times. It turns near misses (a bound
    0.001 outside its rounding interval) into hits that random moves rarely find."""
    s = search.s
    current = search.total()
    kept = 0
    for r in range(rounds):
        improved = False
        for ep in ENDPOINTS:
            times = s.time(ep)
            for i in rng.permutation(search.movable):
                for shift in rng.permutation(POLISH_SHIFTS):
                    old = int(times[i])
                    new = old + int(shift)
                    if not 1 <= new <= MAX_DAYS or not _days_ok(s, int(i), ep, new):
                        continue
                    times[i] = new
                    undo = ("time", ep, int(i), old)
                    if not _ties_allowed(search, undo):
                        times[i] = old
                        continue
                    keys_km, uni_keys, cols = _affected(search, "time", undo)
                    snap = search.snapshot(keys_km, uni_keys)
                    fails = {k: search.km_fail[k] for k in keys_km}
                    search.recompute(keys_km, uni_keys, cols)
                    total = search.total()
                    worse = any(search.km_fail[k] > f for k, f in fails.items())
                    if total < current - 1e-9 and not worse:
                        current, improved, kept = total, True, kept + 1
                    else:
                        times[i] = old
                        search.restore(snap)
        progress.update(polish=r + 1, cost=current, km_fail=search.km_failures(), kept=kept)
        if not improved or search.km_failures() == 0:
            break


def _ties_allowed(search: Search, undo) -> bool:
    """Whether a move keeps every day at most `max_events_per_day` events of an endpoint (settings, `realism`):
    data recorded in days have few ties, and without the limit the search stacks events on target days."""
    limit, s = search.cal.max_ties, search.s
    if limit is None or undo[0] not in ("time", "times", "event"):
        return True  # exchanges keep each endpoint's (day, event) pairs; covariate moves keep the times
    if undo[0] == "time":
        moved = [(undo[1], undo[2])]
    elif undo[0] == "times":
        moved = [(undo[1], i) for i, _ in undo[2]]
    else:
        moved = [(ep, k) for ep in ENDPOINTS for k in undo[1:3]]
    for ep, i in moved:
        t, e = s.time(ep), s.events(ep)
        if e[i] and int(((t == t[i]) & (e == 1)).sum()) > limit:
            return False
    return True


def _days_ok(s: State, i: int, ep: str, new: int) -> bool:
    """Whether patient i's `ep` day may become `new` (`State.order_ok`)."""
    return s.order_ok(i, new, int(s.os[i])) if ep == "pfs" else s.order_ok(i, int(s.pfs[i]), new)


def _pick(search: Search, rng: np.random.Generator) -> int:
    return int(search.movable[rng.integers(len(search.movable))])


def _propose(kind: str, search: Search, rng: np.random.Generator, swap_cols, range_cols):
    s, d = search.s, search.cal.design
    if kind == "km":
        return _propose_km(search, rng)
    if kind == "km_reshape":
        return _propose_km_reshape(search, rng)
    if kind in ("pfs", "os"):
        i = _pick(search, rng)
        arr = s.pfs if kind == "pfs" else s.os
        old = int(arr[i])
        small = rng.random() < 0.5
        new = old + int(rng.integers(-6, 7)) if small else int(round(old * math.exp(rng.normal(0, 0.35))))
        new = min(max(new, 1), MAX_DAYS)
        if new == old:
            return None
        if not _days_ok(s, i, kind, new):
            return None
        arr[i] = new
        return ("time", kind, i, old)
    if kind == "km_exchange":
        return _propose_km_exchange(search, rng)
    if kind.startswith("slide"):
        return _propose_slide(search, rng, kind.split("_", 1)[1])
    if kind.startswith("exchange"):
        return _propose_exchange(search, rng, kind)
    if kind == "event":  # two patients exchange their event flags (the numbers of events stay)
        i = _pick(search, rng)
        other = np.flatnonzero((s.ev[0] != s.ev[0, i]) | (s.ev[1] != s.ev[1, i]))
        if not len(other):
            return None
        j = int(other[rng.integers(len(other))])
        return _swap_flags(s, i, j)
    if kind == "swap":
        if not swap_cols:
            return None
        c = swap_cols[int(rng.integers(len(swap_cols)))]
        a = ARMS[int(rng.integers(2))]
        ones = np.flatnonzero((d.arm == a) & (s.X[:, c] == 1))
        zeros = np.flatnonzero((d.arm == a) & (s.X[:, c] == 0))
        if not len(ones) or not len(zeros):
            return None
        i, j = int(ones[rng.integers(len(ones))]), int(zeros[rng.integers(len(zeros))])
        s.X[i, c], s.X[j, c] = 0, 1
        return ("swap", c, i, j)
    if kind == "flip":
        if not range_cols:
            return None
        c = range_cols[int(rng.integers(len(range_cols)))]
        cov = d.covariates[c]
        i = int(rng.integers(d.n))
        a = d.arm[i]
        k = int(s.X[d.arm == a, c].sum()) + (1 if s.X[i, c] == 0 else -1)
        tot = int(s.X[:, c].sum()) + (1 if s.X[i, c] == 0 else -1)
        lo, hi = cov.bounds[a]
        if not (lo <= k <= hi and cov.pooled[0] <= tot <= cov.pooled[1]):
            return None
        s.X[i, c] = 1 - s.X[i, c]
        return ("flip", c, i)
    raise ValueError(kind)


def _failing_curve(search: Search, rng: np.random.Generator) -> tuple[str, str, str] | None:
    """A curve with a failed number, drawn at random (None: every counted curve meets its numbers)."""
    failing = [k for k, f in search.km_fail.items() if f]
    if not failing:
        return None
    return failing[int(rng.integers(len(failing)))]


def _propose_km(search: Search, rng: np.random.Generator):
    """A targeted move on a failing Kaplan–Meier curve: put its median event, or the event nearest the target
    day, on the target day, or move the event at u or l (the density estimate's ends) so that the SE gives
    the target interval."""
    cal, s = search.cal, search.s
    key = _failing_curve(search, rng)
    if key is None:
        return None
    ep = key[0]
    med = search.km_med[key]
    targets = {t.stat: t.value for t in cal.curves[key]}
    if not np.isfinite(med.median) or "median" not in targets:
        return None
    mask = cal.curve_mask(s, key[1], key[2])
    times = s.time(ep)
    target_day = int(round(targets["median"] * cal.month))
    day = int(round(med.median * cal.month))
    if day != target_day and rng.random() < 0.5:
        # the curve's event nearest the target day moves onto it (a small step for the enclosing curves)
        ev_days = np.unique(times[mask & (s.events(ep) == 1)])
        ev_days = ev_days[ev_days != target_day]
        if not len(ev_days):
            return None
        who, new = int(ev_days[np.argmin(np.abs(ev_days - target_day))]), target_day
    elif day != target_day or rng.random() < 0.15:
        who, new = day, target_day + (0 if day != target_day else int(rng.integers(-2, 3)))
    else:
        end = _density_end_move(med, targets, cal.month, rng)
        if end is None:
            return None
        who, new = end
        new += int(rng.integers(-1, 2))
    cand = np.intersect1d(np.flatnonzero(mask & (s.events(ep) == 1) & (times == who)), search.movable)
    if not len(cand):
        return None
    i = int(cand[rng.integers(len(cand))])
    new = min(max(new, 1), MAX_DAYS)
    old = int(times[i])
    if new == old or not _days_ok(s, i, ep, new):
        return None
    times[i] = new
    return ("time", ep, i, old)


def _density_end_move(med: KMMedian, targets: dict[str, float], month: float,
                      rng: np.random.Generator) -> tuple[int, int] | None:
    """(day of the event at u or at l, the day it should move to) for the SE the printed interval needs: the
    density estimate is inversely proportional to l - u, so the gap is scaled by target SE / current SE."""
    if not ("ci_lower" in targets and "ci_upper" in targets and np.isfinite(med.lower)):
        return None
    se_target = (targets["ci_upper"] - targets["ci_lower"]) / (2 * Z95)
    se_now = (med.upper - med.lower) / (2 * Z95)
    gap = (med.l_time - med.u_time) * se_target / max(se_now, 1e-9)
    if med.u_time > 0 and rng.random() < 0.5:
        return int(round(med.u_time * month)), int(round((med.l_time - gap) * month))
    return int(round(med.l_time * month)), int(round((med.u_time + gap) * month))


def _propose_km_reshape(search: Search, rng: np.random.Generator):
    """A failing curve's shape changes, then its interval is solved for: one of its patients moves to another
    day (at most `RESHAPE_DAYS` away), which may change the order of its deaths and censorings around the
    median; then the event at l (or at u) of the density estimate moves to the day whose span l - u gives the
    printed half-width under the new order. The half-width is z·sqrt(Var)/(S(u) - S(l)) per day of span, a
    step of days, so a printed interval is met only by some orders and one span among them: moving u or l
    alone (`_propose_km`) cannot leave an order whose step misses the printed value."""
    cal, s = search.cal, search.s
    key = _failing_curve(search, rng)
    if key is None:
        return None
    ep = key[0]
    times, events = s.time(ep), s.events(ep)
    mask = cal.curve_mask(s, key[1], key[2])
    mine = np.intersect1d(np.flatnonzero(mask), search.movable)
    if not len(mine):
        return None
    i = int(mine[rng.integers(len(mine))])
    old = int(times[i])
    new = old + int(rng.integers(-RESHAPE_DAYS, RESHAPE_DAYS + 1))
    if new == old or not 1 <= new <= MAX_DAYS or not _days_ok(s, i, ep, new):
        return None
    times[i] = new
    moved = [(i, old)]
    end = _span_end_move(cal.km_cost(s, key)[2], {t.stat: t.value for t in cal.curves[key]}, cal.month, rng)
    if end is not None:
        who, day = end
        cand = np.intersect1d(np.flatnonzero(mask & (events == 1) & (times == who)), search.movable)
        if len(cand):
            j = int(cand[rng.integers(len(cand))])
            if 1 <= day <= MAX_DAYS and day != who and _days_ok(s, j, ep, day):
                moved.append((j, int(times[j])))
                times[j] = day
    return ("times", ep, tuple(moved))


def _span_end_move(med: KMMedian, targets: dict[str, float], month: float,
                   rng: np.random.Generator) -> tuple[int, int] | None:
    """(day of the event at l or at u, the day it should move to) so that the span l - u in whole days gives the
    printed half-width (the mean of the printed bounds' distances from the median: a bound may be excluded or the
    interval not symmetric to rounding): the half-width per day of span is fixed by the curve's order of events."""
    centre = targets.get("median", med.median)
    halves = [centre - targets[b] if b == "ci_lower" else targets[b] - centre
              for b in ("ci_lower", "ci_upper") if b in targets]
    if not halves or not np.isfinite(med.lower):
        return None
    u_day, l_day = int(round(med.u_time * month)), int(round(med.l_time * month))
    if l_day <= u_day:
        return None
    per_day = (med.upper - med.lower) / 2 / (l_day - u_day)
    if not per_day > 0:  # no variance at the median (S reached 0)
        return None
    span = int(round(sum(halves) / len(halves) / per_day))
    if u_day > 0 and rng.random() < 0.5:
        return u_day, l_day - span
    return l_day, u_day + span


def _propose_km_exchange(search: Search, rng: np.random.Generator):
    """A targeted exchange on a failing regimen (or arm) curve: the patient whose event sits at the curve's
    median (or at u or l of its density estimate) swaps survival with a patient of another regimen of the arm
    (another arm) whose event is nearest the day the curve needs there. The enclosing curve does not move."""
    cal, s, d = search.cal, search.s, search.cal.design
    failing = [k for k, f in search.km_fail.items() if f and k[1] in ("regimen", "arm")]
    if not failing:
        return None
    key = failing[int(rng.integers(len(failing)))]
    ep, strat, group = key
    med = search.km_med[key]
    targets = {t.stat: t.value for t in cal.curves[key]}
    if not np.isfinite(med.median) or "median" not in targets:
        return None
    day = int(round(med.median * cal.month))
    target_day = int(round(targets["median"] * cal.month))
    if day != target_day:
        who, want = day, target_day
    else:
        end = _density_end_move(med, targets, cal.month, rng)
        if end is None:
            return None
        who, want = end
    times = s.time(ep)
    mask = cal.curve_mask(s, strat, group)
    events = s.events(ep)
    mine = np.intersect1d(np.flatnonzero(mask & (events == 1) & (times == who)), search.movable)
    if strat == "regimen":
        pool = np.flatnonzero((d.arm == d.arm[mask][0]) & ~mask & (events == 1))
    else:
        pool = np.flatnonzero(~mask & (events == 1))
    pool = np.intersect1d(pool, search.movable)
    if not len(mine) or not len(pool):
        return None
    dist = np.abs(times[pool] - want) + rng.random(len(pool))
    i, j = int(mine[rng.integers(len(mine))]), int(pool[np.argmin(dist)])
    _exchange(s, i, j)
    return ("exchange", i, j)


def _propose_slide(search: Search, rng: np.random.Generator, ep: str):
    """Move one patient's time strictly between the neighbouring times of the other patients of its regimen.
    A Kaplan–Meier curve depends on the order of its times and on the days of the events it reads (median,
    u, l), so the regimen curve keeps its numbers unless the patient is one of those events, while the arm,
    overall and AFP curves see the patient interleave differently with the other regimens."""
    s, d = search.s, search.cal.design
    pool = search.movable if search.slidable is None else search.slidable
    i = int(pool[rng.integers(len(pool))])
    times = s.time(ep)
    others = times[(d.regimen == d.regimen[i]) & (np.arange(d.n) != i)]
    old = int(times[i])
    if (others == old).any():  # leaving a tie could reorder an event and a censoring
        return None
    below, above = others[others < old], others[others > old]
    lo = int(below.max()) + 1 if len(below) else 1
    hi = int(above.min()) - 1 if len(above) else min(MAX_DAYS, old + 120)
    strict = int(s.censored_then_dead(i))  # PFS < OS
    if ep == "pfs":
        hi = min(hi, int(s.os[i]) - strict)
    else:
        lo = max(lo, int(s.pfs[i]) + strict)
    if s.max_gap is not None and not (s.ev[0, i] or s.ev[1, i]):  # alive, censored for PFS: near last follow-up
        if ep == "pfs":
            lo = max(lo, int(s.os[i]) - s.max_gap)
        else:
            hi = min(hi, int(s.pfs[i]) + s.max_gap)
    if hi <= lo:
        return None
    new = int(rng.integers(lo, hi + 1))
    if new == old or not _days_ok(s, i, ep, new):
        return None
    times[i] = new
    return ("time", ep, i, old)


def _propose_exchange(search: Search, rng: np.random.Generator, kind: str):
    """Exchange two patients' survival (both times and both event flags): `exchange_regimen` between regimens of
    one arm (the arm and overall curves stay as they are, the regimen and AFP curves change), `exchange_within`
    within a regimen (only the AFP curves and the Cox fits change). This moves a curve's median neighbourhood
    between nested curves."""
    s, d = search.s, search.cal.design
    i = _pick(search, rng)
    if kind == "exchange_regimen":
        pool = np.flatnonzero((d.arm == d.arm[i]) & (d.regimen != d.regimen[i]))
    elif kind == "exchange_within":
        pool = np.flatnonzero(d.regimen == d.regimen[i])
    else:
        raise ValueError(kind)
    pool = np.intersect1d(pool[pool != i], search.movable)
    if not len(pool):
        return None
    j = int(pool[rng.integers(len(pool))])
    if s.pfs[i] == s.pfs[j] and s.os[i] == s.os[j] and (s.ev[:, i] == s.ev[:, j]).all():
        return None
    _exchange(s, i, j)
    return ("exchange", i, j)


def _exchange(s: State, i: int, j: int) -> None:
    for arr in (s.pfs, s.os):
        arr[i], arr[j] = arr[j], arr[i]
    s.ev[:, [i, j]] = s.ev[:, [j, i]]


def _swap_flags(s: State, i: int, j: int):
    """Exchange patients i and j's event flags (both endpoints); None (nothing changed) if a patient's days would
    not allow its new flags. The patient that had the PFS event comes first in the undo."""
    if s.ev[0, i] == 0:
        i, j = j, i
    s.ev[:, [i, j]] = s.ev[:, [j, i]]
    if not (s.order_ok(i, int(s.pfs[i]), int(s.os[i])) and s.order_ok(j, int(s.pfs[j]), int(s.os[j]))):
        s.ev[:, [i, j]] = s.ev[:, [j, i]]
        return None
    return ("event", i, j)


def _undo(s: State, undo) -> None:
    if undo[0] == "exchange":
        _exchange(s, undo[1], undo[2])
    elif undo[0] == "time":
        (s.pfs if undo[1] == "pfs" else s.os)[undo[2]] = undo[3]
    elif undo[0] == "times":
        for i, old in reversed(undo[2]):
            s.time(undo[1])[i] = old
    elif undo[0] == "event":
        s.ev[:, [undo[1], undo[2]]] = s.ev[:, [undo[2], undo[1]]]
    elif undo[0] == "swap":
        s.X[undo[2], undo[1]], s.X[undo[3], undo[1]] = 1, 0
    elif undo[0] == "flip":
        s.X[undo[2], undo[1]] = 1 - s.X[undo[2], undo[1]]


def _affected(search: Search, kind: str, undo) -> tuple[list, list, list[int] | None]:
    cal, s, d = search.cal, search.s, search.cal.design
    if undo[0] == "time":
        ep, i = undo[1], undo[2]
        keys_km = cal.curves_of(s, i, ep)
        pops = ["all", "tki_ici"] if d.is_ici[i] else ["all"]
        return keys_km, [(p, ep) for p in pops], None
    if undo[0] == "times":
        ep, moved = undo[1], [i for i, _ in undo[2]]
        keys_km = sorted({k for i in moved for k in cal.curves_of(s, i, ep)})
        pops = ["all", "tki_ici"] if any(d.is_ici[i] for i in moved) else ["all"]
        return keys_km, [(p, ep) for p in pops], None
    if undo[0] in ("event", "exchange"):
        i, j = undo[1], undo[2]
        keys_km = sorted(set(cal.curves_of(s, i, None)) | set(cal.curves_of(s, j, None)))
        pops = ["all"] + (["tki_ici"] if d.is_ici[i] or d.is_ici[j] else [])
        return keys_km, [(p, e) for p in pops for e in ENDPOINTS], None
    c = undo[1]
    idx = undo[2:]
    pops = ["all"] + (["tki_ici"] if any(d.is_ici[k] for k in idx) else [])
    keys_km = []
    if c == cal.afp_col:
        keys_km = [k for k in cal.curves if k[1] == "afp_baseline"]
    return keys_km, [(p, e) for p in pops for e in ENDPOINTS], [c]


def initial_state(cal: Calibrator, X: np.ndarray, rng: np.random.Generator) -> State:
    """Exponential times around each regimen's target medians and the record's numbers of progressions and
    deaths. As many patients as possible have both events; the rest of the larger count (and the settings'
    `unmatched_event_pairs` beyond it) progressed and were alive at last follow-up, or were censored for PFS
    and died later (PFS < OS). The moves keep every patient's pair of flags whole, so these stay as many. With
    the settings' `realism.max_pfs_censoring_gap` a patient censored for PFS and alive at last follow-up is censored
    for PFS at most that many days before it (`State.order_ok` holds every move to it)."""
    d = cal.design
    n = d.n
    n_pfs = int(cal.record.value("events.pfs.all.n"))
    n_os = int(cal.record.value("events.os.all.n")) if cal.record.has("events.os.all.n") else n_pfs
    both = min(n_pfs, n_os) - int(cal.settings.get("unmatched_event_pairs", 0))
    if both < 0 or n_pfs + n_os - both > n:
        raise ValueError(f"{n_pfs} progressions and {n_os} deaths cannot be given to {n} patients with "
                         f"{min(n_pfs, n_os) - both} unmatched pairs")
    med = {}
    for t in cal.km:
        if t.stratifier == "regimen" and t.stat == "median":
            med[(t.endpoint, t.group)] = t.value * cal.month
    pfs = np.empty(n, dtype=np.int64)
    os_ = np.empty(n, dtype=np.int64)
    for i in range(n):
        mp = med.get(("pfs", d.regimen[i]), 150.0)
        mo = max(med.get(("os", d.regimen[i]), 350.0), mp + 30)
        p = rng.exponential(mp / math.log(2))
        o = p + rng.exponential((mo - mp) / math.log(2))
        pfs[i] = max(1, min(MAX_DAYS, int(round(p))))
        os_[i] = max(pfs[i], min(MAX_DAYS, int(round(o))))
    order = rng.permutation(n)
    ev = np.zeros((2, n), dtype=np.int64)
    ev[:, order[:both]] = 1
    ev[0, order[both:n_pfs]] = 1  # progressed, alive at last follow-up
    rest = order[n_pfs:]
    ev[1, rest[pfs[rest] < os_[rest]][: n_os - both]] = 1  # censored for PFS, died later
    if int(ev[1].sum()) != n_os:
        raise ValueError("too few patients with PFS < OS for the deaths of patients censored for PFS")
    gap = cal.settings.get("realism", {}).get("max_pfs_censoring_gap")
    if gap is not None:
        alive = (ev[0] == 0) & (ev[1] == 0)
        pfs[alive] = np.maximum(pfs[alive], os_[alive] - int(gap))
    first = cal.settings.get("realism", {}).get("min_progression_day")
    if first is not None:  # an early progression becomes a later one, or the death itself when that comes first
        early = (ev[0] == 1) & (pfs < int(first)) & (pfs < os_)
        dies = early & (ev[1] == 1) & (os_ <= int(first))
        pfs[dies] = os_[dies]
        later = early & ~dies
        pfs[later] = np.minimum(int(first), os_[later])
    return State(pfs, os_, ev, X, None if gap is None else int(gap), None if first is None else int(first))


RESHAPE_DAYS = 60  # how far a reshaping move may move a patient's day
POLISH_ROUNDS = 6  # greedy rounds after the annealing of a stage with fixed curves
_ALL_MOVES = {"exchange_regimen": 3, "km_exchange": 2, "exchange_within": 1, "swap": 1, "pfs": 3, "os": 3,
              "event": 0.5, "km": 3, "slide_pfs": 1, "slide_os": 1}
_TKI = frozenset({"tki", "reg", "sor"})
_TKI_ICI = frozenset({"tki_ici", "reg_ici", "sor_ici", "oth_ici"})


@dataclass(frozen=True)
class KMStage:
    """One annealing stage of the Kaplan–Meier phase."""

    name: str
    groups: frozenset | None  # the curves (by group) the cost counts; None: all
    arm: str | None  # the arm whose patients' survival moves change; None: any patient
    moves: dict[str, float]  # move kind -> weight
    share: float  # share of the phase's iterations
    t0: float  # start temperature
    locked: frozenset = frozenset()  # curves (by group) whose failures may not grow
    restarts: int = 1  # independent annealing runs from the same start (the best is kept)
    slide_all: bool = False  # slides may move any patient (a slide keeps every regimen curve)
    uni: bool = False  # count the arm and AFP univariable Cox rows
    endpoint: str | None = None  # count only this endpoint's curves (None: both)


KM_STAGES = (
    KMStage("TKI arm and its regimens", _TKI, "tki",
            {"pfs": 3, "os": 3, "event": 1, "km": 3, "exchange_regimen": 2, "km_exchange": 1, "slide_pfs": 1,
             "slide_os": 1}, 0.25, 3000.0, restarts=4),
    KMStage("TKI-ICI arm, its regimens and all patients", _TKI | _TKI_ICI | {"all"}, "tki_ici",
            {"pfs": 3, "os": 3, "event": 1, "km": 3, "exchange_regimen": 2, "km_exchange": 1, "slide_pfs": 1,
             "slide_os": 1}, 0.45, 3000.0, _TKI, restarts=6),
    KMStage("AFP curves", None, None, {"swap": 3, "exchange_within": 2, "slide_pfs": 1, "slide_os": 1}, 0.18, 30.0,
            _TKI | _TKI_ICI | {"all"}, restarts=2, uni=True),
    KMStage("all curves", None, None, _ALL_MOVES, 0.1, 30.0, restarts=2, uni=True),
    KMStage("OS curves", None, None, {"os": 6, "km": 3, "km_reshape": 3, "slide_os": 1, "swap": 1,
                                      "exchange_within": 1, "exchange_regimen": 2}, 2.0, 3000.0, restarts=2,
            endpoint="os"),
    KMStage("PFS curves (OS days held)", None, None, {"pfs": 6, "km": 3, "km_reshape": 3, "slide_pfs": 1}, 2.0,
            3000.0, restarts=2, endpoint="pfs"),
    KMStage("all curves (again)", None, None, _ALL_MOVES, 0.1, 30.0, restarts=2, uni=True),
)


def km_phase(cal: Calibrator, state: State, rng: np.random.Generator, iterations: int, cols: list[int],
             progress: Progress) -> None:
    """Survival times, events and AFP > 400 against the Kaplan–Meier targets, stage by stage (`KM_STAGES`, see
    the module docstring). A stage with a fixed set of curves keeps the best of its independent runs."""
    for st in KM_STAGES:
        progress.stage(f"survival times vs Kaplan–Meier targets: {st.name}")
        cal.active = {k for k in cal.curves if (st.groups is None or k[2] in st.groups)
                      and (st.endpoint is None or k[0] == st.endpoint)}
        locked = {k for k in cal.curves if k[2] in st.locked}
        if _stage_search(cal, state, st, cols).km_failures() == 0:
            progress.done(runs=0)
            continue
        jobs = [(cal, state, st, cols, locked, int(seed), max(1, int(iterations * st.share)))
                for seed in rng.integers(2**63, size=st.restarts)]
        results = run_jobs(_stage_run, jobs)  # independent runs from the same start; the best is kept
        score, best = min(results, key=lambda x: x[0])
        state.take(best)
        progress.done(runs=len(results), best_fail=score[0], best_cost=score[1],
                      fails=",".join(str(x[0][0]) for x in results))
    cal.active = None


def _stage_run(job: tuple) -> tuple[tuple[int, float], State]:
    """One annealing run (and polish) of a stage from a copy of the start state: ((failures, cost), state)."""
    cal, state, st, cols, locked, seed, iterations = job
    trial = state.copy()
    search = _stage_search(cal, trial, st, cols)
    sub = np.random.default_rng(seed)
    quiet = Progress(enabled=False)
    whole = st.groups is None and st.endpoint is None  # every curve counts: no move may add a failure
    anneal(search, sub, iterations, st.moves, quiet, t0=st.t0, t1=0.05, protect_km=whole, locked=locked)
    if not whole and search.km_failures():
        km_polish(search, sub, POLISH_ROUNDS, quiet)
    return (search.km_failures(), search.total()), trial


def _stage_search(cal: Calibrator, state: State, st: KMStage, cols: list[int]) -> Search:
    search = Search(cal, state, uni_cols=cols if st.uni else [])
    if st.arm is not None:
        search.movable = np.flatnonzero(cal.design.arm == st.arm)
    if st.slide_all:
        search.slidable = np.arange(cal.design.n)
    return search


def afp_guard(cal: Calibrator, state: State) -> Callable[[int, int, int], bool]:
    """A guard for moves of the AFP column: allow one only if no AFP curve gets a new failure."""
    afp_keys = [k for k in cal.curves if k[1] == "afp_baseline"]

    def km_guard(j: int, remove: int, add: int) -> bool:
        before = sum(cal.km_cost(state, k)[1] for k in afp_keys)
        old = state.X[:, j].copy()
        if remove >= 0:
            state.X[remove, j] = 0
        if add >= 0:
            state.X[add, j] = 1
        after = sum(cal.km_cost(state, k)[1] for k in afp_keys)
        state.X[:, j] = old
        return after <= before

    return km_guard


def calibrate(cal: Calibrator, X: np.ndarray, rng: np.random.Generator, effort: dict[str, int],
              progress: Progress) -> State:
    """The phases of the module docstring: the Kaplan–Meier stages (`KM_STAGES`), then the Cox phases."""
    from paperlock.cohort.time_search import final_tails  # it builds on this module's Search

    state = initial_state(cal, X, rng)
    phase1_cols = [cal.col[c] for c in ("arm_tki_ici", "afp_gt400") if c in cal.col]
    km_phase(cal, state, rng, int(effort["km"]), phase1_cols, progress)
    progress.stage("covariate assignment vs univariable Cox targets")
    km_guard = afp_guard(cal, state)
    univariable_phase(cal, state, rng, int(effort["cox_uni"]), progress, km_guard)
    progress.stage("covariate assignment vs multivariable and univariable Cox targets")
    multivariable_phase(cal, state, rng, tuple(int(x) for x in effort["cox_multi"]), progress, km_guard)
    progress.stage("survival times vs Cox targets (KM numbers held), then the columns outside the models")
    final_tails(cal, state, rng, int(effort["tails"]), int(effort["cox_times"]), int(effort["cox_uni"]), progress)
    return state
