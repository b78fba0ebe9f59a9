"""The published record (data/published.yaml): it parses, its ids are unique, every table holds every printed
cell, and every key follows the scheme of docs/keys.md.

The table shapes below are read off the printed tables (rows x columns), not from the record, so a dropped or
duplicated cell fails the test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from itertools import groupby
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "data" / "published.yaml"
KEYS_MD = ROOT / "docs" / "keys.md"


@pytest.fixture(scope="module")
def record() -> dict:
    return yaml.safe_load(RECORD.read_text(encoding="utf-8"))


def _table_cells(groups: int, numbers_per_group: int, rows: int) -> int:
    return groups * numbers_per_group * rows


# Table 1: three group sizes in the header; 9 continuous rows (Age, CRP, ANRI, LMR, NLR, PLR, PNI, SN, SIRI)
# printing median [Q1, Q3] for 3 columns plus p; 12 categorical headers printing p; 25 level rows printing
# n (%) for 3 columns; 3 prior-treatment rows printing n (%) for 3 columns plus p.
TABLE1 = 3 + 9 * (3 * 3 + 1) + 12 + _table_cells(3, 2, 25) + 3 * (3 * 2 + 1)
# Table 2: 7 rows, each an n in the row label and median (CI lower-upper) for OS and PFS.
TABLE2 = 7 * (1 + 2 * 3)
# Table 3: two group sizes in the header; 6 rows of n (%) for 2 columns plus p.
TABLE3 = 2 + 6 * (2 * 2 + 1)
# Tables 4/5: per printed row, how many of the four column groups (PFS uni, PFS multi, OS uni, OS multi) print
# an "HR (CI) p" cell of 4 numbers, in the tables' row order.
TABLE4_ROWS = {
    "Age (> 60 vs. ≤ 60)": 2, "Cause (HBV vs. others)": 2, "Surgery (yes or no)": 2, "TACE (yes or no)": 2,
    "Ablation (yes or no)": 2, "BCLC stage (C vs. B)": 2, "Cirrhosis (yes or no)": 2, "Number (> 3 vs. ≤ 3)": 2,
    "Size (> 5 cm vs. ≤ 5 cm)": 2, "PVTT (yes or no)": 2, "Metastasis (yes or no)": 2,
    "Child-Pugh class (B vs. A)": 2, "ALBI Grade (2/3 vs. 1)": 2, "AFP (> 400 vs. ≤ 400)": 3,
    "Gender (male vs. female)": 2, "Second-line (TKI-ICI vs. TKI)": 4, "ECOG PS (1 vs. 0)": 2,
    "CRP (high vs. low)": 3, "ANRI (high vs. low)": 3, "LMR (high vs. low)": 4, "NLR (high vs. low)": 4,
    "PLR (high vs. low)": 3, "PNI (high vs. low)": 4, "SN (high vs. low)": 4, "SIRI (high vs. low)": 3,
}
TABLE5_ROWS = {
    "Age (> 60 vs. ≤ 60)": 2, "Cause (HBV vs. others)": 2, "Surgery (yes or no)": 2, "TACE (yes or no)": 3,
    "Ablation (yes or no)": 4, "BCLC stage (C vs. B)": 2, "Cirrhosis (yes or no)": 2, "Number (> 3 vs. ≤ 3)": 2,
    "Size (> 5 cm vs. ≤ 5 cm)": 2, "PVTT (yes or no)": 2, "Metastasis (yes or no)": 2,
    "Child-Pugh class (B vs. A)": 3, "ALBI grade (2/3 vs. 1)": 2, "AFP (> 400 vs. ≤ 400)": 3,
    "Gender (male vs. female)": 2, "ECOG PS (1 vs. 0)": 2, "AFP": 2, "CRP (high vs. low)": 2,
    "ANRI (high vs. low)": 3, "LMR (high vs. low)": 4, "NLR (high vs. low)": 3, "PLR (high vs. low)": 2,
    "PNI (high vs. low)": 2, "SN (high vs. low)": 2, "SIRI (high vs. low)": 3,
}
# Table 6: four group sizes in the headers; 21 rows of n (%) for 4 columns; 4 rows (Total AEs, Immune-related
# AEs, Dose reduction, Discontinuation) also print p for both grade groups.
TABLE6 = 4 + _table_cells(4, 2, 21) + 4 * 2
EXPECTED = {"table1": TABLE1, "table2": TABLE2, "table3": TABLE3, "table4": 4 * sum(TABLE4_ROWS.values()),
            "table5": 4 * sum(TABLE5_ROWS.values()), "table6": TABLE6}
PLACES = {"abstract", "methods", *EXPECTED, *(f"text2.{i}" for i in range(1, 8))}
KINDS = {"N", "n", "pct", "median", "q1", "q3", "hr", "ci_lower", "ci_upper", "p", "cutoff"}


def test_record_parses_with_required_fields(record: dict) -> None:
    assert record["schema_version"] == 1
    assert record["source"]["doi"] == "10.1002/cam4.70711"
    assert len(record["entries"]) > 1000
    required = {"id", "key", "place", "where", "value", "printed", "decimals", "kind"}
    for e in record["entries"]:
        assert required <= set(e) <= required | {"uncertain"}, e["id"]
        assert e["place"] in PLACES, e["id"]
        assert e["kind"] in KINDS, e["id"]


def test_ids_unique_and_built_from_place_and_key(record: dict) -> None:
    ids = [e["id"] for e in record["entries"]]
    assert len(ids) == len(set(ids))
    for e in record["entries"]:
        assert re.fullmatch(rf"{re.escape(e['place'])}/{re.escape(e['key'])}(#[2-9])?", e["id"]), e["id"]


@pytest.mark.parametrize("place", sorted(EXPECTED))
def test_table_cell_count_matches_printed_shape(record: dict, place: str) -> None:
    assert sum(e["place"] == place for e in record["entries"]) == EXPECTED[place]


@pytest.mark.parametrize(("place", "rows"), [("table4", TABLE4_ROWS), ("table5", TABLE5_ROWS)])
def test_cox_rows_hold_their_printed_cells(record: dict, place: str, rows: dict[str, int]) -> None:
    counts = Counter(e["where"]["row"] for e in record["entries"] if e["place"] == place)
    assert counts == {row: 4 * n for row, n in rows.items()}


WORDS = {"one": 1, "two": 2, "three": 3, "four": 4}


def test_value_and_decimals_agree_with_printed(record: dict) -> None:
    for e in record["entries"]:
        printed = e["printed"].replace(" ", "")
        if printed.isalpha():
            assert e["value"] == WORDS[printed.lower()] and e["decimals"] == 0, e["id"]
            continue
        assert Decimal(str(e["value"])) == Decimal(printed), e["id"]
        assert e["decimals"] == (len(printed.split(".")[1]) if "." in printed else 0), e["id"]


def test_entries_sorted_by_place_then_printed_order(record: dict) -> None:
    places = [e["place"] for e in record["entries"]]
    firsts = list(dict.fromkeys(places))
    assert [place for place, _ in groupby(places)] == firsts == sorted(firsts)
    for place in firsts:
        text = [(e["where"]["sentence"], e["where"]["position"]) for e in record["entries"]
                if e["place"] == place and "sentence" in e["where"]]
        assert text == sorted(text)


def _vocabulary(section: str) -> set[str]:
    """Backticked words of the paragraph of docs/keys.md that starts with `section`."""
    text = KEYS_MD.read_text(encoding="utf-8")
    para = text[text.index(section) :].split("\n\n")[0]
    return set(re.findall(r"`([a-z0-9_]+)`", para))


def _key_patterns() -> list[re.Pattern[str]]:
    var = "|".join(sorted(_vocabulary("Baseline variables:")))
    cov = "|".join(sorted(_vocabulary("Cox covariates:")))
    ae = "|".join(sorted(_vocabulary("Adverse events:")))
    group = "all|tki|tki_ici|reg|sor|reg_ici|sor_ici|oth_ici"
    slug = r"[a-z0-9]+(?:_[a-z0-9]+)*"
    return [re.compile(p) for p in (
        rf"cohort\.n\.({group})",
        rf"baseline\.({var})\.{slug}\.({group})\.(n|pct)",
        rf"baseline\.({var})\.({group})\.(median|q1|q3)",
        rf"baseline\.({var})\.p",
        rf"km\.(os|pfs)\.(overall\.all|arm\.(tki|tki_ici)|regimen\.({group})|afp_baseline\.(le400|gt400)"
        rf"|afp_change\.(decreased|elevated))\.(median|ci_lower|ci_upper)",
        r"km\.(os|pfs)\.(overall|arm|regimen|afp_baseline|afp_change)\.logrank_p",
        r"events\.(os|pfs)\.all\.(n|pct)",
        rf"response\.(cr|pr|sd|pd|orr|dcr)\.({group})\.(n|pct)",
        r"response\.(cr|pr|sd|pd|orr|dcr)\.p",
        r"response_by_afp_change\.(orr|dcr)\.(decreased|elevated)\.pct",
        rf"baseline\.afp_change\.elevated\.({group})\.(n|pct)",
        rf"cox\.(all|tki_ici)\.(os|pfs)\.(uni|multi)\.({cov})\.(hr|ci_lower|ci_upper|p)",
        rf"ae\.({ae})\.(any|g3plus)\.({group})\.(n|pct)",
        rf"ae\.({ae})\.(any|g3plus)\.p",
        rf"flow\.{slug}(\.{slug})?",
        rf"subsequent\.any\.({group})\.(n|pct)",
        rf"subsequent\.{slug}\.({group})\.n",
        rf"cutoff\.({var})",
    )]


def test_every_key_follows_the_scheme(record: dict) -> None:
    patterns = _key_patterns()
    bad = [e["key"] for e in record["entries"] if not any(p.fullmatch(e["key"]) for p in patterns)]
    assert bad == []


def test_same_key_is_one_statistic_across_places(record: dict) -> None:
    kinds: dict[str, set[str]] = {}
    for e in record["entries"]:
        kinds.setdefault(e["key"], set()).add(e["kind"])
    assert all(len(k) == 1 for k in kinds.values())


def test_uncertain_placements_are_the_flagged_ones(record: dict) -> None:
    """Only Table 5's second AFP row (covariate) and its PNI row (PFS p < 0.1 without a multivariable cell)."""
    uncertain = {e["where"]["row"] for e in record["entries"] if "uncertain" in e}
    assert uncertain == {"AFP", "PNI (high vs. low)"}
    assert all(e["place"] == "table5" for e in record["entries"] if "uncertain" in e)
    afp = [e for e in record["entries"] if e["place"] == "table5" and e["where"]["row"] == "AFP"]
    assert {e["key"].split(".")[4] for e in afp} == {"afp_change_decreased"}


def test_cox_placement_follows_the_entry_rule(record: dict) -> None:
    """A multivariable cell sits only where its univariable p is below the record's entry threshold."""
    entry_p = record["facts"]["cox_entry_p"]["value"]
    p = {e["key"]: e["value"] for e in record["entries"] if e["place"] in ("table4", "table5") and e["kind"] == "p"}
    for key in p:
        if ".multi." in key:
            assert p[key.replace(".multi.", ".uni.")] < entry_p, key


def test_facts_hold_what_the_audit_needs(record: dict) -> None:
    facts = record["facts"]
    assert facts["alpha"]["value"] == 0.05 and facts["cox_entry_p"]["value"] == 0.1
    assert set(facts["group_parts"]["all"]) == set(facts["comparison_groups"]["value"])
    assert {i["relation"] for i in record["identities"]} <= {"sum", "at_most", "covers", "implied_sum"}


def test_record_is_up_to_date_with_the_paper() -> None:
    """Dev only: when the paper is present, regenerating the record changes nothing."""
    script = ROOT / "tools" / "build_published_record.py"
    paper = [p for p in (Path("/work/shared/paper"), ROOT.parent / "shared" / "paper") if p.is_dir()]
    if not paper:
        pytest.skip("the paper is not available (dev-only check)")
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
