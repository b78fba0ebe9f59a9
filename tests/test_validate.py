"""`paperlock validate`: the malformed-input corpus (tests/malformed, one file per failure mode, each with its
expected message), every problem reported at once, rules from the dictionary and spec, nothing written on error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from paperlock.cli import main
from paperlock.data_dictionary import load_dictionary
from paperlock.errors import PaperlockError
from paperlock.problems import sort_key
from paperlock.spec import load_spec
from paperlock.validate import study_dictionary, validate_file

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "malformed"
EXPECTED: dict[str, list[str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
MINI = HERE / "fixtures" / "mini_study"


def tails(path: Path, study: Path = MINI) -> list[str]:
    """Each problem's text after '<file>: ', in the report's order (by row, then column)."""
    loaded = load_spec(study)
    outcome = validate_file(path, loaded.spec, study_dictionary(loaded))
    return [p.format().split(": ", 1)[1] for p in sorted(outcome.problems, key=sort_key)]


def test_every_corpus_file_has_an_expected_message():
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx", ".sav", ".parquet")}
    assert files == set(EXPECTED)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_rejected_with_its_message(name: str):
    assert sorted(tails(CORPUS / name)) == sorted(EXPECTED[name])
    for line in EXPECTED[name]:
        assert line.startswith(("row ", "rows ")) and ", column '" in line  # names its row and column


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_exit_status_and_no_traceback(name: str, capsys: pytest.CaptureFixture[str]):
    assert main(["validate", str(CORPUS / name), "--study", str(MINI)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for line in EXPECTED[name]:
        assert f"{name}: {line}" in err


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_results_refuse_corpus_file_and_write_nothing(name: str, mini_study: Path,
                                                      capsys: pytest.CaptureFixture[str]):
    assert main(["results", "--study", str(mini_study)]) == 0
    out = mini_study / "build" / "results.json"
    before = out.read_bytes()
    shutil.copy(CORPUS / name, mini_study / "data" / name)
    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text().replace("cohort: data/cohort.csv", f"cohort: data/{name}"))
    assert main(["results", "--study", str(mini_study)]) == 2
    err = capsys.readouterr().err
    assert EXPECTED[name][0] in err and "Nothing was written" in err
    assert out.read_bytes() == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_valid_cohort_passes(capsys: pytest.CaptureFixture[str]):
    assert main(["validate", "--study", str(MINI)]) == 0
    assert "no problems" in capsys.readouterr().out


def test_every_problem_is_reported_at_once(tmp_path: Path):
    """Five defects in one file, all in one report, in row order; the negative OS time also breaks PFS <= OS."""
    lines = (MINI / "data" / "cohort.csv").read_text().splitlines()
    header = lines[0].split(",")

    def put(row: int, column: str, value: str) -> None:
        cells = lines[row - 1].split(",")
        cells[header.index(column)] = value
        lines[row - 1] = ",".join(cells)

    put(3, "gender", "mael")
    put(5, "pfs_event", "9")
    put(5, "age", "x")
    put(9, "os_days", "-1")
    put(20, "best_response", "<b>PR</b>")
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    got = tails(path)
    assert [t.split(":")[0] for t in got] == [
        "row 3, column 'gender'", "row 5, column 'age'", "row 5, column 'pfs_event'",
        "row 9, column 'os_days'", "row 9, column 'pfs_days'", "row 20, column 'best_response'"]
    assert any("'<b>PR</b>'" in t for t in got)


def test_headers_map_by_alias_and_case(tmp_path: Path, mini_study: Path):
    text = (MINI / "data" / "cohort.csv").read_text()
    text = text.replace("patient_id,arm,age,gender,pfs_days", "Patient ID,Treatment arm,AGE,gender,PFS days", 1)
    (mini_study / "data" / "cohort.csv").write_text(text)
    dictionary = mini_study / "data" / "dictionary.yaml"
    dictionary.write_text(dictionary.read_text().replace(
        "label: Treatment arm, table: all,", "label: Treatment arm, table: all, aliases: [Treatment arm],"))
    loaded = load_spec(mini_study)
    outcome = validate_file(loaded.resolve("data/cohort.csv"), loaded.spec, study_dictionary(loaded))
    assert outcome.ok, outcome.problems
    assert "column 'Treatment arm' read as 'arm'" in outcome.notes
    assert list(outcome.frame.columns[:5]) == ["patient_id", "arm", "age", "gender", "pfs_days"]


def test_missing_value_markers_come_from_the_dictionary(tmp_path: Path):
    lines = (MINI / "data" / "cohort.csv").read_text().splitlines()
    lines[4] = lines[4].replace(",SD,", ",NA,").replace(",PR,", ",NA,").replace(",PD,", ",NA,").replace(",CR,", ",NA,")
    path = tmp_path / "na.csv"
    path.write_text("\n".join(lines) + "\n")
    loaded = load_spec(MINI)
    outcome = validate_file(path, loaded.spec, study_dictionary(loaded))
    assert outcome.ok
    assert outcome.frame.loc[3, "best_response"] is None


def test_rules_need_no_dictionary(tmp_path: Path, mini_study: Path):
    """Without a data dictionary the spec's own rules still apply (endpoints, levels)."""
    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text().replace("  dictionary: data/dictionary.yaml\n", ""))
    loaded = load_spec(mini_study)
    assert tails(CORPUS / "event_code.csv", mini_study) == [
        "row 10, column 'os_event': value '2' is not an event code: 0 (censored) or 1 (event), endpoint os"]
    assert tails(CORPUS / "unknown_level.csv", mini_study) == [
        "row 4, column 'gender': value 'mael' is not a level of variable 'gender' in the study spec "
        "(allowed: female, male)"]
    assert tails(CORPUS / "empty_arm.csv", mini_study) == [
        "rows 2–31, column 'arm': no row has level 'tki_ici' (TKI-ICI): that group would be empty "
        "(grouping 'arm' needs every group)"]
    assert loaded.spec.data.dictionary is None


def test_dictionary_errors_name_the_entry(tmp_path: Path):
    path = tmp_path / "dictionary.yaml"
    path.write_text("columns:\n  a: {type: number}\n  b: {type: date}\n"
                    "checks:\n  - {rule: less_equal, left: a, right: c}\n")
    with pytest.raises(PaperlockError, match="checks.*unknown column 'c'"):
        load_dictionary(path)
    path.write_text("columns:\n  a: {type: number}\n  b: {type: date}\n"
                    "checks:\n  - {rule: less, left: a, right: b}\n")
    with pytest.raises(PaperlockError, match="both must be numbers or both dates"):
        load_dictionary(path)
    path.write_text("columns:\n  a: {type: number, nullabel: false}\n")
    assert load_dictionary(path).dictionary.warnings() == ["column 'a': key 'nullabel' is not used by validation"]


def test_spec_column_missing_from_dictionary_is_reported(mini_study: Path):
    dictionary = mini_study / "data" / "dictionary.yaml"
    lines = dictionary.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  ae_fatigue:"))
    end = next(i for i in range(start, len(lines)) if lines[i].rstrip().endswith("}"))
    dictionary.write_text("\n".join(lines[:start] + lines[end + 1:]) + "\n")
    got = tails(mini_study / "data" / "cohort.csv", mini_study)
    assert any("column 'ae_fatigue': the study spec uses this column (table table6)" in t for t in got)


def test_identifier_in_a_listing_is_refused(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text().replace("fields: {best_pct_change: best_pct_change,",
                                             "fields: {id: patient_id, best_pct_change: best_pct_change,"))
    assert main(["results", "--study", str(mini_study)]) == 2
    assert "reads 'patient_id', a patient identifier" in capsys.readouterr().err


def test_small_counts_in_listings_are_flagged(mini_study: Path):
    import json

    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text() + "privacy: {min_count: 3}\n")
    assert main(["results", "--study", str(mini_study)]) == 0
    listing = json.loads((mini_study / "build" / "results.json").read_text())["listings"]["waterfall"]
    rows = listing["rows"]
    expected = sorted((f, v) for f in ("afp_change", "arm", "response") for v in {r[f] for r in rows}
                      if sum(r[f] == v for r in rows) < 3)
    assert listing["min_count"] == 3
    assert sorted((f["field"], f["value"]) for f in listing["small_counts"]) == expected
    assert expected == [("response", "cr")]  # 2 complete responses in the mini cohort
    assert not any("patient_id" in r or any(str(v).startswith("P0") for v in r.values()) for r in rows)
