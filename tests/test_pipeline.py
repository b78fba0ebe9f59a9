"""End to end on the mini study: results.json contract, determinism, rendering, clear errors, atomic outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import flip_first_male

from paperlock.cli import main
from paperlock.results import KEY_PATTERN, SCHEMA_VERSION, load_results


def run_cli(*args: str) -> int:
    return main(list(args))


def test_results_contract(mini_study: Path):
    assert run_cli("results", "--study", str(mini_study)) == 0
    path = mini_study / "build" / "results.json"
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == SCHEMA_VERSION
    assert set(doc["meta"]) >= {"spec_sha256", "inputs", "git_commit", "packages", "study"}
    assert "data/cohort.csv" in doc["meta"]["inputs"]
    for key, stat in doc["statistics"].items():
        assert KEY_PATTERN.match(key), key
        assert stat["method"] in doc["methods"], key
    # nothing in the file looks like a wall-clock timestamp
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", path.read_text())
    results = load_results(path)
    assert results.value("cohort.n.all") == 30
    assert results.value("cohort.n.tki") + results.value("cohort.n.tki_ici") == 30
    assert 0 <= results.value("baseline.gender.p") <= 1


def test_results_are_byte_identical(mini_study: Path, tmp_path: Path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("results", "--study", str(mini_study), "--out", str(a)) == 0
    assert run_cli("results", "--study", str(mini_study), "--out", str(b)) == 0
    assert a.read_bytes() == b.read_bytes()


def test_report_fills_the_sentence_from_results(mini_study: Path):
    assert run_cli("results", "--study", str(mini_study)) == 0
    assert run_cli("report", "--study", str(mini_study), "--formats", "html") == 0
    html = (mini_study / "build" / "manuscript.html").read_text()
    results = load_results(mini_study / "build" / "results.json")
    n_male = results.value("baseline.gender.male.all.n")
    assert f"Of 30 patients, {n_male} (" in html
    assert "Synthetic data." in html
    assert "<table" in html and "Table 1." in html


def test_changing_one_patient_changes_the_sentence(mini_study: Path):
    csv = mini_study / "data" / "cohort.csv"
    assert run_cli("results", "--study", str(mini_study)) == 0
    before = load_results(mini_study / "build" / "results.json").value("baseline.gender.male.all.n")
    flip_first_male(csv)
    assert run_cli("results", "--study", str(mini_study)) == 0
    after = load_results(mini_study / "build" / "results.json").value("baseline.gender.male.all.n")
    assert after == before - 1


def test_unknown_level_names_file_row_and_column(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    csv = mini_study / "data" / "cohort.csv"
    lines = csv.read_text().splitlines()
    lines[3] = lines[3].replace(",male,", ",mael,").replace(",female,", ",mael,")
    csv.write_text("\n".join(lines) + "\n")
    assert run_cli("results", "--study", str(mini_study)) == 2
    err = capsys.readouterr().err
    assert "cohort.csv: row 4, column 'gender'" in err and "'mael'" in err
    assert "Traceback" not in err


def test_failed_run_leaves_previous_results_intact(mini_study: Path):
    assert run_cli("results", "--study", str(mini_study)) == 0
    path = mini_study / "build" / "results.json"
    before = path.read_bytes()
    csv = mini_study / "data" / "cohort.csv"
    csv.write_text(csv.read_text().replace("TKI-ICI,", "TKI-IC,", 1))
    assert run_cli("results", "--study", str(mini_study)) == 2
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_missing_spec_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert run_cli("results", "--study", str(tmp_path)) == 2
    assert "no study spec found" in capsys.readouterr().err


def test_invalid_spec_names_the_field(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text().replace("km_ci: spss", "km_ci: wrong"))
    assert run_cli("results", "--study", str(mini_study)) == 2
    err = capsys.readouterr().err
    assert "study.yaml: invalid study spec" in err and "conventions.km_ci" in err


@pytest.mark.parametrize("command", ["results", "report", "audit-paper"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        run_cli(command, "--help")
    assert exc.value.code == 0
    assert "usage: paperlock" in capsys.readouterr().out


def test_report_embeds_figures_and_reuses_them(mini_study: Path):
    assert run_cli("results", "--study", str(mini_study)) == 0
    assert run_cli("report", "--study", str(mini_study), "--formats", "html") == 0
    build = mini_study / "build"
    html = (build / "manuscript.html").read_text()
    assert html.count('<figure class="figure"') == 4
    assert 'src="data:image/svg+xml;base64,' in html
    png = build / "figures" / "figure2.png"
    first = png.stat().st_mtime_ns
    # a template-only change re-renders the document without redrawing figures
    template = mini_study / "templates" / "sections" / "results.html.j2"
    template.write_text(template.read_text().replace("Median PFS was", "The median PFS was"))
    assert run_cli("report", "--study", str(mini_study), "--formats", "html") == 0
    assert png.stat().st_mtime_ns == first
    assert "The median PFS was" in (build / "manuscript.html").read_text()


def test_template_error_names_template_and_line(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    assert run_cli("results", "--study", str(mini_study)) == 0
    template = mini_study / "templates" / "sections" / "results.html.j2"
    template.write_text(template.read_text() + "\n{{ n('no.such.key') }}\n")
    before = sorted(p.name for p in (mini_study / "build").iterdir())
    assert run_cli("report", "--study", str(mini_study), "--formats", "html") == 2
    err = capsys.readouterr().err
    assert "'no.such.key'" in err and "Traceback" not in err
    assert sorted(p.name for p in (mini_study / "build").iterdir()) == before


def test_label_markup_is_escaped(mini_study: Path):
    spec = mini_study / "study.yaml"
    spec.write_text(spec.read_text().replace('label: "Gender"', 'label: "Gender <script>x</script>"'))
    assert run_cli("results", "--study", str(mini_study)) == 0
    assert run_cli("report", "--study", str(mini_study), "--formats", "html") == 0
    html = (mini_study / "build" / "manuscript.html").read_text()
    assert "<script>x</script>" not in html
