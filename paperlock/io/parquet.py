"""Parquet reader: typed columns converted to canonical strings; row numbers count from 1."""

from __future__ import annotations

from pathlib import Path

from paperlock.errors import PaperlockError
from paperlock.io import Table, display_path
from paperlock.io.header import clean_header
from paperlock.io.values import canonical_frame


def read(path: Path) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = display_path(path)
    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise PaperlockError(f"{file}: cannot be read as a Parquet file; the file is damaged or truncated "
                             f"({type(exc).__name__}: {exc}); export it again") from None
    columns, problems = clean_header([str(n) for n in arrow.column_names], file, None)
    cols = [arrow.column(i).to_pylist() for i in range(arrow.num_columns)]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    frame = canonical_frame(rows, columns, list(range(1, arrow.num_rows + 1)))
    description = f"{file} (Parquet, {len(frame)} rows; rows count from 1)"
    return Table(frame=frame, path=path, format="parquet", description=description, problems=problems)
