"""Regenerate the malformed-input corpus: one file per failure mode, each made from the mini study's cohort
(tests/fixtures/mini_study/data/cohort.csv) by one deliberate defect. Run from the repository root:

    .venv/bin/python tests/malformed/make_corpus.py

The expected messages are written by hand in `expected.yaml`, not generated, so the corpus tests what a user
should read. Rows are numbered as the user sees them: CSV/Excel rows with the header as row 1, SPSS cases and
Parquet rows from 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
COHORT = HERE.parent / "fixtures" / "mini_study" / "data" / "cohort.csv"


def rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(COHORT.read_text(encoding="utf-8"))))


def text(table: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(table)
    return buf.getvalue()


def set_cell(table: list[list[str]], row: int, column: str, value: str) -> list[list[str]]:
    """`row` as the user sees it (header = 1)."""
    out = [list(r) for r in table]
    out[row - 1][out[0].index(column)] = value
    return out


def drop_column(table: list[list[str]], column: str) -> list[list[str]]:
    i = table[0].index(column)
    return [r[:i] + r[i + 1:] for r in table]


def add_column(table: list[list[str]], name: str, values: Callable[[int], str]) -> list[list[str]]:
    return [r + ([name] if k == 0 else [values(k + 1)]) for k, r in enumerate(table)]


def csv_cases() -> dict[str, bytes]:
    t = rows()
    n = len(t)
    cases: dict[str, str | bytes] = {
        "missing_column.csv": text(drop_column(t, "os_event")),
        "extra_column.csv": text(add_column(t, "notes", lambda r: "")),
        "misspelt_column.csv": text([["gendre" if c == "gender" else c for c in t[0]]] + t[1:]),
        "duplicate_header.csv": text(add_column(t, "age", lambda r: "50")),
        "wrong_type.csv": text(set_cell(t, 7, "age", "sixty")),
        "not_whole_number.csv": text(set_cell(t, 9, "pfs_days", "12.5")),
        "decimal_comma.csv": text(set_cell(t, 5, "afp_ng_ml", "77,6"), delimiter=";"),
        "unknown_level.csv": text(set_cell(t, 4, "gender", "mael")),
        "missing_survival_time.csv": text(set_cell(t, 12, "os_days", "")),
        "negative_survival_time.csv": text(set_cell(t, 6, "pfs_days", "-5")),
        "event_code.csv": text(set_cell(t, 10, "os_event", "2")),
        "pfs_after_os.csv": text(set_cell(t, 3, "pfs_days", "600")),
        "duplicate_id.csv": text(set_cell(t, 8, "patient_id", t[2][0])),
        "implausible_value.csv": text(set_cell(t, 11, "age", "250")),
        "ae_grade_out_of_range.csv": text(set_cell(t, 14, "ae_rash", "7")),
        "empty_arm.csv": text([t[0]] + [set_cell(t, k, "arm", "TKI")[k - 1] for k in range(2, n + 1)]),
        "dates_out_of_order.csv": text(set_cell(
            add_column(add_column(t, "start_date", lambda r: "2021-01-04"), "last_contact_date",
                       lambda r: "2022-06-30"), 15, "last_contact_date", "2020-12-31")),
        "bad_date.csv": text(set_cell(add_column(t, "start_date", lambda r: "2021-01-04"), 16, "start_date",
                                      "31/02/2021")),
        "ragged_row.csv": text(t).replace(",".join(t[5]), ",".join(t[5]) + ",extra", 1),
        "unterminated_quote.csv": text(t[:20]) + ",".join(t[20]).replace("TKI", '"TKI', 1) + "\n"
        + text(t[21:]),
    }
    cases["encoding.csv"] = text(set_cell(t, 13, "gender", "f\u00e9male")).encode("latin-1")
    full = text(t)
    cases["truncated.csv"] = full[: full.rindex("\n", 0, len(full) - 1) + 1] + ",".join(t[-1])[:18]
    return {k: v if isinstance(v, bytes) else v.encode("utf-8") for k, v in cases.items()}


def typed_frame():
    import pandas as pd

    return pd.read_csv(COHORT)


def write_binary_cases() -> None:
    import pyreadstat

    df = typed_frame()
    bad = df.copy()
    bad.loc[5, "gender"] = "mael"  # sheet row 7 (header on row 1)
    bad.to_excel(HERE / "unknown_level.xlsx", index=False)

    err = df.astype(object)
    err.loc[2, "afp_ng_ml"] = "#DIV/0!"  # a formula error as Excel caches it; sheet row 4
    err.to_excel(HERE / "formula_error.xlsx", index=False)

    sav = df.copy()
    sav["arm"] = sav["arm"].map({"TKI": 1, "TKI-ICI": 2}).astype(float)
    sav.loc[16, "arm"] = 3.0  # case 17: a code with no value label
    pyreadstat.write_sav(sav, HERE / "unlabelled_code.sav",
                         variable_value_labels={"arm": {1.0: "TKI", 2.0: "TKI-ICI"}})

    pq = df.copy()
    pq.loc[19, "pfs_days"] = int(pq.loc[19, "os_days"]) + 30  # parquet row 20
    pq.to_parquet(HERE / "pfs_after_os.parquet", index=False)


def main() -> None:
    for name, data in csv_cases().items():
        (HERE / name).write_bytes(data)
    write_binary_cases()


if __name__ == "__main__":
    main()
