"""Work on a column's distinct values once, then spread the answers back over the rows.

A registry-sized cohort has millions of cells but few distinct texts per column (codes, small integers,
numbers with one decimal). Any per-cell function that depends only on the cell's own value (parsing,
canonical text, level look-ups) gives the same result computed on the distinct values and broadcast by their
codes, in a fraction of the time. Blanks (None/NaN) share the code -1 and are passed to the function as None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques): `uniques[codes[i]]` is row i's value; code -1 marks a blank (None or NaN)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def spread(codes: np.ndarray, per_value: np.ndarray | list, blank: Any) -> np.ndarray:
    """Row results from per-distinct-value results; rows with code -1 get `blank`."""
    table = np.empty(len(per_value) + 1, dtype=np.asarray(per_value).dtype if len(per_value) else object)
    if table.dtype != object and blank is None:
        table = table.astype(object)
    table[:-1] = per_value
    table[-1] = blank
    return table[codes]


def by_value(s: pd.Series, fn: Callable[[pd.Series], Any],
             codes: tuple[np.ndarray, np.ndarray] | None = None) -> pd.Series:
    """`fn(s)` for an element-wise `fn` (Series in, same-length Series or array out), computed on the distinct
    values of `s` only; blanks are evaluated as None. `codes` (from `factorize(s)`) saves the factorisation."""
    c, uniques = factorize(s) if codes is None else codes
    with_blank = np.empty(uniques.size + 1, dtype=object)
    with_blank[:-1] = uniques
    with_blank[-1] = None
    per_value = np.asarray(fn(pd.Series(with_blank, dtype=object)))
    return pd.Series(per_value[c], index=s.index, name=s.name)
