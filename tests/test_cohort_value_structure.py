"""The continuous values' dealing by shared latent factors (paperlock.cohort.value_structure): it permutes values
only within the groups the targets see as one, follows the declared factors, and rejects bad settings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from paperlock.cohort.value_structure import (
    deal,
    implied_correlation,
    latent_scores,
    loadings,
    value_correlation,
)
from paperlock.errors import PaperlockError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SETTINGS = yaml.safe_load((DATA / "cohort_targets.yaml").read_text(encoding="utf-8"))


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=40), st.integers(0, 2**32 - 1))
def test_deal_keeps_the_values_and_follows_the_score_order(values: list[int], seed: int) -> None:
    score = np.random.default_rng(seed).standard_normal(len(values))
    out = deal(np.array(values, float), score)
    assert sorted(out) == sorted(values)  # the same multiset: every quantile and rank test unchanged
    order = np.argsort(score, kind="stable")
    assert all(np.diff(out[order]) >= 0)  # a higher score never gets a lower value


def test_implied_correlation_is_the_cosine_of_the_weights() -> None:
    s = {"nlr": {"n": 1, "l": -1}, "siri": {"n": 1, "m": 1, "l": -1}, "lmr": {"l": 1, "m": -1}, "x": {"z": 1}}
    assert implied_correlation(s, "nlr", "siri") == pytest.approx(2 / math.sqrt(6))
    assert implied_correlation(s, "lmr", "siri") == pytest.approx(-2 / math.sqrt(6))
    assert implied_correlation(s, "nlr", "x") == 0.0


def test_latent_scores_correlate_as_implied() -> None:
    s = {"nlr": {"n": 1, "l": -1}, "siri": {"n": 1, "m": 1, "l": -1}, "lmr": {"l": 1, "m": -1}}
    sc = latent_scores(s, 200_000, np.random.default_rng(1))
    for a, b in (("nlr", "siri"), ("lmr", "siri"), ("nlr", "lmr")):
        assert np.corrcoef(sc[a], sc[b])[0, 1] == pytest.approx(implied_correlation(s, a, b), abs=0.01)


def test_dealing_by_one_shared_factor_orders_both_variables_alike() -> None:
    """Without flags or arms in the way the dealt values have the scores' rank order: Spearman 1."""
    s = {"a": {"f": 1}, "b": {"f": 2}}
    sc = latent_scores(s, 30, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"a": deal(rng.normal(size=30), sc["a"]), "b": deal(rng.normal(size=30), sc["b"])})
    settings = {"continuous": {"a": {"column": "a"}, "b": {"column": "b"}}, "value_structure": {"loadings": s}}
    assert value_correlation(df, settings) == [{"pair": ["a", "b"], "implied": 1.0, "cohort": 1.0}]


@pytest.mark.parametrize(("block", "message"), [
    ({"loadings": {"nope": {"f": 1}}}, "value_structure.loadings.nope: not a variable of `continuous`"),
    ({"loadings": {"nlr": {"f": "x"}}}, "value_structure.loadings.nlr.f: weight 'x' is not a finite number"),
    ({"loadings": {"nlr": {"f": float("nan")}}}, "value_structure.loadings.nlr.f: weight nan"),
    ({"loadings": {"nlr": {"f": 0}}}, "value_structure.loadings.nlr: every weight is zero"),
    ({"loadings": {"nlr": []}}, "value_structure.loadings.nlr: expected {factor: weight}"),
    ({"loadings": []}, "value_structure.loadings must map variables"),
])
def test_bad_value_structure_names_the_file_and_key(block: dict, message: str) -> None:
    settings = {"continuous": {"nlr": {"column": "nlr"}}, "value_structure": block}
    with pytest.raises(PaperlockError, match="^settings.yaml: " + message.replace("(", r"\(").replace("{", r"\{")):
        loadings(settings, "settings.yaml")


def test_cohort_run_rejects_a_bad_value_structure_before_calibrating(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = dict(SETTINGS, value_structure={"loadings": {"nope": {"f": 1}}}, record=str(DATA / "published.yaml"))
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "paperlock.cohort", "--settings", str(path), "--quick", "--quiet",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"{path}: value_structure.loadings.nope: not a variable of `continuous`" in r.stderr
    assert not out.exists()


def test_shipped_settings_declare_a_structure_for_every_index() -> None:
    structure = loadings(SETTINGS)
    flagged = {src["continuous"] for src in SETTINGS["cox_covariates"].values() if "continuous" in src}
    assert set(structure) == flagged - {"age"}


def test_shipped_cohort_values_follow_the_shared_factors() -> None:
    """The committed cohort's report states the correlations of the written values, and the pairs whose factors
    relate them most (|implied| >= 0.5) correlate with the implied sign."""
    rep = json.loads((DATA / "calibration.json").read_text())
    df = pd.read_csv(DATA / "cohort.csv")
    pairs = value_correlation(df, SETTINGS)
    assert rep["realism"]["value_correlation"] == pairs
    strong = [p for p in pairs if abs(p["implied"]) >= 0.5]
    assert strong and all((p["cohort"] > 0) == (p["implied"] > 0) for p in strong)
    assert "Continuous values: dealt within each arm" in (DATA / "calibration.md").read_text()
