"""Integer codes for level-coded columns, so tables are counted with one `bincount` instead of a mask per cell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from paperlock.io.distinct import factorize


def level_index(values: pd.Series | np.ndarray, codes: Sequence[str]) -> np.ndarray:
    """Position of each value in `codes`, or -1 where the value is missing or not one of them (looked up once
    per distinct value: the result of `pd.Categorical(values, categories=codes).codes`)."""
    index, distinct = factorize(values)
    position = {code: i for i, code in reversed(list(enumerate(codes)))}
    per_value = np.array([position.get(v, -1) for v in distinct.tolist()] + [-1], dtype=np.intp)
    return per_value[index]


def cross_counts(rows: np.ndarray, n_rows: int, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """`n_rows × n_cols` table of counts of (rows[i], cols[i]) pairs; pairs with a -1 are left out."""
    ok = (rows >= 0) & (cols >= 0)
    flat = np.bincount(rows[ok] * n_cols + cols[ok], minlength=n_rows * n_cols)
    return flat.reshape(n_rows, n_cols)
