"""Shared fixtures: the mini study (30 invented patients) copied to a temporary folder per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: no per-example deadline (CI machines are shared and slow) and a fixed example stream, so a
# run is reproducible; a failure prints the falsifying example.
settings.register_profile("paperlock", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("paperlock")

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).resolve().parent / "fixtures" / "mini_study"


@pytest.fixture
def mini_study(tmp_path: Path) -> Path:
    dest = tmp_path / "mini"
    shutil.copytree(MINI, dest)
    return dest


def flip_first_male(csv: Path) -> None:
    """Change the first male patient of a cohort CSV to female (a one-patient data change)."""
    lines = csv.read_text().splitlines()
    g = lines[0].split(",").index("gender")
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if cells[g] == "male":
            cells[g] = "female"
            lines[i] = ",".join(cells)
            break
    csv.write_text("\n".join(lines) + "\n")
