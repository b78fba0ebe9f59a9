"""The formatting module: rounding convention, p-values, intervals; property tests for invariants."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from report import formatting as fmt


def test_round_half_up_on_the_decimal_value():
    # Python's round() gives 2.34 for 2.345 and 0.12 for 0.125 (binary float, half-even); readers expect half-up.
    assert fmt.num(2.345, 2) == "2.35"
    assert fmt.num(0.125, 2) == "0.13"
    assert fmt.num(100 * 4 / 21, 1) == "19.0"  # 19.047... rounds down, never to 19.1
    assert fmt.num(-0.125, 2) == "-0.13"
    assert fmt.num(-0.0001, 2) == "0.00"


def test_pvalues():
    assert fmt.pvalue(0.41234) == "0.412"
    assert fmt.pvalue(0.0004) == "< 0.001"
    assert fmt.pvalue(0.0005) == "0.001"
    assert fmt.pvalue(0.99971) == "> 0.999"
    assert fmt.pvalue(None) == fmt.NA
    assert fmt.p_clause(0.0239) == "p = 0.024"
    assert fmt.p_clause(1e-9) == "p < 0.001"


def test_composites():
    assert fmt.n_pct(9, 100 * 9 / 13, 1) == "9 (69.2)"
    assert fmt.estimate_ci(0.7349, 0.4151, 1.3012, 2) == "0.73 (0.42–1.30)"
    assert fmt.estimate_ci(None, None, None) == fmt.NA
    assert fmt.estimate_ci(None, None, None, status="not_reached") == "NR"
    assert fmt.median_iqr(47, 39.5, 58.25, 2) == "47.00 [39.50, 58.25]"
    assert fmt.months(float("nan")) == fmt.NA


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=0, max_value=4))
def test_num_is_within_half_a_unit(x, digits):
    out = Decimal(fmt.num(x, digits))
    assert abs(out - Decimal(repr(x))) <= Decimal(5).scaleb(-digits - 1)
    assert len(fmt.num(x, digits).partition(".")[2]) == digits


@given(st.floats(min_value=0, max_value=1))
def test_pvalue_never_prints_zero_or_one(p):
    text = fmt.pvalue(p)
    assert text not in ("0.000", "1.000")
