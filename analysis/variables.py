"""Derive the study's analysis variables from raw columns, as the spec declares them.

Categorical variables become level codes (the codes used in result keys); continuous ones stay numeric.
A raw value that matches no declared level is an error naming the file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from paperlock.errors import PaperlockError
from paperlock.io.distinct import by_value
from paperlock.spec import Spec, Variable


def derive_variable(name: str, var: Variable, raw: pd.DataFrame, source: Path) -> pd.Series:
    if var.column not in raw.columns:
        raise PaperlockError(f"{source}: column {var.column!r} (variable {name!r}) is missing")
    col = raw[var.column]
    if var.change is not None:
        return _derive_change(name, var, raw, source)
    if var.type == "continuous" or var.cut is not None:
        numeric = _numeric(raw, var.column, source)
        if var.cut is None:
            return numeric.astype(float).rename(name)
        low, high = var.cut.levels
        codes = np.where(numeric.to_numpy() <= var.cut.at, low.code, high.code).astype(object)
        codes[numeric.isna().to_numpy()] = None
        return pd.Series(codes, index=raw.index, name=name)
    lookup = {_norm(v): lvl.code for lvl in var.levels for v in (lvl.values or [lvl.code])}
    # each distinct raw value is looked up once (factorize: NaN/None -> -1), then spread by its index
    index, distinct = pd.factorize(col, use_na_sentinel=True)
    mapped = np.array([lookup.get(_norm(v)) for v in distinct.tolist()] + [None], dtype=object)
    codes = mapped[index]  # index -1 (missing) picks the trailing None
    no_level = np.array([m is None for m in mapped])
    no_level[-1] = False
    unknown = np.flatnonzero(no_level[index])
    if unknown.size:
        i = int(unknown[0])
        v = col.iloc[i]
        allowed = ", ".join(sorted({str(x) for lvl in var.levels for x in (lvl.values or [lvl.code])}))
        raise PaperlockError(
            f"{source}: row {i + 2}, column {var.column!r}: value {v!r} is not a level of {name!r} "
            f"(allowed: {allowed})"
        )
    return pd.Series(codes, index=raw.index, name=name, dtype=object)


def _numeric(raw: pd.DataFrame, column: str, source: Path) -> pd.Series:
    if column not in raw.columns:
        raise PaperlockError(f"{source}: column {column!r} is missing")
    col = raw[column]
    numeric = by_value(col, lambda u: pd.to_numeric(u, errors="coerce"))  # once per distinct text
    bad = numeric.isna() & col.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise PaperlockError(f"{source}: row {row + 2}, column {column!r}: value {col.iloc[row]!r} is not a number")
    return numeric


def _derive_change(name: str, var: Variable, raw: pd.DataFrame, source: Path) -> pd.Series:
    assert var.change is not None
    before = _numeric(raw, var.column, source).to_numpy()
    after = _numeric(raw, var.change.followup, source).to_numpy()
    up, down = var.change.levels
    codes = np.where(after > before, up.code, down.code).astype(object)
    codes[np.isnan(before) | np.isnan(after)] = None
    return pd.Series(codes, index=raw.index, name=name)


def _norm(v: object) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def derive_all(spec: Spec, raw: pd.DataFrame, source: Path) -> pd.DataFrame:
    """A frame with one column per spec variable (level codes or numbers), in spec order."""
    return pd.concat([derive_variable(n, v, raw, source) for n, v in spec.variables.items()], axis=1)
