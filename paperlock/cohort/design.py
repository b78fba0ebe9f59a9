"""The cohort's skeleton read from the record: patients, arms, regimens, per-arm counts and covariate rules.

`build_design` fixes everything that is exact by construction (group sizes, per-arm counts, quantile
targets) and describes each Cox covariate as the search may change it: `fixed` (the arm), `swap`
(per-arm count fixed, which patients carry it is free) or `range` (per-arm count free within what the
quantile targets allow; the dichotomised inflammation indices and age).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperlock.cohort.quantile_values import QuantileTargets, high_count_bounds
from paperlock.cohort.targets import Record
from paperlock.errors import PaperlockError

ARMS = ("tki", "tki_ici")


@dataclass
class Covariate:
    name: str
    kind: str  # fixed | swap | range
    source: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)  # swap: per-arm count
    bounds: dict[str, tuple[int, int]] = field(default_factory=dict)  # range: per-arm bounds
    pooled: tuple[int, int] = (0, 10**9)  # range: bounds on the total


@dataclass
class Design:
    n: int
    ids: list[str]
    regimen: np.ndarray  # codes
    arm: np.ndarray  # codes
    covariates: list[Covariate]
    categorical_counts: dict[str, dict[str, dict[str, int]]]  # var -> arm -> level -> n
    quantile_targets: dict[str, QuantileTargets]
    cuts: dict[str, float]  # continuous var -> cut-off in value units

    @property
    def is_ici(self) -> np.ndarray:
        return self.arm == "tki_ici"

    def arm_mask(self, arm: str) -> np.ndarray:
        return self.arm == arm


def _level_counts(record: Record, var: str, cfg: dict[str, Any], arm: str, n_arm: int) -> dict[str, int]:
    counts = {lvl: int(record.value(f"baseline.{var}.{lvl}.{arm}.n")) for lvl in cfg["levels"]}
    for lvl in cfg.get("rest", {}):
        counts[lvl] = n_arm - sum(counts.values())
    if sum(counts.values()) != n_arm:
        raise PaperlockError(f"baseline.{var}: per-level counts in {arm} sum to {sum(counts.values())}, not {n_arm}")
    return counts


def quantile_targets(record: Record, var: str, cfg: dict[str, Any], sizes: tuple[int, int],
                     cut: float | None) -> QuantileTargets:
    step = float(cfg["step"])

    def units(key: str) -> int:
        return int(round(record.value(key) / step))

    quarts = {}
    for g, code in (("a", "tki"), ("b", "tki_ici"), ("all", "all")):
        quarts[g] = tuple(units(f"baseline.{var}.{code}.{s}") for s in ("q1", "median", "q3"))
    printed_unit = 10.0 ** -record.entry(f"baseline.{var}.all.median").decimals
    tol = min(0.25, 0.4 * printed_unit / step)
    cut_units, specials = None, []
    if cut is not None:
        cut_units = grid_cut(cut, step)
        specials = [int(np.floor(cut_units)), int(np.floor(cut_units)) + 1]
    return QuantileTargets(
        sizes=sizes, quartiles=quarts, p_value=record.get(f"baseline.{var}.p"),
        floor=int(round(cfg["floor"] / step)), ceiling=int(round(cfg["ceiling"] / step)),
        cut=cut_units, specials=specials, tol=tol,
    )


def grid_cut(cut: float, step: float) -> float:
    """The cut-off in grid units (value / step), rounded off the float error of the division: 2.3 / 0.01 is
    229.99999999999997, which would count the grid value 230 (2.30, not above 2.3) as above the cut."""
    return round(cut / step, 9)


def build_design(record: Record, settings: dict[str, Any], rng: np.random.Generator) -> Design:
    groups = settings["groups"]
    regimens: list[str] = []
    for reg in groups["regimen"]:
        regimens += [reg] * int(record.value(f"cohort.n.{reg}"))
    n = len(regimens)
    if n != int(record.value("cohort.n.all")):
        raise PaperlockError(f"regimen sizes sum to {n}, the record says {record.value('cohort.n.all'):g}")
    regimen = np.array(regimens, dtype=object)[rng.permutation(n)]
    arm = np.array([groups["regimen_arm"][r] for r in regimen], dtype=object)
    for a in ARMS:
        if int((arm == a).sum()) != int(record.value(f"cohort.n.{a}")):
            raise PaperlockError(f"cohort.n.{a} disagrees with the regimen sizes")
    n_arm = {a: int((arm == a).sum()) for a in ARMS}
    ids = [f"P{i + 1:03d}" for i in range(n)]

    cat_counts = {var: {a: _level_counts(record, var, cfg, a, n_arm[a]) for a in ARMS}
                  for var, cfg in settings["categorical"].items()}
    cuts: dict[str, float] = {}
    qt: dict[str, QuantileTargets] = {}
    for var, cfg in settings["continuous"].items():
        cut = cfg.get("cut")
        if cut is None and cfg.get("cut_key"):
            cut = record.value(cfg["cut_key"])
        cuts[var] = float(cut)
        qt[var] = quantile_targets(record, var, cfg, (n_arm["tki"], n_arm["tki_ici"]), float(cut))

    covs = []
    for name, src in settings["cox_covariates"].items():
        if "arm" in src:
            covs.append(Covariate(name, "fixed", src))
        elif "categorical" in src:
            counts = {a: cat_counts[src["categorical"]][a][src["level"]] for a in ARMS}
            covs.append(Covariate(name, "swap", src, counts=counts))
        elif "afp_change" in src:
            counts = {a: n_arm[a] - int(record.value(f"baseline.afp_change.elevated.{a}.n")) for a in ARMS}
            if src["afp_change"] == "elevated":
                counts = {a: n_arm[a] - c for a, c in counts.items()}
            covs.append(Covariate(name, "swap", src, counts=counts))
        elif "continuous" in src:
            b_a, b_b, pooled = high_count_bounds(qt[src["continuous"]])
            covs.append(Covariate(name, "range", src, bounds={"tki": b_a, "tki_ici": b_b}, pooled=pooled))
        else:
            raise PaperlockError(f"cox covariate {name!r}: unknown source {src}")
    return Design(n, ids, regimen, arm, covs, cat_counts, qt, cuts)


def initial_matrix(design: Design, rng: np.random.Generator) -> np.ndarray:
    """A random covariate matrix obeying every per-arm count (range covariates start mid-range)."""
    X = np.zeros((design.n, len(design.covariates)), dtype=np.int8)
    for j, cov in enumerate(design.covariates):
        if cov.kind == "fixed":
            X[:, j] = design.arm == cov.source["arm"]
            continue
        for a in ARMS:
            idx = np.flatnonzero(design.arm == a)
            if cov.kind == "swap":
                k = cov.counts[a]
            else:
                lo, hi = cov.bounds[a]
                k = (lo + hi) // 2
            X[rng.permutation(idx)[:k], j] = 1
        if cov.kind == "range":
            _clip_pooled(X, j, cov, design, rng)
    return X


def _clip_pooled(X: np.ndarray, j: int, cov: Covariate, design: Design, rng: np.random.Generator) -> None:
    lo, hi = cov.pooled
    for _ in range(design.n):
        total = int(X[:, j].sum())
        if lo <= total <= hi:
            return
        want_up = total < lo
        options = []
        for a in ARMS:
            k = int(X[design.arm == a, j].sum())
            blo, bhi = cov.bounds[a]
            if (want_up and k < bhi) or (not want_up and k > blo):
                options.append(a)
        if not options:
            raise PaperlockError(f"covariate {cov.name}: per-arm bounds cannot meet the pooled bounds")
        a = options[int(rng.integers(len(options)))]
        idx = np.flatnonzero((design.arm == a) & (X[:, j] == (0 if want_up else 1)))
        X[idx[int(rng.integers(len(idx)))], j] = 1 if want_up else 0
