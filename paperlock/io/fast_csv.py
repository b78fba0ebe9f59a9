"""Fast path for well-formed UTF-8 CSV/TSV files: pyarrow splits the file, canonical text per distinct value.

It returns exactly what the `csv`-module reader in `paperlock.io.delimited` returns (tested on random and
malformed files), but only for files it can vouch for; anything unusual (bad bytes, a quote that is not a
whole field's quotes, a quoted line break, lone carriage returns, blank lines, ragged rows, a header with
blank or repeated names, another encoding) returns None and the careful reader takes over, so every
problem is still reported with its row and column by the code that words it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

import numpy as np
import pandas as pd

from paperlock.io.header import clean_header, trim_trailing_blank
from paperlock.io.values import canonical

QUOTE, LF, CR = 34, 10, 13
SURROGATE = re.compile("[\udc80-\udcff]")


def fast_frame(data: bytes, encoding: str | None, delimiter_of) -> tuple[pd.DataFrame, str, str] | None:
    """(frame of canonical text indexed by file row, delimiter, encoding description), or None to decline.

    `delimiter_of(first_line)` is the careful reader's delimiter sniffer, so both paths agree on it."""
    if encoding is not None and codecs.lookup(encoding).name != "utf-8":
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    encoding_name = (encoding or "utf-8").upper() if encoding else "UTF-8"
    if data.startswith(codecs.BOM_UTF8):
        data, encoding_name = data[len(codecs.BOM_UTF8):], "UTF-8 with BOM"
    end = data.find(b"\n")
    if end <= 0 or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    try:
        first = data[:end].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return None
    if first.splitlines() != [first]:
        return None
    delimiter = delimiter_of(first)
    if not _quotes_are_whole_fields(data, delimiter):
        return None
    try:
        header = next(csv.reader(io.StringIO(first, newline=""), delimiter=delimiter, strict=True), None)
    except csv.Error:
        return None
    if not header or trim_trailing_blank(header) != header:
        return None
    columns, problems = clean_header(header, "", 1)
    if problems:
        return None
    frame = _arrow_frame(data[end + 1:], delimiter, columns)
    if frame is None:
        return None
    return frame, delimiter, encoding_name


def _quotes_are_whole_fields(data: bytes, delimiter: str) -> bool:
    """Every quote pair encloses a whole field on one line (no doubled quotes, no quote inside a value)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    q = np.flatnonzero(buf == QUOTE)
    if q.size == 0:
        return True
    if q.size % 2:
        return False
    opens, closes = q[0::2], q[1::2]
    sep = ord(delimiter)
    before = buf[np.maximum(opens - 1, 0)]
    after = buf[np.minimum(closes + 1, buf.size - 1)]
    ok_open = (opens == 0) | (before == sep) | (before == LF)
    ok_close = (closes == buf.size - 1) | (after == sep) | (after == LF) | (after == CR)
    if not (ok_open.all() and ok_close.all()):
        return False
    line_ends = np.flatnonzero(buf == LF)  # a CR only ever precedes an LF here
    return bool((np.searchsorted(line_ends, opens) == np.searchsorted(line_ends, closes)).all())


def _arrow_frame(body: bytes, delimiter: str, columns: list[str]) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(columns))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=False,
                                             escape_char=False, newlines_in_values=False,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 null_values=[]))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    data: dict[str, np.ndarray] = {}
    blank: np.ndarray | bool = True  # rows whose every field is blank (only while each column has blanks)
    for name, column in zip(columns, table.columns, strict=True):
        coded = _canonical_column(column)
        if coded is None:
            return None
        values, codes = coded
        data[name] = values[codes]
        if blank is not False:
            none = np.equal(values, None)
            blank = (blank & none[codes]) if none.any() else False
    del table
    rows = np.arange(2, len(next(iter(data.values()))) + 2, dtype=np.int64)
    frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), columns=columns, dtype=object)
    if blank is not False and blank.any():  # rows of blank fields are skipped, as the careful reader skips them
        frame = frame[~blank]
    return frame


def _canonical_column(column) -> tuple[np.ndarray, np.ndarray] | None:
    """(canonical text of each distinct value, each cell's index into it); None if a value is not clean UTF-8."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    uniques = encoded.dictionary.to_pylist()
    if SURROGATE.search("".join(uniques)):  # bytes that are not UTF-8 (pyarrow should have refused them)
        return None
    table = np.empty(len(uniques), dtype=object)
    table[:] = [canonical(u) for u in uniques]
    return table, encoded.indices.to_numpy(zero_copy_only=False)
