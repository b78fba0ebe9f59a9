"""Readers for CSV, Excel, SPSS and Parquet: the same data give the same canonical table and the same results
whatever the format; unreadable or truncated files are messages, never tracebacks (hypothesis fuzzing)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.run import compute
from paperlock.errors import PaperlockError
from paperlock.io import read_table
from paperlock.io.values import canonical, number_text
from paperlock.results import dumps
from paperlock.spec import load_spec
from paperlock.validate import map_table, study_dictionary, validate_file

MINI = Path(__file__).resolve().parent / "fixtures" / "mini_study"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mini_frame() -> pd.DataFrame:
    return pd.read_csv(MINI / "data" / "cohort.csv")


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".sav":
        pyreadstat.write_sav(frame, path)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("ext", [".xlsx", ".sav", ".parquet"])
def test_every_format_normalises_as_the_csv_does(ext: str, tmp_path: Path):
    """Raw text may differ ('75.0' in the CSV, 75 stored as a number); the normalised data may not."""
    loaded = load_spec(MINI)
    dictionary = study_dictionary(loaded)
    csv = validate_file(MINI / "data" / "cohort.csv", loaded.spec, dictionary)
    other = validate_file(write(mini_frame(), tmp_path / f"cohort{ext}"), loaded.spec, dictionary)
    assert csv.ok and other.ok
    pd.testing.assert_frame_equal(csv.frame, other.frame)
    assert csv.frame.loc[15, "afp_ng_ml"] == "75"


@pytest.mark.parametrize("ext", [".xlsx", ".sav", ".parquet"])
def test_results_do_not_depend_on_the_format(ext: str, mini_study: Path):
    """The file's extension picks the reader; the statistics are identical to the CSV's."""
    reference = compute(load_spec(mini_study))
    write(mini_frame(), mini_study / "data" / f"cohort{ext}")
    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text().replace("cohort: data/cohort.csv", f"cohort: data/cohort{ext}"))
    other = compute(load_spec(mini_study))
    assert other.statistics == reference.statistics
    assert dumps(other).replace(f"cohort{ext}", "cohort.csv").count("\n") == dumps(reference).count("\n")


def test_row_numbers_follow_each_format(tmp_path: Path):
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert list(read_table(write(frame, tmp_path / "f.csv")).frame.index) == [2, 3, 4]
    assert list(read_table(write(frame, tmp_path / "f.xlsx")).frame.index) == [2, 3, 4]
    assert list(read_table(write(frame, tmp_path / "f.sav")).frame.index) == [1, 2, 3]
    assert list(read_table(write(frame, tmp_path / "f.parquet")).frame.index) == [1, 2, 3]


def test_excel_title_rows_dates_and_blank_rows(tmp_path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Hospital export, 2024"])
    ws.append([])
    ws.append(["id", "start", "value"])
    ws.append(["A1", dt.datetime(2021, 3, 4), 1.50])
    ws.append([None, None, None])
    ws.append(["A2", dt.datetime(2021, 3, 5, 14, 30), 2])
    book.save(tmp_path / "x.xlsx")
    table = read_table(tmp_path / "x.xlsx")
    assert table.header_row == 1  # the first non-empty row is the header
    # the title row is taken as the header: the real header then shows up as a data row with extra columns
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "start", "value"])
    ws.append(["A1", dt.datetime(2021, 3, 4), 1.50])
    ws.append([None, None, None])
    ws.append(["A2", dt.datetime(2021, 3, 5, 14, 30), 2])
    book.save(tmp_path / "y.xlsx")
    frame = read_table(tmp_path / "y.xlsx").frame
    assert list(frame.index) == [2, 4]
    assert frame.loc[2, "start"] == "2021-03-04" and frame.loc[4, "start"] == "2021-03-05T14:30:00"
    assert frame.loc[2, "value"] == "1.5" and frame.loc[4, "value"] == "2"


def test_spss_value_labels_follow_the_dictionary(tmp_path: Path):
    """A categorical column shows its labels; an integer column (event codes) keeps its codes."""
    frame = mini_frame()
    frame["arm"] = frame["arm"].map({"TKI": 1, "TKI-ICI": 2}).astype(float)
    path = tmp_path / "cohort.sav"
    pyreadstat.write_sav(frame, path, variable_value_labels={
        "arm": {1.0: "TKI", 2.0: "TKI-ICI"}, "os_event": {0.0: "censored", 1.0: "died"}})
    loaded = load_spec(MINI)
    outcome = validate_file(path, loaded.spec, study_dictionary(loaded))
    assert outcome.ok, outcome.problems
    assert set(outcome.frame["arm"]) == {"TKI", "TKI-ICI"}
    assert set(outcome.frame["os_event"]) == {"0", "1"}
    table, notes = map_table(read_table(path), None, loaded.spec)  # without a dictionary: the spec's levels
    assert set(table.frame["arm"]) == {"TKI", "TKI-ICI"} and set(table.frame["os_event"]) == {"0", "1"}


def test_text_encodings_and_delimiters(tmp_path: Path):
    rows = "id;name;x\n1;Zoë;1,5\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + rows.encode("utf-8"))
    (tmp_path / "utf16.csv").write_bytes(rows.replace(";", "\t").encode("utf-16"))
    (tmp_path / "cp.csv").write_bytes(rows.encode("cp1252"))
    for name in ("bom.csv", "utf16.csv"):
        table = read_table(tmp_path / name)
        assert list(table.frame.columns) == ["id", "name", "x"] and not table.problems
        assert table.frame.loc[2, "name"] == "Zoë"
    assert read_table(tmp_path / "cp.csv").problems[0].column == "name"
    table = read_table(tmp_path / "cp.csv", encoding="cp1252")
    assert not table.problems and table.frame.loc[2, "name"] == "Zoë" and "CP1252" in table.description


@pytest.mark.parametrize(("content", "message"), [
    (b"", "row 1: the file is empty"),
    (b"\n\n", "row 1: the file is empty"),
    (b"PK\x03\x04rest", "zip/Excel workbook, not text"),
    (b"a,b\x00c\n", "binary data"),
])
def test_unreadable_text_files(content: bytes, message: str, tmp_path: Path):
    (tmp_path / "f.csv").write_bytes(content)
    with pytest.raises(PaperlockError, match=message):
        read_table(tmp_path / "f.csv")


def test_header_only_file_has_no_data_rows(tmp_path: Path):
    (tmp_path / "f.csv").write_text((MINI / "data" / "cohort.csv").read_text().splitlines()[0] + "\n")
    loaded = load_spec(MINI)
    outcome = validate_file(tmp_path / "f.csv", loaded.spec, study_dictionary(loaded))
    assert [p.format() for p in outcome.problems][-1].endswith("row 2: no data rows")


def test_unsupported_extension(tmp_path: Path):
    (tmp_path / "f.dta").write_bytes(b"x")
    with pytest.raises(PaperlockError, match="unsupported file type '.dta'"):
        read_table(tmp_path / "f.dta")


@pytest.mark.parametrize("ext", [".xlsx", ".sav", ".parquet"])
def test_truncated_binary_files_are_messages(ext: str, tmp_path: Path):
    whole = write(mini_frame(), tmp_path / f"whole{ext}").read_bytes()
    for cut in (0, 10, len(whole) // 3, len(whole) // 2, len(whole) - 50):
        path = tmp_path / f"cut{ext}"
        path.write_bytes(whole[:cut])
        with pytest.raises(PaperlockError, match="damaged or truncated|empty"):
            read_table(path)


# ------------------------------------------------------------------------------------------- hypothesis fuzzing

TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=12)
CELLS = {
    "int": st.one_of(st.none(), st.integers(-10**9, 10**9)),
    "float": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
    "text": st.one_of(st.none(), TEXT),
}


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.integers(1, 8))
    kinds = draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=5))
    data = {f"c{i}_{k}": draw(st.lists(CELLS[k], min_size=n_rows, max_size=n_rows)) for i, k in enumerate(kinds)}
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})  # None stays None


def expected_cells(frame: pd.DataFrame) -> list[list[str | None]]:
    return [[canonical(v) for v in row] for row in frame.itertuples(index=False)]


def read_cells(path: Path) -> list[list[str | None]]:
    got = read_table(path).frame
    return [list(r) for r in got.itertuples(index=False)]


@FUZZ
@given(frame=frames())
def test_fuzz_csv_round_trip(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:  # the csv module: pandas would retype the cells
        writer = csv.writer(fh)
        writer.writerow(frame.columns)
        writer.writerows([["" if v is None else number_text(v) if isinstance(v, float) else v for v in row]
                          for row in frame.itertuples(index=False)])
    expected = expected_cells(frame)
    if all(all(c is None for c in row) for row in expected):
        return  # an all-blank file has no data rows to compare
    got = read_cells(path)
    assert got == [row for row in expected if any(c is not None for c in row)]


@FUZZ
@given(frame=frames(), ext=st.sampled_from([".xlsx", ".parquet"]))
def test_fuzz_typed_formats_round_trip(frame: pd.DataFrame, ext: str, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("typed") / f"f{ext}"
    if ext == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int": pa.int64(), "float": pa.float64(), "text": pa.string()}
        pq.write_table(pa.table({c: pa.array(frame[c].tolist(), type=types[c.split("_")[1]]) for c in frame}), path)
        assert read_cells(path) == expected_cells(frame)
        return
    # Excel keeps 15 significant digits (its number format); clinical values have far fewer
    frame = frame.map(lambda v: float(f"{v:.12g}") if isinstance(v, float) else v)
    frame.to_excel(path, index=False)
    expected = [row for row in expected_cells(frame) if any(c is not None for c in row)]
    if not expected:
        return
    assert read_cells(path) == expected


@FUZZ
@given(frame=frames())
def test_fuzz_spss_round_trip(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("sav") / "f.sav"
    # SPSS reserves the extreme doubles (-DBL_MAX is system-missing, ±DBL_MAX LOWEST/HIGHEST)
    frame = frame.map(lambda v: None if isinstance(v, float) and abs(v) > 1e300 else v)
    typed = pd.DataFrame({c: (frame[c].astype(float) if not c.endswith("text")
                              else frame[c].map(lambda v: "" if v is None else v.strip()))
                          for c in frame})
    if any(typed[c].map(lambda v: len(str(v).encode())).max() > 200 for c in typed if c.endswith("text")):
        return
    pyreadstat.write_sav(typed, path)
    assert read_cells(path) == expected_cells(frame.map(lambda v: v.strip() if isinstance(v, str) else v))


@FUZZ
@given(data=st.binary(max_size=400), ext=st.sampled_from([".csv", ".xlsx", ".sav", ".parquet"]))
def test_fuzz_random_bytes_never_crash(data: bytes, ext: str, tmp_path_factory: pytest.TempPathFactory):
    """Any bytes: a table (with problems) or a PaperlockError, never another exception."""
    path = tmp_path_factory.mktemp("bytes") / f"f{ext}"
    path.write_bytes(data)
    try:
        table = read_table(path)
    except PaperlockError:
        return
    assert all(p.file for p in table.problems)


@FUZZ
@given(lines=st.lists(st.text(alphabet=',;"\n\r x1é\t', max_size=30), min_size=1, max_size=6))
def test_fuzz_broken_csv_is_validated_without_crash(lines: list[str], tmp_path_factory: pytest.TempPathFactory):
    """Broken quoting, ragged rows and stray delimiters under the mini study's rules: problems, not crashes."""
    path = tmp_path_factory.mktemp("broken") / "f.csv"
    header = (MINI / "data" / "cohort.csv").read_text().splitlines()[0]
    path.write_text(header + "\n" + "\n".join(lines), encoding="utf-8")
    loaded = load_spec(MINI)
    try:
        outcome = validate_file(path, loaded.spec, study_dictionary(loaded))
    except PaperlockError:
        return
    assert outcome.ok or all(p.format() for p in outcome.problems)


def test_lock_copy_reads_back_identically(mini_study: Path):
    """The normalised copy written by a lock validates and gives the same frame."""
    from paperlock.lock import create_lock

    loaded = load_spec(mini_study)
    manifest, _ = create_lock(loaded)
    copy = loaded.resolve(manifest.normalised.path)
    a = validate_file(loaded.resolve("data/cohort.csv"), loaded.spec, study_dictionary(loaded)).frame
    b = validate_file(copy, loaded.spec, study_dictionary(loaded)).frame
    pd.testing.assert_frame_equal(a, b)
    shutil.rmtree(mini_study / "data" / "locks")
