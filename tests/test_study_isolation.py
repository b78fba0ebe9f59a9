"""The engine is general: the GBSG2 example study lives in examples/gbsg2 alone.

No Python file outside tests/ names the study, and no Python file of the engine (analysis/, report/, paperlock/)
names any of its raw columns; everything the engine knows about the study comes from its folder.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "examples" / "gbsg2"
ENGINE = ("analysis", "report", "paperlock")
# Raw columns that are also ordinary words any engine may use; every other column of the study must not appear.
GENERIC_WORDS = {"time", "age"}


def _python_files() -> list[Path]:
    """The project's Python files (git-tracked or untracked, not ignored; a plain walk outside git), without the
    virtualenv: third-party packages (lifelines ships the data) are not the engine."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.py"],
                             cwd=ROOT, capture_output=True, text=True, check=True, timeout=30).stdout
        files = [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.SubprocessError):
        files = list(ROOT.rglob("*.py"))
    return [p for p in files if p.is_file() and not {".venv", "build"} & set(p.relative_to(ROOT).parts)]


def _study_columns() -> set[str]:
    spec = yaml.safe_load((STUDY / "study.yaml").read_text(encoding="utf-8"))
    columns = {v["column"] for v in spec["variables"].values()}
    columns |= {c for ep in spec["endpoints"].values() for c in (ep["time"], ep["event"])}
    return columns - GENERIC_WORDS


def test_no_python_outside_tests_names_the_study():
    offenders = [str(p.relative_to(ROOT)) for p in _python_files()
                 if p.relative_to(ROOT).parts[0] != "tests" and "gbsg" in p.read_text(encoding="utf-8").lower()]
    assert offenders == []


def test_engine_python_names_none_of_the_study_columns():
    columns = _study_columns()
    assert {"horTh", "tgrade", "pnodes", "cens"} <= columns  # the spec is read, not an empty set
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(columns))) + r")\b")
    hits = []
    for path in _python_files():
        if path.relative_to(ROOT).parts[0] in ENGINE:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if m := pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0)}")
    assert hits == []


@pytest.mark.parametrize("path", ["study.yaml", "data/dictionary.yaml", "README.md",
                                  "templates/sections/results.html.j2"])
def test_the_study_folder_holds_its_declarative_files(path):
    assert (STUDY / path).is_file()


def test_the_study_folder_holds_no_code():
    code = [p for p in STUDY.rglob("*") if p.suffix in {".py", ".R", ".sh"} and "build" not in p.parts]
    assert code == []
