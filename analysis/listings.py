"""De-identified patient-level listings for figures (a waterfall plot's bars), declared in the spec.

Each row holds only the declared fields (level codes of spec variables, or raw numeric columns); rows without
a value for the sort field are left out and counted. No identifier column is ever copied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlock.errors import PaperlockError
from paperlock.io.distinct import by_value
from paperlock.results import ResultsBuilder
from paperlock.spec import Spec


def add_listings(spec: Spec, frame: pd.DataFrame, raw: pd.DataFrame, rb: ResultsBuilder) -> None:
    for name, listing in spec.listings.items():
        columns = {}
        for out, source in listing.fields.items():
            if source in frame.columns:
                columns[out] = frame[source]
            elif source in raw.columns:
                columns[out] = by_value(raw[source], lambda u: pd.to_numeric(u, errors="coerce"))
            else:
                raise PaperlockError(f"study spec: listing {name!r} field {out!r} names unknown {source!r}")
        table = pd.DataFrame(columns)
        keep = table[listing.sort_by].notna()
        table = table[keep].sort_values(listing.sort_by, ascending=not listing.descending, kind="mergesort")
        names = list(table.columns)
        cells = [_cells(table[c]) for c in names]
        rows = [dict(zip(names, values, strict=True)) for values in zip(*cells, strict=True)]
        rb.listings[name] = {"rows": rows, "omitted_without_value": int((~keep).sum())}


def _cells(column: pd.Series) -> list:
    """A column as Python values, NaN as None: what `to_dict(orient="records")` and a NaN check give, row by
    row, but converted a column at a time."""
    values = column.to_numpy()
    if values.dtype.kind == "f":
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out.tolist()
    if values.dtype.kind in "iub":
        return values.tolist()
    return [None if isinstance(v, float) and np.isnan(v) else v for v in column.tolist()]
