"""De-identified patient-level listings for figures (a waterfall plot's bars), declared in the spec.

Each row holds only the declared fields (level codes of spec variables, or raw numeric columns); rows without
a value for the sort field are left out and counted. No identifier column is ever copied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlock.errors import PaperlockError
from paperlock.results import ResultsBuilder
from paperlock.spec import Spec


def add_listings(spec: Spec, frame: pd.DataFrame, raw: pd.DataFrame, rb: ResultsBuilder) -> None:
    for name, listing in spec.listings.items():
        columns = {}
        for out, source in listing.fields.items():
            if source in frame.columns:
                columns[out] = frame[source]
            elif source in raw.columns:
                columns[out] = pd.to_numeric(raw[source], errors="coerce")
            else:
                raise PaperlockError(f"study spec: listing {name!r} field {out!r} names unknown {source!r}")
        table = pd.DataFrame(columns)
        keep = table[listing.sort_by].notna()
        table = table[keep].sort_values(listing.sort_by, ascending=not listing.descending, kind="mergesort")
        rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                for r in table.to_dict(orient="records")]
        rb.listings[name] = {"rows": rows, "omitted_without_value": int((~keep).sum())}
