"""Canonical text for a cell value, whatever the file format stored: the form validation and locks work on."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

BIG = 10**21  # integers below this print in full (as their float does); larger ones in exponent form


def canonical(value: Any) -> str | None:
    """'78' for 78, 78.0 and '78'; '77.6' for 77.6; '2021-03-04' for a date at midnight; None for blanks."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value)) if abs(int(value)) < BIG else number_text(float(value))
    if isinstance(value, float | np.floating):
        x = float(value)
        if math.isnan(x):
            return None
        return number_text(x)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return canonical(value.decode("utf-8", "surrogateescape"))
    return canonical(str(value))


def number_text(x: float) -> str:
    """The shortest text for a number: integers without '.0', other floats by repr (round-trips exactly)."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < BIG:
        return str(int(x))
    return repr(x)


def canonical_frame(rows: list[list[Any]], columns: list[str], row_numbers: list[int]) -> pd.DataFrame:
    """A frame of canonical strings (object dtype) indexed by the rows' numbers in the file."""
    data = {c: [canonical(r[i]) if i < len(r) else None for r in rows] for i, c in enumerate(columns)}
    return pd.DataFrame(data, index=pd.Index(row_numbers, name="row"), columns=columns, dtype=object)
