"""The reproduction audit's logic on small constructed records and results (no cohort needed), and the CLI
end to end on the mini study: a hand-made record of its own numbers, then one patient removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from paperlock.audit.report import audit_document, dumps, render_html
from paperlock.audit.reproduction import (
    CONTRADICTED,
    NOT_COMPUTED,
    NOT_REPRODUCED,
    REPRODUCED,
    WITHIN,
    audit_numbers,
    exit_code,
    headline,
)
from paperlock.audit.selfaudit import SelfAudit
from paperlock.audit.tiers import AuditConfig, NotComputedReason, load_config, parse_config
from paperlock.cli import main
from paperlock.errors import PaperlockError
from paperlock.results import Meta, Method, Results, Statistic, load_results

ROOT = Path(__file__).resolve().parent.parent
CONFIG = load_config(ROOT / "data" / "audit_tiers.yaml")
FACTS = {"comparison_groups": {"value": ["tki", "tki_ici"]}, "categorical_tests": {"value": ["pearson", "fisher"]}}


def results(stats: dict[str, tuple[float | None, str, str]]) -> Results:
    """Results from {key: (value, kind, method)}; every method is registered with a plain description."""
    methods = {m: Method(description=m, conventions={"ci": m} if m.startswith("km.") else {})
               for _, _, m in stats.values()}
    meta = Meta(study="t", synthetic=True, spec_sha256="0", inputs={}, git_commit="0", packages={})
    statistics = {k: Statistic(value=v, kind=kind, method=m,  # type: ignore[arg-type]
                               status="estimated" if v is not None else "not_reached")
                  for k, (v, kind, m) in stats.items()}
    return Results(meta=meta, methods=methods, statistics=statistics)


def entry(key: str | None, value: float, decimals: int, kind: str, place: str = "table1", **extra: Any) -> dict:
    printed = f"{value:.{decimals}f}"
    return {"id": f"{place}/{key}", "key": key, "place": place, "where": {"row": "r", "column": "c"},
            "value": value, "printed": printed, "decimals": decimals, "kind": kind, **extra}


def audit(entries: list[dict], res: Results, findings: list[dict] | None = None,
          config: AuditConfig = CONFIG) -> list:
    return audit_numbers({"entries": entries, "facts": FACTS}, res, config, SelfAudit("test", findings or []))


def test_a_count_reproduced_exactly():
    [row] = audit([entry("cohort.n.tki", 21, 0, "N")], results({"cohort.n.tki": (21, "N", "count")}))
    assert row.status == REPRODUCED and row.rounded == "21" and row.deviation == "+0"


def test_rounding_is_half_away_from_zero_on_the_decimal_value():
    """0.125 prints 0.13 (half up), though float round(0.125, 2) gives 0.12."""
    [row] = audit([entry("km.os.arm.tki.median", 0.13, 2, "median")],
                  results({"km.os.arm.tki.median": (0.125, "median", "km.median.spss")}))
    assert row.status == REPRODUCED and row.rounded == "0.13"


def test_a_hazard_ratio_within_its_tier():
    """Univariable HR tier: ±0.02 after rounding; 0.486 rounds to 0.49, printed 0.47."""
    [row] = audit([entry("cox.all.os.uni.pvtt.hr", 0.47, 2, "hr")],
                  results({"cox.all.os.uni.pvtt.hr": (0.486, "hr", "cox.uni.breslow")}))
    assert row.status == WITHIN and row.tier == "univariable Cox hazard ratios" and row.deviation == "+0.02"
    assert exit_code([row]) == 0


def test_a_hazard_ratio_outside_its_tier_fails_the_audit():
    rows = audit([entry("cox.all.os.uni.pvtt.hr", 0.47, 2, "hr"), entry("cox.all.os.multi.pvtt.hr", 0.47, 2, "hr")],
                 results({"cox.all.os.uni.pvtt.hr": (0.495, "hr", "cox.uni.breslow"),
                          "cox.all.os.multi.pvtt.hr": (0.515, "hr", "cox.multi.breslow")}))
    assert [r.status for r in rows] == [NOT_REPRODUCED, WITHIN]  # 0.50 is 0.03 off (uni); 0.52 is 0.05 (multi)
    assert exit_code(rows) == 1


def test_relative_tier_for_ci_bounds():
    """Univariable CI bounds: 3% relative; printed 3.40 allows 3.30–3.50."""
    rows = audit([entry("cox.all.os.uni.pvtt.ci_upper", 3.40, 2, "ci_upper"),
                  entry("cox.all.os.uni.pvtt.ci_lower", 0.87, 2, "ci_lower")],
                 results({"cox.all.os.uni.pvtt.ci_upper": (3.5049, "ci_upper", "cox.uni.breslow"),
                          "cox.all.os.uni.pvtt.ci_lower": (0.8449, "ci_lower", "cox.uni.breslow")}))
    assert [r.status for r in rows] == [WITHIN, NOT_REPRODUCED]  # 3.50 within 0.102; 0.84 is 0.03 > 0.0261


def test_p_value_tier_on_the_z_scale():
    """Univariable Cox p: |z(p) - z(printed)| <= 0.1; z(0.010) = 2.5758, z(0.013) = 2.4838, z(0.014) = 2.4573
    (R: qnorm(p / 2, lower.tail = FALSE))."""
    rows = audit([entry("cox.all.os.uni.pvtt.p", 0.010, 3, "p"), entry("cox.all.os.uni.pvtt.p", 0.010, 3, "p",
                                                                         place="text2.5")],
                 results({"cox.all.os.uni.pvtt.p": (0.013, "p", "cox.uni.breslow")}))
    assert rows[0].status == WITHIN
    rows = audit([entry("cox.all.os.uni.pvtt.p", 0.010, 3, "p")],
                 results({"cox.all.os.uni.pvtt.p": (0.014, "p", "cox.uni.breslow")}))
    assert rows[0].status == NOT_REPRODUCED


def test_a_contradiction_cites_the_self_audit_and_does_not_fail():
    finding = {"id": "percentage/ae.x.any.tki.pct", "check": "percentage", "severity": "gross",
               "title": "29.7% does not match 4/21", "explanation": "...", "places": ["table6"],
               "keys": ["ae.x.any.tki.pct"]}
    rows = audit([entry("ae.x.any.tki.pct", 29.7, 1, "pct", place="table6"),
                  entry("ae.x.any.tki.pct", 29.7, 1, "pct", place="text2.6")],
                 results({"ae.x.any.tki.pct": (100 * 4 / 21, "pct", "percent")}), [finding])
    assert rows[0].status == CONTRADICTED and rows[0].citations[0].finding == "percentage/ae.x.any.tki.pct"
    assert rows[1].status == NOT_REPRODUCED  # the finding names table6 only: the text's copy is not excused
    assert exit_code(rows[:1]) == 0 and exit_code(rows) == 1


def test_a_cited_number_that_reproduces_is_reproduced():
    finding = {"id": "identity/cohort.n.all", "check": "identity", "severity": "moderate", "title": "t",
               "places": ["table1"], "keys": ["cohort.n.tki"]}
    [row] = audit([entry("cohort.n.tki", 21, 0, "N")], results({"cohort.n.tki": (21, "N", "count")}), [finding])
    assert row.status == REPRODUCED and "self-audit" in (row.note or "")


def test_a_missing_key_is_not_computed_and_fails_without_a_reason():
    rows = audit([entry("flow.enrolled", 70, 0, "n"), entry(None, 3, 0, "n")], results({}))
    assert [r.status for r in rows] == [NOT_COMPUTED, NOT_COMPUTED]
    assert exit_code(rows) == 1


def test_a_recorded_reason_excuses_a_number_not_computed():
    config = CONFIG.model_copy(update={"not_computed_reasons": [
        NotComputedReason(ids=["text2.7/*"], reason="Third-line therapy is not in the locked dataset.")]})
    rows = audit([entry("subsequent.any.tki.n", 5, 0, "n", place="text2.7")], results({}), config=config)
    assert rows[0].status == NOT_COMPUTED and "Third-line" in (rows[0].reason or "")
    assert exit_code(rows) == 0


def test_a_median_not_reached_against_a_printed_median_is_not_reproduced():
    [row] = audit([entry("km.os.arm.tki.median", 7.5, 2, "median")],
                  results({"km.os.arm.tki.median": (None, "median", "km.median.spss")}))
    assert row.status == NOT_REPRODUCED and "not reached" in (row.note or "")


def test_km_ci_names_the_convention_that_prints_the_paper_digits():
    res = results({"km.os.arm.tki.ci_lower": (4.30, "ci_lower", "km.median.spss"),
                   "km.os.arm.tki.log.ci_lower": (4.094, "ci_lower", "km.median.log"),
                   "km.os.arm.tki.loglog.ci_lower": (3.7, "ci_lower", "km.median.log-log"),
                   "km.os.arm.tki.plain.ci_lower": (4.2, "ci_lower", "km.median.plain")})
    [row] = audit([entry("km.os.arm.tki.ci_lower", 4.09, 2, "ci_lower")], res)
    assert row.status == NOT_REPRODUCED
    assert row.methods_reproducing == ["km.median.log"]
    assert row.method_note.startswith("matches km.median.log, while the spec's convention")


def test_categorical_p_names_yates_when_methods_state_pearson_or_fisher():
    """Counts yes = (3, 14), no = (18, 35). R: chisq.test(matrix(c(3,18,14,35),2))$p.value = 0.3304596;
    correct=FALSE: 0.2014929; fisher.test: 0.2401920. The printed 0.330 is Yates'."""
    stats = {"baseline.prior_tace.p": (0.2014928665, "p", "test.pearson_chi2"),
             "baseline.prior_tace.yes.tki.n": (3, "n", "count"),
             "baseline.prior_tace.yes.tki_ici.n": (14, "n", "count"),
             "baseline.prior_tace.no.tki.n": (18, "n", "count"),
             "baseline.prior_tace.no.tki_ici.n": (35, "n", "count")}
    [row] = audit([entry("baseline.prior_tace.p", 0.330, 3, "p")], results(stats))
    assert row.methods_reproducing == ["test.yates"]
    assert row.method_note == "matches Yates-corrected χ², while Methods states Pearson χ² or Fisher exact"
    [row] = audit([entry("baseline.prior_tace.p", 0.240, 3, "p")], results(stats))
    assert row.methods_reproducing == ["test.fisher"] and row.method_note == "matches Fisher exact"


def test_a_single_printed_level_is_completed_with_its_complement():
    """response.orr: 4/21 vs 8/49 -> table (4, 8 / 17, 41). R, m = matrix(c(4,17,8,41),2): fisher.test(m)$p.value
    = 0.7431664, chisq.test(m, correct=FALSE) 0.7819197, chisq.test(m) 1."""
    stats = {"response.orr.p": (0.74316635, "p", "test.fisher_exact"), "response.orr.tki.n": (4, "n", "count"),
             "response.orr.tki_ici.n": (8, "n", "count"), "cohort.n.tki": (21, "N", "count"),
             "cohort.n.tki_ici": (49, "N", "count")}
    [row] = audit([entry("response.orr.p", 0.743, 3, "p", place="table3")], results(stats))
    assert row.status == REPRODUCED and row.methods_reproducing == ["test.fisher"]


def test_tiers_first_match_wins_and_an_uncovered_kind_is_an_error():
    cfg = parse_config({"tiers": [
        {"name": "uni", "kinds": ["hr"], "keys": ["cox.*.uni.*"], "abs": 0.02, "rationale": "r"},
        {"name": "any hr", "kinds": ["hr"], "exact": True, "rationale": "r"}]})
    assert cfg.tier_for("hr", "cox.all.os.uni.x.hr", "m").name == "uni"
    assert cfg.tier_for("hr", "cox.all.os.multi.x.hr", "m").name == "any hr"
    with pytest.raises(PaperlockError, match="no tier covers kind 'p'"):
        cfg.tier_for("p", "cox.all.os.uni.x.p", "m")
    with pytest.raises(PaperlockError, match="give `exact: true` or a tolerance"):
        parse_config({"tiers": [{"name": "x", "kinds": ["n"], "rationale": "r"}]})


def test_every_tier_states_its_rationale_and_the_file_names_no_record_id():
    text = (ROOT / "data" / "audit_tiers.yaml").read_text()
    assert all(t.rationale.strip() for t in CONFIG.tiers)
    record_ids = {e["id"] for e in yaml.safe_load((ROOT / "data" / "published.yaml").read_text())["entries"]}
    assert not [i for i in record_ids if i in text]


def test_headline_and_outputs_are_deterministic_and_escaped():
    rows = audit([entry("cohort.n.tki", 21, 0, "N", where={"row": "<script>alert(1)</script>"}),
                  entry("cohort.n.tki_ici", 49, 0, "N")],
                 results({"cohort.n.tki": (21, "N", "count"), "cohort.n.tki_ici": (48, "N", "count")}))
    assert headline(rows) == ("audit: 1 of 2 published numbers reproduced (0 contradicted by the paper, "
                              "1 not reproduced, 0 not computed)")
    doc = audit_document(rows, CONFIG, {"record": {"path": "r", "sha256": "0" * 64}, "tiers": {"path": "t"},
                                        "self_audit": {"source": "s", "findings": 0}})
    assert dumps(doc) == dumps(audit_document(rows, CONFIG, doc["provenance"]))
    assert doc["summary"]["by_place"]["table1"]["not_reproduced"] == 1
    html = render_html(doc)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert html.count('<tr data-status="') == 2


# ----------------------------------------------------------------------------------- CLI on the mini study
def drop_one_patient(study: Path) -> None:
    """Remove the first patient from the cohort (and one analysed row from the screening file, if any)."""
    from paperlock.spec import load_spec

    loaded = load_spec(study)
    csv = loaded.resolve(loaded.spec.data.cohort)
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    flow = loaded.spec.flow
    if flow is not None:  # the flow chart's last stage holds exactly the analysed cohort: one row fewer there
        path = loaded.resolve(flow.file)
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        where = {header.index(col): value for col, value in flow.stages[-1].where.items()}
        first = next(i for i, line in enumerate(lines[1:], 1)
                     if all(line.split(",")[c] == v for c, v in where.items()))
        path.write_text("\n".join(lines[:first] + lines[first + 1 :]) + "\n")


def _mini_record(study: Path) -> None:
    """A record of numbers the mini study prints, taken from its own results (so all reproduce)."""
    res = json.loads((study / "build" / "results.json").read_text())["statistics"]
    keys = {"cohort.n.all": ("N", 0), "cohort.n.tki": ("N", 0), "baseline.gender.male.all.n": ("n", 0),
            "baseline.gender.male.all.pct": ("pct", 1), "baseline.age.all.median": ("median", 2),
            "km.pfs.arm.tki.median": ("median", 2), "km.pfs.arm.tki.ci_lower": ("ci_lower", 2),
            "cox.all.pfs.uni.gender_male.hr": ("hr", 2), "response.orr.p": ("p", 3)}
    entries = []
    for key, (kind, dec) in keys.items():
        v = float(f"{res[key]['value']:.{dec}f}")
        entries.append({"id": f"table1/{key}", "key": key, "place": "table1", "where": {"row": key},
                        "value": v, "printed": f"{v:.{dec}f}", "decimals": dec, "kind": kind})
    (study / "data" / "published.yaml").write_text(yaml.safe_dump({"entries": entries, "facts": FACTS}))
    spec = (study / "study.yaml").read_text()
    (study / "study.yaml").write_text(spec.replace("  cohort: data/cohort.csv\n",
                                                   "  cohort: data/cohort.csv\n  published: data/published.yaml\n"))
    (study / "data" / "audit_tiers.yaml").write_text((ROOT / "data" / "audit_tiers.yaml").read_text())


def test_cli_on_the_mini_study_then_one_patient_removed(mini_study: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["results", "--study", str(mini_study)]) == 0
    _mini_record(mini_study)
    empty = mini_study / "no-findings.json"
    empty.write_text('{"findings": []}')
    args = ["audit", "--study", str(mini_study), "--findings", str(empty)]
    assert main(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == ("audit: 9 of 9 published numbers reproduced (0 contradicted by the paper, 0 not reproduced, "
                    "0 not computed)")
    first = (mini_study / "build" / "audit" / "audit.json").read_bytes()
    assert main(args) == 0
    assert (mini_study / "build" / "audit" / "audit.json").read_bytes() == first

    drop_one_patient(mini_study)
    assert main(["results", "--study", str(mini_study)]) == 0
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "FAIL table1/cohort.n.all" in out
    doc = json.loads((mini_study / "build" / "audit" / "audit.json").read_text())
    failed = {n["key"] for n in doc["numbers"] if n["status"] == NOT_REPRODUCED}
    assert "cohort.n.all" in failed
    assert load_results(mini_study / "build" / "results.json").value("cohort.n.all") == 29
