"""The GBSG2 example study (examples/gbsg2) against R's survival package on the same data.

Reference values: `tests/reference/gbsg2_fixtures.json`, written by `Rscript tests/reference/gbsg2.R` (R 4.2.2,
survival 3.5.3; the R code of each statistic is stored in the fixture under `r_code`). Each value is keyed by the
results.json key it checks. For example the univariable hazard ratio of hormonal therapy is

    coxph(Surv(time / 30.4375, cens) ~ I(horTh == "yes"), data = gbsg2, ties = "efron")

and the median RFS with hormonal therapy `quantile(survfit(Surv(time / 30.4375, cens) ~ 1, conf.type = "log",
data = subset(gbsg2, horTh == "yes")), 0.5)`. The data R reads (tests/reference/data/gbsg2.csv) must be the
frame the engine reads from lifelines; a test checks that too.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.run import compute
from paperlock.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "examples" / "gbsg2"
FIXTURE = ROOT / "tests" / "reference" / "gbsg2_fixtures.json"
R_SCRIPT = ROOT / "tests" / "reference" / "gbsg2.R"
R_DATA = ROOT / "tests" / "reference" / "data" / "gbsg2.csv"

# Relative tolerance per family of statistic. All are 1e-6: both sides solve the same estimating equations to
# ~1e-9 (Cox: |Δloglik| < 1e-9 relative) or compute closed forms (Kaplan–Meier, log-rank, quantiles, ranks).
TOLERANCE = {"cox": 1e-6, "km": 1e-6, "cutpoint": 1e-6, "baseline": 1e-6}
# Keys R must cover: every Cox HR/CI/p and joint test, every KM median and CI in R's conventions, every log-rank.
MUST_COVER = re.compile(r"^(cox\..*\.(hr|ci_lower|ci_upper|p|p_lr|statistic|statistic_lr)"
                        r"|km\..*\.(median|ci_lower|ci_upper|logrank_chi2|logrank_p))$")


@pytest.fixture(scope="module")
def results():
    return compute(load_spec(STUDY))


@pytest.fixture(scope="module")
def statistics(results):
    return results.statistics


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text())


def _close(expected: float | None, actual: float | None, rel: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None  # R's NA (a limit never reached) is the engine's missing value
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=0.0)


def test_every_reference_value_matches(statistics, reference):
    values = reference["values"]
    assert len(values) > 150
    problems = []
    for key, expected in values.items():
        if key not in statistics:
            problems.append(f"{key}: not in results")
        elif not _close(expected, statistics[key].value, TOLERANCE[key.split(".")[0]]):
            problems.append(f"{key}: R {expected!r}, paperlock {statistics[key].value!r}")
    assert not problems, "\n".join(problems)


def test_r_covers_every_cox_and_km_statistic(statistics, reference):
    """The SPSS-style KM interval has no R equivalent; every other Cox/KM number must have an R value."""
    required = {k for k in statistics if MUST_COVER.match(k) and ".spss." not in k}
    assert len(required) > 100
    assert sorted(required - reference["values"].keys()) == []


def test_multivariable_entry_agrees_with_r(results, reference):
    entered = reference["r_code"]["cox_entered"]
    layout = results.tables["cox_rfs"]
    spec = load_spec(STUDY).spec
    models = next(m for m in spec.cox if m.id == "cox_rfs")
    ours = [c.key for c in models.covariates
            if any(t.key in layout["endpoints"]["rfs"]["multi"] for t in spec.cox_terms(c))]
    assert ours == entered


def test_r_reads_the_data_the_engine_reads():
    from analysis.package_data import read_package_cohort

    spec = load_spec(STUDY).spec
    frame = read_package_cohort(spec.data.cohort)
    assert frame.to_csv(index=False, lineterminator="\n") == R_DATA.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_r_script_reproduces_the_committed_fixture(tmp_path):
    out = tmp_path / "gbsg2_fixtures.json"
    subprocess.run(["Rscript", str(R_SCRIPT), str(out)], cwd=ROOT, check=True, capture_output=True, timeout=120)
    fresh, committed = json.loads(out.read_text()), json.loads(FIXTURE.read_text())
    assert fresh["values"].keys() == committed["values"].keys()
    assert fresh["r_code"] == committed["r_code"]
    for key, value in committed["values"].items():
        assert _close(value, fresh["values"][key], 1e-9), key
