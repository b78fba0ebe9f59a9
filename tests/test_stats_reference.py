"""analysis.stats against R (survival 3.5, base R 4.2).

The fixtures under tests/reference/fixtures/ were written by ``Rscript tests/reference/reference.R``; each case
records the R call that produced it in ``r_code`` (e.g. ``quantile(survfit(Surv(week, arrest) ~ 1,
data = rossi, conf.type = "log-log"), 0.5)``, ``coxph(Surv(week, arrest) ~ fin + age, ties = 'efron')``,
``survdiff(...)``, ``chisq.test``, ``fisher.test``, ``wilcox.test``, ``kruskal.test``, ``binom.test``,
``quantile(x, probs, type = k)``). Input data: tests/reference/data/*.csv (lifelines' public datasets, exported
by tests/reference/export_datasets.py) and small inline samples stored in the fixtures.
Tolerance: 1e-6 relative everywhere (R prints 17 significant digits); integer counts compare exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import binomial, contingency, cox, km, quantiles, ranks

REF = Path(__file__).resolve().parent / "reference"
RTOL = 1e-6


def _cases(name: str) -> list:
    return json.loads((REF / "fixtures" / f"{name}.json").read_text())["cases"]


def _num(v) -> np.ndarray:
    def conv(x):
        if x is None:
            return np.nan
        if x == "Inf":
            return np.inf
        if x == "-Inf":
            return -np.inf
        return float(x)
    return np.array([conv(x) for x in v], dtype=float) if isinstance(v, list) else np.array([conv(v)])


def _close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), _num(expected), rtol=rtol, atol=0, equal_nan=True)


_DATA: dict[str, pd.DataFrame] = {}


def _data(name: str) -> pd.DataFrame:
    if name not in _DATA:
        df = pd.read_csv(REF / "data" / f"{name}.csv")
        if name == "gbsg2":
            df["hor"] = (df["horTh"] == "yes").astype(int)
            df["post"] = (df["menostat"] == "Post").astype(int)
            df["grade3"] = (df["tgrade"] == "III").astype(int)
        if name == "larynx":
            df["stage"] = 1 + df["Stage_II"] + 2 * df["Stage_III"] + 3 * df["Stage_IV"]
        _DATA[name] = df
    return _DATA[name]


def _km_input(case) -> tuple[np.ndarray, np.ndarray]:
    if case["dataset"] == "inline":
        return np.asarray(case["inline"]["time"]), np.asarray(case["inline"]["event"])
    if case["dataset"] == "cohort":
        df = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "cohort.csv")
    else:
        df = _data(case["dataset"])
    if case["filter"]:
        df = df.query(case["filter"])
    return df[case["time"]].to_numpy(float), df[case["event"]].to_numpy(int)


@pytest.mark.parametrize("case", _cases("km"), ids=lambda c: c["label"])
def test_km_curve_and_median(case):
    t, e = _km_input(case)
    curve = km.km_estimate(t, e)
    ref = case["curve"]
    _close(curve.time, ref["time"])
    assert curve.n_risk.tolist() == _num(ref["n_risk"]).astype(int).tolist()
    assert curve.n_event.tolist() == _num(ref["n_event"]).astype(int).tolist()
    assert curve.n_censor.tolist() == _num(ref["n_censor"]).astype(int).tolist()
    _close(curve.survival, ref["survival"])
    _close(curve.se_log, ref["std_err_log"])
    for ct in ("log", "log-log", "plain"):
        m = km.km_median(curve, ci=ct)
        _close([m.median, m.lower, m.upper], case[f"median_{ct.replace('-', '')}"])
        assert (m.status == "not_reached") == (case[f"median_{ct.replace('-', '')}"][0] is None)


@pytest.mark.parametrize("case", _cases("logrank"), ids=lambda c: f"{c['dataset']}-{c['group']}")
def test_logrank(case):
    df = _data(case["dataset"]) if case["dataset"] != "cohort" else pd.read_csv(
        Path(__file__).resolve().parents[1] / "data" / "cohort.csv")
    lr = km.logrank(df[case["time"]], df[case["event"]], df[case["group"]])
    _close(lr.chi2, case["chisq"])
    assert lr.df == case["df"]
    _close(lr.p, case["p"])
    _close(lr.observed, case["observed"])
    _close(lr.expected, case["expected"])


def _cox_cases():
    cases = _cases("cox")
    sep = next(c for c in cases if c["dataset"] == "sep_data")
    return [c for c in cases if c["dataset"] != "sep_data"], sep


COX_CASES, SEP = _cox_cases()


def _cox_frame(case) -> pd.DataFrame:
    if case["dataset"] == "sep":
        df = pd.DataFrame({k: SEP[k] for k in ("time", "event", "x", "z")})
        df["x2"] = 2 * df["x"]
        return df
    if case["dataset"] == "cohort":
        df = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "cohort.csv")
        df["arm_tki_ici"] = (df["arm"] != "tki").astype(int)
        return df
    return _data(case["dataset"])


@pytest.mark.parametrize("case", COX_CASES, ids=lambda c: f"{c['dataset']}-{'+'.join(c['covariates'])}-"
                         f"{c['ties']}{'-strata' if c['strata'] else ''}")
def test_cox(case):
    df = _cox_frame(case)
    fit = cox.cox_fit(df[case["time"]], df[case["event"]], df[case["covariates"]].to_numpy(float),
                      ties=case["ties"], strata=None if case["strata"] is None else df[case["strata"]])
    _close(fit.coef, case["coef"])
    _close(fit.se, case["se"])
    _close([fit.loglik_null, fit.loglik], case["loglik"])
    assert fit.n == case["n"] and fit.events == case["events"]
    assert fit.iterations == case["iter"]
    infinite = any("infinite" in w for w in case["warnings"])
    assert ("infinite" in fit.column_status) == infinite
    aliased = [v is None for v in case["coef"]]
    assert [s in ("singular", "constant") for s in fit.column_status] == aliased
    assert (fit.status == "ok") == (not infinite and not any(aliased))
    if len(case["covariates"]) == 1 and case["strata"] is None:
        (uni,) = cox.cox_univariable_batch(df[case["time"]], df[case["event"]],
                                           df[case["covariates"]].to_numpy(float), ties=case["ties"])
        _close(uni.coef, case["coef"])
        _close(uni.se, case["se"])
        _close([uni.loglik_null, uni.loglik], case["loglik"])
        assert uni.iterations == case["iter"]
        assert ("infinite" in uni.column_status) == infinite


def test_cox_batch_matches_single_fits():
    df = _data("rossi")
    cols = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    for ties in ("breslow", "efron"):
        batch = cox.cox_univariable_batch(df["week"], df["arrest"], df[cols].to_numpy(float), ties=ties)
        for col, b in zip(cols, batch, strict=True):
            single = cox.cox_fit(df["week"], df["arrest"], df[[col]].to_numpy(float), ties=ties)
            np.testing.assert_allclose(b.coef, single.coef, rtol=1e-10)
            np.testing.assert_allclose(b.se, single.se, rtol=1e-10)
            assert b.iterations == single.iterations


@pytest.mark.parametrize("case", _cases("contingency"), ids=lambda c: c["name"])
def test_contingency(case):
    table = np.array([_num(r) for r in case["table"]])
    pe = contingency.pearson_chi2(table)
    _close(pe.statistic, case["pearson"]["statistic"])
    _close(pe.p, case["pearson"]["p"])
    assert pe.df == case["pearson"]["df"]
    _close(contingency.expected_counts(table).ravel(), [v for r in case["pearson"]["expected"] for v in r])
    if table.shape == (2, 2):
        y = contingency.yates_chi2(table)
        _close(y.statistic, case["yates"]["statistic"])
        _close(y.p, case["yates"]["p"])
        _close(contingency.fisher_exact(table).p, case["fisher_p"])
    _close(contingency.freeman_halton(table).p, case["fisher_p"])


RANKS = json.loads((REF / "fixtures" / "ranks.json").read_text())["cases"]


@pytest.mark.parametrize("case", RANKS["wilcox"], ids=lambda c: c["name"])
def test_wilcox(case):
    res = ranks.mann_whitney(_num(case["x"]), _num(case["y"]))
    _close(res.statistic, case["W"])
    _close(res.p, case["p"])


@pytest.mark.parametrize("case", RANKS["kruskal"], ids=lambda c: c["name"])
def test_kruskal(case):
    res = ranks.kruskal_wallis([_num(g) for g in case["groups"]])
    _close(res.statistic, case["statistic"])
    _close(res.p, case["p"])
    assert res.df == case["df"]


@pytest.mark.parametrize("case", _cases("binomial"), ids=lambda c: f"{c['x']}of{c['n']}-p{c['p0']}")
def test_binomial(case):
    res = binomial.binom_test(int(case["x"]), int(case["n"]), case["p0"])
    _close(res.p, case["p"])
    _close([res.lower, res.upper], case["ci"])


@pytest.mark.parametrize("case", _cases("quantiles"), ids=lambda c: c["name"])
@pytest.mark.parametrize("qtype", range(1, 10))
def test_quantiles(case, qtype):
    q = quantiles.quantile(_num(case["x"]), _num(case["probs"]), type=qtype)
    _close(q, case["types"][qtype - 1], rtol=1e-12)
