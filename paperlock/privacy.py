"""Disclosure control for outputs: no identifier column in any listing, small groups in listings flagged."""

from __future__ import annotations

from collections import Counter
from typing import Any

from paperlock.data_dictionary import DataDictionary
from paperlock.errors import PaperlockError
from paperlock.spec import Spec


def refuse_identifier_listings(spec: Spec, dictionary: DataDictionary | None) -> None:
    """A listing field that reads an identifier column (directly or through a variable) is an error."""
    if dictionary is None:
        return
    identifiers = set(dictionary.identifiers())
    for name, listing in spec.listings.items():
        for out, source in listing.fields.items():
            column = spec.variables[source].column if source in spec.variables else source
            if column in identifiers:
                raise PaperlockError(f"study spec: listing {name!r} field {out!r} reads {column!r}, a patient "
                                     "identifier (data dictionary); identifiers never appear in outputs")


def flag_small_counts(listings: dict[str, Any], min_count: int) -> list[str]:
    """Add `small_counts` (field, value, n) to each listing whose categorical values occur fewer than
    `min_count` times; returns one line per flagged listing for the console."""
    lines = []
    for name, listing in sorted(listings.items()):
        rows = listing.get("rows", [])
        flags = []
        fields = sorted({k for r in rows for k, v in r.items() if isinstance(v, str)})
        for fld in fields:
            counts = Counter(r.get(fld) for r in rows if isinstance(r.get(fld), str))
            flags += [{"field": fld, "value": v, "n": n} for v, n in sorted(counts.items()) if n < min_count]
        listing["min_count"] = min_count
        listing["small_counts"] = flags
        if flags:
            shown = ", ".join(f"{f['field']}={f['value']} (n={f['n']})" for f in flags)
            lines.append(f"listing {name!r}: groups below {min_count}: {shown}")
    return lines
