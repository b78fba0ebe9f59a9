"""Readers for the files hospitals export (CSV, Excel, SPSS, Parquet), all returning the same `Table`.

The file's extension decides the reader. Every reader gives a frame of canonical strings (numbers written
without spurious decimals, dates as ISO 8601, blanks as None) indexed by the row number a user sees in the
file, plus the value labels the file carries (SPSS) and the problems met while reading (bad bytes, broken
rows), so validation can report everything at once. An unreadable file is a `PaperlockError`, never a traceback.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from paperlock.errors import PaperlockError
from paperlock.problems import Problem

# extension -> (module in paperlock.io, format name)
READERS: dict[str, tuple[str, str]] = {
    ".csv": ("delimited", "CSV"),
    ".tsv": ("delimited", "TSV"),
    ".txt": ("delimited", "text"),
    ".xlsx": ("excel", "Excel"),
    ".xlsm": ("excel", "Excel"),
    ".sav": ("spss", "SPSS"),
    ".zsav": ("spss", "SPSS"),
    ".parquet": ("parquet", "Parquet"),
    ".pq": ("parquet", "Parquet"),
}


@dataclass
class Table:
    """A file read into canonical strings; `frame.index` holds the row numbers as the user sees them."""

    frame: pd.DataFrame
    path: Path
    format: str
    description: str
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    header_row: int | None = None  # where the header sits (None: the format has no header row)
    broken_rows: set[int] = field(default_factory=set)  # rows the reader could not split into fields
    # column -> (codes, distinct values) as `paperlock.io.distinct.factorize` gives them, when the reader
    # knows them already (saves hashing millions of cells again); a column may be missing
    codes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def first_last_rows(self) -> str:
        idx = self.frame.index
        return f"{idx.min()}–{idx.max()}" if len(idx) else "(none)"


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else absolute."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def supported_extensions() -> str:
    return ", ".join(sorted(READERS))


def read_table(path: Path, encoding: str | None = None) -> Table:
    """Read `path` with the reader its extension names; `encoding` applies to text files (default UTF-8)."""
    path = Path(path)
    if not path.is_file():
        raise PaperlockError(f"{display_path(path)}: file not found")
    ext = path.suffix.lower()
    if ext not in READERS:
        raise PaperlockError(f"{display_path(path)}: unsupported file type {ext or '(no extension)'!r}; "
                             f"paperlock reads {supported_extensions()}")
    module_name, _ = READERS[ext]
    module = importlib.import_module(f"paperlock.io.{module_name}")
    if module_name == "delimited":
        return module.read(path, encoding=encoding)
    return module.read(path)


def table_from_frame(frame: pd.DataFrame, name: str, description: str) -> Table:
    """A frame from elsewhere (a package's loader) as a `Table`: canonical text, rows numbered from 1."""
    from paperlock.io.header import clean_header
    from paperlock.io.values import canonical_frame

    columns, problems = clean_header([str(c) for c in frame.columns], name, None)
    rows = frame.astype(object).to_numpy().tolist()
    table = canonical_frame(rows, columns, list(range(1, len(frame) + 1)))
    return Table(frame=table, path=Path(name), format="frame", description=description, problems=problems)
