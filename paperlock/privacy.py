"""Disclosure control for outputs: no identifier column in any listing, small groups in listings flagged."""

from __future__ import annotations

from collections import Counter
from itertools import repeat
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
        flags = [{"field": fld, "value": v, "n": n}
                 for fld, counts in sorted(string_counts(listing.get("rows", [])).items())
                 for v, n in sorted(counts.items()) if n < min_count]
        listing["min_count"] = min_count
        listing["small_counts"] = flags
        if flags:
            shown = ", ".join(f"{f['field']}={f['value']} (n={f['n']})" for f in flags)
            lines.append(f"listing {name!r}: groups below {min_count}: {shown}")
    return lines


def string_counts(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """For each field that holds a string in any row, how many rows hold each string (a field missing from a
    row, or holding another type, is not counted). Counted a field at a time (C-level loops), not row by row."""
    out: dict[str, dict[str, int]] = {}
    for field in set().union(*rows):
        column = list(map(dict.get, rows, repeat(field)))
        try:
            counts = Counter(column)
        except TypeError:  # an unhashable value: count the strings only
            counts = Counter(v for v in column if isinstance(v, str))
        strings = {v: n for v, n in counts.items() if isinstance(v, str)}
        if strings:
            out[field] = strings
    return out
