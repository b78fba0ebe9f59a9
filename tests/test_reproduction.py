"""One test per published number: the study's recomputation reproduces it exactly or within its tier
(data/audit_tiers.yaml). Numbers the paper's self-audit proves contradictory, and numbers not computed for a
recorded reason, are strict xfails carrying that reason; nothing is skipped silently.

The test ids come from the published record. The results are computed once (in memory, from data/cohort.csv)
when this module is collected, because each test's xfail mark depends on its audited status; the session
fixture hands the same audit to the tests.
"""

from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from paperlock.audit.gaps import read_gaps
from paperlock.audit.reproduction import CONTRADICTED, NOT_COMPUTED, NOT_REPRODUCED, PASSING, Row

ROOT = Path(__file__).resolve().parent.parent
COHORT = ROOT / "data" / "cohort.csv"
GAPS = read_gaps(ROOT / "data" / "reproduction_gaps.yaml")

if not COHORT.exists():
    pytest.skip("data/cohort.csv does not exist yet (generate it with `make cohort`); the reproduction audit "
                "of the published numbers needs it", allow_module_level=True)


@lru_cache(maxsize=1)
def audited() -> dict[str, Row]:
    """The audit of every published number against results computed now from the shipped cohort."""
    from analysis.run import compute
    from paperlock.audit.reproduction import audit_numbers, load_inputs
    from paperlock.spec import load_spec

    results = compute(load_spec(ROOT))
    inputs = load_inputs(ROOT, results=results)
    rows = audit_numbers(inputs.record, inputs.results, inputs.config, inputs.self_audit)
    return {r.entry.id: r for r in rows}


def _params() -> list:
    record_ids = [e["id"] for e in yaml.safe_load((ROOT / "data" / "published.yaml").read_text())["entries"]]
    rows = audited()
    out = []
    for entry_id in record_ids:
        row = rows[entry_id]
        marks = []
        if row.status == CONTRADICTED:
            marks = [pytest.mark.xfail(strict=True, reason="contradicted by the paper itself: "
                                       + "; ".join(c.short for c in row.citations))]
        elif row.status == NOT_COMPUTED and row.reason:
            marks = [pytest.mark.xfail(strict=True, reason=f"not computed: {row.reason.strip()}")]
        elif entry_id in GAPS:
            marks = [pytest.mark.xfail(strict=True, reason="known reproduction gap of the synthetic cohort "
                                       f"(data/reproduction_gaps.yaml): {GAPS[entry_id]['evidence']}")]
        out.append(pytest.param(entry_id, marks=marks, id=entry_id))
    return out


@pytest.fixture(scope="session")
def audit_rows() -> dict[str, Row]:
    return audited()


def _explain(row: Row) -> str:
    e = row.entry
    where = f"{e.id} ({e.place} {e.position}, key {e.key})"
    if row.status == NOT_COMPUTED:
        return f"{where}: not computed — {row.note}"
    return (f"{where}: printed {e.printed}, recomputed {row.recomputed!r} -> {row.rounded} "
            f"({row.status}; tier '{row.tier}': {row.tier_rule}) {row.method_note} {row.note or ''}")


@pytest.mark.parametrize("entry_id", _params())
def test_published_number(entry_id: str, audit_rows: dict[str, Row]):
    row = audit_rows[entry_id]
    assert row.status in PASSING, _explain(row)


def test_removing_one_patient_fails_the_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """The repo's study copied with one patient fewer: the audit reports the affected numbers, exits non-zero."""
    from test_audit_logic import drop_one_patient  # tests/ is on sys.path (pytest's default import mode)

    from paperlock.cli import main

    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(ROOT / "study.yaml", study / "study.yaml")
    shutil.copytree(ROOT / "data", study / "data")
    drop_one_patient(study)
    assert main(["results", "--study", str(study)]) == 0
    code = main(["audit", "--study", str(study)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL table1/cohort.n.all" in out
    last = out.strip().splitlines()[-1]
    reproduced = int(last.split()[1])
    assert reproduced < sum(r.passed for r in audited().values())
    doc = json.loads((study / "build" / "audit" / "audit.json").read_text())
    failed = {n["key"] for n in doc["numbers"] if n["status"] == NOT_REPRODUCED}
    assert {"cohort.n.all"} <= failed
