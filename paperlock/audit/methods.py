"""Which method reproduces a printed p-value or CI bound: the spec's convention, the alternative conventions
results.json stores beside it, and (categorical p-values) Pearson / Yates / Fisher recomputed from the
recomputed counts with `analysis.stats.contingency`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from analysis.stats import contingency
from paperlock.results import Results
from report.formatting import round_half_up

TEST_LABELS = {"pearson": "Pearson χ²", "yates": "Yates-corrected χ²", "fisher": "Fisher exact"}


@dataclass(frozen=True)
class Candidate:
    """One way of computing the statistic, with its value."""

    method: str
    label: str
    value: float


def prints_as(value: float, decimals: int, printed: Decimal) -> bool:
    return round_half_up(value, decimals) == printed


def stored_alternatives(results: Results, key: str, variants: list[str]) -> list[Candidate]:
    """The statistic under the spec's convention and every stored variant (`<stem>.<variant>.<last>`)."""
    stats = results.statistics
    stem, last = key.rsplit(".", 1)
    out: list[Candidate] = []
    for k in [key, *(f"{stem}.{v}.{last}" for v in variants)]:
        s = stats.get(k)
        if s is None or s.value is None:
            continue
        m = results.methods.get(s.method)
        conv = m.conventions.get("ci") if m else None
        out.append(Candidate(s.method, conv or (m.description if m else s.method), float(s.value)))
    return out


def contingency_table(results: Results, p_key: str, groups: list[str]) -> list[list[int]] | None:
    """Rows = levels, columns = groups, from `<stem>.<level>.<group>.n`; a single row (`<stem>.<group>.n`)
    is completed with its complement `cohort.n.<group> - n`. None when the counts are not in results."""
    stats = results.statistics
    stem = p_key[: -len(".p")]
    if not groups:
        return None

    def count(key: str) -> int | None:
        s = stats.get(key)
        return None if s is None or s.value is None else int(s.value)

    levels: dict[str, dict[str, int]] = {}
    for key, s in stats.items():
        if not key.startswith(stem + ".") or not key.endswith(".n") or s.value is None:
            continue
        middle = key[len(stem) + 1 : -len(".n")].split(".")
        if len(middle) == 2 and middle[1] in groups:
            levels.setdefault(middle[0], {})[middle[1]] = int(s.value)
    rows = [[cells[g] for g in groups] for _, cells in sorted(levels.items()) if set(cells) == set(groups)]
    if len(rows) >= 2:
        return rows
    direct = [count(f"{stem}.{g}.n") for g in groups]
    sizes = [count(f"cohort.n.{g}") for g in groups]
    if any(x is None for x in (*direct, *sizes)):
        return None
    return [list(direct), [s - n for s, n in zip(sizes, direct, strict=True)]]  # type: ignore[list-item,operator]


def contingency_candidates(table: list[list[int]], tests: list[str]) -> list[Candidate]:
    """Each named test's p for the table (Fisher becomes Freeman–Halton beyond 2 × 2; Yates only for 2 × 2)."""
    out: list[Candidate] = []
    two_by_two = len(table) == 2 and len(table[0]) == 2
    for test in tests:
        try:
            if test == "pearson":
                p = contingency.pearson_chi2(table).p
            elif test == "yates":
                if not two_by_two:
                    continue
                p = contingency.yates_chi2(table).p
            elif test == "fisher":
                p = (contingency.fisher_exact(table) if two_by_two else contingency.freeman_halton(table)).p
            else:
                continue
        except ValueError:  # a degenerate table (one non-empty row or column): no test applies
            continue
        out.append(Candidate(f"test.{test}", TEST_LABELS[test], p))
    return out


def method_note(reproducing: list[Candidate], candidates: list[Candidate], expected: list[str],
                expected_phrase: str) -> str:
    """One sentence: which candidate(s) print the paper's digits; `expected_phrase` is added when none of them
    is an `expected` method (e.g. "while Methods states Pearson χ² or Fisher exact")."""
    if not candidates:
        return ""
    if not reproducing:
        tried = "; ".join(f"{c.label} {c.value:.4g}" for c in candidates)
        return f"no candidate method prints the published value ({tried})"
    text = "matches " + " / ".join(c.label for c in reproducing)
    if expected and not any(c.method in expected for c in reproducing):
        text += f", while {expected_phrase}"
    return text
