"""`data/dictionary.yaml`: type, unit, levels, label and source table of every cohort column."""

from __future__ import annotations

from typing import Any

import pandas as pd
import yaml

DESCRIPTION = (
    "SYNTHETIC cohort of 70 patients reconstructed by paperlock.cohort from the published aggregates of "
    "Yin et al., Cancer Medicine 2025;14(5):e70711; the study's patient data are not public and none are "
    "used here. Counts, percentages and Table 1 quartiles (R quantile type 7) are met by construction; "
    "survival times, events and covariate assignments were searched (simulated annealing, fixed seed) "
    "against the record's Kaplan-Meier medians and SPSS-style CIs and the Cox hazard ratios (Breslow ties); "
    "inflammation indices are stored as index values (the paper gives no laboratory values). "
    "data/calibration.md reports every targeted number, the value this cohort gives and excluded "
    "contradictory numbers. Do not use for clinical inference."
)

LABELS = {
    "patient_id": ("string", None, "Synthetic patient identifier", None),
    "arm": ("categorical", None, "Second-line treatment arm", "all"),
    "regimen": ("categorical", None, "Second-line regimen", "table2"),
    "pfs_days": ("integer", "days", "Progression-free survival time from start of second-line therapy", "table2"),
    "pfs_event": ("integer", None, "1 = progression or death, 0 = censored", "table2"),
    "os_days": ("integer", "days", "Overall survival time from start of second-line therapy", "table2"),
    "os_event": ("integer", None, "1 = death, 0 = censored", "table2"),
    "age": ("integer", "years", "Age", "table1"),
    "crp_mg_l": ("number", "mg/L", "C-reactive protein", "table1"),
    "anri": ("number", None, "Albumin-to-neutrophil ratio index", "table1"),
    "lmr": ("number", None, "Lymphocyte-to-monocyte ratio", "table1"),
    "nlr": ("number", None, "Neutrophil-to-lymphocyte ratio", "table1"),
    "plr": ("number", None, "Platelet-to-lymphocyte ratio", "table1"),
    "pni": ("number", None, "Prognostic nutritional index (as printed by the study)", "table1"),
    "sn": ("number", None, "Symptom number index (as printed by the study)", "table1"),
    "siri": ("number", None, "Systemic immune-inflammation response index", "table1"),
    "gender": ("categorical", None, "Gender", "table1"),
    "cirrhosis": ("categorical", None, "Cirrhosis", "table1"),
    "pvtt": ("categorical", None, "Portal vein tumour thrombus", "table1"),
    "metastasis": ("categorical", None, "Extrahepatic metastasis", "table1"),
    "etiology": ("categorical", None, "Aetiology", "table1"),
    "ecog": ("integer", None, "ECOG performance status", "table1"),
    "bclc": ("categorical", None, "BCLC stage", "table1"),
    "child_pugh": ("categorical", None, "Child-Pugh class", "table1"),
    "prior_surgery": ("categorical", None, "Prior hepatectomy", "table1"),
    "prior_tace": ("categorical", None, "Prior TACE", "table1"),
    "prior_ablation": ("categorical", None, "Prior ablation", "table1"),
    "albi_grade": ("integer", None, "ALBI grade", "table1"),
    "tumour_number": ("integer", "count", "Number of intrahepatic tumours", "table1"),
    "tumour_size_cm": ("number", "cm", "Largest tumour diameter", "table1"),
    "afp_ng_ml": ("number", "ng/mL", "Baseline alpha-fetoprotein", "table1"),
    "best_response": ("categorical", None, "Best overall response (mRECIST)", "table3"),
    "best_pct_change": ("number", "%", "Best change in target-lesion sum (CR -100, PR <= -30, SD, PD >= +20)",
                        "figure4"),
    "afp_8w_ng_ml": ("number", "ng/mL", "AFP after 8 weeks of second-line therapy (vs baseline: elevated/decreased)",
                     "text2.3"),
    "len_stop_reason": ("categorical", None, "Why first-line lenvatinib stopped", "text2.2"),
    "subsequent_therapy": ("categorical", None, "Third-line systemic therapy ('none' if none)", "text2.7"),
}


# Plausible range of each numeric column for a real study (enforced by `paperlock validate`); wide enough for
# any second-line HCC cohort, narrow enough to catch unit slips (months for days, g/L for mg/L) and typos.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "pfs_days": (0, 3650), "pfs_event": (0, 1), "os_days": (0, 3650), "os_event": (0, 1),
    "age": (18, 100), "crp_mg_l": (0, 500), "anri": (0, 500), "lmr": (0, 100), "nlr": (0, 200),
    "plr": (0, 3000), "pni": (0, 2000), "sn": (0, 20000), "siri": (0, 100), "ecog": (0, 4),
    "albi_grade": (1, 3), "tumour_number": (1, 50), "tumour_size_cm": (0.1, 40), "afp_ng_ml": (0, 1e7),
    "best_pct_change": (-100, 1000), "afp_8w_ng_ml": (0, 1e7),
}
AE_GRADES = (0, 5)
# Cross-column rules every dataset of this design must meet (see paperlock.data_dictionary).
CHECKS: list[dict[str, str]] = [
    {"rule": "less_equal", "left": "pfs_days", "right": "os_days"},
    {"rule": "non_empty_levels", "column": "arm"},
]


def build_dictionary(df: pd.DataFrame) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for c in df.columns:
        if c.startswith("ae_"):
            event = c[3:].replace("_", " ")
            flag = c in ("ae_dose_reduction", "ae_discontinuation")
            label = (f"AE leading to {event}: worst CTCAE grade of the patient's AEs, 0 = no" if flag
                     else f"Adverse event '{event}': worst CTCAE v5.0 grade, 0 = none")
            cols[c] = {"type": "integer", "unit": "CTCAE grade", "allowed": [0, 1, 2, 3, 4, 5],
                       "min": AE_GRADES[0], "max": AE_GRADES[1], "label": label, "table": "table6"}
            continue
        typ, unit, label, table = LABELS.get(c, ("string", None, c, None))
        entry: dict[str, Any] = {"type": typ, "label": label}
        if c == "patient_id":
            entry["identifier"] = True
        if unit:
            entry["unit"] = unit
        if table:
            entry["table"] = table
        if typ == "categorical" or (typ == "integer" and df[c].nunique() <= 8 and c != "age"):
            entry["levels"] = sorted({v.item() if hasattr(v, "item") else v for v in df[c].unique()},
                                     key=str)
        elif typ in ("number", "integer"):
            entry["range_in_data"] = [float(df[c].min()), float(df[c].max())]
        if c in PLAUSIBLE:
            entry["min"], entry["max"] = PLAUSIBLE[c]
        cols[c] = entry
    checks = [ck for ck in CHECKS if all(ck[k] in cols for k in ("left", "right", "column") if k in ck)]
    return {"synthetic": True, "description": DESCRIPTION, "rows": int(len(df)),
            "screening_file": "data/screening.csv", "columns": cols, "checks": checks}


def dictionary_yaml(df: pd.DataFrame) -> str:
    return yaml.safe_dump(build_dictionary(df), sort_keys=False, allow_unicode=True, width=110)
