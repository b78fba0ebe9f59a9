"""analysis.stats.distributions against scipy.stats, which computes the same functions (relative 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.stats import distributions as dist

REL = 1e-12


def test_normal_functions():
    x = np.linspace(-9, 9, 361)
    np.testing.assert_allclose(dist.norm_cdf(x), stats.norm.cdf(x), rtol=REL, atol=0)
    np.testing.assert_allclose(dist.norm_sf(x), stats.norm.sf(x), rtol=REL, atol=0)
    np.testing.assert_allclose(dist.norm_pdf(x), stats.norm.pdf(x), rtol=REL, atol=0)
    q = np.linspace(1e-6, 1 - 1e-6, 301)
    np.testing.assert_allclose(dist.norm_ppf(q), stats.norm.ppf(q), rtol=REL, atol=1e-15)


def test_chi_square_upper_tail():
    for df in (1, 2, 3, 7, 20):
        x = np.linspace(0, 60, 241)
        np.testing.assert_allclose(dist.chi2_sf(x, df), stats.chi2.sf(x, df), rtol=REL, atol=0)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 300), p=st.floats(0.001, 0.999), q=st.floats(0.001, 0.999), data=st.data())
def test_binomial_and_beta(n: int, p: float, q: float, data: st.DataObject):
    k = data.draw(st.integers(-2, n + 2))
    assert dist.binom_pmf(k, n, p) == pytest.approx(stats.binom.pmf(k, n, p), rel=1e-11, abs=1e-300)
    assert dist.binom_cdf(k, n, p) == pytest.approx(stats.binom.cdf(k, n, p), rel=REL, abs=1e-300)
    assert dist.binom_sf(k, n, p) == pytest.approx(stats.binom.sf(k, n, p), rel=REL, abs=1e-300)
    a = data.draw(st.integers(1, 60))
    b = data.draw(st.integers(1, 60))
    assert dist.beta_ppf(q, a, b) == pytest.approx(stats.beta.ppf(q, a, b), rel=REL)


@settings(max_examples=200, deadline=None)
@given(total=st.integers(1, 200), data=st.data())
def test_hypergeometric_log_probability(total: int, data: st.DataObject):
    successes = data.draw(st.integers(0, total))
    draws = data.draw(st.integers(0, total))
    x = np.arange(max(0, draws - (total - successes)), min(draws, successes) + 1)
    np.testing.assert_allclose(dist.hypergeom_logpmf(x, total, successes, draws),
                               stats.hypergeom.logpmf(x, total, successes, draws), rtol=1e-10, atol=1e-10)


@given(st.lists(st.integers(-5, 5) | st.floats(-1e3, 1e3, allow_nan=False), max_size=60))
def test_mid_ranks(values: list[float]):
    np.testing.assert_array_equal(dist.rankdata(values), stats.rankdata(values))
