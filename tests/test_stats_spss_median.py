"""SPSS median CI (``km_median(ci="spss")``) on hand-computed examples; R has no equivalent.

Algorithm (analysis/stats/km.py docstring; IBM SPSS KM percentiles, after Collett 1994 §2.4):
t50 = min{t: S(t) <= 0.5}; SE = sqrt(Greenwood var S(t50)) / f, f = (S(u) - S(l)) / (l - u),
u = max{event time or 0: S >= 0.55}, l = min{event time: S <= 0.45}; CI = t50 ± 1.959964·SE, not truncated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.stats.km import km_estimate, km_median

Z = 1.959963984540054


def test_uncensored_ten():
    """t = 1..10, all events. S(t_i) = 1 - i/10, so t50 = 5 (S = 0.5 exactly).
    Greenwood at 5: S^2 · sum_{n=10..6} 1/(n(n-1)) = 0.25 · (1/5 - 1/10) = 0.025, SE(S) = sqrt(0.025).
    u = 4 (S = 0.6 >= 0.55), l = 6 (S = 0.4 <= 0.45): f = 0.2 / 2 = 0.1.
    SE(t50) = sqrt(0.025) / 0.1 = 1.5811388300841898; CI = 5 ± 1.959964 · 1.58113883 = (1.90102, 8.09898).
    """
    m = km_median(km_estimate(np.arange(1, 11), np.ones(10)), ci="spss")
    se = math.sqrt(0.025) / 0.1
    assert m.status == "estimated" and m.median == 5
    assert m.se == pytest.approx(se, rel=1e-12)
    assert (m.lower, m.upper) == pytest.approx((5 - Z * se, 5 + Z * se), rel=1e-12)
    assert m.lower == pytest.approx(1.9010248, abs=1e-6)


def test_censored_with_tie_and_negative_lower_bound():
    """t = 1, 2, 2, 3+, 8, 9, 10+, 12+ (+ censored).
    S: 7/8 at 1; 7/8 · 5/7 = 5/8 at 2; 5/8 · 3/4 = 15/32 at 8; 15/32 · 2/3 = 5/16 at 9. t50 = 8.
    Greenwood sum at 8: 1/(8·7) + 2/(7·5) + 1/(4·3); var = (15/32)^2 · that = 0.0347900390625.
    u = 2 (S = 5/8 >= 0.55), l = 9 (S = 5/16 <= 0.45; 15/32 = 0.46875 is not): f = (5/8 - 5/16) / 7.
    SE = 0.186521 / 0.0446429 = 4.17807; lower = 8 - 1.959964 · 4.17807 < 0 (SPSS does not truncate).
    """
    t = [1, 2, 2, 3, 8, 9, 10, 12]
    e = [1, 1, 1, 0, 1, 1, 0, 0]
    m = km_median(km_estimate(t, e), ci="spss")
    var = (15 / 32) ** 2 * (1 / 56 + 2 / 35 + 1 / 12)
    se = math.sqrt(var) / ((5 / 8 - 5 / 16) / 7)
    assert m.median == 8
    assert m.se == pytest.approx(se, rel=1e-12)
    assert m.se == pytest.approx(4.178066, rel=1e-6)
    assert m.lower == pytest.approx(8 - Z * se, rel=1e-12) and m.lower < 0
    assert m.upper == pytest.approx(8 + Z * se, rel=1e-12)


def test_first_event_below_055_uses_origin():
    """t = 1, 1, 1, 2, 3 all events: S = 0.4 at 1, 0.2 at 2, 0 at 3. t50 = 1.
    No event time has S >= 0.55, so u = 0 (S = 1); l = 1 (S = 0.4). f = 0.6 / 1.
    Greenwood at 1: 0.16 · 3/(5·2) = 0.048; SE = sqrt(0.048) / 0.6 = 0.365148.
    """
    m = km_median(km_estimate([1, 1, 1, 2, 3], [1, 1, 1, 1, 1]), ci="spss")
    assert m.median == 1
    assert m.se == pytest.approx(math.sqrt(0.048) / 0.6, rel=1e-12)


def test_se_undefined_when_curve_never_reaches_045():
    """t = 1, 2, 3+, 4+: S = 0.75, 0.5, then flat. t50 = 2 but no time has S <= 0.45: SE undefined."""
    m = km_median(km_estimate([1, 2, 3, 4], [1, 1, 0, 0]), ci="spss")
    assert m.median == 2 and m.status == "estimated"
    assert math.isnan(m.se) and math.isnan(m.lower) and math.isnan(m.upper)


def test_not_reached():
    m = km_median(km_estimate([2, 3, 5, 7, 9], [1, 0, 1, 0, 0]), ci="spss")
    assert m.status == "not_reached" and math.isnan(m.median)


def test_level_changes_z():
    """90 % CI uses z = 1.644854 with the same SE as the first example."""
    m = km_median(km_estimate(np.arange(1, 11), np.ones(10)), ci="spss", level=0.90)
    assert m.upper - 5 == pytest.approx(1.6448536269514722 * math.sqrt(0.025) / 0.1, rel=1e-12)
