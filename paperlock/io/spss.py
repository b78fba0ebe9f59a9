"""SPSS (.sav/.zsav) reader: codes as stored, value labels kept beside them, user-missing values as blanks.

Whether a coded column is shown as its labels is decided later, against the data dictionary (a categorical
column takes the labels, a numeric one keeps the codes). Row numbers are SPSS case numbers (1 = first case).
"""

from __future__ import annotations

from pathlib import Path

from paperlock.errors import PaperlockError
from paperlock.io import Table, display_path
from paperlock.io.header import clean_header
from paperlock.io.values import canonical, canonical_frame


def read(path: Path) -> Table:
    import pyreadstat

    file = display_path(path)
    reader = pyreadstat.read_sav
    try:
        df, meta = reader(str(path), apply_value_formats=False, user_missing=False)
    except Exception as exc:  # pyreadstat raises its own ReadstatError/PyreadstatError and plain OSError
        raise PaperlockError(f"{file}: cannot be read as an SPSS data file; the file is damaged or truncated "
                             f"({type(exc).__name__}: {exc}); export it again") from None
    columns, problems = clean_header(list(df.columns), file, None)
    rows = df.astype(object).to_numpy().tolist()
    frame = canonical_frame(rows, columns, list(range(1, len(df) + 1)))
    labels = {
        col: {canonical(code): str(label) for code, label in mapping.items() if canonical(code) is not None}
        for col, mapping in (meta.variable_value_labels or {}).items()
    }
    encoding = f", {meta.file_encoding}" if getattr(meta, "file_encoding", None) else ""
    description = (f"{file} (SPSS{encoding}, {len(frame)} cases, value labels on {len(labels)} variables; "
                   "rows are case numbers)")
    return Table(frame=frame, path=path, format="sav", description=description, value_labels=labels,
                 problems=problems)
