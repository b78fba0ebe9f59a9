"""Dev-only: build `data/published.yaml` from the paper's plain text.

Reads `/work/shared/paper/yin2025-cancer-medicine-e70711.txt` (or `../shared/paper/...`), which users do not
have: the committed YAML is the product and nothing at run time reads the paper. The row/column labels and
the text-to-key mapping below are the study's facts; the numbers themselves are parsed from the paper, and
every parsed number is checked against the mapping so a mismatch stops the build.

Usage: .venv/bin/python tools/build_published_record.py [--check]   (--check: fail if the YAML would change)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAPER_NAME = "yin2025-cancer-medicine-e70711.txt"
OUT = ROOT / "data" / "published.yaml"
ENTRY_P = 0.1  # Methods 1.5: univariable p < 0.1 enters the multivariable model

NUM = r"\d+(?:\.\s?\d+)?"


def find_paper() -> Path | None:
    for base in (Path("/work/shared/paper"), ROOT.parent / "shared" / "paper"):
        if (base / PAPER_NAME).exists():
            return base / PAPER_NAME
    return None


@dataclass
class Entry:
    key: str | None
    place: str
    where: dict
    printed: str
    kind: str
    order: int
    uncertain: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def value(self) -> float | int:
        return parse_value(self.printed)

    @property
    def decimals(self) -> int:
        text = self.printed.replace(" ", "")
        return len(text.split(".")[1]) if "." in text else 0


WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def parse_value(printed: str) -> float | int:
    text = printed.replace(" ", "")
    if text.lower() in WORDS:
        return WORDS[text.lower()]
    return float(text) if "." in text else int(text)


# ----------------------------------------------------------------------------------------------- sections
SPACES = str.maketrans({"\u2009": " ", "\u00a0": " ", "\u202f": " ", "\u2002": " "})


def paper_lines(path: Path) -> list[str]:
    """The paper's lines, stripped, with thin and non-breaking spaces made plain."""
    return [line.translate(SPACES).strip() for line in path.read_text(encoding="utf-8").splitlines()]


def table_block(lines: list[str], number: int) -> list[str]:
    """The lines of TABLE `number`: from its caption to the first footnote bullet."""
    start = next(i for i, s in enumerate(lines) if s.startswith(f"TABLE {number}."))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("•"))
    return lines[start + 1 : end]


def section_text(lines: list[str], heading: str, next_heading: str) -> str:
    """The running text of a section: paragraphs only (no tables, notes, figure captions, headings)."""
    start = lines.index(heading)
    end = lines.index(next_heading, start + 1)
    out: list[str] = []
    state = "text"  # text | table | notes | caption
    for s in lines[start + 1 : end]:
        if s.startswith("TABLE "):
            state = "table"
        elif state == "table":
            state = "notes" if s.startswith("•") else "table"
        elif state == "notes" and s.startswith("•"):
            pass
        elif s.startswith("Details are in the caption"):
            state = "caption"
        elif state == "caption":
            state = "text"
        elif s:
            state = "text"
            out.append(s)
    return "\n".join(out)


ABBREV = re.compile(r"(?:vs|e\.g|i\.e|al|Fig)\.$")


def sentences(text: str) -> list[str]:
    """Split running text into sentences (abbreviations such as 'vs.' do not end one)."""
    out: list[str] = []
    for para in text.split("\n"):
        buf = ""
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", para):
            buf = f"{buf} {part}".strip() if buf else part
            if not ABBREV.search(buf):
                out.append(buf)
                buf = ""
        if buf:
            out.append(buf)
    return out


# ----------------------------------------------------------------------------------------------- tables
ARMS3 = [("all", "Overall (n = 70)"), ("tki", "TKI (n = 21)"), ("tki_ici", "TKI + ICI (n = 49)")]

TABLE1_CONTINUOUS = {"Age": "age", "CRP": "crp", "ANRI": "anri", "LMR": "lmr", "NLR": "nlr", "PLR": "plr",
                     "PNI": "pni", "SN": "sn", "SIRI": "siri"}
TABLE1_CATEGORICAL = {
    "Gender (%)": ("gender", {"Female": "female", "Male": "male"}),
    "Cirrhosis (%)": ("cirrhosis", {"No": "no", "Yes": "yes"}),
    "Number (%)": ("tumour_number", {"≤ 3": "le3", "> 3": "gt3"}),
    "Size (%)": ("tumour_size", {"≤ 5": "le5", "> 5": "gt5"}),
    "PVTT (%)": ("pvtt", {"No": "no", "Yes": "yes"}),
    "Metastasis (%)": ("metastasis", {"No": "no", "Yes": "yes"}),
    "ALBI grade (%)": ("albi_grade", {"1": "grade1", "2/3": "grade2_3"}),
    "AFP (%)": ("afp", {"≤ 400": "le400", "> 400": "gt400"}),
    "Etiology (%)": ("etiology", {"HBV": "hbv", "HCV": "hcv", "Other": "other"}),
    "ECOG PS (%)": ("ecog", {"0": "ecog0", "1": "ecog1"}),
    "BCLC stage (%)": ("bclc", {"B": "b", "C": "c"}),
    "Child-Pugh class": ("child_pugh", {"A": "a", "B": "b"}),
}
TABLE1_PRIOR = {"Surgery (%)": "prior_surgery", "TACE (%)": "prior_tace", "Ablation (%)": "prior_ablation"}


def header_sizes(place: str, header: str, columns: list[tuple[str, str]], order: list[int],
                 entries: list[Entry]) -> None:
    """Group sizes printed in column headers, e.g. 'TKI (n = 21)'."""
    for group, label in columns:
        m = re.search(r"\(n = (\d+)\)", label)
        assert m and label in header, (place, label)
        order[0] += 1
        entries.append(Entry(f"cohort.n.{group}", place, {"column": label}, m.group(1), "N", order[0]))


def parse_table1(lines: list[str]) -> list[Entry]:
    rows = table_block(lines, 1)
    entries: list[Entry] = []
    order = [0]

    def add(key: str, where: dict, printed: str, kind: str) -> None:
        order[0] += 1
        entries.append(Entry(key, "table1", where, printed, kind, order[0]))

    header_sizes("table1", rows[0], ARMS3, order, entries)
    current: tuple[str, str, dict[str, str]] | None = None
    for row in rows[1:]:
        label = next((lab for lab in (*TABLE1_CONTINUOUS, *TABLE1_CATEGORICAL, *TABLE1_PRIOR)
                      if row.startswith(lab + " ")), None)
        if label in TABLE1_CONTINUOUS:
            var = TABLE1_CONTINUOUS[label]
            m = re.fullmatch(rf"{re.escape(label)} " + r" ".join([rf"({NUM}) \[({NUM}), ({NUM})\]"] * 3)
                             + rf" ({NUM})", row)
            assert m, row
            vals = m.groups()
            for i, (group, col) in enumerate(ARMS3):
                for j, stat in enumerate(("median", "q1", "q3")):
                    add(f"baseline.{var}.{group}.{stat}", {"row": label, "column": col}, vals[3 * i + j], stat)
            add(f"baseline.{var}.p", {"row": label, "column": "p"}, vals[9], "p")
        elif label in TABLE1_CATEGORICAL:
            var, levels = TABLE1_CATEGORICAL[label]
            current = (label, var, levels)
            m = re.fullmatch(rf"{re.escape(label)} ({NUM})", row)
            assert m, row
            add(f"baseline.{var}.p", {"row": label, "column": "p"}, m.group(1), "p")
        elif label in TABLE1_PRIOR:
            var = TABLE1_PRIOR[label]
            m = re.fullmatch(rf"{re.escape(label)} " + " ".join([rf"({NUM}) \(({NUM})\)"] * 3) + rf" ({NUM})", row)
            assert m, row
            vals = m.groups()
            for i, (group, col) in enumerate(ARMS3):
                where = {"row": f"Prior treatment / {label}", "column": col}
                add(f"baseline.{var}.yes.{group}.n", where, vals[2 * i], "n")
                add(f"baseline.{var}.yes.{group}.pct", where, vals[2 * i + 1], "pct")
            add(f"baseline.{var}.p", {"row": f"Prior treatment / {label}", "column": "p"}, vals[6], "p")
        elif row == "Prior treatment":
            current = None
        else:
            assert current, row
            parent, var, levels = current
            level_label = next(lab for lab in levels if row.startswith(lab + " "))
            m = re.fullmatch(re.escape(level_label) + " " + " ".join([rf"({NUM}) \(({NUM})\)"] * 3), row)
            assert m, row
            vals = m.groups()
            for i, (group, col) in enumerate(ARMS3):
                where = {"row": f"{parent} / {level_label}", "column": col}
                add(f"baseline.{var}.{levels[level_label]}.{group}.n", where, vals[2 * i], "n")
                add(f"baseline.{var}.{levels[level_label]}.{group}.pct", where, vals[2 * i + 1], "pct")
    return entries


TABLE2_ROWS = {"REG": ("regimen", "reg"), "SOR": ("regimen", "sor"), "REG-ICI": ("regimen", "reg_ici"),
               "SOR-ICI": ("regimen", "sor_ici"), "Oth-ICI": ("regimen", "oth_ici"), "TKI": ("arm", "tki"),
               "TKI-ICI": ("arm", "tki_ici")}


def parse_table2(lines: list[str]) -> list[Entry]:
    rows = table_block(lines, 2)
    assert rows[0] == "Second line mOS (months) mPFS (months)", rows[0]
    entries: list[Entry] = []
    order = 0
    for row in rows[1:]:
        m = re.fullmatch(rf"(\S+) \(n = (\d+)\) ({NUM}) \(({NUM})–({NUM})\) ({NUM}) \(({NUM})–({NUM})\)", row)
        assert m, row
        strat, group = TABLE2_ROWS[m.group(1)]
        label = f"{m.group(1)} (n = {m.group(2)})"
        order += 1
        entries.append(Entry(f"cohort.n.{group}", "table2", {"row": label, "column": "Second line"},
                             m.group(2), "N", order))
        for k, (endpoint, col) in enumerate((("os", "mOS (months)"), ("pfs", "mPFS (months)"))):
            for j, stat in enumerate(("median", "ci_lower", "ci_upper")):
                order += 1
                entries.append(Entry(f"km.{endpoint}.{strat}.{group}.{stat}", "table2",
                                     {"row": label, "column": col}, m.group(3 + 3 * k + j), stat, order))
    return entries


TABLE3_ROWS = {"Complete response": "cr", "Partial response": "pr", "Stable disease": "sd",
               "Progressive disease": "pd", "Objective response rate": "orr", "Disease control rate": "dcr"}
ARMS2 = [("tki", "TKI (n = 21)"), ("tki_ici", "TKI + ICI (n = 49)")]


def parse_table3(lines: list[str]) -> list[Entry]:
    rows = table_block(lines, 3)
    entries: list[Entry] = []
    order = [0]
    header_sizes("table3", rows[0], ARMS2, order, entries)
    for row in rows[1:]:
        if row == "Best overall response":
            continue
        label = next(lab for lab in TABLE3_ROWS if row.startswith(lab + " "))
        cat = TABLE3_ROWS[label]
        m = re.fullmatch(rf"{re.escape(label)} ({NUM}) \(({NUM})\) ({NUM}) \(({NUM})\) ({NUM})", row)
        assert m, row
        vals = m.groups()
        for i, (group, col) in enumerate(ARMS2):
            for j, stat in enumerate(("n", "pct")):
                order[0] += 1
                entries.append(Entry(f"response.{cat}.{group}.{stat}", "table3", {"row": label, "column": col},
                                     vals[2 * i + j], stat, order[0]))
        order[0] += 1
        entries.append(Entry(f"response.{cat}.p", "table3", {"row": label, "column": "p"}, vals[4], "p", order[0]))
    return entries


COX_ROWS = {
    "Age (> 60 vs. ≤ 60)": "age_gt60", "Cause (HBV vs. others)": "etiology_hbv", "Surgery (yes or no)":
    "prior_surgery", "TACE (yes or no)": "prior_tace", "Ablation (yes or no)": "prior_ablation",
    "BCLC stage (C vs. B)": "bclc_c", "Cirrhosis (yes or no)": "cirrhosis", "Number (> 3 vs. ≤ 3)":
    "tumour_number_gt3", "Size (> 5 cm vs. ≤ 5 cm)": "tumour_size_gt5", "PVTT (yes or no)": "pvtt",
    "Metastasis (yes or no)": "metastasis", "Child-Pugh class (B vs. A)": "child_pugh_b",
    "ALBI Grade (2/3 vs. 1)": "albi_grade2_3", "ALBI grade (2/3 vs. 1)": "albi_grade2_3",
    "AFP (> 400 vs. ≤ 400)": "afp_gt400", "Gender (male vs. female)": "gender_male",
    "Second-line (TKI-ICI vs. TKI)": "arm_tki_ici", "ECOG PS (1 vs. 0)": "ecog1", "AFP": "afp_change_decreased",
    "CRP (high vs. low)": "crp_high", "ANRI (high vs. low)": "anri_high", "LMR (high vs. low)": "lmr_high",
    "NLR (high vs. low)": "nlr_high", "PLR (high vs. low)": "plr_high", "PNI (high vs. low)": "pni_high",
    "SN (high vs. low)": "sn_high", "SIRI (high vs. low)": "siri_high",
}
COX_UNCERTAIN_COVARIATE = {
    "afp_change_decreased": "the row is labelled only 'AFP' (a second AFP row after the baseline AFP > 400 row); "
    "read as the AFP change at 8 weeks (decreased vs elevated), which the paper analyses elsewhere but never "
    "names in this table",
}
COX_GROUPS = [("pfs", "uni", "PFS / Univariate analysis"), ("pfs", "multi", "PFS / Multivariate analysis"),
              ("os", "uni", "OS / Univariate analysis"), ("os", "multi", "OS / Multivariate analysis")]
TRIPLE = re.compile(rf"({NUM}) \(({NUM})–({NUM})\) ({NUM})")


def place_triples(ps: list[float]) -> tuple[list[int], str | None]:
    """Assign a flattened row's HR triples to the four column groups (indices into COX_GROUPS).

    The first triple is the PFS univariable estimate; a multivariable estimate follows a univariable one only
    when the univariable p < 0.1 (the entry rule of Methods 1.5). When the rule does not consume the row
    exactly, the triples are read as univariable PFS and OS (every row prints both) and marked uncertain.
    """
    slots, i = [0], 1
    if ps[0] < ENTRY_P:
        slots.append(1)
        i += 1
    if i < len(ps):
        slots.append(2)
        if ps[i] < ENTRY_P:
            slots.append(3)
    if len(slots) == len(ps) and 2 in slots:
        return slots, None
    if len(ps) == 2:
        return [0, 2], (
            f"the univariable PFS p ({ps[0]}) is below the entry threshold {ENTRY_P}, yet the row prints only two "
            "estimates; read as univariable PFS and OS (every other row prints both univariable columns), so the "
            "multivariable PFS estimate would be missing; the alternative reading (univariable and multivariable "
            "PFS, OS missing) cannot be excluded")
    raise AssertionError(f"cannot place {ps}")


def parse_cox_table(lines: list[str], number: int, population: str) -> list[Entry]:
    rows = table_block(lines, number)
    place = f"table{number}"
    entries: list[Entry] = []
    order = 0
    for row in rows[3:]:
        first = re.search(rf"{NUM} \(", row)
        assert first, row
        label = row[: first.start()].strip()
        covariate = COX_ROWS[label]
        triples = TRIPLE.findall(row[first.start():])
        assert TRIPLE.sub("", row[first.start():]).strip() == "", row
        slots, why = place_triples([float(t[3].replace(" ", "")) for t in triples])
        uncertain = why or COX_UNCERTAIN_COVARIATE.get(covariate)
        if why and covariate in COX_UNCERTAIN_COVARIATE:
            uncertain = f"{COX_UNCERTAIN_COVARIATE[covariate]}; {why}"
        for position, (slot, triple) in enumerate(zip(slots, triples, strict=True), start=1):
            endpoint, model, column = COX_GROUPS[slot]
            for stat, printed in zip(("hr", "ci_lower", "ci_upper", "p"), triple, strict=True):
                order += 1
                col = f"{column} / {'p' if stat == 'p' else 'HR (95% CI)'}"
                entries.append(Entry(f"cox.{population}.{endpoint}.{model}.{covariate}.{stat}", place,
                                     {"row": label, "column": col, "position": position}, printed, stat, order,
                                     uncertain))
    return entries


TABLE6_ROWS = {
    "Total AEs": "total", "Hypertension": "hypertension", "Fatigue": "fatigue", "Nausea/vomiting":
    "nausea_vomiting", "Diarrhea": "diarrhea", "Rash": "rash", "Decreased appetite": "decreased_appetite",
    "Proteinuria": "proteinuria", "Leukopenia": "leukopenia", "Hypothyroidism": "hypothyroidism", "Ascites":
    "ascites", "Hyperbilirubinemia": "hyperbilirubinemia", "Thin": "thin", "Thrombocytopenia": "thrombocytopenia",
    "Hepatic encephalopathy": "hepatic_encephalopathy", "Gastrointestinal hemorrhage": "gi_hemorrhage",
    "Immune-related AEs": "immune_related", "Myocarditis": "myocarditis", "Interstitial pneumonia":
    "interstitial_pneumonia", "Dose reduction": "dose_reduction", "Discontinuation": "discontinuation",
}
TABLE6_COLUMNS = [("any", "tki", "Any grade / TKI group (n = 21)"),
                  ("any", "tki_ici", "Any grade / TKI-ICI group (n = 49)"),
                  ("g3plus", "tki", "Grade 3/4 / TKI group (n = 21)"),
                  ("g3plus", "tki_ici", "Grade 3/4 / TKI-ICI group (n = 49)")]


def parse_table6(lines: list[str]) -> list[Entry]:
    rows = table_block(lines, 6)
    assert rows[0] == "Adverse event Any grade Grade 3/4", rows[0]
    entries: list[Entry] = []
    order = 0
    for _, group, col in TABLE6_COLUMNS:
        order += 1
        entries.append(Entry(f"cohort.n.{group}", "table6", {"column": col}, re.search(r"n = (\d+)", col).group(1),
                             "N", order))
    for row in rows[2:]:
        label = next(lab for lab in sorted(TABLE6_ROWS, key=len, reverse=True) if row.startswith(lab + " "))
        event = TABLE6_ROWS[label]
        rest = row[len(label):].strip()
        tokens = re.findall(rf"({NUM}) \(({NUM})\)|({NUM})", rest)
        assert " ".join(t[0] and f"{t[0]} ({t[1]})" or t[2] for t in tokens) == rest, row
        pairs = 0
        for n, pct, single in tokens:
            if single:
                assert pairs in (2, 4), row
                order += 1
                entries.append(Entry(f"ae.{event}.{TABLE6_COLUMNS[pairs - 1][0]}.p", "table6",
                                     {"row": label, "column": f"{'Any grade' if pairs == 2 else 'Grade 3/4'} / p"},
                                     single, "p", order))
                continue
            grade, group, col = TABLE6_COLUMNS[pairs]
            pairs += 1
            for stat, printed in (("n", n), ("pct", pct)):
                order += 1
                entries.append(Entry(f"ae.{event}.{grade}.{group}.{stat}", "table6", {"row": label, "column": col},
                                     printed, stat, order))
        assert pairs == 4, row
    return entries


# ----------------------------------------------------------------------------------------------- text
# (printed token, key, kind) in reading order per place. A key of None marks a number that is not a statistic
# and is therefore not recorded (the coverage tool explains those from data/published_coverage_rules.yaml).
TEXT: dict[str, list[tuple[str, str, str]]] = {
    "abstract": [
        ("5.27", "km.pfs.arm.tki_ici.median", "median"), ("12.53", "km.os.arm.tki_ici.median", "median"),
        ("3.10", "km.pfs.arm.tki.median", "median"), ("7.50", "km.os.arm.tki.median", "median"),
        ("19.1", "response.orr.tki.pct", "pct"), ("16.3", "response.orr.tki_ici.pct", "pct"),
        ("85.7", "response.dcr.tki_ici.pct", "pct"), ("61.9", "response.dcr.tki.pct", "pct"),
    ],
    "methods": [
        ("5.7", "cutoff.nlr", "cutoff"), ("197.6", "cutoff.plr", "cutoff"), ("403", "cutoff.pni", "cutoff"),
        ("5.4", "cutoff.anri", "cutoff"), ("2.3", "cutoff.lmr", "cutoff"), ("1314.3", "cutoff.sn", "cutoff"),
        ("4.0", "cutoff.siri", "cutoff"), ("46.1", "cutoff.crp", "cutoff"),
    ],
    "text2.1": [
        ("85", "flow.discontinued_len", "n"), ("76", "flow.eligible", "n"), ("6", "flow.excluded.total", "n"),
        ("1", "flow.excluded.child_pugh", "n"), ("2", "flow.excluded.ecog", "n"),
        ("3", "flow.excluded.lost_to_follow_up", "n"), ("70", "flow.enrolled", "n"),
        ("21", "cohort.n.tki", "N"), ("49", "cohort.n.tki_ici", "N"),
        ("56", "baseline.age.all.median", "median"), ("51", "baseline.age.all.q1", "q1"),
        ("53", "baseline.age.all.q3", "q3"),
        ("59", "baseline.gender.male.all.n", "n"), ("84.3", "baseline.gender.male.all.pct", "pct"),
        ("63", "baseline.etiology.hbv.all.n", "n"), ("90.0", "baseline.etiology.hbv.all.pct", "pct"),
        ("52", "baseline.bclc.c.all.n", "n"), ("74.3", "baseline.bclc.c.all.pct", "pct"),
        ("47", "baseline.child_pugh.a.all.n", "n"), ("67.1", "baseline.child_pugh.a.all.pct", "pct"),
        ("26", "baseline.pvtt.yes.all.n", "n"), ("37.1", "baseline.pvtt.yes.all.pct", "pct"),
        ("34", "baseline.metastasis.yes.all.n", "n"), ("48.6", "baseline.metastasis.yes.all.pct", "pct"),
        ("9", "baseline.prior_surgery.yes.all.n", "n"), ("12.9", "baseline.prior_surgery.yes.all.pct", "pct"),
        ("66", "baseline.prior_tace.yes.all.n", "n"), ("94.3", "baseline.prior_tace.yes.all.pct", "pct"),
        ("35", "baseline.prior_ablation.yes.all.n", "n"), ("50.0", "baseline.prior_ablation.yes.all.pct", "pct"),
        ("52.4", "baseline.afp.gt400.tki.pct", "pct"), ("34.7", "baseline.afp.gt400.tki_ici.pct", "pct"),
        ("0.166", "baseline.afp.p", "p"),
    ],
    "text2.2": [
        ("70", "cohort.n.all", "N"), ("55", "flow.len_stop.progression", "n"),
        ("15", "flow.len_stop.adverse_events", "n"),
        ("12", "cohort.n.reg", "N"), ("9", "cohort.n.sor", "N"), ("23", "cohort.n.reg_ici", "N"),
        ("10", "cohort.n.sor_ici", "N"), ("16", "cohort.n.oth_ici", "N"),
    ],
    "text2.3": [
        ("72.9", "events.os.all.pct", "pct"), ("51", "events.os.all.n", "n"),
        ("72.9", "events.pfs.all.pct", "pct"), ("51", "events.pfs.all.n", "n"),
        ("4.44", "km.pfs.overall.all.median", "median"), ("3.25", "km.pfs.overall.all.ci_lower", "ci_lower"),
        ("5.55", "km.pfs.overall.all.ci_upper", "ci_upper"),
        ("10.93", "km.os.overall.all.median", "median"), ("9.14", "km.os.overall.all.ci_lower", "ci_lower"),
        ("12.72", "km.os.overall.all.ci_upper", "ci_upper"),
        ("5.27", "km.pfs.arm.tki_ici.median", "median"), ("4.09", "km.pfs.arm.tki_ici.ci_lower", "ci_lower"),
        ("6.44", "km.pfs.arm.tki_ici.ci_upper", "ci_upper"),
        ("3.10", "km.pfs.arm.tki.median", "median"), ("2.04", "km.pfs.arm.tki.ci_lower", "ci_lower"),
        ("4.16", "km.pfs.arm.tki.ci_upper", "ci_upper"),
        ("12.53", "km.os.arm.tki_ici.median", "median"), ("10.79", "km.os.arm.tki_ici.ci_lower", "ci_lower"),
        ("14.26", "km.os.arm.tki_ici.ci_upper", "ci_upper"),
        ("7.50", "km.os.arm.tki.median", "median"), ("4.06", "km.os.arm.tki.ci_lower", "ci_lower"),
        ("10.94", "km.os.arm.tki.ci_upper", "ci_upper"),
        ("51.0", "baseline.afp_change.elevated.tki_ici.pct", "pct"),
        ("25", "baseline.afp_change.elevated.tki_ici.n", "n"),
        ("57.1", "baseline.afp_change.elevated.tki.pct", "pct"), ("12", "baseline.afp_change.elevated.tki.n", "n"),
        ("4.73", "km.pfs.afp_baseline.le400.median", "median"),
        ("2.80", "km.pfs.afp_baseline.le400.ci_lower", "ci_lower"),
        ("6.66", "km.pfs.afp_baseline.le400.ci_upper", "ci_upper"),
        ("12.17", "km.os.afp_baseline.le400.median", "median"),
        ("10.34", "km.os.afp_baseline.le400.ci_lower", "ci_lower"),
        ("14.0", "km.os.afp_baseline.le400.ci_upper", "ci_upper"),
        ("4.13", "km.pfs.afp_baseline.gt400.median", "median"),
        ("2.21", "km.pfs.afp_baseline.gt400.ci_lower", "ci_lower"),
        ("6.05", "km.pfs.afp_baseline.gt400.ci_upper", "ci_upper"),
        ("9.20", "km.os.afp_baseline.gt400.median", "median"),
        ("6.33", "km.os.afp_baseline.gt400.ci_lower", "ci_lower"),
        ("12.07", "km.os.afp_baseline.gt400.ci_upper", "ci_upper"),
    ],
    "text2.4": [
        ("Four", "response.orr.tki.n", "n"), ("19.1", "response.orr.tki.pct", "pct"),
        ("1", "response.cr.tki.n", "n"), ("4.8", "response.cr.tki.pct", "pct"),
        ("3", "response.pr.tki.n", "n"), ("14.3", "response.pr.tki.pct", "pct"),
        ("16.3", "response.orr.tki_ici.pct", "pct"),
        ("1", "response.cr.tki_ici.n", "n"), ("2", "response.cr.tki_ici.pct", "pct"),
        ("7", "response.pr.tki_ici.n", "n"), ("14.3", "response.pr.tki_ici.pct", "pct"),
        ("85.7", "response.dcr.tki_ici.pct", "pct"), ("61.9", "response.dcr.tki.pct", "pct"),
        ("24.2", "response_by_afp_change.orr.decreased.pct", "pct"),
        ("78.8", "response_by_afp_change.dcr.decreased.pct", "pct"),
        ("16.2", "response_by_afp_change.orr.elevated.pct", "pct"),
        ("73.0", "response_by_afp_change.dcr.elevated.pct", "pct"),
    ],
    "text2.5": [
        ("2.04", "cox.all.os.multi.afp_gt400.hr", "hr"), ("1.10", "cox.all.os.multi.afp_gt400.ci_lower", "ci_lower"),
        ("3.79", "cox.all.os.multi.afp_gt400.ci_upper", "ci_upper"), ("0.03", "cox.all.os.multi.afp_gt400.p", "p"),
        ("0.49", "cox.all.pfs.multi.arm_tki_ici.hr", "hr"),
        ("0.26", "cox.all.pfs.multi.arm_tki_ici.ci_lower", "ci_lower"),
        ("0.95", "cox.all.pfs.multi.arm_tki_ici.ci_upper", "ci_upper"),
        ("0.033", "cox.all.pfs.multi.arm_tki_ici.p", "p"),
        ("0.23", "cox.all.pfs.multi.anri_high.hr", "hr"), ("0.08", "cox.all.pfs.multi.anri_high.ci_lower", "ci_lower"),
        ("0.26", "cox.all.pfs.multi.anri_high.ci_upper", "ci_upper"), ("0.004", "cox.all.pfs.multi.anri_high.p", "p"),
        ("2.68", "cox.tki_ici.os.multi.afp_gt400.hr", "hr"),
        ("1.26", "cox.tki_ici.os.multi.afp_gt400.ci_lower", "ci_lower"),
        ("5.70", "cox.tki_ici.os.multi.afp_gt400.ci_upper", "ci_upper"),
        ("0.01", "cox.tki_ici.os.multi.afp_gt400.p", "p"),
        ("0.27", "cox.tki_ici.pfs.multi.anri_high.hr", "hr"),
        ("0.08", "cox.tki_ici.pfs.multi.anri_high.ci_lower", "ci_lower"),
        ("0.87", "cox.tki_ici.pfs.multi.anri_high.ci_upper", "ci_upper"),
        ("0.029", "cox.tki_ici.pfs.multi.anri_high.p", "p"),
    ],
    "text2.6": [
        ("79.6", "ae.total.any.tki_ici.pct", "pct"), ("85.7", "ae.total.any.tki.pct", "pct"),
        ("9", "ae.total.g3plus.tki_ici.n", "n"), ("18.4", "ae.total.g3plus.tki_ici.pct", "pct"),
        ("5", "ae.total.g3plus.tki.n", "n"), ("23.8", "ae.total.g3plus.tki.pct", "pct"),
        ("two", "ae.immune_hepatitis.any.tki_ici.n", "n"), ("one", "ae.myocarditis.any.tki_ici.n", "n"),
        ("one", "ae.interstitial_pneumonia.any.tki_ici.n", "n"),
        ("7", "ae.dose_reduction.any.tki_ici.n", "n"), ("14.3", "ae.dose_reduction.any.tki_ici.pct", "pct"),
        ("3", "ae.dose_reduction.any.tki.n", "n"), ("14.3", "ae.dose_reduction.any.tki.pct", "pct"),
        ("8.2", "ae.discontinuation.any.tki_ici.pct", "pct"), ("4.8", "ae.discontinuation.any.tki.pct", "pct"),
    ],
    "text2.7": [
        ("5", "subsequent.any.tki.n", "n"), ("25", "subsequent.any.tki.pct", "pct"),
        ("1", "subsequent.apatinib.tki.n", "n"), ("3", "subsequent.reg_ici.tki.n", "n"),
        ("1", "subsequent.len_ici.tki.n", "n"),
        ("15", "subsequent.any.tki_ici.n", "n"), ("75", "subsequent.any.tki_ici.pct", "pct"),
        ("2", "subsequent.apatinib.tki_ici.n", "n"), ("5", "subsequent.apatinib_ici.tki_ici.n", "n"),
        ("1", "subsequent.len.tki_ici.n", "n"), ("2", "subsequent.len_ici.tki_ici.n", "n"),
        ("3", "subsequent.reg_ici.tki_ici.n", "n"), ("2", "subsequent.atezolizumab_bevacizumab.tki_ici.n", "n"),
    ],
}

SECTIONS = {  # place -> (heading, next heading)
    "text2.1": ("2.1 Baseline Characteristics", "2.2 Treatment Profiles of First-Line LEN and Second-Line Therapy"),
    "text2.2": ("2.2 Treatment Profiles of First-Line LEN and Second-Line Therapy", "2.3 Survival Analysis"),
    "text2.3": ("2.3 Survival Analysis", "2.4 Therapeutic Responses"),
    "text2.4": ("2.4 Therapeutic Responses", "2.5 Predictors for Survival Outcomes"),
    "text2.5": ("2.5 Predictors for Survival Outcomes", "2.6 Safety Analysis"),
    "text2.6": ("2.6 Safety Analysis", "2.7 Subsequent Therapy"),
    "text2.7": ("2.7 Subsequent Therapy", "3 Discussion"),
    "methods": ("1.4 Inflammation Indices", "1.5 Statistical Analysis"),
    "abstract": ("Results", "Conclusions"),
}


def text_of(lines: list[str], place: str) -> str:
    heading, nxt = SECTIONS[place]
    return section_text(lines, heading, nxt)


def token_pattern(printed: str) -> re.Pattern[str]:
    if printed.isalpha():
        return re.compile(rf"\b{printed}\b")
    return re.compile(rf"(?<![\d.]){re.escape(printed)}(?![\d]|\.\d)")


def parse_text(lines: list[str], place: str) -> list[Entry]:
    """Locate each mapped number in reading order; record its sentence and its position among recorded ones."""
    sents = sentences(text_of(lines, place))
    entries: list[Entry] = []
    s_idx, cursor = 0, 0
    per_sentence: dict[int, int] = {}
    for order, (printed, key, kind) in enumerate(TEXT[place], start=1):
        while True:
            assert s_idx < len(sents), (place, printed, key)
            m = token_pattern(printed).search(sents[s_idx], cursor)
            if m:
                cursor = m.end()
                break
            s_idx, cursor = s_idx + 1, 0
        per_sentence[s_idx] = per_sentence.get(s_idx, 0) + 1
        entries.append(Entry(key, place, {"sentence": s_idx + 1, "position": per_sentence[s_idx]}, printed, kind,
                             order))
    return entries


# ----------------------------------------------------------------------------------------------- facts
FACTS = """\
facts:
  # The study's decision facts, as stated in the paper (Methods 1.2, 1.5) and implied by its key structure.
  alpha: {value: 0.05, source: "methods 1.5"}
  cox_entry_p: {value: 0.1, rule: "univariable p < value enters the multivariable model", source: "methods 1.5"}
  ci_level: {value: 0.95, source: "tables 2, 4, 5 and section 2.3"}
  categorical_tests: {value: [pearson, fisher], rule: "as appropriate", source: "methods 1.5"}
  software: {value: ["SPSS 26.0", "R 4.1.3"], source: "methods 1.5"}
  comparison_groups: {value: [tki, tki_ici], source: "tables 1, 3, 6"}
  # group -> the groups it is the union of (counts add up)
  group_parts:
    all: [tki, tki_ici]
    tki: [reg, sor]
    tki_ici: [reg_ici, sor_ici, oth_ici]
  # Cox covariate -> the Table 1 count of one of its two groups ({group}: the model's population); the audit bounds
  # how narrow each covariate's CI can be by these group sizes.
  cox_groups:
    gender_male: "baseline.gender.male.{group}.n"
    etiology_hbv: "baseline.etiology.hbv.{group}.n"
    cirrhosis: "baseline.cirrhosis.yes.{group}.n"
    pvtt: "baseline.pvtt.yes.{group}.n"
    metastasis: "baseline.metastasis.yes.{group}.n"
    ecog1: "baseline.ecog.ecog1.{group}.n"
    bclc_c: "baseline.bclc.c.{group}.n"
    child_pugh_b: "baseline.child_pugh.b.{group}.n"
    albi_grade2_3: "baseline.albi_grade.grade2_3.{group}.n"
    tumour_number_gt3: "baseline.tumour_number.gt3.{group}.n"
    tumour_size_gt5: "baseline.tumour_size.gt5.{group}.n"
    afp_gt400: "baseline.afp.gt400.{group}.n"
    afp_change_decreased: "baseline.afp_change.elevated.{group}.n"
    prior_surgery: "baseline.prior_surgery.yes.{group}.n"
    prior_tace: "baseline.prior_tace.yes.{group}.n"
    prior_ablation: "baseline.prior_ablation.yes.{group}.n"
    arm_tki_ici: "cohort.n.tki_ici"

# Identities the printed counts must satisfy. Templates: {name} binds one key segment (the same value across
# the identity), * ranges over every printed value of that segment. "parts" add up to "total" (relation sum);
# relation at_most: each part <= total; relation covers: max(parts) <= total <= sum(parts).
identities:
  - {name: "levels of a variable add up to the group size", relation: sum,
     parts: ["baseline.{var}.*.{group}.n"], total: "cohort.n.{group}", min_parts: 2}
  - {name: "CR + PR = ORR", relation: sum, parts: ["response.cr.{group}.n", "response.pr.{group}.n"],
     total: "response.orr.{group}.n"}
  - {name: "ORR + SD = DCR", relation: sum, parts: ["response.orr.{group}.n", "response.sd.{group}.n"],
     total: "response.dcr.{group}.n"}
  - {name: "CR + PR + SD + PD = group size", relation: sum,
     parts: ["response.cr.{group}.n", "response.pr.{group}.n", "response.sd.{group}.n", "response.pd.{group}.n"],
     total: "cohort.n.{group}"}
  - {name: "excluded + enrolled = eligible", relation: sum, parts: ["flow.excluded.total", "flow.enrolled"],
     total: "flow.eligible"}
  - {name: "exclusion reasons add up", relation: sum,
     parts: ["flow.excluded.child_pugh", "flow.excluded.ecog", "flow.excluded.lost_to_follow_up"],
     total: "flow.excluded.total"}
  - {name: "enrolled = cohort", relation: sum, parts: ["flow.enrolled"], total: "cohort.n.all"}
  - {name: "reasons for stopping first-line treatment add up to the cohort", relation: sum,
     parts: ["flow.len_stop.*"], total: "cohort.n.all", min_parts: 2}
  - {name: "subsequent therapies add up", relation: sum, parts: ["subsequent.*.{group}.n"],
     total: "subsequent.any.{group}.n", min_parts: 2}
  - {name: "grade 3/4 events cannot exceed any-grade events", relation: at_most,
     parts: ["ae.{event}.g3plus.{group}.n"], total: "ae.{event}.any.{group}.n"}
  - {name: "patients with an event cannot exceed patients with any AE", relation: at_most,
     parts: ["ae.*.{grade}.{group}.n"], total: "ae.total.{grade}.{group}.n"}
  - {name: "immune-related AE patients are covered by their components", relation: covers,
     parts: ["ae.myocarditis.{grade}.{group}.n", "ae.interstitial_pneumonia.{grade}.{group}.n",
             "ae.immune_hepatitis.{grade}.{group}.n"], total: "ae.immune_related.{grade}.{group}.n"}
  - {name: "events cannot exceed the cohort", relation: at_most, parts: ["events.{endpoint}.all.n"],
     total: "cohort.n.all"}
  # A percentage printed without its count: the counts implied by each percentage and its denominator must add
  # up to a printed total. Denominators and totals are sums of keys ("-" subtracts).
  - {name: "responders by AFP change add up to responders overall", relation: implied_sum,
     pcts: ["response_by_afp_change.{cat}.decreased.pct", "response_by_afp_change.{cat}.elevated.pct"],
     denominators: [["cohort.n.all", "-baseline.afp_change.elevated.tki.n", "-baseline.afp_change.elevated.tki_ici.n"],
                    ["baseline.afp_change.elevated.tki.n", "baseline.afp_change.elevated.tki_ici.n"]],
     total: ["response.{cat}.tki.n", "response.{cat}.tki_ici.n"],
     assumption: "every patient is classified as AFP decreased or elevated at 8 weeks (section 2.3 gives the \
elevated counts per arm; the remaining patients are taken as decreased)"}

# Claims the text makes about the tables, stated as checkable relations (paraphrased, not quoted). `keys` are
# templates as in the identities; a model is a key prefix cox.<population>.<endpoint>.<uni|multi>.
claims:
  - {place: text2.1, where: {sentence: 9}, type: all_at_least, keys: "baseline.{var}.p", threshold: 0.05,
     says: "baseline characteristics were balanced between the arms"}
  - {place: text2.1, where: {sentence: 9}, type: greater, keys: ["baseline.afp.gt400.tki.pct",
     "baseline.afp.gt400.tki_ici.pct"], says: "AFP > 400 ng/mL was more frequent in the TKI arm"}
  - {place: text2.5, where: {sentence: 2}, type: significant_set, model: cox.all.os.multi, members: [afp_gt400],
     says: "AFP > 400 ng/mL was the only independent predictor of OS"}
  - {place: text2.5, where: {sentence: 3}, type: significant_set, model: cox.all.pfs.uni,
     members: [arm_tki_ici, crp_high, anri_high, lmr_high, nlr_high, plr_high, pni_high, sn_high, siri_high],
     says: "these covariates were significant predictors of PFS in univariable analysis"}
  - {place: text2.5, where: {sentence: 4}, type: significant_set, model: cox.all.pfs.multi,
     members: [arm_tki_ici, anri_high], direction: protective,
     says: "TKI-ICI and high ANRI were the protective multivariable predictors of PFS"}
  - {place: text2.5, where: {sentence: 5}, type: significant_includes, model: cox.tki_ici.os.multi,
     members: [afp_gt400], says: "AFP stayed an independent predictor of OS in the TKI-ICI cohort"}
  - {place: text2.5, where: {sentence: 5}, type: significant_includes, model: cox.tki_ici.pfs.multi,
     members: [anri_high], direction: protective,
     says: "high ANRI was associated with better PFS in the TKI-ICI cohort"}
  - {place: abstract, where: {sentence: 5}, type: significant_includes, model: cox.tki_ici.pfs.multi,
     members: [anri_high], says: "high ANRI was an independent PFS predictor in the TKI-ICI cohort"}
  - {place: abstract, where: {sentence: 5}, type: significant_set, model: cox.tki_ici.os.multi,
     members: [afp_gt400], says: "AFP > 400 ng/mL was the independent OS predictor in the TKI-ICI cohort"}
  - {place: text2.6, where: {sentence: 1}, type: most_common, keys: "ae.{event}.any.{group}.n", sum_over: group,
     exclude: [total, immune_related, dose_reduction, discontinuation],
     members: [hypertension, diarrhea, nausea_vomiting],
     says: "hypertension, diarrhoea and nausea/vomiting were the most common AEs"}
  - {place: table2, where: {note: 1}, type: interval_label, label_kinds: [q1, q3],
     says: "the footnote calls the intervals interquartile ranges"}
"""


# ----------------------------------------------------------------------------------------------- output
def q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def where_yaml(where: dict) -> str:
    return "{" + ", ".join(f"{k}: {q(v)}" for k, v in where.items()) + "}"


def render(entries: list[Entry]) -> str:
    out = [
        "# The published record of Yin et al., Cancer Medicine 2025;14(5):e70711: every number that the Results",
        "# (Tables 1-6, sections 2.1-2.7, the Abstract's Results paragraph) and the Methods 1.4 cut-offs print,",
        "# keyed as in docs/keys.md. Generated once by tools/build_published_record.py (dev only, needs the paper);",
        "# this file is the product and is read without the paper.",
        "schema_version: 1",
        'source: {citation: "Yin X, Deng N, Chen J, Ding X. Mono-TKI and TKI plus ICI in unresectable '
        'hepatocellular carcinoma progression on first-line lenvatinib: a real-world study. Cancer Medicine '
        '2025;14(5):e70711", doi: "10.1002/cam4.70711"}',
        FACTS.rstrip(),
        "",
        "entries:",
    ]
    seen: dict[str, int] = {}
    for e in sorted(entries, key=lambda e: (e.place, e.order)):
        base = f"{e.place}/{e.key}"
        seen[base] = seen.get(base, 0) + 1
        eid = base if seen[base] == 1 else f"{base}#{seen[base]}"
        value = e.value
        out += [
            f"  - id: {eid}",
            f"    key: {e.key}",
            f"    place: {e.place}",
            f"    where: {where_yaml(e.where)}",
            f"    value: {value}",
            f"    printed: {q(e.printed)}",
            f"    decimals: {e.decimals}",
            f"    kind: {e.kind}",
        ]
        if e.uncertain:
            out.append(f"    uncertain: {q(e.uncertain)}")
    return "\n".join(out) + "\n"


def build(paper: Path) -> str:
    lines = paper_lines(paper)
    entries = [*parse_table1(lines), *parse_table2(lines), *parse_table3(lines),
               *parse_cox_table(lines, 4, "all"), *parse_cox_table(lines, 5, "tki_ici"), *parse_table6(lines)]
    for place in TEXT:
        entries += parse_text(lines, place)
    return render(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if data/published.yaml is out of date")
    args = parser.parse_args(argv)
    paper = find_paper()
    if paper is None:
        print("build_published_record: the paper is not available here; skipped (dev-only tool)")
        return 0
    text = build(paper)
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else "data/published.yaml is out of date")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({text.count('  - id: ')} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
