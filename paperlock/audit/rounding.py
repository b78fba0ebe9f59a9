"""Rounding rules, exactly (on fractions): which rule turns an exact value into the printed digits."""

from __future__ import annotations

import math
from fractions import Fraction

RULES = ("half_up", "half_even", "truncate")


def round_to(x: Fraction, decimals: int, rule: str) -> Fraction:
    """`x` (non-negative) rounded to `decimals` places under `rule`."""
    scale = Fraction(10) ** decimals
    scaled = x * scale
    floor = math.floor(scaled)
    rest = scaled - floor
    if rule == "truncate":
        digits = floor
    elif rule == "half_up":
        digits = floor + (1 if rest >= Fraction(1, 2) else 0)
    elif rule == "half_even":
        up = rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1)
        digits = floor + (1 if up else 0)
    else:
        raise ValueError(f"unknown rounding rule {rule}")
    return Fraction(digits) / scale


def matching_rules(x: Fraction, printed: Fraction, decimals: int) -> list[str]:
    """The rules under which `x` prints as `printed`."""
    return [rule for rule in RULES if round_to(x, decimals, rule) == printed]


def is_tie(x: Fraction, decimals: int) -> bool:
    """True when `x` lies exactly half-way between two printable values (half-up and half-even differ)."""
    scaled = x * Fraction(10) ** decimals
    return scaled - math.floor(scaled) == Fraction(1, 2)


def percent(n: int, d: int) -> Fraction:
    return Fraction(100 * n, d)


def denominators_reproducing(n: int, printed: Fraction, decimals: int, upto: int) -> list[int]:
    """Denominators d <= upto for which n/d, rounded half-up, prints as `printed` (d >= n)."""
    return [d for d in range(max(n, 1), upto + 1) if round_to(percent(n, d), decimals, "half_up") == printed]


def numerators_reproducing(d: int, printed: Fraction, decimals: int) -> list[int]:
    """Counts k <= d for which k/d, rounded half-up, prints as `printed`."""
    return [k for k in range(d + 1) if round_to(percent(k, d), decimals, "half_up") == printed]
