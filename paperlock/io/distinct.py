"""Work on a column's distinct values once, then spread the answers back over the rows.

A registry-sized cohort has millions of cells but few distinct texts per column (codes, small integers,
numbers with one decimal). Any per-cell function that depends only on the cell's own value (parsing,
canonical text, level look-ups) gives the same result computed on the distinct values and broadcast by their
codes, in a fraction of the time. Blanks (None/NaN) share the code -1 and are passed to the function as None.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques): `uniques[codes[i]]` is row i's value; code -1 marks a blank (None or NaN). The same
    answer as `pd.factorize` (uniques in order of first appearance)."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim == 1 and arr.size >= 4096 and arr.flags.c_contiguous and arr.itemsize == ctypes.sizeof(ctypes.c_void_p):
        address = np.ctypeslib.as_array((ctypes.c_size_t * arr.size).from_address(arr.ctypes.data))
        if _few_objects(address):
            return _factorize_by_identity(arr, address)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


IDENTITY_SAMPLE = 2048  # cells looked at to decide whether a column repeats a few objects


def _few_objects(address: np.ndarray) -> bool:
    """Whether cells spread over the column hold few distinct objects (at most one in eight). A column built
    cell by cell (one new string object per row) does not: grouping by address first would only add a pass."""
    sample = address[:: max(1, address.size // IDENTITY_SAMPLE)]
    return pd.unique(sample).size * 8 <= sample.size


def _factorize_by_identity(arr: np.ndarray, address: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells holding the very same object are grouped by its address first (an integer hash, several times
    faster than hashing the objects: a column read from a file holds few distinct objects, each repeated),
    then the distinct objects are factorised by value, which merges equal values held by different objects.
    Uniques keep the order of first appearance: an object's first row is its value's first row or later."""
    by_object, objects = pd.factorize(address)
    one_row = np.empty(objects.size, dtype=np.intp)
    one_row[by_object] = np.arange(arr.size)  # any row holding the object: they all hold the same one
    codes, uniques = pd.factorize(arr[one_row], use_na_sentinel=True)
    return codes[by_object], np.asarray(uniques, dtype=object)


Coded = tuple[np.ndarray, np.ndarray]  # (codes, distinct values), as `factorize` gives them


def recode(coded: Coded, fn: Callable[[Any], Any]) -> Coded:
    """The codes of `fn(value)` row by row (fn: one value -> a value, or None for a blank), computed on the
    distinct values; values `fn` makes equal share one code."""
    codes, uniques = coded
    mapped = np.empty(uniques.size, dtype=object)
    mapped[:] = [fn(u) for u in uniques]
    new_codes, new_uniques = factorize(mapped)
    return np.append(new_codes, -1)[codes], new_uniques


def values_of(coded: Coded) -> np.ndarray:
    """The column itself (object array; None for blanks)."""
    codes, uniques = coded
    return np.append(uniques, None)[codes]


def by_value(s: pd.Series, fn: Callable[[pd.Series], Any],
             codes: tuple[np.ndarray, np.ndarray] | None = None) -> pd.Series:
    """`fn(s)` for an element-wise `fn` (Series in, same-length Series or array out), computed on the distinct
    values of `s` only; blanks are evaluated as None (and only when `s` has any, so a result type that depends
    on the set of values, such as `pd.to_numeric`'s, is the same). `codes` (from `factorize(s)`) saves the
    factorisation."""
    c, uniques = factorize(s) if codes is None else codes
    if (c < 0).any():
        uniques = np.append(uniques, None)  # code -1 picks it
    per_value = fn(pd.Series(uniques, dtype=object))
    if isinstance(per_value, pd.Series):  # keeps its dtype (time zones, nullable types)
        out = per_value.iloc[c]
        out.index, out.name = s.index, s.name
        return out
    return pd.Series(np.asarray(per_value)[c], index=s.index, name=s.name)
