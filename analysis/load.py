"""Read the study's raw cohort: a file (CSV, Excel, SPSS or Parquet: the extension decides) or a frame from an
installed package (`package:<module>:<function>`, see `analysis.package_data`).

With the study spec the cohort is validated against the data dictionary and spec first, and every problem is
reported at once (file, row, column, value), never as a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.package_data import is_package_source, read_package_cohort
from paperlock.errors import PaperlockError
from paperlock.io import Table, read_table, table_from_frame
from paperlock.spec import LoadedSpec


def cohort_table(source: Path | str, encoding: str | None = None) -> Table:
    """The cohort as a `Table` of canonical text, whatever its source."""
    if isinstance(source, str) and is_package_source(source):
        frame = read_package_cohort(source)
        return table_from_frame(frame, source, f"{source} ({len(frame)} rows from an installed package)")
    return read_table(Path(source), encoding=encoding)


def read_cohort(path: Path | str, loaded: LoadedSpec | None = None) -> pd.DataFrame:
    """The cohort as text cells (None for blanks), rows in source order; validated when `loaded` is given."""
    from paperlock.problems import ValidationFailed

    if loaded is not None:
        from paperlock.validate import raise_problems, study_dictionary, validate_table

        dictionary = study_dictionary(loaded)
        encoding = dictionary.dictionary.encoding if dictionary else None
        outcome = validate_table(cohort_table(path, encoding), loaded.spec, dictionary)
        raise_problems(outcome)
        assert outcome.frame is not None
        return outcome.frame
    table = cohort_table(path)
    if table.problems:
        raise ValidationFailed(table.problems, table.description, limit=50)
    if table.frame.empty:
        raise PaperlockError(f"{path}: no data rows")
    return table.frame.reset_index(drop=True)
