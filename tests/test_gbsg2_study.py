"""The engine features the GBSG2 example study needs, tested through it: a cohort from an installed package,
continuous and multi-level Cox covariates (spec validation, keys, table rows), and the rendered manuscript."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from analysis.package_data import parse_package_source, read_package_cohort
from analysis.run import compute
from paperlock.errors import PaperlockError
from paperlock.spec import Spec, load_spec
from report.render import build_tables, render_html

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "examples" / "gbsg2"


@pytest.fixture(scope="module")
def loaded():
    return load_spec(STUDY)


@pytest.fixture(scope="module")
def results(loaded):
    return compute(loaded)


@pytest.fixture(scope="module")
def html(loaded, results) -> str:
    return render_html(loaded, results)  # no build folder: figures are not drawn, prose and tables are


# ---- cohort from an installed package --------------------------------------------------------------------
@pytest.mark.parametrize("source, message", [
    ("package:json", "expected 'package:<module>:<function>'"),
    ("package:json:dumps:x", "expected 'package:<module>:<function>'"),
    ("package:no_such_module_for_paperlock:load", "cannot import"),
    ("package:os.path:no_such_function", "has no function"),
    ("package:json:dumps", "the loader failed: TypeError"),  # needs an argument
    ("package:collections:OrderedDict", "not a DataFrame"),
])
def test_package_source_errors_name_the_problem(source, message):
    with pytest.raises(PaperlockError, match=re.escape(message)):
        read_package_cohort(source)


def test_package_source_reads_the_installed_frame(loaded, results):
    src = parse_package_source(loaded.spec.data.cohort)
    assert (src.module, src.function) == ("lifelines.datasets", "load_gbsg2")
    frame = read_package_cohort(loaded.spec.data.cohort)
    assert len(frame) == results.statistics["cohort.n.all"].value == 686
    import lifelines

    packaged = {k: v for k, v in results.meta.inputs.items() if k.startswith("package:")}
    assert list(packaged) == [f"{loaded.spec.data.cohort} (lifelines {lifelines.__version__})"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in packaged.values())


# ---- Cox covariates: continuous, categorical ------------------------------------------------------------
def _spec_doc() -> dict:
    return yaml.safe_load((STUDY / "study.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, message", [
    ({"type": "categorical", "reference": None}, "`reference` is required"),
    ({"type": "indicator"}, "`level` is required"),
    ({"type": "categorical", "reference": "iv"}, "has no level 'iv'"),
    ({"type": "continuous", "reference": None}, "is not a continuous variable"),
    ({"per": 10}, "`per` applies to continuous covariates only"),
])
def test_cox_covariate_declarations_are_validated(change, message):
    doc = _spec_doc()
    grade = next(c for c in doc["cox"][0]["covariates"] if c["key"] == "grade")
    grade.update(change)
    grade_clean = {k: v for k, v in grade.items() if v is not None}
    doc["cox"][0]["covariates"] = [grade_clean if c["key"] == "grade" else c for c in doc["cox"][0]["covariates"]]
    with pytest.raises(ValueError, match=re.escape(message)):
        Spec.model_validate(doc)


def test_cox_keys_must_be_unique_across_levels():
    doc = _spec_doc()
    doc["cox"][0]["covariates"].append({"key": "grade_ii", "variable": "grade", "level": "ii", "label": "II"})
    with pytest.raises(ValueError, match="covariate keys are not unique"):
        Spec.model_validate(copy.deepcopy(doc))


def test_categorical_covariate_has_one_key_per_non_reference_level_and_a_joint_test(results):
    s = results.statistics
    for kind in ("uni", "multi"):
        for level in ("ii", "iii"):
            assert s[f"cox.all.rfs.{kind}.grade_{level}.hr"].value > 1
        assert f"cox.all.rfs.{kind}.grade_i.hr" not in s  # the reference level has no row
        assert 0 < s[f"cox.all.rfs.{kind}.grade.p"].value < 0.1
        assert s[f"cox.all.rfs.{kind}.grade.p"].method == "cox.joint.wald"
    assert s["cox.all.rfs.uni.grade.p_lr"].method == "cox.joint.lr"
    layout = results.tables["cox_rfs"]
    assert layout["factors"] == {"grade": {"label": "Tumour grade", "terms": ["grade_ii", "grade_iii"]}}
    assert "factor_entry" in results.methods["cox.multi.efron"].conventions


def test_continuous_covariate_hr_is_per_declared_units(results):
    """Age per 10 years: the HR is the per-year HR to the 10th power (same fit, rescaled covariate)."""
    import numpy as np

    from analysis.stats import cox

    frame = read_package_cohort(load_spec(STUDY).spec.data.cohort)
    per_year = cox.cox_fit(frame["time"] / 30.4375, frame["cens"], frame[["age"]].to_numpy(float), ties="efron")
    assert results.statistics["cox.all.rfs.uni.age.hr"].value == pytest.approx(per_year.hr[0] ** 10, rel=1e-9)
    assert np.isfinite(per_year.hr[0])


def test_cox_table_has_a_factor_heading_with_indented_levels(loaded, results):
    table = next(t for t in build_tables(loaded, results) if t.id == "table3")
    labels = table.frame["label"].tolist()
    i = labels.index("Tumour grade")
    assert labels[i + 1:i + 3] == ["Grade II vs. Grade I", "Grade III vs. Grade I"]
    assert table.indented_rows == [i + 1, i + 2]
    assert table.frame.loc[i, "rfs_uni_p"].endswith("*") and table.frame.loc[i, "rfs_uni_hr"] == ""
    assert any("Joint Wald test" in note for note in table.footnotes)


# ---- the manuscript ---------------------------------------------------------------------------------------
def test_manuscript_has_every_section_and_no_unfilled_value(html):
    for heading in ("Abstract", "Introduction", "Patients and data", "Statistical methods", "Results",
                    "Discussion"):
        assert f">{heading}</h2>" in html
    text = re.sub(r"<[^>]+>", " ", html)
    assert "None" not in text and "nan" not in text.split()


def test_manuscript_numbers_come_from_results(html, results):
    s = results.statistics
    assert f"{s['km.rfs.therapy.ht.median'].value:.1f} months (95% CI " in html
    assert "months of 30.4375 days" in html  # the spec's month length, not a rounded one
    assert "NR)" in html  # an upper confidence limit R reports as NA prints as not reached
    assert f"{s['cutpoint.nodes.rfs.value'].value:.0f} or fewer" in html


def test_no_sentence_starts_with_a_numeral(html):
    """The same style rule as the reference study's manuscript: a number never opens a sentence."""
    import html as html_lib
    import re

    for p in re.findall(r"<p\b.*?</p>", html, flags=re.S):
        text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", p)).split())
        assert not re.search(r"[A-Za-z)%]\. \d", text), text
        assert not re.match(r"\d", text), text
