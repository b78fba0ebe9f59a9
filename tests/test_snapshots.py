"""Snapshot tests: every rendered table body and every paragraph of the manuscript, as plain text.

A snapshot is the text a reader sees (tags stripped, whitespace folded), one file per study under
tests/snapshots/. A change to a number, a label or a sentence shows up as a readable diff. After an intended
change, refresh with `PAPERLOCK_UPDATE_SNAPSHOTS=1 pytest tests/test_snapshots.py` and review the diff.
"""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import flip_first_male

from analysis.run import compute
from paperlock.spec import load_spec
from report.render import build_tables, render_html

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
STUDIES = {"mini": ROOT / "tests" / "fixtures" / "mini_study", "reference": ROOT}
UPDATE = os.environ.get("PAPERLOCK_UPDATE_SNAPSHOTS") == "1"


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_bodies(loaded, results) -> dict[str, str]:
    """Each table's caption, column labels and rows as tab-separated text (the formatted frame)."""
    out = {}
    for t in build_tables(loaded, results):
        lines = [t.caption, "\t".join(t.column_labels.get(c, c) for c in t.frame.columns)]
        lines += ["\t".join(str(v) for v in row) for row in t.frame.itertuples(index=False)]
        lines += [f"note: {n}" for n in t.footnotes if n]
        out[t.id] = "\n".join(lines)
    return out


def paragraphs(document: str) -> list[str]:
    body = re.sub(r"<figure.*?</figure>", "", document, flags=re.S)
    body = re.sub(r"<section class=\"colophon\">.*?</section>", "", body, flags=re.S)
    return [t for t in (_text(p) for p in re.findall(r"<p[^>]*>(.*?)</p>", body, flags=re.S)) if t]


def snapshot_text(study_dir: Path, tmp: Path) -> str:
    loaded = load_spec(study_dir)
    results = compute(loaded)
    document = render_html(loaded, results)  # no figures: the snapshot covers text and tables
    parts = [f"## table {tid}\n{body}" for tid, body in table_bodies(loaded, results).items()]
    parts += [f"## paragraph {i}\n{p}" for i, p in enumerate(paragraphs(document), start=1)]
    return "\n\n".join(parts) + "\n"


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_snapshot(study: str, tmp_path: Path):
    if study == "reference" and not (ROOT / "data" / "cohort.csv").exists():
        pytest.skip("data/cohort.csv missing")
    text = snapshot_text(STUDIES[study], tmp_path)
    path = SNAPSHOTS / f"{study}.txt"
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"snapshot {path.name} created; review it and commit it")
    assert text == path.read_text(encoding="utf-8"), (
        f"rendered tables/paragraphs differ from {path}; if intended, refresh with PAPERLOCK_UPDATE_SNAPSHOTS=1")


def test_changing_one_patient_changes_the_rendered_numbers(tmp_path: Path):
    """One patient's gender flipped: the gender counts in Table 1 and in the sentence change, nothing else."""
    study = tmp_path / "mini"
    shutil.copytree(STUDIES["mini"], study)
    before = snapshot_text(study, tmp_path)
    csv = study / "data" / "cohort.csv"
    flip_first_male(csv)
    after = snapshot_text(study, tmp_path)
    sections_before = dict(part.split("\n", 1) for part in ("\n\n" + before).split("\n\n## ") if "\n" in part)
    sections_after = dict(part.split("\n", 1) for part in ("\n\n" + after).split("\n\n## ") if "\n" in part)
    # survival and response do not depend on gender: unchanged
    for untouched in ("table table2", "table table3"):
        assert sections_before[untouched] == sections_after[untouched]
    t1_before, t1_after = sections_before["table table1"].splitlines(), sections_after["table table1"].splitlines()
    changed = {a.split("\t")[0] for a, b in zip(t1_before, t1_after, strict=True) if a != b}
    assert changed == {"Female", "Male", "Gender, n (%)"}  # the counts and the gender p-value
    sentence = [k for k in sections_before if sections_before[k].startswith("Of 30 patients")]
    assert sentence and sections_before[sentence[0]] != sections_after[sentence[0]]
