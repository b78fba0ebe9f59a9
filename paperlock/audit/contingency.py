"""Tests for r x c tables of counts: Pearson's chi-square (no correction), Yates' corrected chi-square (2 x 2)
and Fisher's exact test (Freeman–Halton for r x c), as R's chisq.test and fisher.test compute them."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from scipy import stats

Table = Sequence[Sequence[int]]
_REL_ERR = 1 + 1e-7  # R's fisher.test: tables this close to the observed probability count as "as extreme"


def _clean(table: Table) -> list[list[int]]:
    """Drop rows and columns whose total is zero (they carry no information and break the chi-square)."""
    rows = [list(map(int, r)) for r in table if sum(r) > 0]
    keep = [j for j in range(len(rows[0])) if sum(r[j] for r in rows) > 0]
    return [[r[j] for j in keep] for r in rows]


def expected(table: Table) -> list[list[float]]:
    t = _clean(table)
    total = sum(map(sum, t))
    cols = [sum(r[j] for r in t) for j in range(len(t[0]))]
    return [[sum(r) * c / total for c in cols] for r in t]


def pearson(table: Table) -> float:
    """Pearson's chi-square test without continuity correction (R: chisq.test(m, correct = FALSE))."""
    t = _clean(table)
    if len(t) < 2 or len(t[0]) < 2:
        return 1.0
    exp = expected(t)
    chi2 = sum((o - e) ** 2 / e for ro, re_ in zip(t, exp, strict=True) for o, e in zip(ro, re_, strict=True))
    df = (len(t) - 1) * (len(t[0]) - 1)
    return float(stats.chi2.sf(chi2, df))


def yates(table: Table) -> float | None:
    """Yates-corrected chi-square for a 2 x 2 table (R: chisq.test(m), its default); None for larger tables."""
    t = _clean(table)
    if len(t) != 2 or len(t[0]) != 2:
        return None
    exp = expected(t)
    diffs = [abs(o - e) for ro, re_ in zip(t, exp, strict=True) for o, e in zip(ro, re_, strict=True)]
    correction = min(0.5, *diffs)  # R caps the correction at the smallest |O - E|
    chi2 = sum((abs(o - e) - correction) ** 2 / e
               for ro, re_ in zip(t, exp, strict=True) for o, e in zip(ro, re_, strict=True))
    return float(stats.chi2.sf(chi2, 1))


def _log_prob(table: list[list[int]], log_const: float) -> float:
    return log_const - sum(math.lgamma(x + 1) for r in table for x in r)


def _tables(rows: list[int], cols: list[int]) -> Iterator[list[list[int]]]:
    """Every table of non-negative counts with the given margins."""
    if len(rows) == 1:
        yield [list(cols)]
        return
    first = rows[0]

    def fill(j: int, left: int, acc: list[int]) -> Iterator[list[int]]:
        if j == len(cols) - 1:
            if left <= cols[j]:
                yield [*acc, left]
            return
        for x in range(min(left, cols[j]) + 1):
            yield from fill(j + 1, left - x, [*acc, x])

    for row in fill(0, first, []):
        rest = [c - x for c, x in zip(cols, row, strict=True)]
        for tail in _tables(rows[1:], rest):
            yield [row, *tail]


def fisher(table: Table) -> float:
    """Fisher's exact test, two-sided; the Freeman–Halton extension for tables larger than 2 x 2."""
    t = _clean(table)
    if len(t) < 2 or len(t[0]) < 2:
        return 1.0
    if len(t) == 2 and len(t[0]) == 2:
        return float(stats.fisher_exact(t).pvalue)
    rows = [sum(r) for r in t]
    cols = [sum(r[j] for r in t) for j in range(len(t[0]))]
    total = sum(rows)
    log_const = sum(math.lgamma(x + 1) for x in (*rows, *cols)) - math.lgamma(total + 1)
    observed = _log_prob(t, log_const)
    limit = observed + math.log(_REL_ERR)
    p = sum(math.exp(lp) for lp in (_log_prob(x, log_const) for x in _tables(rows, cols)) if lp <= limit)
    return min(1.0, p)


def all_tests(table: Table) -> dict[str, float]:
    """Every applicable test's p value, by name."""
    out = {"pearson": pearson(table), "fisher": fisher(table)}
    y = yates(table)
    if y is not None:
        out["yates"] = y
    return out


def min_expected(table: Table) -> float:
    return min(min(r) for r in expected(table))
