"""The published tables' tests as the paper self-audit needs them: each test's p value for a table of printed
counts (1 where the table has fewer than two non-empty rows or columns). The tests themselves are the pipeline's
(`analysis.stats.contingency`: Pearson without correction, Yates for 2 x 2, Fisher / Freeman–Halton, as R)."""

from __future__ import annotations

from collections.abc import Sequence

from analysis.stats import contingency as tests

Table = Sequence[Sequence[int]]


def _testable(table: Table) -> bool:
    t = tests.expected_counts(table)
    return min(t.shape) >= 2


def expected(table: Table) -> list[list[float]]:
    """Expected counts under independence (empty rows and columns dropped)."""
    return tests.expected_counts(table).tolist()


def pearson(table: Table) -> float:
    """Pearson's chi-square test without continuity correction (R: chisq.test(m, correct = FALSE))."""
    return tests.pearson_chi2(table).p if _testable(table) else 1.0


def yates(table: Table) -> float | None:
    """Yates-corrected chi-square for a 2 x 2 table (R: chisq.test(m), its default); None for other tables."""
    return tests.yates_chi2(table).p if tests.expected_counts(table).shape == (2, 2) else None


def fisher(table: Table) -> float:
    """Fisher's exact test, two-sided; the Freeman–Halton extension for tables larger than 2 x 2."""
    if not _testable(table):
        return 1.0
    two_by_two = tests.expected_counts(table).shape == (2, 2)
    return (tests.fisher_exact(table) if two_by_two else tests.freeman_halton(table)).p


def all_tests(table: Table) -> dict[str, float]:
    """Every applicable test's p value, by name."""
    out = {"pearson": pearson(table), "fisher": fisher(table)}
    y = yates(table)
    if y is not None:
        out["yates"] = y
    return out


def min_expected(table: Table) -> float:
    return float(tests.expected_counts(table).min())
