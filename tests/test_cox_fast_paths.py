"""Property tests: each fast path equals the straightforward computation it replaces (1e-9 relative).

* Cox derivatives from cells (reversed cumulative sums, Efron slots only where events tie, merged 0/1 patterns)
  against the textbook loop over event times with boolean risk-set masks;
* the dense risk-set matrix of small fits (cox_dense.py) against the textbook loop, and its fits (general and one
  0/1 covariate in floats) against the cells path's and the batched fits;
* the LAPACK Cholesky shortcut for R's ``cholesky2`` singularity rule against the LDL' loop;
* the batched 0/1 univariable fits (per-time counts) against one `cox_fit` per column;
* results.json's column-wise writing of long listings against json.dumps of the rows, the column-wise
  privacy counts against the row-by-row count, and the factorisation of columns of per-row objects.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textbook_cox import textbook_derivs

from analysis.stats import cox, cox_kernel
from analysis.stats.cox_dense import DenseRiskSets
from paperlock import results as results_module
from paperlock.io.distinct import factorize
from paperlock.privacy import flag_small_counts
from paperlock.results import Meta, ResultsBuilder, dumps

RTOL = 1e-9
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def numpy_paths():
    """These tests compare the numpy paths among themselves, so `cox_fit` runs without the compiled kernel
    (which tests/test_cox_kernel.py compares with them)."""
    cox_kernel.reset(None)
    yield
    cox_kernel.reset()


@st.composite
def survival_data(draw, binary=None):
    n = draw(st.integers(5, 60))
    p = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    max_time = draw(st.sampled_from([3, 8, 40, 10**6]))  # heavy ties to (almost) none
    t = rng.integers(1, max_time + 1, n).astype(float)
    e = (rng.random(n) < draw(st.floats(0.2, 1.0))).astype(float)
    e[0] = 1.0
    is_binary = draw(st.booleans()) if binary is None else binary
    x = (rng.random((n, p)) < 0.5).astype(float) if is_binary else rng.normal(size=(n, p))
    beta = rng.normal(scale=0.5, size=p)
    return t, e, x, beta


@SETTINGS
@given(data=survival_data(), ties=st.sampled_from(["breslow", "efron"]), merge=st.booleans())
def test_cell_derivatives_equal_textbook(data, ties, merge):
    t, e, x, beta = data
    cells = cox._cell_strata(t, e, x, None, ties, merge=merge)
    ll, u, info = cox._derivs_cells(beta, cells)
    ll0, u0, info0 = textbook_derivs(t, e, x, beta, ties)
    assert ll == pytest.approx(ll0, rel=RTOL)
    size = 1 + np.abs(x).max() ** 2 * e.sum()  # the scale of a sum over events: cancellation below it is rounding
    np.testing.assert_allclose(u, u0, rtol=RTOL, atol=RTOL * size)
    np.testing.assert_allclose(info, info0, rtol=RTOL, atol=RTOL * size)


@SETTINGS
@given(data=survival_data(), ties=st.sampled_from(["breslow", "efron"]))
def test_stratified_cell_derivatives_are_the_sum_over_strata(data, ties):
    t, e, x, beta = data
    strata = np.arange(t.size) % 3
    ll, u, info = cox._derivs_cells(beta, cox._cell_strata(t, e, x, strata, ties))
    parts = [textbook_derivs(t[strata == s], e[strata == s], x[strata == s], beta, ties) for s in range(3)]
    assert ll == pytest.approx(sum(q[0] for q in parts), rel=RTOL)
    size = 1 + np.abs(x).max() ** 2 * e.sum()
    np.testing.assert_allclose(u, sum(q[1] for q in parts), rtol=RTOL, atol=RTOL * size)
    np.testing.assert_allclose(info, sum(q[2] for q in parts), rtol=RTOL, atol=RTOL * size)


@st.composite
def information_matrices(draw):
    p = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.normal(size=(p + draw(st.integers(-p, 3)), p))
    m = a.T @ a
    if draw(st.booleans()) and p > 1:  # an exactly or nearly collinear column
        j, k = rng.choice(p, 2, replace=False)
        m[:, j] = m[:, k] * draw(st.sampled_from([1.0, 1 + 1e-13, 1 + 1e-6]))
        m[j, :] = m[:, j]
        m[j, j] = m[k, k] * draw(st.sampled_from([1.0, 1 + 1e-13, 1 + 1e-6]))
    return m


@SETTINGS
@given(imat=information_matrices())
def test_cholesky_shortcut_gives_cholesky2s_singular_columns(imat):
    factor = cox._Factor(imat)
    sing = cox._singular(imat)
    np.testing.assert_array_equal(factor.singular, sing)
    vec = np.arange(1.0, imat.shape[0] + 1)
    np.testing.assert_allclose(factor.solve(vec), cox._solve(imat, vec, sing), rtol=1e-7)
    np.testing.assert_allclose(factor.inverse(), cox._inverse(imat, sing), rtol=1e-7, atol=1e-12)


@SETTINGS
@given(data=survival_data(binary=True), ties=st.sampled_from(["breslow", "efron"]),
       special=st.sampled_from(["none", "constant", "separated"]))
def test_binary_univariable_fits_equal_one_cox_fit_per_column(data, ties, special):
    t, e, x, _ = data
    if special == "constant":
        x[:, 0] = 1.0
    elif special == "separated":
        x[:, 0] = e  # every event has x = 1: a diverging coefficient
    fits = cox.binary_univariable_fits(t, e, [x[:, j] for j in range(x.shape[1])], ties=ties)
    assert [f.coef.size for f in fits] == [1] * x.shape[1]
    for j, fit in enumerate(fits):
        one = cox._fit_cells(t, e, x[:, [j]], ties, None, 0.95)  # the general path, on cells
        routed = cox.cox_fit(t, e, x[:, [j]], ties=ties)  # which takes the per-time counts path
        assert routed.status == fit.status
        assert (fit.status, fit.column_status, fit.converged, fit.iterations) == \
               (one.status, one.column_status, one.converged, one.iterations)
        assert fit.reason == one.reason
        assert fit.loglik == pytest.approx(one.loglik, rel=RTOL)
        if fit.status == "ok":  # a diverging fit's information is all cancellation: its SE is not reported
            np.testing.assert_allclose(routed.coef, fit.coef, rtol=RTOL)
            np.testing.assert_allclose(fit.coef, one.coef, rtol=RTOL)
            np.testing.assert_allclose(fit.se, one.se, rtol=RTOL)


def test_efron_slot_blocks_give_the_same_fits(monkeypatch):
    """Columns are fitted in blocks when slots × columns is large; a block of one column is the same fit
    (to rounding)."""
    rng = np.random.default_rng(5)
    t = rng.integers(1, 6, 400).astype(float)
    e = (rng.random(400) < 0.8).astype(float)
    cols = [(rng.random(400) < 0.4).astype(float) for _ in range(5)]
    whole = cox.binary_univariable_fits(t, e, cols, ties="efron")
    monkeypatch.setattr(cox, "SLOT_BLOCK", 1)
    blocks = cox.binary_univariable_fits(t, e, cols, ties="efron")
    for a, b in zip(whole, blocks, strict=True):
        np.testing.assert_allclose(a.coef, b.coef, rtol=RTOL)  # sums over a block differ in rounding only


# ------------------------------------------------------------------ results.json, privacy, factorize

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**20),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6))
field_names = st.text(min_size=1, max_size=5)


@st.composite
def listings(draw):
    keys = draw(st.lists(field_names, min_size=1, max_size=4, unique=True))
    kinds = {k: draw(st.sampled_from(["text", "number", "any"])) for k in keys}
    strategy = {"text": st.one_of(st.none(), st.text(max_size=6)),
                "number": st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False)),
                "any": scalars}
    rows = draw(st.lists(st.fixed_dictionaries({k: strategy[kinds[k]] for k in keys}), max_size=30))
    if rows and draw(st.booleans()):
        rows[-1] = dict(reversed(list(rows[-1].items())))  # key order differs from row to row
    return rows


def _results(rows):
    rb = ResultsBuilder()
    m = rb.method("count", "number of patients")
    rb.add("cohort.n.all", len(rows), "n", m)
    rb.listings["waterfall"] = {"rows": rows, "omitted_without_value": 0}
    rb.listings["other"] = {"rows": rows[:3]}
    meta = Meta(study="s", synthetic=True, spec_sha256="0", inputs={}, git_commit="g", packages={})
    return rb.build(meta)


@contextmanager
def fast_rows_from(n: int):
    saved = results_module.FAST_ROWS
    results_module.FAST_ROWS = n
    try:
        yield
    finally:
        results_module.FAST_ROWS = saved


@SETTINGS
@given(rows=listings())
def test_column_wise_listing_text_equals_json_dumps(rows):
    with fast_rows_from(10**12):
        slow = dumps(_results(rows))
    with fast_rows_from(1):
        assert dumps(_results(rows)) == slow
    assert json.loads(slow)["listings"]["waterfall"]["rows"] == json.loads(json.dumps(rows))


def test_rows_with_numpy_scalars_or_other_keys_take_the_slow_path(monkeypatch):
    monkeypatch.setattr(results_module, "FAST_ROWS", 1)
    assert results_module._plain_columns([{"a": np.float64(1.0)}, {"a": 2.0}]) is None
    assert results_module._plain_columns([{"a": 1.0}, {"b": 2.0}]) is None
    assert results_module._plain_columns([{"a": float("nan")}, {"a": 2.0}]) is None
    assert results_module._plain_columns([{"a": "x"}, {"a": 2.0}]) is None
    assert results_module._plain_columns([{"a": 1.0}, {"a": None}]) == {"a": [1.0, None]}


def row_by_row_flags(rows, min_count):
    """The privacy scan before the column-wise count."""
    flags = []
    for fld in sorted({k for r in rows for k, v in r.items() if isinstance(v, str)}):
        counts = Counter(r.get(fld) for r in rows if isinstance(r.get(fld), str))
        flags += [{"field": fld, "value": v, "n": n} for v, n in sorted(counts.items()) if n < min_count]
    return flags


@SETTINGS
@given(rows=listings(), min_count=st.integers(1, 6))
def test_column_wise_privacy_counts_equal_row_by_row(rows, min_count):
    listings_ = {"waterfall": {"rows": [dict(r) for r in rows]}}
    flag_small_counts(listings_, min_count)
    assert listings_["waterfall"]["small_counts"] == row_by_row_flags(rows, min_count)


@pytest.mark.parametrize("shared", [True, False])
def test_factorize_of_per_row_objects_equals_pandas(shared):
    """A derived column often holds one new string object per row; a read one repeats a few objects."""
    rng = np.random.default_rng(8)
    labels = ["low", "high", None]
    picks = rng.integers(0, 3, 20000)
    values = np.array([labels[i] if shared or labels[i] is None else "".join(labels[i]) for i in picks],
                      dtype=object)
    if not shared:
        values = np.array([None if v is None else str(v + "x")[:-1] for v in values], dtype=object)
    codes, uniques = factorize(values)
    want_codes, want_uniques = pd.factorize(values, use_na_sentinel=True)
    np.testing.assert_array_equal(codes, want_codes)
    assert list(uniques) == list(want_uniques)


# ------------------------------------------------------------------ dense risk-set matrix (small fits)

@SETTINGS
@given(data=survival_data(), ties=st.sampled_from(["breslow", "efron"]))
def test_dense_derivatives_equal_textbook(data, ties):
    t, e, x, beta = data
    ll, u, info = DenseRiskSets(t, e, x, ties == "efron").derivs(beta)
    ll0, u0, info0 = textbook_derivs(t, e, x, beta, ties)
    assert ll == pytest.approx(ll0, rel=RTOL)
    size = 1 + np.abs(x).max() ** 2 * e.sum()
    np.testing.assert_allclose(u, u0, rtol=RTOL, atol=RTOL * size)
    np.testing.assert_allclose(info, info0, rtol=RTOL, atol=RTOL * size)


@SETTINGS
@given(data=survival_data(), ties=st.sampled_from(["breslow", "efron"]),
       special=st.sampled_from(["none", "constant", "separated", "collinear"]))
def test_dense_fit_equals_cells_fit(data, ties, special):
    """`cox_fit` on a small cohort (dense risk sets; one 0/1 covariate: floats) is the cells path's fit: same
    Newton–Raphson iterates, so the same iterations, status and, to rounding, numbers."""
    t, e, x, _ = data
    if special == "constant":
        x[:, 0] = 1.0
    elif special == "separated":
        x[:, 0] = e
    elif special == "collinear" and x.shape[1] > 1:
        x[:, 1] = x[:, 0]
    assert t.size ** 2 <= cox.DENSE_MAX_CELLS  # cox_fit takes the dense path
    fit = cox.cox_fit(t, e, x, ties=ties)
    cells = cox._fit_cells(t, e, x, ties, None, 0.95)
    assert (fit.status, fit.column_status, fit.converged, fit.iterations, fit.reason) == \
           (cells.status, cells.column_status, cells.converged, cells.iterations, cells.reason)
    assert fit.loglik == pytest.approx(cells.loglik, rel=RTOL)
    assert fit.loglik_null == pytest.approx(cells.loglik_null, rel=RTOL)
    if fit.status == "ok":  # a diverging fit's information is all cancellation: its SE is not reported
        for name in ("coef", "se", "hr", "ci_lower", "ci_upper", "z", "p"):
            np.testing.assert_allclose(getattr(fit, name), getattr(cells, name), rtol=RTOL, err_msg=name)
        np.testing.assert_allclose(fit.var, cells.var, rtol=RTOL, atol=RTOL * np.abs(cells.var).max())


@SETTINGS
@given(data=survival_data(binary=True), ties=st.sampled_from(["breslow", "efron"]))
def test_dense_binary_fit_equals_batched_counts(data, ties):
    """One 0/1 covariate on a small cohort: the float Newton–Raphson on dense counts is the batched fit."""
    t, e, x, _ = data
    for j in range(x.shape[1]):
        fit = cox.cox_fit(t, e, x[:, [j]], ties=ties)
        batch = cox.binary_univariable_fits(t, e, [x[:, j], 1 - x[:, j]], ties=ties)[0]  # two columns: vectorised
        assert (fit.status, fit.column_status, fit.converged, fit.iterations) == \
               (batch.status, batch.column_status, batch.converged, batch.iterations)
        assert fit.loglik == pytest.approx(batch.loglik, rel=RTOL)
        if fit.status == "ok":
            np.testing.assert_allclose(fit.coef, batch.coef, rtol=RTOL)
            np.testing.assert_allclose(fit.se, batch.se, rtol=RTOL)


def test_large_cohorts_do_not_take_the_dense_path(monkeypatch):
    rng = np.random.default_rng(3)
    n = int(np.sqrt(cox.DENSE_MAX_CELLS)) + 1
    t, e, x = rng.exponential(size=n), (rng.random(n) < 0.7).astype(float), rng.normal(size=(n, 2))

    def refuse(*args, **kwargs):
        raise AssertionError("dense path used")

    monkeypatch.setattr(cox, "_fit_dense", refuse)
    assert cox.cox_fit(t, e, x).status == "ok"
