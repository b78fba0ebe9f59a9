"""`paperlock audit-paper`: each check on small constructed records with a known answer, then the real record.

Reference p values come from R 4.x (stats), e.g.
    m <- matrix(c(11, 19, 10, 30), ncol = 2, byrow = TRUE)
    chisq.test(m)$p.value                  # Yates (R default)     0.42919530044
    chisq.test(m, correct = FALSE)$p.value # Pearson               0.291840545144
    fisher.test(m)$p.value                 #                       0.307117573674
    m3 <- matrix(c(19, 44, 2, 3, 0, 2), ncol = 2, byrow = TRUE)
    chisq.test(m3, correct = FALSE)$p.value  # 0.578106612534
    fisher.test(m3)$p.value                  # Freeman-Halton 0.825023637469
    fisher.test(matrix(c(3, 1, 0, 1, 4, 2, 0, 2, 5), 3, byrow = TRUE))$p.value  # 0.0465503450798
    chisq.test(matrix(c(1, 1, 20, 48), ncol = 2, byrow = TRUE))$p.value         # Yates 1 (capped correction)
    fisher.test(matrix(c(1, 1, 20, 48), ncol = 2, byrow = TRUE))$p.value       # 0.513043478261
    2 * pnorm(-abs(qnorm(0.975) * (log(.08) + log(.62)) / (log(.62) - log(.08))))   # 0.00403931768263
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from paperlock.audit import contingency
from paperlock.audit.categorical import check_categorical
from paperlock.audit.consistency import check_claims, check_quantiles, check_same_key
from paperlock.audit.counts import check_group_sums, check_identities, check_percentages
from paperlock.audit.cox import check_cox, wald_p_interval
from paperlock.audit.km import check_km
from paperlock.audit.paper import audit
from paperlock.audit.record import Entry, load_record, parse_record
from paperlock.audit.rounding import matching_rules, round_to
from paperlock.cli import main

ROOT = Path(__file__).resolve().parent.parent
FACTS = {"alpha": {"value": 0.05}, "cox_entry_p": {"value": 0.1}, "ci_level": {"value": 0.95},
         "categorical_tests": {"value": ["pearson", "fisher"]}, "comparison_groups": {"value": ["a", "b"]},
         "group_parts": {"all": ["a", "b"]}}


def make(items: list[tuple[str, str, str, str]], **extra: Any) -> Any:
    """A record from (key, place, printed, kind) tuples; ids and sentence positions are generated."""
    entries = []
    for i, (key, place, printed, kind) in enumerate(items):
        d = Decimal(printed)
        entries.append({"id": f"{place}/{key}", "key": key, "place": place,
                        "where": {"row": key} if place.startswith("table") else {"sentence": 1, "position": i},
                        "value": float(d), "printed": printed, "decimals": max(0, -d.as_tuple().exponent),
                        "kind": kind})
    return parse_record({"entries": entries, "facts": extra.pop("facts", FACTS), **extra})


def ids(findings: list[Any]) -> set[str]:
    return {f.id for f in findings}


# ------------------------------------------------------------------------------------------------ rounding
def test_rounding_rules_differ_on_ties_and_truncation() -> None:
    assert round_to(Fraction(1, 8), 2, "half_up") == Fraction(13, 100)
    assert round_to(Fraction(1, 8), 2, "half_even") == Fraction(12, 100)
    assert round_to(Fraction(2, 70) * 100, 1, "truncate") == Fraction(28, 10)
    assert matching_rules(Fraction(200, 70), Fraction(29, 10), 1) == ["half_up", "half_even"]
    assert matching_rules(Fraction(200, 70), Fraction(28, 10), 1) == ["truncate"]


# ------------------------------------------------------------------------------------------------ contingency
def test_contingency_tests_match_r() -> None:
    m = [[11, 19], [10, 30]]
    assert contingency.yates(m) == pytest.approx(0.42919530044, abs=1e-9)
    assert contingency.pearson(m) == pytest.approx(0.291840545144, abs=1e-9)
    assert contingency.fisher(m) == pytest.approx(0.307117573674, abs=1e-9)
    m3 = [[19, 44], [2, 3], [0, 2]]
    assert contingency.pearson(m3) == pytest.approx(0.578106612534, abs=1e-9)
    assert contingency.fisher(m3) == pytest.approx(0.825023637469, abs=1e-9)
    assert contingency.yates(m3) is None
    assert contingency.fisher([[3, 1, 0], [1, 4, 2], [0, 2, 5]]) == pytest.approx(0.0465503450798, abs=1e-9)
    assert contingency.yates([[1, 1], [20, 48]]) == pytest.approx(1.0, abs=1e-9)
    assert contingency.fisher([[1, 1], [20, 48]]) == pytest.approx(0.513043478261, abs=1e-9)


# ------------------------------------------------------------------------------------------------ percentages
def test_wrong_percentage_is_gross_and_truncation_is_named() -> None:
    rec = make([("cohort.n.a", "table1", "21", "N"), ("cohort.n.b", "table1", "70", "N"),
                ("x.yes.a.n", "table1", "4", "n"), ("x.yes.a.pct", "table1", "29.7", "pct"),
                ("y.yes.b.n", "table1", "2", "n"), ("y.yes.b.pct", "table1", "2.8", "pct"),
                ("z.yes.b.n", "table1", "2", "n"), ("z.yes.b.pct", "table1", "2.9", "pct")])
    findings, summary = check_percentages(rec)
    by_id = {f.id: f for f in findings}
    assert set(by_id) == {"percentage/x.yes.a.pct", "percentage/y.yes.b.pct"}
    assert by_id["percentage/x.yes.a.pct"].severity == "gross"
    assert by_id["percentage/x.yes.a.pct"].evidence["rounded_half_up"] == "19.0"
    assert by_id["percentage/y.yes.b.pct"].severity == "rounding-level"
    assert "truncated" in by_id["percentage/y.yes.b.pct"].explanation
    assert summary["by_place"]["table1"]["truncate"] == 1 and summary["by_place"]["table1"]["none"] == 1


def test_percentage_on_another_denominator_is_explained() -> None:
    rec = make([("cohort.n.b", "table1", "49", "N"), ("cohort.n.all", "table1", "70", "N"),
                ("s.b.n", "text2.7", "15", "n"), ("s.b.pct", "text2.7", "75", "pct")])
    (finding,), _ = check_percentages(rec)
    assert finding.severity == "gross"
    assert finding.evidence["denominators_reproducing"][0] == 20


def test_percentage_that_is_a_sum_of_rounded_parts() -> None:
    identities = [{"name": "CR + PR = ORR", "relation": "sum", "parts": ["r.cr.{g}.n", "r.pr.{g}.n"],
                   "total": "r.orr.{g}.n"}]
    rec = make([("cohort.n.a", "table3", "21", "N"), ("r.cr.a.n", "table3", "1", "n"),
                ("r.cr.a.pct", "table3", "4.8", "pct"), ("r.pr.a.n", "table3", "3", "n"),
                ("r.pr.a.pct", "table3", "14.3", "pct"), ("r.orr.a.n", "table3", "4", "n"),
                ("r.orr.a.pct", "table3", "19.1", "pct")], identities=identities)
    (finding,), _ = check_percentages(rec)
    assert finding.severity == "rounding-level"
    assert finding.evidence["sum_of_printed_parts"] == {"r.cr.a.pct": "4.8", "r.pr.a.pct": "14.3"}
    assert check_identities(rec) == []


# ------------------------------------------------------------------------------------------------ identities
def test_identity_violations() -> None:
    identities = [
        {"name": "CR + PR = ORR", "relation": "sum", "parts": ["r.cr.{g}.n", "r.pr.{g}.n"], "total": "r.orr.{g}.n"},
        {"name": "levels", "relation": "sum", "parts": ["v.{var}.*.{g}.n"], "total": "cohort.n.{g}", "min_parts": 2},
        {"name": "grade", "relation": "at_most", "parts": ["ae.{e}.g3.{g}.n"], "total": "ae.{e}.any.{g}.n"},
    ]
    rec = make([("cohort.n.a", "table1", "21", "N"), ("cohort.n.b", "table1", "49", "N"),
                ("cohort.n.all", "table1", "71", "N"),
                ("r.cr.a.n", "table3", "1", "n"), ("r.pr.a.n", "table3", "3", "n"), ("r.orr.a.n", "table3", "5", "n"),
                ("v.sex.f.a.n", "table1", "3", "n"), ("v.sex.m.a.n", "table1", "18", "n"),
                ("v.sex.f.b.n", "table1", "8", "n"), ("v.sex.m.b.n", "table1", "40", "n"),
                ("ae.rash.any.a.n", "table6", "1", "n"), ("ae.rash.g3.a.n", "table6", "2", "n")],
               identities=identities)
    found = ids(check_identities(rec))
    assert found == {"identity/r.orr.a.n", "identity/cohort.n.b", "identity/ae.rash.any.a.n"}
    assert ids(check_group_sums(rec)) == {"group-sum/cohort.n.all"}


# ------------------------------------------------------------------------------------------------ categorical p
def test_p_that_only_yates_gives_is_attributed_to_yates() -> None:
    rec = make([("cohort.n.a", "table1", "21", "N"), ("cohort.n.b", "table1", "49", "N"),
                ("v.lo.a.n", "table1", "11", "n"), ("v.lo.b.n", "table1", "19", "n"),
                ("v.hi.a.n", "table1", "10", "n"), ("v.hi.b.n", "table1", "30", "n"), ("v.p", "table1", "0.429", "p"),
                ("w.yes.a.n", "table1", "11", "n"), ("w.yes.b.n", "table1", "19", "n"), ("w.p", "table1", "0.292", "p"),
                ("u.yes.a.n", "table1", "11", "n"), ("u.yes.b.n", "table1", "19", "n"), ("u.p", "table1", "0.5", "p")])
    findings, summary = check_categorical(rec)
    rows = {r["key"]: r for r in summary["tests"]}
    assert rows["v.p"]["reproduced_by"] == ["yates"]
    assert rows["w.p"]["table"] == [[11, 19], [10, 30]]  # single level completed with N - n
    assert rows["w.p"]["reproduced_by"] == ["pearson"]
    assert ids(findings) == {"categorical-p/table1/u.p", "categorical-rule/table1"}
    assert summary["decision_rules"]["table1"]["reproduced"]["yates"] == 1


# ------------------------------------------------------------------------------------------------ Cox
def _cox(stem: str, place: str, hr: str, lo: str, up: str, p: str) -> list[tuple[str, str, str, str]]:
    return [(f"{stem}.hr", place, hr, "hr"), (f"{stem}.ci_lower", place, lo, "ci_lower"),
            (f"{stem}.ci_upper", place, up, "ci_upper"), (f"{stem}.p", place, p, "p")]


def test_wald_p_interval_brackets_the_r_value() -> None:
    lo = Entry("l", "k", "table4", {}, 0.08, "0.08", 2, "ci_lower")
    up = Entry("u", "k", "table4", {}, 0.62, "0.62", 2, "ci_upper")
    low, high = wald_p_interval(lo, up, 1.959963984540054)
    assert low < 0.00403931768263 < high
    assert high < 0.006


def test_ci_contradicting_its_p_is_found_and_a_consistent_one_is_not() -> None:
    rec = make([*_cox("cox.all.pfs.multi.good", "table4", "0.23", "0.08", "0.62", "0.004"),
                *_cox("cox.all.pfs.multi.bad", "table4", "0.47", "0.08", "0.62", "0.402"),
                *_cox("cox.all.pfs.uni.good", "table4", "0.28", "0.12", "0.65", "0.003"),
                *_cox("cox.all.pfs.uni.bad", "table4", "2.23", "1.02", "4.88", "0.044"),
                *_cox("cox.all.pfs.uni.lonely", "table4", "0.40", "0.18", "0.90", "0.028")])
    findings, summary = check_cox(rec)
    found = ids(findings)
    assert {"ci-vs-p/table4/cox.all.pfs.multi.bad", "wald-p/table4/cox.all.pfs.multi.bad",
            "hr-centre/table4/cox.all.pfs.multi.bad", "duplicate-ci/table4/cox.all.pfs.multi/0.08-0.62",
            "entry-rule/table4/cox.all.pfs.uni.lonely"} == found
    assert summary["wald_p_consistent"] == 4


# ------------------------------------------------------------------------------------------------ KM, quantiles
def test_km_symmetry() -> None:
    rows = [("sor", "5.93", "2.47", "24.43"), ("reg", "7.50", "3.19", "11.80")]
    rec = make([(f"km.os.r.{g}.{kind}", "table2", printed, kind) for g, *values in rows
                for kind, printed in zip(("median", "ci_lower", "ci_upper"), values, strict=True)])
    findings, summary = check_km(rec)
    assert ids(findings) == {"km-symmetry/table2/km.os.r.sor"}
    assert findings[0].severity == "gross"
    assert summary["symmetric"] == 1


def test_median_outside_iqr_and_pooled_quantile() -> None:
    rec = make([("b.age.all.median", "text2.1", "56", "median"), ("b.age.all.q1", "text2.1", "51", "q1"),
                ("b.age.all.q3", "text2.1", "53", "q3"),
                ("b.x.all.median", "table1", "60", "median"), ("b.x.a.median", "table1", "50", "median"),
                ("b.x.b.median", "table1", "55", "median")])
    assert ids(check_quantiles(rec)) == {"quantile-order/text2.1/b.age.all", "pooled-quantile/table1/b.x.all.median"}


# ------------------------------------------------------------------------------------------------ text vs tables
def test_text_number_disagreeing_with_its_table() -> None:
    rec = make([("b.age.all.q3", "table1", "63.00", "q3"), ("b.age.all.q3", "text2.1", "53", "q3"),
                ("c.p", "table4", "0.010", "p"), ("c.p", "text2.5", "0.01", "p"),
                ("d.p", "table4", "0.023", "p"), ("d.p", "text2.5", "0.03", "p")])
    by_id = {f.id: f for f in check_same_key(rec)}
    assert set(by_id) == {"same-key/text2.1/b.age.all.q3", "same-key/text2.5/d.p"}
    assert by_id["same-key/text2.1/b.age.all.q3"].severity == "gross"
    assert by_id["same-key/text2.5/d.p"].severity == "rounding-level"


def test_claims() -> None:
    claims = [{"place": "text2.5", "where": {"sentence": 3}, "type": "significant_set", "model": "cox.all.pfs.uni",
               "members": ["a", "b"]},
              {"place": "text2.5", "where": {"sentence": 4}, "type": "significant_includes", "model": "cox.all.pfs.uni",
               "members": ["a"]},
              {"place": "text2.6", "where": {"sentence": 1}, "type": "most_common", "keys": "ae.{event}.any.{group}.n",
               "sum_over": "group", "members": ["x", "y"]}]
    rec = make([*_cox("cox.all.pfs.uni.a", "table4", "2.51", "1.14", "5.51", "0.022"),
                *_cox("cox.all.pfs.uni.b", "table4", "1.79", "0.94", "3.44", "0.079"),
                ("ae.x.any.a.n", "table6", "14", "n"), ("ae.x.any.b.n", "table6", "32", "n"),
                ("ae.y.any.a.n", "table6", "7", "n"), ("ae.y.any.b.n", "table6", "11", "n"),
                ("ae.z.any.a.n", "table6", "6", "n"), ("ae.z.any.b.n", "table6", "13", "n")], claims=claims)
    found = {f.id: f for f in check_claims(rec)}
    assert set(found) == {"claim/text2.5/1", "claim/text2.6/3"}
    assert "only below the entry threshold" in found["claim/text2.5/1"].explanation


# ------------------------------------------------------------------------------------------------ the real record
@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    return audit(load_record(ROOT / "data" / "published.yaml"))


def test_real_record_reports_the_known_findings(real: dict[str, Any]) -> None:
    by_id = {f["id"]: f for f in real["findings"]}
    expected = {
        "percentage/response.orr.tki.pct": "rounding-level",            # 4/21 = 19.05 -> 19.0, printed 19.1
        "same-key/text2.1/baseline.age.all.q3": "gross",                 # IQR 51-53 in the text, 51-63 in Table 1
        "quantile-order/text2.1/baseline.age.all": "gross",
        "percentage/baseline.etiology.other.all.pct": "rounding-level",  # 2/70 = 2.857, printed 2.8 (truncated)
        "percentage/baseline.etiology.other.tki_ici.pct": "rounding-level",  # 2/49 = 4.08, printed 4.0
        "percentage/ae.nausea_vomiting.any.tki.pct": "gross",            # 4 (29.7) of 21
        "percentage/subsequent.any.tki_ici.pct": "gross",                    # 15 (75%) of 49
        "same-key/text2.5/cox.all.pfs.multi.anri_high.ci_upper": "gross",  # 0.08-0.26 vs 0.08-0.62
        "wald-p/table4/cox.all.pfs.multi.sn_high": "gross",             # 0.47 (0.08-0.62) p 0.402
        "duplicate-ci/table4/cox.all.pfs.multi/0.08-0.62": "moderate",   # SN repeats ANRI's CI
        "km-symmetry/table2/km.os.regimen.sor": "gross",                 # 5.93 (2.47-24.43)
    }
    assert {k: by_id[k]["severity"] for k in expected if k in by_id} == expected
    assert "truncated" in by_id["percentage/baseline.etiology.other.all.pct"]["explanation"]
    assert by_id["percentage/response.orr.tki.pct"]["evidence"]["exact_pct"] == pytest.approx(19.0476, abs=1e-4)
    assert set(by_id["duplicate-ci/table4/cox.all.pfs.multi/0.08-0.62"]["evidence"]["estimates"]) == {
        "anri_high", "sn_high"}


def test_real_record_inferences(real: dict[str, Any]) -> None:
    rules = real["inferences"]["categorical"]["decision_rules"]
    assert rules["table1"]["best"] == ["yates"]
    assert "fisher" in rules["table6"]["best"]
    assert real["inferences"]["cox"]["with_p"] == 130
    assert real["summary"]["counts"]["gross"] >= 8
    assert all(f["explanation"].endswith(".") for f in real["findings"])


def test_cli_writes_deterministic_json_and_escaped_html(tmp_path: Path) -> None:
    record = ROOT / "data" / "published.yaml"
    text = record.read_text(encoding="utf-8").replace("citation: \"Yin X", "citation: \"<script>x</script> Yin X", 1)
    hostile = tmp_path / "published.yaml"
    hostile.write_text(text, encoding="utf-8")
    outs = []
    for name in ("one", "two"):
        assert main(["audit-paper", "--record", str(hostile), "--out", str(tmp_path / name)]) == 0
        outs.append(((tmp_path / name / "findings.json").read_bytes(), (tmp_path / name / "index.html").read_bytes()))
    assert outs[0] == outs[1]
    html = outs[0][1].decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    report = json.loads(outs[0][0])
    assert report["findings"] == sorted(report["findings"], key=lambda f: (
        ["gross", "moderate", "rounding-level"].index(f["severity"]), f["check"], f["id"]))


def test_cli_reports_a_missing_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit-paper", "--record", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
