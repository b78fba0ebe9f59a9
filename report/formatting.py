"""The one formatting module: every number in tables and prose passes through these functions.

Conventions: rounding is half away from zero on the decimal value (as a reader rounds, and as SPSS prints),
not Python's round-half-even on binary floats; p-values print with three decimals and "< 0.001" below that;
ranges use an en dash; a missing or non-estimable value prints as an em dash, a median not reached as "NR".
Registered as Jinja filters and globals by `report.render`, so tables and text cannot disagree.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from paperlock.prose import with_detail

NA = "—"
NOT_REACHED = "NR"
DASH = "–"


def round_half_up(x: float, digits: int) -> Decimal:
    """Round the decimal representation of `x` half away from zero (2.345 -> 2.35, -0.125 -> -0.13)."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _missing(x: float | int | None) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def num(x: float | int | None, digits: int = 1) -> str:
    if _missing(x):
        return NA
    out = f"{round_half_up(x, digits):f}"
    return "0" + out[2:] if out.startswith("-0") and Decimal(out) == 0 else out


def integer(x: float | int | None) -> str:
    return NA if _missing(x) else str(int(round_half_up(x, 0)))


def pct(x: float | int | None, digits: int = 1) -> str:
    return num(x, digits)


def n_pct(n: int | None, percent: float | None, digits: int = 1) -> str:
    """'18 (85.7)': count with its percentage."""
    if _missing(n):
        return NA
    return f"{integer(n)} ({pct(percent, digits)})"


def pvalue(p: float | None, digits: int = 3) -> str:
    """'0.305', '< 0.001', '> 0.999'."""
    if _missing(p):
        return NA
    floor = Decimal(1).scaleb(-digits)
    rounded = round_half_up(p, digits)
    if rounded < floor:
        return f"< {floor:f}"
    if rounded >= 1:
        return f"> {1 - floor:f}"
    return f"{rounded:f}"


def p_clause(p: float | None, digits: int = 3) -> str:
    """'p = 0.305' or 'p < 0.001' for running text."""
    text = pvalue(p, digits)
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def interval(lower: float | None, upper: float | None, digits: int = 2) -> str:
    return f"{num(lower, digits)}{DASH}{num(upper, digits)}"


def estimate_ci(est: float | None, lower: float | None, upper: float | None, digits: int = 2,
                status: str = "estimated") -> str:
    """'h (L–U)' at the given digits; 'NR' when not reached; '—' when not estimable."""
    if status == "not_reached":
        return NOT_REACHED
    if _missing(est):
        return NA
    return f"{num(est, digits)} ({interval(lower, upper, digits)})"


def upper_limit(lower: float | None, upper: float | None, digits: int = 2) -> str:
    """A median's CI 'lower–upper', with 'NR' for an upper limit the confidence band never reaches
    (R's NA upper limit of a Brookmeyer–Crowley interval) when the lower limit exists."""
    if _missing(upper) and not _missing(lower):
        return f"{num(lower, digits)}{DASH}{NOT_REACHED}"
    return interval(lower, upper, digits)


def median_ci(median: float | None, lower: float | None, upper: float | None, digits: int = 2,
              status: str = "estimated") -> str:
    """'66.3 (63.0–NR)': a Kaplan–Meier median with its CI; 'NR' when the median is not reached."""
    if status == "not_reached":
        return NOT_REACHED
    if _missing(median):
        return NA
    return f"{num(median, digits)} ({upper_limit(lower, upper, digits)})"


def median_iqr(median: float | None, q1: float | None, q3: float | None, digits: int = 2) -> str:
    """'median [Q1, Q3]', e.g. '47.00 [39.50, 58.25]'."""
    if _missing(median):
        return NA
    return f"{num(median, digits)} [{num(q1, digits)}, {num(q3, digits)}]"


def months(x: float | None, digits: int = 1, status: str = "estimated") -> str:
    if status == "not_reached":
        return NOT_REACHED
    return num(x, digits)


FILTERS = {
    "with_detail": with_detail,
    "num": num, "integer": integer, "pct": pct, "pvalue": pvalue, "p_clause": p_clause, "months": months,
}
