"""Kaplan–Meier analyses declared in the spec: curves, medians with CIs, numbers at risk, log-rank tests.

Keys: `km.<endpoint>.<stratifier>.<group>.median|ci_lower|ci_upper` (months), `km.<endpoint>.<stratifier>.logrank_p`,
`events.<endpoint>.all.n|pct`. The whole cohort uses stratifier `overall` and group `all`. The median's CI is
computed in the spec's convention and, alongside it, in every other convention under `...<convention>.ci_*`
so a reader can compare SPSS's symmetric interval with R's Brookmeyer–Crowley ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.baseline import group_codes
from analysis.codes import level_index
from analysis.stats import km
from paperlock.results import ResultsBuilder
from paperlock.spec import Spec, SurvivalAnalysis

KM_CI_METHODS = ("spss", "log", "log-log", "plain")
_CI_DESCRIPTIONS = {
    "spss": "median ± z·SE, SE = Greenwood SE of S(median) / density estimated from the curve (as SPSS)",
    "log": "Brookmeyer–Crowley, log transform (R survfit conf.type='log')",
    "log-log": "Brookmeyer–Crowley, log(-log) transform (R survfit conf.type='log-log')",
    "plain": "Brookmeyer–Crowley, untransformed (R survfit conf.type='plain')",
}


def _median_method(rb: ResultsBuilder, spec: Spec, ci: str) -> str:
    return rb.method(
        f"km.median.{ci}", "Kaplan–Meier median survival with its confidence interval",
        reference="Kaplan & Meier 1958; Brookmeyer & Crowley 1982",
        ci=_CI_DESCRIPTIONS[ci], confidence_level=spec.conventions.confidence_level,
        variance="Greenwood", median="smallest time with S(t) <= 0.5 (R's midpoint rule on flat stretches)",
        month_length=f"{spec.conventions.month_days:g} days",
    )


def add_survival(spec: Spec, analysis: SurvivalAnalysis, frame: pd.DataFrame, raw: pd.DataFrame,
                 rb: ResultsBuilder) -> None:
    ep = spec.endpoints[analysis.endpoint]
    months = raw[ep.time].to_numpy(dtype=float) / spec.conventions.month_days
    event = raw[ep.event].to_numpy(dtype=int)
    if analysis.by is None:
        stratifier, groups, masks = "overall", ["all"], {"all": np.ones(len(raw), dtype=bool)}
        labels = {"all": "All patients"}
    else:
        stratifier = analysis.stratifier
        var = spec.variables[spec.groupings[analysis.by].variable]
        groups = analysis.groups or group_codes(spec, analysis.by)
        group_i = level_index(frame[spec.groupings[analysis.by].variable], groups)
        masks = {g: group_i == k for k, g in enumerate(groups)}
        labels = {lvl.code: lvl.label for lvl in var.level_list}
    prefix = f"km.{analysis.endpoint}.{stratifier}"
    block: dict = {"endpoint": analysis.endpoint, "stratifier": stratifier, "time_unit": "months", "order": [],
                   "groups": {}, "at_risk": {"times": analysis.at_risk_times_months, "n": {}}}
    for g in groups:
        t, e = months[masks[g]], event[masks[g]]
        if len(t) == 0:
            continue
        curve = km.km_estimate(t, e)
        for ci in KM_CI_METHODS:
            med = km.km_median(curve, ci=ci, level=spec.conventions.confidence_level)
            method = _median_method(rb, spec, ci)
            status = {} if med.status == "estimated" else {"status": med.status}
            base = prefix + f".{g}" if ci == spec.conventions.km_ci else prefix + f".{g}.{ci.replace('-', '')}"
            if ci == spec.conventions.km_ci:
                rb.add(f"{base}.median", med.median, "median", method, unit="months", **status)
            rb.add(f"{base}.ci_lower", med.lower, "ci_lower", method, unit="months")
            rb.add(f"{base}.ci_upper", med.upper, "ci_upper", method, unit="months")
            if ci == spec.conventions.km_ci:
                block["groups"][g] = {
                    "label": labels[g], "n": int(len(t)), "events": int(e.sum()),
                    "time": [0.0, *curve.time.tolist()], "survival": [1.0, *curve.survival.tolist()],
                    "censor_times": curve.time[curve.n_censor > 0].tolist(), "median": med.median,
                }
                block["at_risk"]["n"][g] = curve.at_risk(np.asarray(analysis.at_risk_times_months)).tolist()
                block["order"].append(g)  # results.json sorts keys; this keeps the spec's group order
    if len(block["groups"]) > 1:
        present = [g for g in groups if g in block["groups"]]
        mask = np.isin(group_i, [groups.index(g) for g in present])
        # integer labels in the codes' sorted order: the same group order (and arithmetic) as the codes themselves
        label = np.array([sorted(present).index(g) if g in present else -1 for g in groups])
        lr = km.logrank(months[mask], event[mask], label[group_i[mask]])
        m = rb.method("km.logrank", "log-rank test (Mantel–Haenszel), chi-square with k − 1 df",
                      reference="R survival::survdiff(rho = 0)", rho="0")
        rb.add(f"{prefix}.logrank_p", lr.p, "p", m)
        rb.add(f"{prefix}.logrank_chi2", lr.chi2, "statistic", m)
        block["logrank_p"] = lr.p
    else:
        m = rb.method("count", "number of patients")
        mp = rb.method("percent", "n / non-missing N in the group × 100")
        rb.add(f"events.{analysis.endpoint}.all.n", int(event.sum()), "n", m)
        rb.add(f"events.{analysis.endpoint}.all.pct", 100.0 * event.sum() / len(event), "pct", mp, unit="%")
    rb.curves[prefix] = block
