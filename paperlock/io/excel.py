"""Excel (.xlsx) reader: the first worksheet, header on its first non-empty row, cached cell values.

Cells keep their stored type (numbers stay numbers, dates become ISO 8601); formula errors such as '#DIV/0!'
arrive as text and fail validation like any other non-number. Row numbers are the worksheet's own.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from paperlock.errors import PaperlockError
from paperlock.io import Table, display_path
from paperlock.io.header import clean_header, trim_trailing_blank
from paperlock.io.values import canonical_frame


def read(path: Path) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    file = display_path(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError) as exc:
        raise PaperlockError(f"{file}: cannot be read as an Excel workbook; the file is damaged or truncated "
                             f"({type(exc).__name__}: {exc}); export it again") from None
    try:
        sheets = [ws for ws in book.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if not sheets:
            raise PaperlockError(f"{file}: the workbook has no visible worksheet")
        sheet = sheets[0]
        try:
            cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
            raise PaperlockError(f"{file}: worksheet {sheet.title!r} cannot be read; the file is damaged or "
                                 f"truncated ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
    first_row = 1 + next((i for i, r in enumerate(cells) if any(_filled(v) for v in r)), len(cells))
    if first_row > len(cells):
        raise PaperlockError(f"{file}: worksheet {sheet.title!r} is empty; expected a header row")
    columns, problems = clean_header(trim_trailing_blank(cells[first_row - 1]), file, first_row)
    rows, numbers = [], []
    for number, values in enumerate(cells[first_row:], start=first_row + 1):
        if any(_filled(v) for v in values):
            rows.append(values)
            numbers.append(number)
    frame = canonical_frame(rows, columns, numbers)
    others = f"; {len(sheets) - 1} other sheet(s) ignored" if len(sheets) > 1 else ""
    description = f"{file} (Excel, sheet {sheet.title!r}, {len(frame)} data rows{others})"
    return Table(frame=frame, path=path, format="xlsx", description=description, problems=problems,
                 header_row=first_row)


def _filled(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())
