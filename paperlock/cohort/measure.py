"""Measure a cohort frame under the record's keys (docs/keys.md), from its raw columns only.

Used by the calibration report and the tests. KM and Cox use the fast kernels; when the project's
reference implementations (`analysis.stats.km`, `analysis.stats.cox`) are importable they are used instead,
so the report states what the real pipeline would compute. Contingency-table p-values and Wald p come from the
pipeline's own `analysis.stats.contingency` and `analysis.stats.distributions`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.contingency import expected_counts, fisher_exact, pearson_chi2
from analysis.stats.distributions import norm_sf
from paperlock.cohort.fast_survival import Z95, cox_multi, cox_uni, km_median_spss
from paperlock.cohort.quantile_values import quantile_type7, rank_test_p

ARM_CODES = {"TKI": "tki", "TKI-ICI": "tki_ici"}


def level_codes(df: pd.DataFrame, settings: dict[str, Any]) -> dict[str, pd.Series]:
    out = {}
    for var, cfg in settings["categorical"].items():
        col = df[cfg["column"]]
        codes = pd.Series([None] * len(df), index=df.index, dtype=object)
        for lvl, spec in {**cfg.get("levels", {}), **cfg.get("rest", {})}.items():
            if isinstance(spec, dict):
                mask = (col.astype(float) >= spec["min"]) & (col.astype(float) <= spec["max"])
            elif isinstance(spec, list):
                mask = col.isin(spec)
            else:
                mask = col.astype(str) == str(spec)
            codes[mask] = lvl
        out[var] = codes
    return out


def covariate_matrix(df: pd.DataFrame, settings: dict[str, Any], cuts: dict[str, float]) -> pd.DataFrame:
    codes = level_codes(df, settings)
    arm = df["arm"].map(ARM_CODES)
    out = {}
    for name, src in settings["cox_covariates"].items():
        if "arm" in src:
            out[name] = (arm == src["arm"]).astype(int)
        elif "categorical" in src:
            out[name] = (codes[src["categorical"]] == src["level"]).astype(int)
        elif "afp_change" in src:
            afp = df[settings["categorical"]["afp"]["column"]]
            dec = (df["afp_8w_ng_ml"] < afp).astype(int)
            out[name] = dec if src["afp_change"] == "decreased" else 1 - dec
        else:
            var = src["continuous"]
            out[name] = (df[settings["continuous"][var]["column"]] > cuts[var]).astype(int)
    return pd.DataFrame(out)


def _km_reference():
    try:
        from analysis.stats import km  # noqa: PLC0415
        return km
    except ImportError:
        return None


def _cox_reference():
    try:
        from analysis.stats import cox  # noqa: PLC0415
        return cox
    except ImportError:
        return None


def km_stats(time_months: np.ndarray, event: np.ndarray) -> tuple[float, float, float, str]:
    ref = _km_reference()
    if ref is not None:
        med = ref.km_median(ref.km_estimate(time_months, event), ci="spss")
        return float(med.median), float(med.lower), float(med.upper), "analysis.stats.km"
    m = km_median_spss(time_months, event)
    return m.median, m.lower, m.upper, "fast_survival"


def measure(df: pd.DataFrame, settings: dict[str, Any], cuts: dict[str, float],
            multi_sets: dict) -> dict[str, float]:
    """Every statistic the record can hold that this cohort determines, by key."""
    s: dict[str, float] = {}
    arm = df["arm"].map(ARM_CODES).to_numpy()
    reg_codes = {v: k for k, v in settings["groups"]["regimen"].items()}
    regimen = df["regimen"].map(reg_codes).to_numpy()
    n = len(df)
    masks = {"all": np.ones(n, dtype=bool), "tki": arm == "tki", "tki_ici": arm == "tki_ici"}
    s["cohort.n.all"] = n
    for g in ("tki", "tki_ici"):
        s[f"cohort.n.{g}"] = int(masks[g].sum())
    for r in reg_codes.values():
        s[f"cohort.n.{r}"] = int((regimen == r).sum())
    codes = level_codes(df, settings)
    for var, c in codes.items():
        levels = list({**settings["categorical"][var].get("levels", {}),
                       **settings["categorical"][var].get("rest", {})})
        for lvl in levels:
            for g, m in masks.items():
                k = int((c[m] == lvl).sum())
                s[f"baseline.{var}.{lvl}.{g}.n"] = k
                s[f"baseline.{var}.{lvl}.{g}.pct"] = 100.0 * k / m.sum()
        table = np.array([[int((c[masks[g]] == lvl).sum()) for lvl in levels] for g in ("tki", "tki_ici")])
        table = table[:, table.sum(axis=0) > 0]
        s[f"baseline.{var}.p"] = pearson_chi2(table).p if table.shape[1] > 1 else 1.0
    for var, cfg in settings["continuous"].items():
        v = df[cfg["column"]].to_numpy(dtype=float)
        for g, m in masks.items():
            for name, p in (("q1", 0.25), ("median", 0.5), ("q3", 0.75)):
                s[f"baseline.{var}.{g}.{name}"] = quantile_type7(v[m], p)
        s[f"baseline.{var}.p"] = _rank_p(v[masks["tki"]], v[masks["tki_ici"]])
    month = float(settings["month_days"])
    X = covariate_matrix(df, settings, cuts)
    afp_hi = X["afp_gt400"].to_numpy() == 1
    strata = {("overall", "all"): masks["all"], ("arm", "tki"): masks["tki"], ("arm", "tki_ici"): masks["tki_ici"],
              ("afp_baseline", "le400"): ~afp_hi, ("afp_baseline", "gt400"): afp_hi}
    for r in reg_codes.values():
        strata[("regimen", r)] = regimen == r
    for ep in ("pfs", "os"):
        t = df[f"{ep}_days"].to_numpy(dtype=float) / month
        e = df[f"{ep}_event"].to_numpy(dtype=int)
        s[f"events.{ep}.all.n"] = int(e.sum())
        s[f"events.{ep}.all.pct"] = 100.0 * e.sum() / n
        for (strat, g), m in strata.items():
            med, lo, hi, _ = km_stats(t[m], e[m])
            s[f"km.{ep}.{strat}.{g}.median"], s[f"km.{ep}.{strat}.{g}.ci_lower"] = med, lo
            s[f"km.{ep}.{strat}.{g}.ci_upper"] = hi
        for pop in ("all", "tki_ici"):
            m = masks[pop]
            fit = cox_uni(t[m], e[m], X.to_numpy()[m])
            for j, name in enumerate(X.columns):
                if X[name][m].nunique() < 2:
                    continue
                _put_cox(s, f"cox.{pop}.{ep}.uni.{name}", fit.beta[j], fit.se[j])
            covs = multi_sets.get((pop, ep))
            if covs:
                fit = cox_multi(t[m], e[m], X[covs].to_numpy()[m])
                for j, name in enumerate(covs):
                    _put_cox(s, f"cox.{pop}.{ep}.multi.{name}", fit.beta[j], fit.se[j])
    resp = df["best_response"].str.lower().to_numpy()
    cats = {"cr": ["cr"], "pr": ["pr"], "sd": ["sd"], "pd": ["pd"], "orr": ["cr", "pr"], "dcr": ["cr", "pr", "sd"]}
    for c, members in cats.items():
        hit = np.isin(resp, members)
        for g in ("tki", "tki_ici"):
            k = int(hit[masks[g]].sum())
            s[f"response.{c}.{g}.n"], s[f"response.{c}.{g}.pct"] = k, 100.0 * k / masks[g].sum()
        s[f"response.{c}.p"] = _two_by_two_p(hit, masks["tki"], fisher=None, rule="observed")
    dec = X["afp_change_decreased"].to_numpy() == 1
    for name, m in (("decreased", dec), ("elevated", ~dec)):
        for c in ("orr", "dcr"):
            s[f"response_by_afp_change.{c}.{name}.pct"] = 100.0 * np.isin(resp[m], cats[c]).sum() / m.sum()
    for g in ("tki", "tki_ici"):
        k = int((~dec)[masks[g]].sum())
        base = f"baseline.afp_change.elevated.{g}"
        s[f"{base}.n"], s[f"{base}.pct"] = k, 100.0 * k / masks[g].sum()
    ae_cols = [c for c in df.columns if c.startswith("ae_")]
    any_ae = (df[[c for c in ae_cols if c not in ("ae_dose_reduction", "ae_discontinuation")]] > 0).any(axis=1)
    worst = df[[c for c in ae_cols if c not in ("ae_dose_reduction", "ae_discontinuation")]].max(axis=1)
    series = {c[3:]: df[c] for c in ae_cols}
    for ev, grade in {**series, "total": worst.where(any_ae, 0)}.items():
        for lvl, thr in (("any", 1), ("g3plus", 3)):
            hit = grade.to_numpy() >= thr
            for g in ("tki", "tki_ici"):
                k = int(hit[masks[g]].sum())
                s[f"ae.{ev}.{lvl}.{g}.n"], s[f"ae.{ev}.{lvl}.{g}.pct"] = k, 100.0 * k / masks[g].sum()
            s[f"ae.{ev}.{lvl}.p"] = _two_by_two_p(hit, masks["tki"], fisher=True)
    stop = df["len_stop_reason"].value_counts()
    for r, k in stop.items():
        s[f"flow.len_stop.{r}"] = int(k)
    sub = df["subsequent_therapy"].to_numpy()
    for g in ("tki", "tki_ici"):
        got = sub[masks[g]]
        s[f"subsequent.any.{g}.n"] = int((got != "none").sum())
        for th in set(got) - {"none"}:
            s[f"subsequent.{th}.{g}.n"] = int((got == th).sum())
    return s


def _put_cox(s: dict[str, float], base: str, beta: float, se: float) -> None:
    s[base + ".hr"] = float(np.exp(beta))
    s[base + ".ci_lower"] = float(np.exp(beta - Z95 * se))
    s[base + ".ci_upper"] = float(np.exp(beta + Z95 * se))
    s[base + ".p"] = float(2 * norm_sf(abs(beta / se))) if se > 0 else float("nan")


def _rank_p(a: np.ndarray, b: np.ndarray) -> float:
    """The study's continuous-variable test (Kruskal–Wallis), from `analysis.stats.ranks` when importable."""
    try:
        from analysis.stats.ranks import kruskal_wallis  # noqa: PLC0415
    except ImportError:
        return rank_test_p(a, b)
    return float(kruskal_wallis([a, b]).p)


def _two_by_two_p(hit: np.ndarray, in_a: np.ndarray, fisher: bool | None = False,
                  rule: str = "expected") -> float:
    """Pearson chi-square (no continuity correction) or Fisher. `fisher=None`: Fisher when a count is below 5,
    the expected counts (`rule="expected"`) or the observed ones (`rule="observed"`, the study's Table 3 rule)."""
    table = np.array([[int((hit & in_a).sum()), int((~hit & in_a).sum())],
                      [int((hit & ~in_a).sum()), int((~hit & ~in_a).sum())]])
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        return 1.0
    if fisher is None:
        counts = table if rule == "observed" else expected_counts(table)
        fisher = bool((counts < 5).any())
    return fisher_exact(table).p if fisher else pearson_chi2(table).p
