"""Data locks and `paperlock diff`: a locked study refuses changed data until re-locked, the colophon names the
lock, a failing run leaves the previous report byte-identical, and the diff lists exactly the numbers that moved."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from paperlock.cli import main
from paperlock.diff import diff_results, format_text, printed
from paperlock.results import Meta, Results, Statistic, load_results
from paperlock.spec import Display, load_spec

ROOT = Path(__file__).resolve().parent.parent


def declare_lock(study: Path) -> None:
    spec = study / "study.yaml"
    spec.write_text(spec.read_text().replace("  dictionary: data/dictionary.yaml\n",
                                             "  dictionary: data/dictionary.yaml\n  lock: data/lock.json\n"))


def set_value(csv: Path, patient: str, column: str, value: str) -> str:
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == patient:
            old = cells[header.index(column)]
            cells[header.index(column)] = value
            lines[i] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    return old


def lock_id(study: Path) -> str:
    return json.loads((study / "data" / "lock.json").read_text())["lock_id"]


def test_lock_writes_copy_and_manifest(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["lock", "--study", str(mini_study)]) == 0
    manifest = json.loads((mini_study / "data" / "lock.json").read_text())
    copy = mini_study / manifest["normalised"]["path"]
    assert manifest["rows"] == 30 and manifest["lock_id"].startswith("lock-")
    assert manifest["source"]["path"] == "data/cohort.csv"
    import hashlib

    assert hashlib.sha256(copy.read_bytes()).hexdigest() == manifest["normalised"]["sha256"]
    assert hashlib.sha256((mini_study / "data" / "cohort.csv").read_bytes()).hexdigest() == \
        manifest["source"]["sha256"]
    assert hashlib.sha256((mini_study / "data" / "dictionary.yaml").read_bytes()).hexdigest() == \
        manifest["dictionary"]["sha256"]
    assert "declares no lock" in capsys.readouterr().out
    # the same data lock to the same id
    assert main(["lock", "--study", str(mini_study)]) == 0
    assert lock_id(mini_study) == manifest["lock_id"]
    assert "already locked" in capsys.readouterr().out


def test_lock_refuses_invalid_data_and_writes_nothing(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    set_value(mini_study / "data" / "cohort.csv", "P003", "os_event", "2")
    assert main(["lock", "--study", str(mini_study)]) == 2
    assert "row 4, column 'os_event'" in capsys.readouterr().err
    assert not (mini_study / "data" / "lock.json").exists() and not (mini_study / "data" / "locks").exists()


def test_locked_study_refuses_changed_data_until_relocked(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    declare_lock(mini_study)
    assert main(["results", "--study", str(mini_study)]) == 2
    assert "paperlock lock" in capsys.readouterr().err  # declared but never made
    assert main(["lock", "--study", str(mini_study)]) == 0
    first = lock_id(mini_study)
    assert main(["results", "--study", str(mini_study)]) == 0
    assert main(["report", "--study", str(mini_study), "--formats", "html"]) == 0
    build = mini_study / "build"
    html = (build / "manuscript.html").read_text()
    assert f"<td>data lock</td><td>{first}</td>" in html
    assert load_results(build / "results.json").meta.lock_id == first
    ids = [line.split(",")[0] for line in (mini_study / "data" / "cohort.csv").read_text().splitlines()[1:]]
    outputs = html + (build / "results.json").read_text()
    assert not [i for i in ids if i in outputs]  # no patient identifier in any output
    before = {p: (build / p).read_bytes() for p in ("results.json", "manuscript.html")}
    capsys.readouterr()

    set_value(mini_study / "data" / "cohort.csv", "P004", "age", "74")
    assert main(["results", "--study", str(mini_study)]) == 2
    err = capsys.readouterr().err
    assert f"data/cohort.csv no longer matches data lock {first}" in err
    assert "re-lock with `paperlock lock" in err and "Traceback" not in err
    assert {p: (build / p).read_bytes() for p in before} == before  # the previous report is untouched
    assert not [p for p in build.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".staging")]

    assert main(["lock", "--study", str(mini_study)]) == 0
    second = lock_id(mini_study)
    assert second != first and (mini_study / "data" / "locks" / first / "cohort.csv").is_file()
    assert main(["results", "--study", str(mini_study)]) == 0
    assert load_results(build / "results.json").meta.lock_id == second


def test_dictionary_change_needs_a_relock(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    declare_lock(mini_study)
    assert main(["lock", "--study", str(mini_study)]) == 0
    dictionary = mini_study / "data" / "dictionary.yaml"
    dictionary.write_text(dictionary.read_text().replace("max: 100,", "max: 99,"))
    assert main(["results", "--study", str(mini_study)]) == 2
    assert "(the data dictionary) changed since data lock" in capsys.readouterr().err


def test_diff_between_two_locks_lists_exactly_the_numbers_that_moved(mini_study: Path,
                                                                      capsys: pytest.CaptureFixture[str]):
    """One age changed (P004, TKI arm: 73 -> 74). Only age statistics can move; the TKI upper quartile is
    checked against numpy's type-7 quantile (R: quantile(age[arm == "TKI"], 0.75, type = 7))."""
    csv = mini_study / "data" / "cohort.csv"
    ages = {arm: [] for arm in ("TKI", "TKI-ICI")}
    rows = [line.split(",") for line in csv.read_text().splitlines()]
    for cells in rows[1:]:
        ages[cells[1]].append(float(cells[2]))
    assert main(["lock", "--study", str(mini_study)]) == 0
    first = lock_id(mini_study)
    set_value(csv, "P004", "age", "74")
    assert main(["lock", "--study", str(mini_study)]) == 0
    second = lock_id(mini_study)
    capsys.readouterr()
    assert main(["diff", first, second, "--study", str(mini_study), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    moved = {c["key"]: (c["old"], c["new"]) for c in report["changed"]}
    assert moved, "an age change must move the TKI age summary"
    assert all(k.startswith(("baseline.age.", "cutpoint.age.")) for k in moved), moved
    q3_before = np.percentile(ages["TKI"], 75)
    ages["TKI"][ages["TKI"].index(73.0)] = 74.0
    q3_after = np.percentile(ages["TKI"], 75)
    assert moved["baseline.age.tki.q3"] == (f"{q3_before:.2f}", f"{q3_after:.2f}") == ("73.50", "74.25")
    assert "baseline.age.tki_ici.q3" not in moved

    # the same answer from two results files; and every listed key really prints differently
    a, b = mini_study / "a.json", mini_study / "b.json"
    shutil.copy(mini_study / "data" / "locks" / second / "cohort.csv", mini_study / "keep.csv")
    shutil.copy(mini_study / "data" / "locks" / first / "cohort.csv", csv)
    assert main(["results", "--study", str(mini_study), "--out", str(a)]) == 0
    shutil.copy(mini_study / "keep.csv", csv)
    assert main(["results", "--study", str(mini_study), "--out", str(b)]) == 0
    capsys.readouterr()
    assert main(["diff", str(a), str(b), "--study", str(mini_study), "--format", "json"]) == 0
    assert {c["key"] for c in json.loads(capsys.readouterr().out)["changed"]} == set(moved)
    ra, rb = load_results(a), load_results(b)
    display = load_spec(mini_study).spec.display
    for key in ra.statistics:
        differs = printed(ra.statistics[key], display) != printed(rb.statistics[key], display)
        assert differs == (key in moved), key


def test_diff_text_report(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    out = mini_study / "build" / "results.json"
    assert main(["results", "--study", str(mini_study)]) == 0
    assert main(["diff", str(out), str(out), "--study", str(mini_study)]) == 0
    assert "No printed number changed" in capsys.readouterr().out


def _results(**stats: Statistic) -> Results:
    meta = Meta(study="t", synthetic=True, spec_sha256="x", inputs={}, git_commit="x", packages={})
    return Results(meta=meta, methods={}, statistics=stats)


def test_diff_compares_at_printed_precision():
    display = Display()
    old = _results(**{"a.pct": Statistic(value=42.84, kind="pct", method="m", unit="%"),
                      "b.p": Statistic(value=0.0004, kind="p", method="m"),
                      "c.hr": Statistic(value=0.481, kind="hr", method="m"),
                      "km.x.median": Statistic(value=None, kind="median", method="m", unit="months",
                                               status="not_reached"),
                      "gone.n": Statistic(value=3, kind="n", method="m")})
    new = _results(**{"a.pct": Statistic(value=42.8449, kind="pct", method="m", unit="%"),   # prints 42.8
                      "b.p": Statistic(value=0.0003, kind="p", method="m"),                  # < 0.001 both
                      "c.hr": Statistic(value=0.486, kind="hr", method="m"),                 # 0.48 -> 0.49
                      "km.x.median": Statistic(value=7.5, kind="median", method="m", unit="months"),
                      "new.n": Statistic(value=4, kind="n", method="m")})
    d = diff_results(old, new, display, "old", "new")
    assert [(c.key, c.old, c.new) for c in d.changed] == [
        ("c.hr", "0.48", "0.49"), ("gone.n", "3", "(absent)"), ("km.x.median", "NR", "7.50"),
        ("new.n", "(absent)", "4")]
    assert sorted(d.below_precision) == ["a.pct", "b.p"]
    text = format_text(d)
    assert "4 printed numbers changed" in text and "2 more statistic(s) changed below the printed precision" in text


def test_diff_refuses_a_tampered_lock(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["lock", "--study", str(mini_study)]) == 0
    first = lock_id(mini_study)
    copy = mini_study / "data" / "locks" / first / "cohort.csv"
    copy.write_text(copy.read_text().replace("TKI-ICI", "TKI", 1))
    assert main(["diff", first, first, "--study", str(mini_study)]) == 2
    assert "was modified after locking" in capsys.readouterr().err
    assert main(["diff", "lock-000000000000", first, "--study", str(mini_study)]) == 2
    assert f"known locks: {first}" in capsys.readouterr().err


def test_make_refuses_changed_locked_data(mini_study: Path):
    """`make results` (what `make report` runs first) refuses a changed locked file until `make lock`."""
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    declare_lock(mini_study)

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "-o", ".venv/.installed", target, f"STUDY={mini_study}"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)

    assert make("lock").returncode == 0
    assert make("validate").returncode == 0
    assert make("results").returncode == 0
    set_value(mini_study / "data" / "cohort.csv", "P010", "pfs_days", "11")
    refused = make("results")
    assert refused.returncode != 0 and "no longer matches data lock" in refused.stderr
    assert make("lock").returncode == 0
    assert make("results").returncode == 0
