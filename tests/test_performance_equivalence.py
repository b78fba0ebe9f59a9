"""The fast paths give the results of the straightforward computations they replace (1e-9 relative), on random data.

Straightforward references are written out here: a Cox Newton–Raphson that loops over event times with boolean
risk-set masks, a log-rank test that loops over times, pandas groupby counts, a per-row level lookup.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.codes import cross_counts, level_index
from analysis.cox_univariable import univariable_fits
from analysis.stats import cox, km
from analysis.variables import _norm, derive_variable
from paperlock.spec import Level, Variable

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-9


def naive_cox(time, event, X, ties):
    """Textbook partial likelihood (risk set = time >= t, masks per event time); Newton from 0 with R coxfit6's
    stopping rule (|1 - loglik_old / loglik_new| <= 1e-9), so both stop at the same iterate."""
    t, e, x = np.asarray(time, float), np.asarray(event, float), np.asarray(X, float)

    def derivs(beta):
        w, eta = np.exp(x @ beta), x @ beta
        ll, u, info = 0.0, np.zeros_like(beta), np.zeros((beta.size, beta.size))
        for s in np.unique(t[e == 1]):
            risk, dead = t >= s, (t == s) & (e == 1)
            d = int(dead.sum())
            s0, s1, s2 = w[risk].sum(), w[risk] @ x[risk], (x[risk] * w[risk, None]).T @ x[risk]
            e0, e1, e2 = w[dead].sum(), w[dead] @ x[dead], (x[dead] * w[dead, None]).T @ x[dead]
            ll += eta[dead].sum()
            u += x[dead].sum(axis=0)
            for k in range(d):
                f = k / d if ties == "efron" else 0.0
                den = s0 - f * e0
                a = (s1 - f * e1) / den
                ll -= np.log(den)
                u -= a
                info += (s2 - f * e2) / den - np.outer(a, a)
        return ll, u, info

    best, u, info = derivs(np.zeros(x.shape[1]))
    beta = np.linalg.solve(info, u)
    for _ in range(20):
        ll, u, info = derivs(beta)
        if abs(1 - best / ll) <= 1e-9:
            break
        best, beta = ll, beta + np.linalg.solve(info, u)
    return beta, np.sqrt(np.diag(np.linalg.inv(info)))


def random_survival(rng, n, p, binary=True, max_time=30):
    X = (rng.random((n, p)) < rng.uniform(0.2, 0.8, p)).astype(float) if binary else rng.normal(size=(n, p))
    t = rng.integers(1, max_time, n).astype(float)  # many ties
    e = (rng.random(n) < 0.7).astype(int)
    return t, e, X


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("binary", [True, False])
def test_cox_fit_equals_textbook_newton(ties, binary):
    rng = np.random.default_rng(11 if binary else 12)
    for _ in range(4):
        t, e, X = random_survival(rng, 150, 3, binary)
        fit = cox.cox_fit(t, e, X, ties=ties)
        beta, se = naive_cox(t, e, X, ties)
        assert fit.status == "ok"
        np.testing.assert_allclose(fit.coef, beta, rtol=RTOL)
        np.testing.assert_allclose(fit.se, se, rtol=RTOL)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_univariable_batch_equals_one_fit_per_column(ties):
    rng = np.random.default_rng(5)
    for trial in range(6):
        t, e, X = random_survival(rng, 120, 5)
        X[:, 4] = 1.0 if trial % 2 else X[:, 4]  # a constant column: not estimable in both
        batch = cox.cox_univariable_batch(t, e, X, ties=ties)
        for j in range(X.shape[1]):
            one = cox.cox_fit(t, e, X[:, [j]], ties=ties)
            assert (batch[j].status, batch[j].reason, batch[j].iterations) == (one.status, one.reason,
                                                                                 one.iterations)
            if one.status == "ok":
                for field in ("coef", "se", "p", "ci_lower", "ci_upper"):
                    np.testing.assert_allclose(getattr(batch[j], field), getattr(one, field), rtol=RTOL)
                assert batch[j].loglik == pytest.approx(one.loglik, rel=RTOL)


def test_univariable_fits_with_missing_values_equal_separate_fits():
    rng = np.random.default_rng(8)
    t, e, X = random_survival(rng, 200, 4)
    X[rng.random(200) < 0.1, 1] = np.nan  # a covariate with its own missing rows
    X[:, 3] = rng.normal(size=200)  # a continuous covariate: fitted on its own
    columns = [[0], [1], [2], [3], [0, 2]]
    fits = univariable_fits(t, e, X, columns, "breslow", 0.95)
    for cols, fit in zip(columns, fits, strict=True):
        ok = ~np.isnan(X[:, cols]).any(axis=1)
        one = cox.cox_fit(t[ok], e[ok], X[np.ix_(ok, cols)])
        assert fit.n == one.n
        np.testing.assert_allclose(fit.coef, one.coef, rtol=RTOL)
        np.testing.assert_allclose(fit.se, one.se, rtol=RTOL)


def test_weighted_cells_equal_rows_for_strata_and_separation():
    """Merged cells (time, event, pattern) give the row-level answer, including a diverging coefficient."""
    rng = np.random.default_rng(3)
    t, e, X = random_survival(rng, 100, 2)
    strata = rng.integers(0, 3, 100)
    fit = cox.cox_fit(t, e, X, ties="efron", strata=strata)
    rows = cox._cell_strata(t, e.astype(float), X, strata, "efron")
    assert sum(c.count.sum() for c in rows) == 100
    beta = fit.coef
    ll = sum(cox._derivs_cells(beta, [c])[0] for c in rows)
    assert ll == pytest.approx(fit.loglik, rel=RTOL)
    sep = X[:, 0].copy()
    e_sep = (sep == 1).astype(int)  # every event has x = 1: monotone likelihood
    assert cox.cox_fit(t, e_sep, sep[:, None]).status == "not_estimable"


def naive_logrank(time, event, group):
    levels = np.unique(group)
    o, ex = np.zeros(levels.size), np.zeros(levels.size)
    v = np.zeros((levels.size, levels.size))
    for s in np.unique(time[event == 1]):
        risk = time >= s
        n = risk.sum()
        d = ((time == s) & (event == 1)).sum()
        nk = np.array([(risk & (group == g)).sum() for g in levels])
        dk = np.array([((time == s) & (event == 1) & (group == g)).sum() for g in levels])
        o += dk
        ex += d * nk / n
        if n > 1:
            frac = nk / n
            v += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
    diff = (o - ex)[1:]
    return float(diff @ np.linalg.solve(v[1:, 1:], diff))


def test_logrank_equals_loop_over_times():
    rng = np.random.default_rng(2)
    for k in (2, 3, 5):
        t, e, _ = random_survival(rng, 300, 1)
        g = rng.integers(0, k, 300)
        res = km.logrank(t, e, g)
        chi2 = naive_logrank(t, e, g)
        assert res.chi2 == pytest.approx(chi2, rel=RTOL)
        assert res.p == pytest.approx(stats.chi2.sf(chi2, k - 1), rel=RTOL)


def test_findq_duplicate_rule_equals_r_duplicated():
    """`keep first occurrence, NaN equal to NaN` (R duplicated()) as the old element-by-element loop did it."""
    rng = np.random.default_rng(4)
    for _ in range(50):
        y = rng.choice([0.0, 0.1, 0.25, 0.5, 0.5000000001, np.nan], size=12)
        seen, seen_nan, keep = set(), False, []
        for val in y:
            if np.isnan(val):
                keep.append(not seen_nan)
                seen_nan = True
            else:
                keep.append(val not in seen)
                seen.add(val)
        got = np.zeros(y.size, dtype=bool)
        got[np.unique(y + 0.0, return_index=True, equal_nan=True)[1]] = True
        assert got.tolist() == keep
        x = np.arange(y.size, dtype=float)
        assert np.isnan(km._findq(x, y, 0.5)) or km._findq(x, y, 0.5) >= 0


def test_bincount_tables_equal_pandas_groupby():
    rng = np.random.default_rng(6)
    rows = pd.Series(rng.choice(["a", "b", "c", None], 5000), dtype=object)
    cols = pd.Series(rng.choice(["x", "y", None], 5000), dtype=object)
    got = cross_counts(level_index(rows, ["a", "b", "c"]), 3, level_index(cols, ["x", "y"]), 2)
    want = (pd.crosstab(rows, cols).reindex(index=["a", "b", "c"], columns=["x", "y"], fill_value=0))
    np.testing.assert_array_equal(got, want.to_numpy())
    assert level_index(pd.Series(["a", "zz", None], dtype=object), ["a"]).tolist() == [0, -1, -1]


def test_categorical_derivation_equals_row_by_row_lookup():
    var = Variable(column="c", label="C", type="categorical",
                   levels=[Level(code="lo", label="Lo", values=[1, "one"]), Level(code="hi", label="Hi", values=[2])])
    rng = np.random.default_rng(7)
    raw = pd.DataFrame({"c": rng.choice(["1", "2", "one", " 2", None], 1000)}, dtype=object)
    got = derive_variable("v", var, raw, Path("cohort.csv"))
    lookup = {_norm(v): lvl.code for lvl in var.levels for v in lvl.values}
    want = [None if v is None else lookup[_norm(v)] for v in raw["c"].tolist()]
    assert got.tolist() == want


@pytest.mark.parametrize(("code", "banned"), [
    ("import sys; from paperlock.cli import main; sys.argv = ['paperlock', '--help']\ntry: main()\n"
     "except SystemExit: pass", ("pandas", "matplotlib", "lifelines")),
    ("import paperlock.commands.report, report.render", ("lifelines",)),
])
def test_lazy_imports(code, banned):
    """`paperlock --help` pays for no heavy library; the report stage never imports lifelines."""
    check = f"{code}\nimport sys\nprint('LOADED:' + ','.join(m for m in {banned!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED:", out.stdout[-300:]
