"""Rendered-output check: every table cell of the generated manuscript (HTML, and DOCX when it can be written)
equals the formatting of the results it stands for, so a rendering bug cannot hide behind a correct results file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperlock.audit.rendered import cell_count, check_outputs, compare, expected_tables, html_tables
from paperlock.cli import main
from paperlock.results import load_results
from paperlock.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mini_rendered(mini_study: Path) -> Path:
    assert main(["results", "--study", str(mini_study)]) == 0
    assert main(["report", "--study", str(mini_study), "--formats", "html"]) == 0
    return mini_study


def _load(study: Path):
    return load_spec(study), load_results(study / "build" / "results.json")


def test_every_table_cell_of_the_mini_manuscript_matches_results(mini_rendered: Path):
    loaded, results = _load(mini_rendered)
    expected = expected_tables(loaded, results)
    assert cell_count(expected) > 50 and set(expected) == {"table1", "table2", "table3", "table4", "table6"}
    checked, mismatches = check_outputs(loaded, results, mini_rendered / "build")
    assert checked == [str(mini_rendered / "build" / "manuscript.html")]
    assert mismatches == []


def test_the_docx_tables_match_results(mini_rendered: Path):
    docx = pytest.importorskip("report.docx", reason="report/docx.py (the DOCX writer) is not there yet")
    build = mini_rendered / "build"
    docx.write_docx((build / "manuscript.html").read_text(encoding="utf-8"), build, build / "manuscript.docx")
    loaded, results = _load(mini_rendered)
    checked, mismatches = check_outputs(loaded, results, build)
    assert checked[-1].endswith("manuscript.docx")
    assert mismatches == []


def test_a_changed_cell_is_reported(mini_rendered: Path):
    loaded, results = _load(mini_rendered)
    html = (mini_rendered / "build" / "manuscript.html").read_text(encoding="utf-8")
    cell = expected_tables(loaded, results)["table2"][0].cells["pfs"]  # e.g. "2.77 (2.28–3.26)"
    bumped = re.sub(r"\d(?=\))", lambda m: str((int(m.group(0)) + 1) % 10), cell, count=1)
    assert html.count(f">{cell}<") == 1
    mismatches = compare(expected_tables(loaded, results), html_tables(html.replace(f">{cell}<", f">{bumped}<")),
                         "html")
    assert [(m.table, m.row, m.column, m.expected, m.rendered) for m in mismatches] == [
        ("table2", 0, "pfs", cell, bumped)]


def test_swapped_columns_and_a_lost_row_are_reported(mini_rendered: Path):
    loaded, results = _load(mini_rendered)
    html = (mini_rendered / "build" / "manuscript.html").read_text(encoding="utf-8")
    swapped = (html.replace('id="table3-tki"', 'id="table3-TMP"').replace('id="table3-tki_ici"', 'id="table3-tki"')
               .replace('id="table3-TMP"', 'id="table3-tki_ici"'))
    mismatches = compare(expected_tables(loaded, results), html_tables(swapped), "html")
    assert mismatches and {m.table for m in mismatches} == {"table3"}
    assert {m.column for m in mismatches} <= {"tki", "tki_ici"}
    # drop the last body row of table 6
    start = html.index('id="tbl-table6"')
    end = html.index("</tbody>", start)
    last_row = html.rindex("<tr", start, end)
    lost = html[:last_row] + html[end:]
    mismatches = compare(expected_tables(loaded, results), html_tables(lost), "html")
    assert any(m.table == "table6" and m.rendered.endswith("rows") for m in mismatches)


NO_COHORT = pytest.mark.skipif(not (ROOT / "data" / "cohort.csv").exists(), reason="data/cohort.csv does not exist yet")


@pytest.fixture(scope="module")
def study_rendered():
    """The study's spec, results and manuscript HTML, computed once for the tests that read them."""
    from analysis.run import compute
    from report.render import render_html

    loaded = load_spec(ROOT)
    results = compute(loaded)
    return loaded, results, render_html(loaded, results)


@NO_COHORT
def test_the_study_manuscript_tables_match_results(study_rendered):
    loaded, results, html = study_rendered
    expected = expected_tables(loaded, results)
    assert cell_count(expected) > 500
    assert compare(expected, html_tables(html), "html") == []


def test_p_values_carry_the_mark_of_their_test(mini_rendered: Path):
    """A table whose p-values come from several tests marks each p with its test (the footnote names the marks);
    a p shown with another test's mark is reported."""
    from report.tables.style import TEST_MARKS

    loaded, results = _load(mini_rendered)
    html = (mini_rendered / "build" / "manuscript.html").read_text(encoding="utf-8")
    expected = expected_tables(loaded, results)
    marked = [(r, c, v) for r, row in enumerate(expected["table1"]) for c, v in row.cells.items()
              if v and v[-1] in TEST_MARKS]
    assert marked, "the mini study's Table 1 mixes tests"
    marks = {v[-1] for _, _, v in marked}
    assert len(marks) >= 2 and "p-values: " + TEST_MARKS[0] in html
    row, col, cell = marked[0]
    other = next(m for m in marks if m != cell[-1])
    wrong = cell[:-1] + other
    assert html.count(f">{cell}<") >= 1
    mismatches = compare(expected, html_tables(html.replace(f">{cell}<", f">{wrong}<", 1)), "html")
    assert [(m.table, m.row, m.column, m.rendered) for m in mismatches] == [("table1", row, col, wrong)]


def test_one_test_means_no_marks():
    import pandas as pd

    from paperlock.results import Meta, Method, Results
    from report.tables.style import mark_tests

    meta = Meta(study="t", synthetic=True, spec_sha256="0", inputs={}, git_commit="0", packages={})
    results = Results(meta=meta, methods={"test.a": Method(description="Test A", conventions={}),
                                          "test.b": Method(description="Test B", conventions={})}, statistics={})
    frame = pd.DataFrame({"label": ["x", "y"], "p": ["0.100", "0.200"]})
    same, note = mark_tests(frame, {(0, "p"): "test.a", (1, "p"): "test.a"}, results)
    assert list(same["p"]) == ["0.100", "0.200"] and note == "p-values: Test A."
    marked, note = mark_tests(frame, {(0, "p"): "test.b", (1, "p"): "test.a"}, results)
    assert list(marked["p"]) == ["0.100‡", "0.200†"] and note == "p-values: † Test A; ‡ Test B."
    assert list(frame["p"]) == ["0.100", "0.200"]  # the input frame is left as it was


@NO_COHORT
def test_no_paragraph_sits_between_two_landscape_tables(study_rendered):
    """Each landscape table gets a page of its own in the PDF, so a paragraph between two of them was left alone on
    a mostly empty portrait page (page 9 of the study's PDF, two-thirds blank): the Cox paragraphs come first."""
    html = study_rendered[2]
    wide = [m.start() for m in re.finditer(r'<figure class="table wide\b', html)]
    assert len(wide) >= 2
    for a, b in zip(wide, wide[1:], strict=False):
        between = html[html.index("</figure>", a):b]
        assert "<p" not in between, between[:200]


@NO_COHORT
@pytest.mark.parametrize(("pfs_p", "os_p", "expected"), [
    (0.270, 0.640, "survival did not differ between patients whose AFP fell and those whose AFP rose, for PFS "
                   "(log-rank p = 0.270) or OS (p = 0.640)."),
    (0.012, 0.003, "survival differed between patients whose AFP fell and those whose AFP rose, for both PFS "
                   "(log-rank p = 0.012) and OS (p = 0.003)."),
    (0.012, 0.640, "survival of patients whose AFP fell and of those whose AFP rose differed for PFS "
                   "(log-rank p = 0.012) but not for OS (p = 0.640)."),
    (0.270, 0.003, "survival of patients whose AFP fell and of those whose AFP rose differed for OS (p = 0.003) "
                   "but not for PFS (log-rank p = 0.270)."),
])
def test_the_afp_change_sentence_follows_both_p_values(study_rendered, pfs_p: float, os_p: float,
                                                       expected: str) -> None:
    """Each combination of the two log-rank p-values against alpha gives its own grammatical sentence."""
    import html as html_lib

    from report.render import render_html

    loaded, results, _ = study_rendered
    stats = dict(results.statistics)
    for key, value in (("km.pfs.afp_change.logrank_p", pfs_p), ("km.os.afp_change.logrank_p", os_p)):
        stats[key] = stats[key].model_copy(update={"value": value})
    page = render_html(loaded, results.model_copy(update={"statistics": stats}))
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", page)).split())
    assert "At the 0.05 level, " + expected in text


@NO_COHORT
def test_covariate_labels_read_as_prose_mid_sentence(study_rendered) -> None:
    """The abstract and the Cox paragraphs name each covariate that entered a model by its label as it reads
    mid-sentence ("retained prior ablation (yes vs. no)", "tumour number (> 3 vs. ≤ 3)"), never by a table row
    label that starts with a capital or reads only under its group ("Prior ablation", "Number")."""
    import html as html_lib

    from paperlock.prose import in_sentence

    loaded, results, page = study_rendered
    paragraphs = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", p))
                          for p in re.findall(r"<p\b.*?</p>", page, flags=re.S))
    text = " ".join(paragraphs.split())
    checked = 0
    for cox in loaded.spec.cox:
        layout = results.tables[cox.id]
        for ep in cox.endpoints:
            for key in layout["endpoints"][ep]["multi"]:
                prose, label = layout["text_labels"][key], layout["labels"][key]
                assert prose in text
                assert prose == in_sentence(prose)
                if prose != label:
                    assert f"where {label}" not in text and f"; {label} had" not in text
                checked += 1
    assert checked


@NO_COHORT
def test_an_unbalanced_baseline_variable_is_named_as_prose(study_rendered) -> None:
    """Table 1's variables that differ between the groups are listed mid-sentence by their prose label, with a
    space before the verb (the list once ran into it: "cirrhosisdiffered")."""
    import html as html_lib

    from report.render import render_html

    loaded, results, _ = study_rendered
    tables = dict(results.tables)
    tables["table1"] = {**tables["table1"], "significant": ["tumour_size", "cirrhosis"]}
    page = render_html(loaded, results.model_copy(update={"tables": tables}))
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", page)).split())
    assert "tumour size and cirrhosis differed between the groups" in text


@NO_COHORT
def test_the_abstract_names_each_models_covariates_once_per_cohort(study_rendered) -> None:
    """One sentence for both TKI + ICI models, the second endpoint's clause after a semicolon; an endpoint whose
    model retained nothing says so in its clause."""
    import html as html_lib

    from report.render import render_html

    loaded, results, page = study_rendered
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", page)).split())
    assert text.count("In the TKI + ICI cohort, the multivariable PFS model") == 1
    tables = dict(results.tables)
    ici = tables["cox_ici"]
    tables["cox_ici"] = {**ici, "endpoints": {**ici["endpoints"], "os": {**ici["endpoints"]["os"], "significant": []}}}
    page = render_html(loaded, results.model_copy(update={"tables": tables}))
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", page)).split())
    assert f"; no covariate reached p < {loaded.spec.conventions.alpha} in the OS model. Grade 3" in text


@NO_COHORT
def test_no_sentence_of_the_manuscript_starts_with_a_numeral(study_rendered) -> None:
    """Style: a number that opens a sentence is rephrased, never printed as digits ("... in 15. 21 patients")."""
    import html as html_lib

    page = study_rendered[2]
    for p in re.findall(r"<p\b.*?</p>", page, flags=re.S):
        text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", p)).split())
        assert not re.search(r"[A-Za-z)%]\. \d", text), text
        assert not re.match(r"\d", text), text
