"""Integer codes for level-coded columns, so tables are counted with one `bincount` instead of a mask per cell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def level_index(values: pd.Series | np.ndarray, codes: Sequence[str]) -> np.ndarray:
    """Position of each value in `codes`, or -1 where the value is missing or not one of them."""
    return pd.Categorical(np.asarray(values, dtype=object), categories=list(codes)).codes.astype(np.intp)


def cross_counts(rows: np.ndarray, n_rows: int, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """`n_rows × n_cols` table of counts of (rows[i], cols[i]) pairs; pairs with a -1 are left out."""
    ok = (rows >= 0) & (cols >= 0)
    flat = np.bincount(rows[ok] * n_cols + cols[ok], minlength=n_rows * n_cols)
    return flat.reshape(n_rows, n_cols)
