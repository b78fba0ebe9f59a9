"""The calibration report: each record entry the cohort determines, its value in the cohort, and the verdict.

Tiers (from the settings): counts, percentages, Table 1 quantiles and KM medians must round to the printed
value; a KM CI bound is exact too unless no SE puts both printed bounds at the whole-day median ± 1.96·SE
(then within 0.01); Cox HRs and CI bounds and p-values of Tables 1 (continuous) and 3 within their tolerances.
Other p-values (categorical Table 1, Table 6, Cox) follow from the counts and are reported without a verdict.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from paperlock.cohort.calibrate import km_interval_symmetric
from paperlock.cohort.fast_survival import Z95
from paperlock.cohort.targets import Entry, Record


def tier_of(e: Entry, record: Record, settings: dict[str, Any], continuous: set[str]) -> tuple[str, float, str]:
    """(tier name, tolerance, 'abs'|'rel'|'printed'|'none') for one record entry."""
    tiers = settings["tiers"]
    parts = e.key.split(".")
    half = 0.5 * 10.0 ** -e.decimals + 1e-9
    if parts[0] == "cox":
        model, stat = parts[3], parts[5]
        if stat == "p":
            return "reported", 0.0, "none"
        kind = "hr" if stat == "hr" else "ci"
        t = tiers[f"cox_{model}_{kind}"]
        return f"cox_{model}_{kind}", float(t.get("abs", t.get("rel", 0))), "abs" if "abs" in t else "rel"
    if parts[0] == "km" and parts[-1] in ("ci_lower", "ci_upper"):
        if not km_interval_symmetric(record, ".".join(parts[:4]), float(settings["month_days"])):
            return "km_ci_asymmetric", float(tiers["km_ci_asymmetric"]["abs"]), "abs"
        return "exact", half, "printed"
    if parts[-1] == "p":
        if (parts[0] == "baseline" and parts[1] in continuous) or parts[0] == "response":
            return "p_value", float(tiers["p_value"]["abs"]), "abs"
        return "reported", 0.0, "none"
    if parts[0] == "cutoff":
        return "setting", 0.0, "none"
    return "exact", half, "printed"


def build_report(record: Record, settings: dict[str, Any], measured: dict[str, float],
                 seconds: float, seed: int, extra: dict[str, Any]) -> dict[str, Any]:
    continuous = set(settings["continuous"])
    rows = []
    for e in record.all_entries:
        if e.key not in measured:
            continue
        got = measured[e.key]
        tier, tol, mode = tier_of(e, record, settings, continuous)
        diff = got - e.value
        if mode == "printed":
            ok = abs(diff) <= tol
        elif mode == "abs":
            ok = abs(diff) <= tol + 1e-9
        elif mode == "rel":
            ok = abs(diff) <= tol * abs(e.value) + 1e-9
        else:
            ok = None
        ok = None if ok is None else bool(ok)
        got, diff = float(got), float(diff)
        excluded = record.exclusions.get(e.id)
        rows.append({"id": e.id, "key": e.key, "printed": e.printed, "target": e.value, "cohort": got,
                     "difference": diff, "tier": tier, "tolerance": tol, "mode": mode,
                     "pass": ok, "excluded": excluded, "limit": record.limits.get(e.id)})
    judged = [r for r in rows if r["pass"] is not None and not r["excluded"]]
    summary: dict[str, Any] = {}
    for r in judged:
        t = summary.setdefault(r["tier"], {"targets": 0, "pass": 0})
        t["targets"] += 1
        t["pass"] += bool(r["pass"])
    return {"synthetic": True, "seed": seed, "calibration_seconds": round(seconds, 1),
            "summary": summary, "conflicting_keys": record.conflicts, "entries": rows,
            "se_inflation": se_inflation(rows), **extra}


def se_inflation(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per multivariable Cox row whose univariable and multivariable intervals are all targets (no bound
    excluded): the factor by which the SE of log HR (from the interval: log(upper / lower) / 2z) grows from the
    univariable to the multivariable fit, printed and in the cohort. Covariates related to the others in the
    model widen their multivariable interval; a cohort whose covariates are less related widens it less."""
    bound: dict[tuple[str, str], tuple[float, float]] = {}  # (row, bound) -> (printed, cohort), first targeted
    for r in rows:
        parts = r["key"].split(".")
        if parts[0] != "cox" or len(parts) != 6 or parts[5] not in ("ci_lower", "ci_upper") or r["excluded"]:
            continue
        bound.setdefault((".".join(parts[:5]), parts[5]), (float(r["target"]), float(r["cohort"])))
    out = []
    for base in sorted({b for b, _ in bound if b.split(".")[3] == "multi"}):
        uni = base.replace(".multi.", ".uni.")
        try:
            ends = [bound[(b, e)] for b in (uni, base) for e in ("ci_lower", "ci_upper")]
        except KeyError:
            continue
        se = [[np.log(ends[k + 1][w] / ends[k][w]) / (2 * Z95) for k in (0, 2)] for w in (0, 1)]
        out.append({"row": base, "printed": round(float(se[0][1] / se[0][0]), 4),
                    "cohort": round(float(se[1][1] / se[1][0]), 4)})
    return out


def index_correlation(covariates: Any, names: list[str]) -> dict[str, Any]:
    """The largest |phi| (Pearson correlation of two 0/1 columns) among the named columns of a covariate frame,
    and its pair."""
    best: dict[str, Any] = {"max_abs_phi": 0.0, "pair": []}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            x, y = covariates[a].to_numpy(float), covariates[b].to_numpy(float)
            if x.std() == 0 or y.std() == 0:
                continue
            phi = float(np.corrcoef(x, y)[0, 1])
            if abs(phi) > best["max_abs_phi"] + 1e-12:
                best = {"max_abs_phi": round(abs(phi), 4), "pair": [a, b]}
    return best


def most_events_per_day(df: Any) -> dict[str, int]:
    """{endpoint: the largest number of its events on one day} of a cohort frame (`<ep>_days`, `<ep>_event`)."""
    out = {}
    for ep in ("pfs", "os"):
        days = df.loc[df[f"{ep}_event"] == 1, f"{ep}_days"]
        out[ep] = int(days.value_counts().max()) if len(days) else 0
    return out


def pfs_censoring_gaps(df: Any) -> dict[str, float]:
    """Patients censored for PFS and alive at last follow-up: how many, and the days from the PFS censoring to the
    last follow-up (median, largest, how many exceed a year). In a study both are usually near the last visit; no
    calibration target constrains the gap (only the optional `realism.max_pfs_censoring_gap`), so the report shows
    it."""
    alive = df[(df["pfs_event"] == 0) & (df["os_event"] == 0)]
    gap = (alive["os_days"] - alive["pfs_days"]).astype(float)
    if not len(gap):
        return {"n": 0}
    return {"n": len(gap), "median_days": float(gap.median()), "max_days": float(gap.max()),
            "over_a_year": int((gap > 365).sum())}


def early_progressions(df: Any, within: int | None) -> dict[str, int]:
    """Progressions that are not the death itself (PFS event, and not a death on the same day): how many, the
    earliest day, and with `within` (the settings' `realism.first_assessment_day`) how many come before it."""
    death = (df["os_event"] == 1) & (df["pfs_days"] == df["os_days"])
    days = df.loc[(df["pfs_event"] == 1) & ~death, "pfs_days"]
    if not len(days):
        return {"n": 0}
    out = {"n": len(days), "earliest_day": int(days.min())}
    if within is not None:
        out.update(within=int(within), n_within=int((days < within).sum()))
    return out


def unmatched_events(df: Any) -> dict[str, int]:
    """How many patients progressed and were alive at last follow-up, and were censored for PFS and died."""
    return {"progressed_alive": int(((df["pfs_event"] == 1) & (df["os_event"] == 0)).sum()),
            "censored_died": int(((df["pfs_event"] == 0) & (df["os_event"] == 1)).sum())}


VERDICTS = {True: "pass", False: "FAIL", None: "reported"}


def render_markdown(rep: dict[str, Any]) -> str:
    out = ["# Calibration of the synthetic cohort", "",
           "SYNTHETIC DATA. `data/cohort.csv` is a reconstruction, not the study's patients: every number "
           "below compares the synthetic cohort with the published record (`data/published.yaml`).", "",
           f"Seed {rep['seed']}; calibration time {rep['calibration_seconds']} s.", "", "## Summary", "",
           "| tier | targets | pass | fail |", "|---|---:|---:|---:|"]
    for tier, t in sorted(rep["summary"].items()):
        out.append(f"| {tier} | {t['targets']} | {t['pass']} | {t['targets'] - t['pass']} |")
    if rep.get("realism"):
        r = rep["realism"]
        most = ", ".join(f"{ep.upper()} {n}" for ep, n in r["most_events_per_day"].items())
        out += ["", f"Realism: the most events of one endpoint on one day are {most} "
                f"(limit {r['max_events_per_day']})."]
        if "unmatched" in r:
            u = r["unmatched"]
            if u["progressed_alive"] or u["censored_died"]:
                out += ["", f"Event flags: {u['progressed_alive']} patient(s) progressed and were alive at last "
                        f"follow-up, {u['censored_died']} censored for PFS died later; every other patient "
                        "has the same PFS and OS event flag (settings: `unmatched_event_pairs`)."]
            else:
                out += ["", "Event flags: the same patients progressed and died (settings: "
                        "`unmatched_event_pairs`)."]
        e = r.get("early_progressions")
        if e and e["n"]:
            limit = r.get("min_progression_day")
            before = (f"{e['n_within']} of {e['n']} come before day {e['within']} (`realism.first_assessment_day`)"
                      if "within" in e else f"{e['n']} in all")
            out += ["", f"Progressions: the earliest progression that is not the death itself is on day "
                    f"{e['earliest_day']}; {before}. "
                    + (f"The settings hold them to day {limit} or later (`realism.min_progression_day`)."
                       if limit is not None else
                       "No setting holds them back (`realism.min_progression_day`): the Kaplan–Meier and Cox "
                       "targets place them.")]
        g = r.get("pfs_censoring")
        if g and g["n"]:
            out += ["", f"Censoring: {g['n']} patient(s) censored for PFS were alive at last follow-up; their PFS "
                    f"censoring precedes the last follow-up by a median of {g['median_days']:g} days (at most "
                    f"{g['max_days']:g}; {g['over_a_year']} by more than a year). "
                    + (f"The settings hold it within {r['max_pfs_censoring_gap']} days "
                       "(`realism.max_pfs_censoring_gap`: the last scan near the last visit)."
                       if r.get("max_pfs_censoring_gap") is not None else
                       "No target constrains this gap (the search places PFS censorings where the Kaplan–Meier "
                       "numbers need them); in a study both would usually fall near the last visit.")]
    out += _inflation_lines(rep)
    out += _value_lines(rep)
    out += ["", "## Excluded record entries (contradictory; never tuned for)", "",
            "| entry | printed | cohort | reason |", "|---|---:|---:|---|"]
    for r in rep["entries"]:
        if r["excluded"]:
            out.append(f"| `{r['id']}` | {r['printed']} | {r['cohort']:.4g} | {r['excluded']} |")
    if rep.get("conflicting_keys"):
        out += ["", "Keys printed with different values in different places (the table's value is the target): "
                + ", ".join(f"`{k}`" for k in rep["conflicting_keys"]), ""]
    limited = [r for r in rep["entries"] if r.get("limit") and not r["excluded"]]
    if limited:
        out += ["", "## Known limits of the generator (targets kept, counted above)", ""]
        for reason in dict.fromkeys(r["limit"] for r in limited):
            out += [reason, "", "| entry | printed | cohort | verdict |", "|---|---:|---:|---|"]
            for r in limited:
                if r["limit"] == reason:
                    out.append(f"| `{r['id']}` | {r['printed']} | {r['cohort']:.4f} | {VERDICTS[r['pass']]} |")
            out.append("")
    out += ["", "## Failing targets", "", "| entry | printed | cohort | difference | tier |",
            "|---|---:|---:|---:|---|"]
    for r in rep["entries"]:
        if r["pass"] is False and not r["excluded"]:
            out.append(f"| `{r['id']}` | {r['printed']} | {r['cohort']:.4f} | {r['difference']:+.4f} | {r['tier']} |")
    out += ["", "## All entries", "", "| entry | printed | cohort | difference | tier | verdict |",
            "|---|---:|---:|---:|---|---|"]
    for r in rep["entries"]:
        verdict = "excluded" if r["excluded"] else VERDICTS[r["pass"]]
        out.append(f"| `{r['id']}` | {r['printed']} | {r['cohort']:.4f} | {r['difference']:+.4f} | {r['tier']} "
                   f"| {verdict} |")
    return "\n".join(out) + "\n"


def _inflation_lines(rep: dict[str, Any]) -> list[str]:
    rows = rep.get("se_inflation") or []
    if not rows:
        return []
    wider = sum(r["printed"] > r["cohort"] for r in rows)
    med = (float(np.median([r["printed"] for r in rows])), float(np.median([r["cohort"] for r in rows])))
    out = ["", f"Multivariable intervals: in {wider} of {len(rows)} multivariable rows whose univariable and "
           "multivariable intervals are all targets, the printed interval widens more from the univariable to "
           "the multivariable model than the cohort's (SE of log HR multiplied by a median "
           f"{med[0]:.2f} printed, {med[1]:.2f} in the cohort). A covariate related to the model's other "
           "covariates widens its interval, so the study's covariates were more related to each other than the "
           "cohort's; no target sets how they relate directly."]
    missed = {r["key"].rsplit(".", 1)[0] for r in rep["entries"]
              if r["pass"] is False and not r["excluded"] and ".multi." in r["key"]}
    if missed:
        among = sum(r["row"] in missed for r in rows if r["printed"] > r["cohort"])
        out[-1] += (f" Of the {len(missed)} multivariable rows with a missed number, {among} are among the "
                    f"{wider} that widen more in print.")
    corr = (rep.get("realism") or {}).get("index_correlation")
    if corr and corr.get("pair"):
        out[-1] += (f" Among the cohort's dichotomised continuous covariates the largest |phi| is "
                    f"{corr['max_abs_phi']:.2f} ({' and '.join(f'`{c}`' for c in corr['pair'])}).")
    out += ["", "| row | SE ratio printed | SE ratio cohort |", "|---|---:|---:|"]
    out += [f"| `{r['row']}` | {r['printed']:.2f} | {r['cohort']:.2f} |" for r in rows]
    return out


def _value_lines(rep: dict[str, Any]) -> list[str]:
    pairs = [p for p in (rep.get("realism") or {}).get("value_correlation") or [] if p["implied"] != 0]
    if not pairs:
        return []
    same = sum((p["cohort"] > 0) == (p["implied"] > 0) for p in pairs)
    out = ["", f"Continuous values: dealt within each arm and side of the cut-off by the shared latent factors of "
           f"`value_structure`. Of the {len(pairs)} pairs of indices whose factors relate them, {same} correlate "
           "in the cohort with the sign the factors imply (Spearman; the flags above the cut-offs, set by the Cox "
           "search, are nearly unrelated and cap these correlations).", "",
           "| pair | implied | cohort (Spearman) |", "|---|---:|---:|"]
    out += [f"| {' / '.join(p['pair'])} | {p['implied']:+.2f} | {p['cohort']:+.2f} |" for p in pairs]
    return out


def to_json(rep: dict[str, Any]) -> str:
    return json.dumps(rep, indent=1, sort_keys=True, allow_nan=True) + "\n"
