"""Read the study's raw cohort file; problems are reported with the file name, never as a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.package_data import is_package_source, read_package_cohort
from paperlock.errors import PaperlockError


def read_cohort(path: Path | str) -> pd.DataFrame:
    if isinstance(path, str) and is_package_source(path):  # 'package:<module>:<function>'
        return read_package_cohort(path)
    path = Path(path)
    if not path.is_file():
        raise PaperlockError(f"{path}: cohort file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PaperlockError(f"{path}: not UTF-8 text (byte {exc.start}); re-export the file as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PaperlockError(f"{path}: cannot be read as CSV: {exc}") from None
    if frame.empty:
        raise PaperlockError(f"{path}: no data rows")
    return frame
