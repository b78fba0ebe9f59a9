"""Render every figure type from synthetic data into build/figures-demo/ (SVG + 300-dpi PNG).

Synthetic only: no study data is read. Run: .venv/bin/python tools/demo_figures.py [outdir]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report.figures import (  # noqa: E402
    flow_chart,
    forest_plot,
    km_panel_grid,
    km_plot,
    save_figure,
    waterfall_plot,
)

AT_RISK_TIMES = [0, 3, 6, 9, 12, 15, 18, 21, 24]


def product_limit(time: np.ndarray, event: np.ndarray) -> dict[str, Any]:
    """A plain Kaplan–Meier estimate for the demo (the engine's own lives in analysis/)."""
    times = np.unique(time)
    surv, s = [], 1.0
    for t in times:
        at_risk = (time >= t).sum()
        s *= 1 - ((time == t) & (event == 1)).sum() / at_risk
        surv.append(s)
    surv_arr = np.array(surv)
    below = np.nonzero(surv_arr <= 0.5)[0]
    censored = [float(t) for t in times if ((time == t) & (event == 0)).any()]
    return {"time": [0.0, *times.tolist()], "survival": [1.0, *surv_arr.tolist()], "censor_times": censored,
            "median": float(times[below[0]]) if below.size else None}


def synthetic_block(rng: np.random.Generator, groups: dict[str, tuple[str, int, float]],
                    endpoint: str) -> dict[str, Any]:
    """Exponential event times with uniform censoring, one KM curve per group."""
    block: dict[str, Any] = {"endpoint": endpoint, "stratifier": "demo", "time_unit": "months", "groups": {},
                             "at_risk": {"times": AT_RISK_TIMES, "n": {}}, "logrank_p": float(rng.uniform())}
    for code, (label, n, median) in groups.items():
        t_event = rng.exponential(median / np.log(2), n)
        t_cens = rng.uniform(2, 30, n)
        time = np.round(np.minimum(t_event, t_cens), 2)
        event = (t_event <= t_cens).astype(int)
        block["groups"][code] = {"label": label, "n": n, **product_limit(time, event)}
        block["at_risk"]["n"][code] = [int((time >= t).sum()) for t in AT_RISK_TIMES]
    return block


def waterfall_rows(rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for arm, n in (("tki", 21), ("tki_ici", 49)):
        for change in np.clip(rng.normal(0, 35, n), -100, 90):
            response = "cr" if change <= -99 else "pr" if change <= -30 else "pd" if change >= 20 else "sd"
            rows.append({"best_pct_change": float(change), "response": response, "arm": arm,
                         "afp_change": ("decreased", "elevated", None)[int(rng.integers(3))]})
    rows[3]["response"], rows[3]["best_pct_change"] = "cr", -100.0
    return rows


def flow_facts() -> dict[str, Any]:
    return {
        "stages": [
            {"label": "Patients who received the first-line drug and then stopped it", "n": 85,
             "lines": [{"label": "Disease progression", "n": 60}, {"label": "Adverse events", "n": 25}]},
            {"label": "Proceeded to second-line systemic therapy", "n": 76},
            {"label": "Enrolled", "n": 70},
        ],
        "exits": [{"after": 1, "label": "Excluded", "n": 6,
                   "lines": [{"label": "Liver function worse than allowed", "n": 1},
                             {"label": "Performance status too poor", "n": 2},
                             {"label": "Lost to follow-up", "n": 3}]}],
        "groups": [
            {"label": "Arm A", "n": 21, "children": [{"label": "Drug X", "n": 12}, {"label": "Drug Y", "n": 9}]},
            {"label": "Arm B", "n": 49, "children": [{"label": "Drug X + antibody", "n": 23},
                                                     {"label": "Drug Y + antibody", "n": 10},
                                                     {"label": "Other + antibody", "n": 16}]},
        ],
    }


def forest_rows() -> list[dict[str, Any]]:
    uni = [("Age > 60 years", 0.82, 0.45, 1.49, 0.51), ("Male sex", 1.31, 0.62, 2.77, 0.48),
           ("Macrovascular invasion", 2.10, 1.18, 3.74, 0.012), ("Extrahepatic spread", 1.62, 0.93, 2.82, 0.09),
           ("AFP > 400 ng/mL", 1.44, 0.83, 2.51, 0.2), ("Combination arm", 0.48, 0.26, 0.88, 0.0004),
           ("Child–Pugh B", None, None, None, None)]
    multi = [("Macrovascular invasion", 1.95, 1.07, 3.55, 0.029), ("Combination arm", 0.51, 0.27, 0.95, 0.034)]
    rows: list[dict[str, Any]] = []
    for group, entries in (("Univariable", uni), ("Multivariable", multi)):
        for label, hr, lo, hi, p in entries:
            rows.append({"group": group, "label": label, "hr": hr, "ci_lower": lo, "ci_upper": hi, "p": p,
                         **({"status": "not_estimable"} if hr is None else {})})
    return rows


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "figures-demo"
    rng = np.random.default_rng(20250305)
    arms = {"tki": ("TKI", 21, 3.1), "tki_ici": ("TKI + ICI", 49, 5.3)}
    regimens = {"reg": ("REG", 12, 3.5), "sor": ("SOR", 9, 2.8), "reg_ici": ("REG + ICI", 23, 5.5),
                "sor_ici": ("SOR + ICI", 10, 4.6), "oth_ici": ("Other + ICI", 16, 5.0)}
    pfs_arm, os_arm = synthetic_block(rng, arms, "pfs"), synthetic_block(rng, arms, "os")
    pfs_reg, os_reg = synthetic_block(rng, regimens, "pfs"), synthetic_block(rng, regimens, "os")
    figures = {
        "km-single": km_plot(pfs_arm, ylabel="Progression-free survival"),
        "km-grid": km_panel_grid([pfs_arm, os_arm, pfs_reg, os_reg],
                                 ylabels=["Progression-free survival", "Overall survival"] * 2),
        "waterfall": waterfall_plot(waterfall_rows(rng)),
        "waterfall-by-arm": waterfall_plot(waterfall_rows(rng), facet_by="arm",
                                           facet_labels={"tki": "TKI", "tki_ici": "TKI + ICI"}),
        "flow": flow_chart(flow_facts()),
        "forest": forest_plot(forest_rows()),
    }
    for stem, fig in figures.items():
        saved = save_figure(fig, out / stem)
        print(f"{saved['svg']}  {saved['width_mm']} × {saved['height_mm']} mm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
