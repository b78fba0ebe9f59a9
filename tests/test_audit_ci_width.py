"""The audit's bound on how narrow a Cox CI can be (`paperlock.audit.cox_width`).

The bound SE(log HR) >= sqrt(1/d1 + 1/d0) is checked against real Cox fits (the engine's, itself checked against
R's survival in test_stats_r_fixtures.py) on random data, Breslow and Efron, with and without a second covariate;
then the check on constructed records and on the paper's record.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.stats.cox import cox_fit
from paperlock.audit.cox import check_cox
from paperlock.audit.cox_width import min_se
from paperlock.audit.paper import audit
from paperlock.audit.record import load_record, parse_record

ROOT = Path(__file__).resolve().parent.parent


@st.composite
def survival_data(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(6, 40))
    times = np.array(draw(st.lists(st.integers(1, 12), min_size=n, max_size=n)), dtype=float)  # ties likely
    events = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    other = np.array(draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=n, max_size=n)))
    return times, events, np.column_stack([x, other])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(survival_data(), st.sampled_from(["breslow", "efron"]), st.booleans())
def test_se_of_a_binary_covariate_is_at_least_the_bound(data, ties: str, multivariable: bool) -> None:
    times, events, X = data
    x = X[:, 0]
    d1, d0 = int(events[x == 1].sum()), int(events[x == 0].sum())
    if d1 == 0 or d0 == 0:
        return
    fit = cox_fit(times, events, X if multivariable else X[:, :1], ties=ties)
    if fit.status != "ok" or not fit.converged or not np.isfinite(fit.se[0]) or fit.column_status[0] != "ok":
        return
    assert fit.se[0] >= math.sqrt(1 / d1 + 1 / d0) * (1 - 1e-9)


def test_bound_is_nearly_attained_when_the_groups_are_balanced_in_every_risk_set() -> None:
    """Pairs of one exposed and one unexposed patient with the event on the same day (HR 1, p = 1/2 at every event
    under Breslow): I = d/4 = d1 d0 / d, so the SE equals the bound. R 4.x, survival:
        t <- rep(1:10, each = 2); x <- rep(c(1, 0), 10)
        sqrt(coxph(Surv(t, rep(1, 20)) ~ x, ties = "breslow")$var)   # 0.447213595500 = sqrt(1/10 + 1/10)
    """
    times = np.repeat(np.arange(1.0, 11.0), 2)
    x = np.tile([1.0, 0.0], 10)
    fit = cox_fit(times, np.ones(20), x[:, None], ties="breslow")
    assert fit.se[0] == pytest.approx(math.sqrt(1 / 10 + 1 / 10), rel=1e-9)


def test_min_se_is_the_most_balanced_split_within_the_group_sizes() -> None:
    assert min_se(44, 5, 30, 49) == (math.sqrt(1 / 44 + 1 / 5), 44, 5)
    assert min_se(10, 10, 12, 12) == (math.sqrt(1 / 6 + 1 / 6), 6, 6)
    brute = min(math.sqrt(1 / a + 1 / (d - a)) for d in range(7, 10) for a in range(1, 4) if 1 <= d - a <= 30)
    assert min_se(3, 30, 7, 9)[0] == brute
    assert min_se(3, 30, 1, 1) is None  # one event cannot fall in both groups


def _record(rows: list[tuple[str, str, str, str]], groups: dict[str, str] | None) -> Any:
    entries = []
    for key, printed in [("cohort.n.all", "70"), ("cohort.n.b", "49"), ("events.os.all.n", "51"),
                         ("baseline.etio.hbv.all.n", "63"), ("baseline.etio.hbv.b.n", "44")]:
        entries.append({"id": f"table1/{key}", "key": key, "place": "table1", "where": {"row": key},
                        "value": float(printed), "printed": printed, "decimals": 0, "kind": "n"})
    for stem, hr, lo, up in rows:
        for kind, printed in (("hr", hr), ("ci_lower", lo), ("ci_upper", up)):
            entries.append({"id": f"table5/{stem}.{kind}", "key": f"{stem}.{kind}", "place": "table5",
                            "where": {"row": stem}, "value": float(printed), "printed": printed,
                            "decimals": -Decimal(printed).as_tuple().exponent, "kind": kind})
    facts = {"ci_level": {"value": 0.95}, "cox_groups": groups or {}}
    return parse_record({"entries": entries, "facts": facts})


def test_a_ci_narrower_than_the_groups_allow_is_found() -> None:
    rows = [("cox.b.os.uni.hbv", "0.83", "0.34", "2.05"),   # 5 non-HBV of 49: SE >= 0.472, printed <= 0.463
            ("cox.b.os.uni.wide", "0.83", "0.32", "2.15"),  # <= 0.491: possible
            ("cox.all.os.uni.hbv", "0.83", "0.34", "2.05")]  # 7 non-HBV of 70, 51 events: SE >= 0.408, possible
    groups = {"hbv": "baseline.etio.hbv.{group}.n", "wide": "baseline.etio.hbv.{group}.n"}
    found = [f for f in check_cox(_record(rows, groups))[0] if f.check == "ci-width"]
    assert [f.id for f in found] == ["ci-width/table5/cox.b.os.uni.hbv"]
    ev = found[0].evidence
    assert ev["group_sizes"] == [44, 5] and ev["events"] == [30, 49] and ev["best_split"] == [44, 5]
    assert "reached only if all 49 patients had the event" in found[0].explanation
    assert not [f for f in check_cox(_record(rows, None))[0] if f.check == "ci-width"]  # no groups: no check


def test_the_paper_has_one_ci_narrower_than_its_groups() -> None:
    """Table 5's TKI-ICI OS HBV row (0.34-2.05): 5 of the 49 TKI-ICI patients are not HBV (Table 1)."""
    found = [f for f in audit(load_record(ROOT / "data" / "published.yaml"))["findings"] if f["check"] == "ci-width"]
    assert [f["id"] for f in found] == ["ci-width/table5/cox.tki_ici.os.uni.etiology_hbv"]
    assert found[0]["evidence"]["min_se"] > found[0]["evidence"]["widest_printed_se"]
