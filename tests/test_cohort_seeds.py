"""tools/cohort_seeds.py: the table that compares seeds' calibrations (no calibration is run here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("cohort_seeds", ROOT / "tools" / "cohort_seeds.py")
seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seeds)


def _write(folder: Path, seed: int, exact: int, cox: int, seconds: float) -> None:
    folder.mkdir(parents=True)
    (folder / "calibration.json").write_text(json.dumps({
        "seed": seed, "quick": False, "calibration_seconds": seconds,
        "summary": {"exact": {"pass": exact, "targets": 10}, "cox_uni_hr": {"pass": cox, "targets": 5}}}))


def test_runs_are_tabulated_best_first_ties_by_lower_seed(tmp_path: Path, capsys) -> None:
    _write(tmp_path / "3", 3, 9, 2, 400.0)
    _write(tmp_path / "2", 2, 10, 3, 410.0)
    _write(tmp_path / "1", 1, 8, 5, 420.0)   # 13 met, as seed 2: the lower seed first
    (tmp_path / "4").mkdir()                  # unfinished: left out
    assert seeds.main(["--out", str(tmp_path), "--read-only"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(" | ")[0] for ln in lines[2:]] == ["| 1", "| 2", "| 3"]
    assert lines[2] == "| 1 | 13/15 | 5/5 | 8/10 | 420 |"


def test_the_shipped_calibration_reads(tmp_path: Path) -> None:
    shipped = json.loads((ROOT / "data" / "calibration.json").read_text())
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "calibration.json").write_text(json.dumps(shipped))
    row = seeds.summary(tmp_path / "s")
    assert row["seed"] == shipped["seed"]
    assert row["targets"] == sum(v["targets"] for v in shipped["summary"].values())


def test_nothing_finished_is_an_error(tmp_path: Path) -> None:
    assert seeds.main(["--out", str(tmp_path), "--read-only"]) == 1
