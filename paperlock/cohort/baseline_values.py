"""Raw baseline columns per patient from the calibrated covariate matrix.

Categorical variables: the Cox covariate's level is the calibrated 0/1 column; the remaining levels are
spread over the other patients by their per-arm counts. Continuous variables: values built to the quantile
targets (`quantile_values`) with exactly the calibrated number above the cut-off per arm, then dealt to
the patients whose flag says above/below: in the order of shared latent scores where the settings declare a
`value_structure` (`value_structure`), at random otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paperlock.cohort.design import ARMS, Design
from paperlock.cohort.progress import Progress
from paperlock.cohort.quantile_values import construct_values
from paperlock.cohort.value_structure import deal, latent_scores, loadings
from paperlock.errors import PaperlockError


def categorical_columns(design: Design, X: np.ndarray, settings: dict[str, Any],
                        rng: np.random.Generator) -> dict[str, list[Any]]:
    """Record level code per patient for every categorical variable."""
    by_var = {c.source["categorical"]: (j, c.source["level"]) for j, c in enumerate(design.covariates)
              if c.kind == "swap" and "categorical" in c.source}
    out: dict[str, list[Any]] = {}
    for var in settings["categorical"]:
        codes = np.empty(design.n, dtype=object)
        for a in ARMS:
            idx = np.flatnonzero(design.arm == a)
            counts = dict(design.categorical_counts[var][a])
            if var in by_var:
                j, lvl = by_var[var]
                codes[idx[X[idx, j] == 1]] = lvl
                counts.pop(lvl)
                rest = idx[X[idx, j] == 0]
            else:
                rest = idx
            rest = rng.permutation(rest)
            pos = 0
            for lvl, k in counts.items():
                codes[rest[pos:pos + k]] = lvl
                pos += k
            if pos != len(rest):
                raise PaperlockError(f"{var}: per-arm counts do not cover arm {a}")
        out[var] = codes.tolist()
    return out


def raw_categorical(var: str, codes: list[str], settings: dict[str, Any], rng: np.random.Generator) -> list[Any]:
    """Raw values for a variable's level codes (a list of raw values or a {min, max} range per level)."""
    cfg = settings["categorical"][var]
    out: list[Any] = []
    for code in codes:
        spec = cfg.get("levels", {}).get(code, cfg.get("rest", {}).get(code))
        if isinstance(spec, dict):
            lo, hi = float(spec["min"]), float(spec["max"])
            if cfg.get("log_scale"):
                v = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            else:
                v = float(rng.uniform(lo, hi))
            out.append(round(v, int(cfg.get("decimals", 1))))
        elif isinstance(spec, list):
            weights = cfg.get("split") if len(spec) == len(cfg.get("split", [])) else None
            out.append(spec[int(rng.choice(len(spec), p=weights))] if len(spec) > 1 else spec[0])
        else:
            out.append(spec)
    return out


def continuous_columns(design: Design, X: np.ndarray, settings: dict[str, Any], rng: np.random.Generator,
                       iterations: int, progress: Progress) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Values per patient for each continuous variable, and the residual construction cost per variable."""
    flag_col = {c.source["continuous"]: j for j, c in enumerate(design.covariates) if "continuous" in c.source}
    structure = loadings(settings)
    # a child generator: the main stream (and every column drawn after these) is the same with or without it
    scores = latent_scores(structure, design.n, rng.spawn(1)[0]) if structure else {}
    out, residual = {}, {}
    progress.stage("continuous baseline values vs quartiles and Kruskal–Wallis p")
    for k, (var, cfg) in enumerate(settings["continuous"].items()):
        t = design.quantile_targets[var]
        j = flag_col.get(var)
        want = None
        if j is not None:
            want = tuple(int(X[design.arm == a, j].sum()) for a in ARMS)
        a_vals, b_vals, cost = construct_values(t, rng, want_high=want, iterations=iterations)
        residual[var] = cost
        values = np.empty(design.n)
        step = float(cfg["step"])
        for a, vals in zip(ARMS, (a_vals, b_vals), strict=True):
            idx = np.flatnonzero(design.arm == a)
            vals = rng.permutation(vals)
            if j is None:
                values[idx] = (deal(np.asarray(vals), scores[var][idx]) if var in scores else vals) * step
                continue
            high_vals = [v for v in vals if v > t.cut]
            low_vals = [v for v in vals if v <= t.cut]
            hi_idx, lo_idx = idx[X[idx, j] == 1], idx[X[idx, j] == 0]
            if len(high_vals) != len(hi_idx):  # cannot happen: construct_values holds the count fixed
                raise PaperlockError(f"{var}: {len(high_vals)} values above the cut in arm {a}, "
                                     f"the calibration asked for {len(hi_idx)}")
            if var in scores:
                high_vals = deal(np.array(high_vals), scores[var][hi_idx])
                low_vals = deal(np.array(low_vals), scores[var][lo_idx])
            values[hi_idx] = np.array(high_vals) * step
            values[lo_idx] = np.array(low_vals) * step
        out[var] = np.round(values, 2)
        bad = [] if j is None else np.flatnonzero((out[var] > design.cuts[var]) != (X[:, j] == 1))
        if len(bad):  # the values as written must give each patient the calibrated flag
            raise PaperlockError(f"{var}: patients {[design.ids[i] for i in bad]} fall on the other side of the "
                                 f"cut-off {design.cuts[var]} than their calibrated flag")
        progress.update(variable=var, done=f"{k + 1}/{len(settings['continuous'])}", residual=cost)
    progress.done(variables=len(out), worst_residual=max(residual.values()) if residual else 0.0)
    return out, residual
