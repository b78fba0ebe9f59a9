"""Fast path for well-formed UTF-8 CSV/TSV files: pyarrow splits the file, canonical text per distinct value.

It returns exactly what the `csv`-module reader in `paperlock.io.delimited` returns (tested on random and
malformed files), but only for files it can vouch for; anything unusual (bad bytes, a quoted field holding the
delimiter, a quote or a line break, lone carriage returns, blank lines, ragged rows, a header with
blank or repeated names, another encoding) returns None and the careful reader takes over, so every
problem is still reported with its row and column by the code that words it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re

import numpy as np
import pandas as pd

from paperlock.io.distinct import factorize
from paperlock.io.header import clean_header, trim_trailing_blank

SURROGATE = re.compile("[\udc80-\udcff]")


def fast_frame(data: bytes, encoding: str | None, delimiter_of) -> tuple[pd.DataFrame, dict, str, str] | None:
    """(frame of canonical text indexed by file row, {column: (codes, distinct values)}, delimiter, encoding
    description), or None to decline.

    `delimiter_of(first_line)` is the careful reader's delimiter sniffer, so both paths agree on it."""
    try:
        if encoding is not None and codecs.lookup(encoding).name != "utf-8":
            return None
    except LookupError:
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    encoding_name = encoding.upper() if encoding else "UTF-8"  # as `delimited.decode` names it
    if data.startswith(codecs.BOM_UTF8):
        data, encoding_name = data[len(codecs.BOM_UTF8):], "UTF-8 with BOM"
    end = data.find(b"\n")
    if end <= 0 or b"\x00" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    try:
        first = data[:end].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return None
    if first.splitlines() != [first]:
        return None
    delimiter = delimiter_of(first)
    try:
        header = next(csv.reader(io.StringIO(first, newline=""), delimiter=delimiter, strict=True), None)
    except csv.Error:
        return None
    if not header or trim_trailing_blank(header) != header:
        return None
    columns, problems = clean_header(header, "", 1)
    if problems:
        return None
    read = _arrow_frame(data[end + 1:], delimiter, columns)
    if read is None:
        return None
    return read[0], read[1], delimiter, encoding_name


def _unquoted(raw, quoted):
    """What the `csv` module (strict, doubled quotes) makes of each raw field, or None to decline.

    pyarrow splits lines without quoting, so a quoted field that held the delimiter or a line break arrives in
    pieces; the first piece then starts with a quote but is not a whole quoted field (it does not end with a
    quote, or a lone quote remains inside once doubled quotes are removed), and we decline. A quote inside an
    unquoted field is kept as it is, as the `csv` module keeps it."""
    import pyarrow.compute as pc

    fields = pc.filter(raw, quoted)
    inner = pc.utf8_slice_codeunits(fields, 1, -1)
    whole = pc.and_(pc.ends_with(fields, '"'), pc.greater_equal(pc.binary_length(fields), 2))
    lone = pc.match_substring(pc.replace_substring(inner, '""', ""), '"')
    if not pc.all(whole).as_py() or pc.any(lone).as_py():
        return None
    unquoted = pc.replace_substring(pc.utf8_slice_codeunits(raw, 1, -1), '""', '"')
    return pc.if_else(quoted, unquoted, raw)


def _arrow_frame(body: bytes, delimiter: str, columns: list[str]) -> tuple[pd.DataFrame, dict] | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(columns))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 null_values=[]))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # arrow's kernels release the GIL
        coded = list(pool.map(_canonical_column, table.columns))
    if any(c is None for c in coded):
        return None
    data: dict[str, np.ndarray] = {}
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    blank: np.ndarray | bool = True  # rows whose every field is blank (only while each column has blanks)
    for name, (values, indices) in zip(columns, coded, strict=True):
        value_codes, uniques = factorize(values)  # canonical text can make two raw texts one value
        codes[name] = (np.append(value_codes, -1)[indices], uniques)
        data[name] = values[indices]
        if blank is not False:
            none = value_codes < 0
            blank = (blank & none[indices]) if none.any() else False
    del table
    rows = np.arange(2, len(next(iter(data.values()))) + 2, dtype=np.int64)
    frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), columns=columns, dtype=object, copy=False)
    if blank is not False and blank.any():  # rows of blank fields are skipped, as the careful reader skips them
        frame = frame[~blank]
        codes = {name: (c[~blank], u) for name, (c, u) in codes.items()}
    return frame, codes


def _canonical_column(column) -> tuple[np.ndarray, np.ndarray] | None:
    """(canonical text of each distinct value, each cell's index into it); None if a value is not clean UTF-8
    or not a field the fast path reads as the `csv` module does (see `_field_value`)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    raw = encoded.dictionary
    quoted = pc.starts_with(raw, '"')
    if pc.any(quoted).as_py():
        raw = _unquoted(raw, quoted)
        if raw is None:
            return None
    uniques = raw.to_pylist()
    if SURROGATE.search("".join(uniques)):  # bytes that are not UTF-8 (pyarrow should have refused them)
        return None
    table = np.empty(len(uniques), dtype=object)
    table[:] = [u.strip() or None for u in uniques]  # `canonical` of a text cell
    return table, encoded.indices.to_numpy(zero_copy_only=False)
