"""Tests of the synthetic-cohort generator (paperlock.cohort) and of the committed cohort.

Reference values for the Cox kernel come from R 4.x, survival::coxph(ties = "breslow"):

    library(survival)
    t <- c(5, 8, 8, 12, 15, 15, 15, 20, 22, 30, 31, 40)
    e <- c(1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0)
    x <- c(1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0)
    z <- c(0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0)
    f <- coxph(Surv(t, e) ~ x, ties = "breslow"); coef(f); sqrt(vcov(f))
    g <- coxph(Surv(t, e) ~ x + z, ties = "breslow"); coef(g); sqrt(diag(vcov(g)))
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from paperlock.cohort.design import grid_cut
from paperlock.cohort.fast_survival import cox_multi, cox_uni, km_median_spss
from paperlock.cohort.quantile_values import (
    QuantileTargets,
    construct_values,
    high_count_bounds,
    mann_whitney_p,
    quantile_type7,
    rank_test_p,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

T = np.array([5, 8, 8, 12, 15, 15, 15, 20, 22, 30, 31, 40], dtype=float)
E = np.array([1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0])
XX = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0])
ZZ = np.array([0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0])


def test_cox_uni_matches_lifelines_without_ties() -> None:
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(7)
    t = rng.exponential(100, 60) + rng.random(60)
    e = (rng.random(60) < 0.7).astype(int)
    x = (rng.random(60) < 0.4).astype(int)
    ref = CoxPHFitter().fit(pd.DataFrame({"t": t, "e": e, "x": x}), "t", "e")
    fit = cox_uni(t, e, x[:, None])
    assert fit.beta[0] == pytest.approx(ref.params_["x"], abs=2e-4)
    assert fit.se[0] == pytest.approx(ref.standard_errors_["x"], abs=2e-4)


def test_cox_breslow_ties_match_r() -> None:
    ref_uni = _r_reference()
    if ref_uni is None:
        pytest.skip("Rscript with survival not available")
    b1, s1, b2, s2 = ref_uni
    fit = cox_uni(T, E, XX[:, None])
    assert fit.beta[0] == pytest.approx(b1, abs=1e-6)
    assert fit.se[0] == pytest.approx(s1, abs=1e-6)
    multi = cox_multi(T, E, np.column_stack([XX, ZZ]))
    np.testing.assert_allclose(multi.beta, b2, atol=1e-6)
    np.testing.assert_allclose(multi.se, s2, atol=1e-6)


def _r_reference():
    code = ("suppressMessages(library(survival));t<-c(5,8,8,12,15,15,15,20,22,30,31,40);"
            "e<-c(1,1,0,1,1,1,0,1,0,1,1,0);x<-c(1,0,1,1,0,1,0,0,1,0,1,0);z<-c(0,0,1,1,1,0,0,1,0,1,1,0);"
            "f<-coxph(Surv(t,e)~x,ties='breslow');g<-coxph(Surv(t,e)~x+z,ties='breslow');"
            "cat(coef(f),sqrt(vcov(f)),coef(g),sqrt(diag(vcov(g))),sep=' ')")
    try:
        out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    v = [float(x) for x in out.stdout.split()]
    return v[0], v[1], v[2:4], v[4:6]


def test_km_median_spss_against_hand_computation() -> None:
    # S: 10 at risk; events at 1,2,3,4,5,6 (one each), no censoring -> S(5) = 0.5 exactly, S(6) = 0.4
    t = np.arange(1, 11, dtype=float)
    e = np.ones(10, dtype=int)
    m = km_median_spss(t, e)
    assert m.median == 5.0 and m.exactly_half
    # Greenwood var at 5: 0.25 * sum_{n=10..6} 1/(n(n-1)) = 0.25 * (1/5 - 1/10) = 0.025
    # density: u = 4 (S = 0.6 >= 0.55), l = 6 (S = 0.4 <= 0.45): f = 0.2 / 2 = 0.1
    se = np.sqrt(0.025) / 0.1
    assert m.lower == pytest.approx(5 - 1.959963984540054 * se)
    assert m.upper == pytest.approx(5 + 1.959963984540054 * se)


def test_quantile_type7_and_mann_whitney_match_r() -> None:
    # R: quantile(c(1, 3, 4, 9, 10, 12), c(.25, .5, .75)) -> 3.25 6.5 9.75
    v = np.array([1, 3, 4, 9, 10, 12], dtype=float)
    assert [quantile_type7(v, p) for p in (0.25, 0.5, 0.75)] == [3.25, 6.5, 9.75]
    # R: wilcox.test(c(1,2,2,5,7), c(3,4,6,8,9,9), exact = FALSE)$p.value -> 0.08143973 (continuity corrected)
    p = mann_whitney_p(np.array([1, 2, 2, 5, 7.0]), np.array([3, 4, 6, 8, 9, 9.0]), continuity=True)
    assert p == pytest.approx(0.08143973, abs=1e-7)


@pytest.mark.skipif(not (DATA / "cohort.csv").exists(), reason="committed cohort not generated")
class TestCommittedCohort:
    def test_shape_and_synthetic_label(self) -> None:
        df = pd.read_csv(DATA / "cohort.csv")
        assert len(df) == 70 and df["patient_id"].is_unique
        assert set(df["arm"]) == {"TKI", "TKI-ICI"}
        d = yaml.safe_load((DATA / "dictionary.yaml").read_text())
        assert d["synthetic"] is True and set(df.columns) <= set(d["columns"])

    def test_survival_structure(self) -> None:
        """PFS <= OS; the record's numbers of progressions and deaths; the patients whose two event flags differ
        are the settings' pairs: progressed and alive at last follow-up, or censored for PFS and dead later."""
        df = pd.read_csv(DATA / "cohort.csv")
        record = {e["id"].split("/", 1)[1]: e["value"]
                  for e in yaml.safe_load((DATA / "published.yaml").read_text(encoding="utf-8"))["entries"]}
        pairs = yaml.safe_load((DATA / "cohort_targets.yaml").read_text(encoding="utf-8"))["unmatched_event_pairs"]
        assert (df["pfs_days"] <= df["os_days"]).all()
        assert df["pfs_event"].sum() == record["events.pfs.all.n"]
        assert df["os_event"].sum() == record["events.os.all.n"]
        alive = df["pfs_event"].eq(1) & df["os_event"].eq(0)
        censored = df["pfs_event"].eq(0) & df["os_event"].eq(1)
        assert alive.sum() == pairs and censored.sum() == pairs
        assert (df.loc[censored, "pfs_days"] < df.loc[censored, "os_days"]).all()

    def test_no_day_holds_more_events_than_the_realism_limit(self) -> None:
        """The search once stacked 15 deaths on the overall median's day; the settings cap events per day."""
        from paperlock.cohort.report import most_events_per_day

        limit = yaml.safe_load((ROOT / "data" / "cohort_targets.yaml").read_text())["realism"]["max_events_per_day"]
        most = most_events_per_day(pd.read_csv(DATA / "cohort.csv"))
        assert max(most.values()) <= limit, most

    def test_response_and_pct_change_consistent(self) -> None:
        df = pd.read_csv(DATA / "cohort.csv")
        ch, r = df["best_pct_change"], df["best_response"]
        assert (ch[r == "CR"] == -100).all() and (ch[r == "PR"] <= -30).all()
        assert (ch[r == "PD"] >= 20).all() and ch[r == "SD"].between(-30, 20, inclusive="neither").all()

    def test_screening_flow(self) -> None:
        s = pd.read_csv(DATA / "screening.csv", keep_default_na=False)
        assert len(s) == 85 and (s["status"] == "enrolled").sum() == 70
        assert (s["eligible"] == "yes").sum() == 76

    def test_report_lists_generator_limits_as_kept_targets(self) -> None:
        """A `limits` entry stays a target (judged, counted) and the report names its reason."""
        settings = yaml.safe_load((ROOT / "data" / "cohort_targets.yaml").read_text())
        rep = json.loads((DATA / "calibration.json").read_text())
        by_id = {e["id"]: e for e in rep["entries"]}
        md = (DATA / "calibration.md").read_text()
        for limit in settings["limits"]:
            assert " ".join(limit["reason"].split()[:6]) in md
            for i in limit["entries"]:
                assert by_id[i]["limit"] == limit["reason"] and not by_id[i]["excluded"]

    def test_unknown_limit_entry_is_an_error(self) -> None:
        """Checked when the record is loaded, before the calibration runs."""
        from paperlock.cohort.targets import load_record
        from paperlock.errors import PaperlockError

        with pytest.raises(PaperlockError, match="table9/no.such.entry"):
            load_record(ROOT / "data" / "published.yaml", {}, [{"reason": "r", "entries": ["table9/no.such.entry"]}])

    def test_exact_tier_targets_met(self) -> None:
        """Counts, percentages and Table 1 quartiles: exact at printed precision."""
        rep = json.loads((DATA / "calibration.json").read_text())
        fails = [e["id"] for e in rep["entries"] if e["tier"] == "exact" and e["pass"] is False
                 and not e["excluded"] and not e["key"].startswith("km.")]
        assert fails == []

    def test_every_km_median_met(self) -> None:
        """Every Kaplan–Meier median of Table 2 and the text: exact at printed precision (the issue's target)."""
        rep = json.loads((DATA / "calibration.json").read_text())
        fails = [e["id"] for e in rep["entries"] if e["key"].startswith("km.") and e["key"].endswith(".median")
                 and e["pass"] is False and not e["excluded"]]
        assert fails == []

    @pytest.mark.xfail(reason="the survival search does not yet meet every KM median and CI (see calibration.md)",
                       strict=False)
    def test_km_exact_tier_targets_met(self) -> None:
        """Kaplan–Meier medians and symmetric CI bounds: exact at printed precision (the issue's target)."""
        rep = json.loads((DATA / "calibration.json").read_text())
        fails = [e["id"] for e in rep["entries"] if e["tier"] == "exact" and e["pass"] is False
                 and not e["excluded"] and e["key"].startswith("km.")]
        assert fails == []

    def test_dictionary_declares_identifier_ranges_and_checks(self) -> None:
        """The written dictionary loads in the validator, and the cohort meets its ranges and cross-column rules."""
        from paperlock.data_dictionary import load_dictionary

        d = load_dictionary(DATA / "dictionary.yaml").dictionary
        df = pd.read_csv(DATA / "cohort.csv")
        assert d.identifiers() == ["patient_id"]
        numeric = [c for c, spec in d.columns.items() if spec.type in ("integer", "number")]
        assert numeric and all(d.columns[c].min is not None and d.columns[c].max is not None for c in numeric)
        assert all(df[c].between(d.columns[c].min, d.columns[c].max).all() for c in numeric)
        rules = {(c.rule, c.left, c.right, c.column) for c in d.checks}
        assert ("less_equal", "pfs_days", "os_days", None) in rules
        assert ("non_empty_levels", None, None, "arm") in rules

    def test_subsequent_therapy_counts_follow_the_record(self) -> None:
        """Text 2.7: 5 of 21 (TKI) and 15 of 49 (TKI-ICI) had third-line therapy, only after progression."""
        df = pd.read_csv(DATA / "cohort.csv", keep_default_na=False)
        got = df[df["subsequent_therapy"] != "none"]
        assert got["arm"].value_counts().to_dict() == {"TKI-ICI": 15, "TKI": 5}
        assert (got["pfs_event"] == 1).all()

    def test_continuous_p_values_within_tier(self) -> None:
        """Table 1 continuous p-values (Kruskal–Wallis, the spec's test) within 0.01 of the printed value."""
        rep = json.loads((DATA / "calibration.json").read_text())
        fails = [e["id"] for e in rep["entries"] if e["tier"] == "p_value" and e["key"].startswith("baseline.")
                 and e["pass"] is False and not e["excluded"]]
        assert fails == []


def test_rank_test_p_is_the_pipelines_kruskal_wallis() -> None:
    """The builder's fast p equals analysis.stats.ranks.kruskal_wallis (R: kruskal.test(list(a, b))$p.value)."""
    from analysis.stats.ranks import kruskal_wallis

    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 30, 21).astype(float), rng.integers(5, 40, 49).astype(float)  # with ties
    assert rank_test_p(a, b) == pytest.approx(kruskal_wallis([a, b]).p, rel=1e-12)


def test_construct_values_meets_high_counts_and_quartiles() -> None:
    """Per-arm counts above the cut are met by construction; arm quartiles are pinned order statistics."""
    t = QuantileTargets(sizes=(21, 49), quartiles={"a": (40, 55, 63), "b": (45, 57, 66), "all": (44, 56, 65)},
                        p_value=None, floor=20, ceiling=90, cut=60.0, tol=0.004)
    lo_a, lo_b, _ = high_count_bounds(t)
    want = (lo_a[0] + 1, lo_b[0] + 2)
    a, b, _ = construct_values(t, np.random.default_rng(1), want_high=want, iterations=3000)
    assert (int((a > 60).sum()), int((b > 60).sum())) == want
    assert [quantile_type7(a, p) for p in (0.25, 0.5, 0.75)] == [40, 55, 63]
    assert [quantile_type7(b, p) for p in (0.25, 0.5, 0.75)] == [45, 57, 66]


@given(k=st.integers(1, 100_000), step=st.sampled_from([0.01, 0.1, 1.0]), offset=st.integers(-3, 3))
def test_grid_cut_classifies_like_the_written_values(k: int, step: float, offset: int) -> None:
    """A grid value is above the cut in grid units exactly when the value as written (rounded to 2 decimals) is
    above the cut-off the pipeline compares with. Regression: 2.3 / 0.01 is 229.99999999999997, so the grid value
    230 (written 2.30) counted as above the LMR cut-off 2.3 and two patients' LMR flag flipped in the cohort."""
    cut = round(k * step, 2)
    v = k + offset
    assert (v > grid_cut(cut, step)) == (round(v * step, 2) > cut)


def test_grid_cut_of_the_lmr_cut_off() -> None:
    assert grid_cut(2.3, 0.01) == 230.0


def test_quick_run_is_deterministic(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        subprocess.run([sys.executable, "-m", "paperlock.cohort", "--quick", "--quiet", "--out", str(out)],
                       cwd=ROOT, check=True, timeout=300)
        outs.append((out / "cohort.csv").read_bytes())
    assert outs[0] == outs[1]


def test_implied_median_is_the_ci_midpoint_in_whole_days() -> None:
    """Overall PFS (text 2.3): CI 3.25-5.55 printed, median excluded -> midpoint 4.40 months = 132 days."""
    from paperlock.cohort.calibrate import EXACT_TOL, KMTarget, implied_medians

    ts = [KMTarget("pfs", "overall", "all", "ci_lower", 3.25, 0.01),
          KMTarget("pfs", "overall", "all", "ci_upper", 5.55, 0.01),
          KMTarget("os", "arm", "tki", "median", 7.5, EXACT_TOL),
          KMTarget("os", "arm", "tki", "ci_lower", 4.06, EXACT_TOL),
          KMTarget("os", "arm", "tki", "ci_upper", 10.94, EXACT_TOL)]
    got = implied_medians(ts, 30.0)
    assert [(t.endpoint, t.stratifier, t.stat) for t in got] == [("pfs", "overall", "median")]
    assert got[0].value * 30 == pytest.approx(132.0, abs=1e-9)


def test_pfs_censoring_gaps_count_only_patients_alive_and_censored_for_pfs() -> None:
    """The report's censoring fact: patients censored for PFS and alive at last follow-up, the days between."""
    from paperlock.cohort.report import pfs_censoring_gaps, render_markdown

    df = pd.DataFrame({"pfs_days": [10, 100, 50, 30, 200], "pfs_event": [0, 0, 1, 0, 0],
                       "os_days": [500, 110, 60, 40, 200], "os_event": [0, 0, 0, 1, 0]})
    g = pfs_censoring_gaps(df)
    assert g == {"n": 3, "median_days": 10.0, "max_days": 490.0, "over_a_year": 1}
    assert pfs_censoring_gaps(df.assign(os_event=1)) == {"n": 0}
    rep = {"seed": 1, "calibration_seconds": 0.0, "summary": {}, "entries": [],
           "realism": {"most_events_per_day": {"pfs": 1, "os": 1}, "max_events_per_day": 2, "pfs_censoring": g}}
    assert "3 patient(s) censored for PFS were alive at last follow-up" in render_markdown(rep)
    assert "median of 10 days (at most 490; 1 by more than a year). No target constrains" in render_markdown(rep)
    rep["realism"]["max_pfs_censoring_gap"] = 90
    assert "The settings hold it within 90 days (`realism.max_pfs_censoring_gap`" in render_markdown(rep)


def test_shipped_calibration_report_states_the_pfs_censoring_gaps() -> None:
    from paperlock.cohort.report import pfs_censoring_gaps

    g = pfs_censoring_gaps(pd.read_csv(DATA / "cohort.csv"))
    md = (DATA / "calibration.md").read_text()
    assert f"Censoring: {g['n']} patient(s) censored for PFS" in md
    assert f"at most {g['max_days']:g}; {g['over_a_year']} by more than a year" in md
    gap = yaml.safe_load((ROOT / "data" / "cohort_targets.yaml").read_text())["realism"].get("max_pfs_censoring_gap")
    if gap is not None:
        assert g["max_days"] <= gap and f"hold it within {gap} days" in md


def _ci_rows(key: str, printed: tuple[float, float], cohort: tuple[float, float], excluded: str | None = None,
             passed: bool = True) -> list[dict]:
    return [{"id": f"t/{key}.{side}", "key": f"{key}.{side}", "printed": str(p), "target": p, "cohort": c,
             "difference": c - p, "tier": "cox", "excluded": excluded, "pass": passed, "limit": None}
            for side, p, c in zip(("ci_lower", "ci_upper"), printed, cohort, strict=True)]


def test_se_inflation_compares_the_printed_and_cohort_widening() -> None:
    """SE of log HR = log(upper / lower) / 2z, multivariable over univariable, printed and in the cohort; a row
    with an excluded bound in either model is left out, a bound printed twice counts once."""
    from paperlock.cohort.report import render_markdown, se_inflation

    e = float(np.exp(1.0))
    rows = (_ci_rows("cox.all.pfs.uni.a", (1 / e, e), (1 / e, e))
            + _ci_rows("cox.all.pfs.multi.a", (e ** -2, e ** 2), (e ** -1.5, e ** 1.5), passed=False)
            + _ci_rows("cox.all.pfs.multi.a", (0.1, 0.2), (0.1, 0.2))          # a second place: ignored
            + _ci_rows("cox.all.os.uni.b", (0.5, 2.0), (0.5, 2.0))
            + _ci_rows("cox.all.os.multi.b", (0.5, 2.0), (0.5, 2.0), excluded="contradictory"))
    got = se_inflation(rows)
    assert got == [{"row": "cox.all.pfs.multi.a", "printed": 2.0, "cohort": 1.5}]
    rep = {"seed": 1, "calibration_seconds": 0.0, "summary": {}, "entries": rows, "se_inflation": got,
           "realism": {"most_events_per_day": {"pfs": 1, "os": 1}, "max_events_per_day": 2,
                       "index_correlation": {"max_abs_phi": 0.34, "pair": ["x", "y"]}}}
    md = render_markdown(rep)
    assert "in 1 of 1 multivariable rows" in md and "median 2.00 printed, 1.50 in the cohort" in md
    assert "Of the 1 multivariable rows with a missed number, 1 are among the 1" in md
    assert "largest |phi| is 0.34 (`x` and `y`)" in md


def test_index_correlation_is_the_largest_absolute_phi() -> None:
    from paperlock.cohort.report import index_correlation

    X = pd.DataFrame({"a": [1, 1, 0, 0], "b": [0, 0, 1, 1], "c": [1, 0, 1, 0], "d": [1, 1, 1, 1]})
    assert index_correlation(X, ["a", "b", "c", "d"]) == {"max_abs_phi": 1.0, "pair": ["a", "b"]}
    assert index_correlation(X, ["a", "c"]) == {"max_abs_phi": 0.0, "pair": []}


def test_shipped_calibration_report_states_the_interval_widening() -> None:
    from paperlock.cohort.report import se_inflation

    rep = json.loads((DATA / "calibration.json").read_text())
    assert rep["se_inflation"] == se_inflation(rep["entries"]) and rep["se_inflation"]
    wider = sum(r["printed"] > r["cohort"] for r in rep["se_inflation"])
    assert f"in {wider} of {len(rep['se_inflation'])} multivariable rows" in (DATA / "calibration.md").read_text()


def test_min_progression_day_holds_progressions_but_not_deaths() -> None:
    """`realism.min_progression_day`: a progression that is not the death itself may not come before that day."""
    from paperlock.cohort.calibrate import State

    ev = np.array([[1, 1, 1, 0], [1, 0, 1, 1]])  # progressed and died; progressed, alive; died as PFS event; ...
    s = State(np.array([40, 40, 10, 20]), np.array([200, 300, 10, 90]), ev, np.zeros((4, 1)), None, 28)
    assert s.order_ok(0, 28, 200) and not s.order_ok(0, 27, 200)  # progression before death
    assert s.order_ok(1, 28, 300) and not s.order_ok(1, 5, 300)  # progressed, alive at last follow-up
    assert s.order_ok(2, 10, 10)  # death on day 10 is the PFS event itself
    assert s.order_ok(3, 5, 90)  # censored for PFS, died later: no progression
    assert State(s.pfs, s.os, ev, s.X).order_ok(0, 5, 200)  # without the setting
    assert s.copy().min_progression == 28


def test_early_progressions_leave_out_deaths_and_are_reported() -> None:
    from paperlock.cohort.report import early_progressions, render_markdown

    df = pd.DataFrame({"pfs_days": [5, 9, 30, 12, 40], "pfs_event": [1, 1, 1, 0, 1],
                       "os_days": [200, 9, 90, 80, 40], "os_event": [1, 1, 0, 1, 1]})
    # day 9 and day 40 are deaths (the PFS event is the death itself); day 12 is a PFS censoring
    assert early_progressions(df, 28) == {"n": 2, "earliest_day": 5, "within": 28, "n_within": 1}
    assert early_progressions(df, None) == {"n": 2, "earliest_day": 5}
    assert early_progressions(df.assign(pfs_event=0), 28) == {"n": 0}
    rep = {"seed": 1, "calibration_seconds": 1.0, "summary": {}, "entries": [],
           "realism": {"most_events_per_day": {"pfs": 1, "os": 1}, "max_events_per_day": 2,
                       "early_progressions": early_progressions(df, 28), "min_progression_day": None}}
    assert ("the earliest progression that is not the death itself is on day 5; 1 of 2 come before day 28 "
            "(`realism.first_assessment_day`). No setting holds them back") in render_markdown(rep)
    rep["realism"]["early_progressions"] = early_progressions(df, None)
    assert "is on day 5; 2 in all. No setting" in render_markdown(rep)
    rep["realism"]["min_progression_day"] = 28
    assert "The settings hold them to day 28 or later" in render_markdown(rep)


def test_shipped_calibration_report_states_the_early_progressions() -> None:
    from paperlock.cohort.report import early_progressions

    rep = json.loads((DATA / "calibration.json").read_text())
    window = yaml.safe_load((DATA / "cohort_targets.yaml").read_text())["realism"]["first_assessment_day"]
    assert rep["realism"]["early_progressions"] == early_progressions(pd.read_csv(DATA / "cohort.csv"), window)
