"""CSV/TSV reader: encoding, delimiter and broken rows handled explicitly, every problem kept with its row.

The stdlib `csv` module is used rather than `pandas.read_csv` because pandas silently pads short rows with
blanks, which would hide a truncated file. Row numbers count records as a spreadsheet shows them (header = 1).
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pandas as pd

from paperlock.errors import PaperlockError
from paperlock.io import Table, display_path
from paperlock.io.header import clean_header, trim_trailing_blank
from paperlock.io.values import canonical_frame
from paperlock.problems import Problem, show_value

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def read(path: Path, encoding: str | None = None, fast: bool = True) -> Table:
    """The file as a `Table`; `fast=False` forces the careful reader (the fast path gives the same table)."""
    file = display_path(path)
    data = path.read_bytes()
    _refuse_binary(data, file)
    if fast:
        from paperlock.io.fast_csv import fast_frame

        quick = fast_frame(data, encoding, sniff_delimiter)
        if quick is not None:
            frame, codes, delimiter, encoding_name = quick
            return Table(frame=frame, path=path, format="csv", problems=[], header_row=1, broken_rows=set(),
                         description=_description(file, encoding_name, delimiter, len(frame)), codes=codes)
    text, encoding_name = decode(data, encoding, file)
    if not text.strip():
        raise PaperlockError(f"{file}: row 1: the file is empty; expected a header row naming the columns")
    delimiter = sniff_delimiter(text)
    records, problems = _parse(text, delimiter, file)
    if not records or records[0] is None or not any(records[0]):
        raise PaperlockError(f"{file}: row 1: no header row naming the columns")
    columns, header_problems = clean_header(trim_trailing_blank(records[0]), file, 1)
    problems = header_problems + problems
    rows, numbers = [], []
    broken = {p.row for p in problems if p.row is not None and p.row > 1}
    ends_cleanly = text.endswith(("\n", "\r"))
    for i, fields in enumerate(records[1:], start=2):
        if fields is None or not any(f.strip() for f in fields):
            continue  # blank or unparseable record (already reported)
        last = i == len(records)
        width = _check_width(fields, columns, file, i, truncated=last and not ends_cleanly)
        problems += width
        broken |= {i} if width else set()
        rows.append(fields)
        numbers.append(i)
    frame = canonical_frame(rows, columns, numbers)
    problems += _encoding_problems(frame, file, encoding_name)
    return Table(frame=frame, path=path, format="csv", description=_description(file, encoding_name, delimiter,
                                                                                len(frame)),
                 problems=problems, header_row=1, broken_rows=broken)


def _description(file: str, encoding_name: str, delimiter: str, rows: int) -> str:
    return f"{file} (text, {encoding_name}, {DELIMITER_NAMES[delimiter]}-separated, {rows} data rows)"


def _refuse_binary(data: bytes, file: str) -> None:
    if data.startswith(b"PK\x03\x04"):
        raise PaperlockError(f"{file}: this is a zip/Excel workbook, not text; save it as .xlsx and read that")
    if data.startswith(b"$FL2") or data.startswith(b"$FL3"):
        raise PaperlockError(f"{file}: this is an SPSS data file, not text; name it .sav")
    if data.startswith(b"PAR1"):
        raise PaperlockError(f"{file}: this is a Parquet file, not text; name it .parquet")
    head = data[:4096]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise PaperlockError(f"{file}: holds binary data (NUL bytes), not text; is it the right file?")


def decode(data: bytes, encoding: str | None, file: str) -> tuple[str, str]:
    """Text and a description of its encoding; undecodable bytes survive as surrogates for the problem report."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", "surrogateescape"), "UTF-8 with BOM"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise PaperlockError(f"{file}: not valid UTF-16 text (byte {exc.start}); the file may be "
                                 "truncated") from None
    name = encoding or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        raise PaperlockError(f"{file}: unknown text encoding {name!r} (declared in the data dictionary)") from None
    return data.decode(name, "surrogateescape"), name.upper() if encoding else "UTF-8"


def sniff_delimiter(text: str) -> str:
    """The delimiter that occurs most often (outside quotes) in the header line; comma when none does."""
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    unquoted = "".join(part for i, part in enumerate(first.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parse(text: str, delimiter: str, file: str) -> tuple[list[list[str] | None], list[Problem]]:
    """Records (None where a record could not be parsed) and the parse problems, each with row and column."""
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str] | None] = []
    problems: list[Problem] = []
    header: list[str] = []
    while True:
        start_line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raw = lines[start_line - 1] if start_line - 1 < len(lines) else ""
            col = _quote_column(raw, delimiter, header)
            records.append(None)
            problems.append(Problem(file, len(records), col, f"cannot be parsed ({exc}): a stray or "
                                    "unterminated quote; if this is the last row, the file may be truncated"))
            continue
        if not records:
            header = [f.strip() for f in fields]
        records.append(fields)
    return records, problems


def _quote_column(raw: str, delimiter: str, header: list[str]) -> str:
    """The column whose field holds the quote that broke a record (best effort on the record's first line)."""
    for i, part in enumerate(raw.split(delimiter)):
        if '"' in part and not (part.startswith('"') and part.endswith('"') and len(part) > 1):
            return header[i] if i < len(header) else f"column {i + 1}"
    return header[0] if header else "column 1"


def _check_width(fields: list[str], columns: list[str], file: str, row: int, truncated: bool) -> list[Problem]:
    n, want = len(fields), len(columns)
    if n < want:
        if truncated:
            msg = (f"the file ends in the middle of this row ({n} of {want} fields): the file is truncated; "
                   "export it again")
        else:
            msg = (f"the row has {n} fields but the header names {want}: values from here on are missing "
                   "(a broken row or a truncated file)")
        return [Problem(file, row, columns[n], msg)]
    extra = [f for f in fields[want:] if f.strip()]
    if extra:
        return [Problem(file, row, f"column {want + 1}",
                        f"the row has {n} fields but the header names {want} (extra value {show_value(extra[0])}; "
                        "an unquoted delimiter inside a value?)")]
    return []


def _encoding_problems(frame: pd.DataFrame, file: str, encoding_name: str) -> list[Problem]:
    problems = []
    for col in frame.columns:
        for row, value in frame[col].items():
            if isinstance(value, str) and any(0xDC80 <= ord(ch) <= 0xDCFF for ch in value):
                problems.append(Problem(
                    file, int(row), col,
                    f"value {show_value(value)} holds bytes that are not valid {encoding_name} text "
                    "(Windows-1252/Latin-1 export?): re-export the file as UTF-8, or declare its `encoding:` "
                    "in the data dictionary"))
    bad_names = [c for c in frame.columns if any(0xDC80 <= ord(ch) <= 0xDCFF for ch in c)]
    problems += [Problem(file, 1, c, f"the column name holds bytes that are not valid {encoding_name} text")
                 for c in bad_names]
    return problems
