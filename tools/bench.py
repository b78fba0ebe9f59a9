"""`make bench`: how long each stage takes, and how the analysis scales to registry-sized cohorts.

Benchmarks are not tests: this prints figures and asserts nothing. Every figure is measured in the same run as
its baseline, so ratios compare across machines:

* CLI stages (`paperlock --help`, results, report cold/warm) against a bare `python -c pass`, and the cohort
  generator's compiled Kaplan–Meier kernel against its numpy reference;
* scaling: for each size (default 70, 10^4, 10^5, 10^6) a synthetic cohort is drawn with the study's spec
  (tools/bench_cohort.py) and the full analysis runs in its own subprocess, timed per stage with the peak
  resident memory of each stage (a sampling thread reads /proc/self/statm; tracemalloc is too slow for numpy);
* the same data go to R's survival (`coxph.fit`, `survfit`, `survdiff`; tools/bench_r.R) in the same run, so
  the Cox, Kaplan–Meier and log-rank figures are also ratios to R. Both sides are timed the same way: the
  time of one call, from a loop long enough (>= 0.2 s) for the clock, the best of `--repeat` loops, after a
  warm-up call (R compiles a function on its first calls; Python fills its caches). Both are handed the
  same ready arrays (the Python side: time, event and the 0/1 model matrix as numpy arrays; R: a `Surv` and
  a double matrix), so neither side's model-matrix building is timed; each call includes its own input
  checks, scaling and sorting. Cox figures: one model of 10 covariates (`cox_fit` vs `coxph.fit`), one
  covariate (the same), and the 10 univariable fits (`cox_univariable_batch`, the analysis' path, vs a loop
  of `coxph.fit` over the columns).

Cut-point searches with their permutation p-values cost n × permutations per search; above `--cutpoint-max-n`
patients they are left out of the scaling runs (and said so). The headline lines come last.
Usage: `make bench`, `make bench BENCH_SIZES=70,10000`, or `python tools/bench.py --sizes 70 --no-cli`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3
STAGES = {  # function in analysis.run -> stage name
    "read_cohort": "read", "_numeric_endpoints": "derive", "derive_all": "derive",
    "add_group_sizes": "table1", "add_baseline_table": "table1", "add_survival": "km", "add_cox_models": "cox",
    "add_outcome_table": "outcomes", "add_graded_event_table": "outcomes", "add_flow": "flow",
    "add_listings": "listings", "add_cutpoints": "cutpoints",
}
GOAL_STAGES = ("read", "derive", "table1", "km", "cox")  # the issue's "full analysis" goal


def timed(cmd: list[str], repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def imports_of(cmd: list[str]) -> set[str]:
    """Top-level modules imported by a command (python -X importtime)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *cmd], cwd=ROOT, capture_output=True, text=True)
    return {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}


def cli_rows(study: str, repeat: int) -> list[tuple[str, float]]:
    py = sys.executable
    out = Path(tempfile.mkdtemp(prefix="paperlock-bench-"))
    results = out / "results.json"
    cli = [py, "-m", "paperlock.cli"]
    rows = [("python -c pass (baseline)", timed([py, "-c", "pass"], repeat=5))]
    rows.append(("paperlock --help", timed([*cli, "--help"], repeat)))
    rows.append(("results (cold)", timed([*cli, "results", "--study", study, "--out", str(results)])))
    rows.append(("results (warm)", timed([*cli, "results", "--study", study, "--out", str(results)], repeat)))
    report = [*cli, "report", "--study", study, "--results", str(results), "--out", str(out)]

    def cold_report() -> float:
        """Median of `repeat` renders into an empty build folder (nothing to reuse: figures, tables, outputs)."""
        times = []
        for _ in range(repeat):
            shutil.rmtree(out / "figures", ignore_errors=True)
            shutil.rmtree(out / ".cache", ignore_errors=True)
            times.append(timed(report))
        return statistics.median(times)

    rows.append(("report all formats (cold)", cold_report()))
    rows.append(("report all formats (warm: template touched, outputs reused)", timed(report, repeat)))
    rows.append(("report all formats (warm, --no-cache: every output rewritten, as after a template edit)",
                 timed([*report, "--no-cache"], repeat)))
    rows.append(("report html only (warm)", timed([*report, "--formats", "html"], repeat)))
    rows.append(("make report (cold: results + report, all formats)", rows[2][1] + rows[4][1]))
    rows.extend(template_edit_rows(Path(study), report, repeat))
    shutil.rmtree(out, ignore_errors=True)
    return rows


def template_edit_rows(study: Path, report: list[str], repeat: int) -> list[tuple[str, float]]:
    """Re-render after editing a template of a copy of the study: a word added to the first paragraph, and a new
    attribute on it (a change of the page's markup); each repeat is a new edit."""
    copy = Path(tempfile.mkdtemp(prefix="paperlock-bench-study-")) / "study"
    shutil.copytree(study, copy, ignore=shutil.ignore_patterns(".git", ".venv", "build", "tests", "__pycache__"))
    report = [*report[:report.index("--study") + 1], str(copy), *report[report.index("--study") + 2:]]
    subprocess.run(report, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    html = Path(report[report.index("--out") + 1]) / "manuscript.html"
    template = None
    for candidate in sorted((copy / "templates").rglob("*.j2")):  # the first that feeds the manuscript
        original = candidate.read_text(encoding="utf-8")
        if "<p>" in original:
            candidate.write_text(original.replace("<p>", "<p>Benchmark ", 1), encoding="utf-8")
            subprocess.run(report, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            if "<p>Benchmark " in html.read_text(encoding="utf-8"):
                template = candidate
                break
            candidate.write_text(original, encoding="utf-8")
    rows = []
    if template is not None:
        for label, edit in (("a word added", lambda i: f"<p>Edit{i} "),
                            ("a new attribute: page markup changed", lambda i: f'<p data-edit="{i}">')):
            times = []
            for i in range(repeat):
                template.write_text(original.replace("<p>", edit(i), 1), encoding="utf-8")
                times.append(timed(report))
            rows.append((f"report all formats after a template edit ({label})", statistics.median(times)))
    shutil.rmtree(copy.parent, ignore_errors=True)
    return rows


# ---------------------------------------------------------------- worker (one size, in its own process)

class RssSampler(threading.Thread):
    """Peak resident set size since the last `reset`, sampled every few milliseconds."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.page = interval, 0, os.sysconf("SC_PAGE_SIZE")
        self.stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def reset(self) -> int:
        self.peak = self.rss()
        return self.peak

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())


def worker(study: Path, cutpoint_max_n: int, repeat: int) -> dict:
    """Run the study's full analysis with per-stage timing and peak memory, then the engine-vs-R timings."""
    sys.path.insert(0, str(ROOT))
    import analysis.run as run
    from paperlock.spec import load_spec

    sampler = RssSampler()
    sampler.start()
    stages: dict[str, list[float]] = {}
    captured: dict[str, object] = {}

    def wrap(name: str, fn: Callable) -> Callable:
        def inner(*args, **kwargs):
            if name == "add_cutpoints" and captured.get("n", 0) > cutpoint_max_n:
                stages.setdefault("cutpoints (skipped)", [0.0, 0.0])
                return None
            sampler.reset()
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            sampler.peak = max(sampler.peak, sampler.rss())
            entry = stages.setdefault(STAGES[name], [0.0, 0.0])
            entry[0] += time.perf_counter() - start
            entry[1] = max(entry[1], sampler.peak)
            if name == "read_cohort":
                captured["n"] = len(out)
            if name == "derive_all":
                captured["frame"] = out
            if name == "_numeric_endpoints":
                captured["raw"] = out
            return out
        return inner

    for name in STAGES:
        if hasattr(run, name):
            setattr(run, name, wrap(name, getattr(run, name)))
    loaded = load_spec(study)
    start = time.perf_counter()
    run.compute(loaded)
    total = time.perf_counter() - start
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    named = sum(v[0] for k, v in stages.items())
    stages["other (validation, provenance, results document)"] = [total - named, peak]
    report = {"n": captured["n"], "total": total, "peak": peak, "stages": stages}
    report.update(engine_vs_r(loaded, captured["frame"], captured["raw"], study, repeat))
    sampler.stop.set()
    return report


def engine_vs_r(loaded, frame, raw, folder: Path, repeat: int) -> dict:
    """Cox (10 covariates, and each alone), Kaplan–Meier and log-rank by the first grouping: engine vs R."""
    import numpy as np

    from analysis.codes import level_index
    from analysis.stats import cox, km

    spec = loaded.spec
    if shutil.which("Rscript") is None or not spec.cox:
        return {}
    models = spec.cox[0]
    ep = spec.endpoints[models.endpoints[0]]
    time_ = raw[ep.time].to_numpy(dtype=float) / spec.conventions.month_days
    event = raw[ep.event].to_numpy(dtype=int)
    columns = []
    for cov in models.covariates:
        if cov.type == "continuous":
            continue
        for term in spec.cox_terms(cov):
            col = frame[cov.variable]
            if not col.isna().any():
                columns.append((level_index(col, [term.level]) == 0).astype(float))
    X = np.column_stack(columns[:10])
    grouping = next(iter(spec.groupings.values()))
    codes = [lvl.code for lvl in spec.variables[grouping.variable].level_list]
    group = level_index(frame[grouping.variable], codes)
    keep = group >= 0
    time_, event, X, group = time_[keep], event[keep], X[keep], group[keep]
    ties = spec.conventions.cox_ties

    def best(fn: Callable[[], object]) -> float:
        return per_call(fn, repeat)

    def km_all() -> None:
        for g in np.unique(group):
            km.km_estimate(time_[group == g], event[group == g])

    engine = {
        "coxph.fit_multi": best(lambda: cox.cox_fit(time_, event, X, ties=ties)),
        "coxph.fit_one": best(lambda: cox.cox_fit(time_, event, X[:, :1], ties=ties)),
        "coxph.fit_uni_all": best(lambda: cox.cox_univariable_batch(time_, event, X, ties=ties)),
        "survfit": best(km_all),
        "survdiff": best(lambda: km.logrank(time_, event, group)),
    }
    coef = cox.cox_fit(time_, event, X, ties=ties).coef
    csv = folder / "r_input.csv"
    import pandas as pd

    frame_r = pd.DataFrame({"time": time_, "event": event, "group": group})
    for j in range(X.shape[1]):
        frame_r[f"x{j + 1}"] = X[:, j].astype(int)
    frame_r.to_csv(csv, index=False, float_format="%.17g")
    proc = subprocess.run(["Rscript", str(ROOT / "tools" / "bench_r.R"), str(csv), ties, str(repeat)],
                          capture_output=True, text=True, check=True)
    r_times, r_coef = {}, None
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["r", "coef"]:
            r_coef = [float(v) for v in parts[2:]]
        elif parts and parts[0] == "r":
            r_times[parts[1]] = float(parts[2])
    agree = (float(np.max(np.abs(coef - np.array(r_coef)) / np.abs(np.array(r_coef)))) if r_coef else None)
    return {"engine": engine, "r": r_times, "cox_p": X.shape[1], "cox_rel_diff_vs_r": agree, "ties": ties}


def per_call(fn: Callable[[], object], repeat: int, min_seconds: float = 0.2) -> float:
    """Seconds per call of fn: a warm-up call, then loops of k calls (k grown until a loop takes min_seconds),
    the best of `repeat` loops. tools/bench_r.R times R the same way."""
    fn()
    k = 1
    while True:
        start = time.perf_counter()
        for _ in range(k):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or k >= 1_000_000:
            break
        k *= 4
    best = elapsed / k
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(k):
            fn()
        best = min(best, (time.perf_counter() - start) / k)
    return best


def cohort_kernel_rows(repeat: int) -> list[str]:
    """The cohort generator's Kaplan–Meier kernel (compiled) against its numpy reference, per curve, on
    curves of a regimen's, an arm's and the study's size (the search evaluates ~10⁶ of them)."""
    import numpy as np

    from paperlock.cohort.fast_survival import _km_steps, km_steps_numpy

    rng = np.random.default_rng(1)
    out = []
    for n in (10, 49, 70):
        t = rng.integers(1, 1500, n) / 30.0
        e = (rng.random(n) < 0.7).astype(float)
        fast = per_call(lambda t=t, e=e: _km_steps(t, e), repeat)
        ref = per_call(lambda t=t, e=e: km_steps_numpy(t, e), repeat)
        out.append(f"bench cohort KM kernel, {n:2d} patients  {fast * 1e6:7.1f} µs  numpy reference "
                   f"{ref * 1e6:7.1f} µs  {ref / fast:5.1f}x faster")
    return out


# ---------------------------------------------------------------- driver

def scaling_run(study: str, n: int, seed: int, cutpoint_max_n: int, repeat: int) -> dict:
    sys.path.insert(0, str(ROOT / "tools"))
    from bench_cohort import make_cohort

    folder = Path(tempfile.mkdtemp(prefix=f"paperlock-bench-{n}-"))
    try:
        start = time.perf_counter()
        make_cohort(study, n, seed, folder)
        generated = time.perf_counter() - start
        proc = subprocess.run([sys.executable, __file__, "--worker", str(folder), "--cutpoint-max-n",
                               str(cutpoint_max_n), "--repeat", str(repeat)], cwd=ROOT, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise SystemExit(f"bench: n={n} failed:\n{proc.stderr[-3000:]}")
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        report["generate"] = generated
        return report
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def print_scaling(report: dict) -> None:
    n = report["n"]
    print(f"\nbench scaling n={n}: full analysis {report['total']:.2f} s, peak {report['peak'] / GIB:.2f} GiB "
          f"(cohort drawn in {report['generate']:.1f} s)")
    for stage, (seconds, peak) in report["stages"].items():
        print(f"  {stage:<50} {seconds:8.3f} s   peak {peak / GIB:5.2f} GiB")
    for name, seconds in report.get("engine", {}).items():
        r = report["r"].get(name)
        ratio = f"{seconds / r:5.2f}x R" if r else "   (no R)"
        r_ms = r * 1e3 if r is not None else float("nan")
        print(f"  engine vs R {name:<20} {seconds * 1e3:9.3f} ms  R {r_ms:9.3f} ms  {ratio}")
    if report.get("cox_rel_diff_vs_r") is not None:
        print(f"  Cox coefficients vs R coxph.fit: largest relative difference {report['cox_rel_diff_vs_r']:.1e}")


def _secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 0.1 else f"{seconds * 1e3:.2f} ms"


def headlines(cli: list[tuple[str, float]], runs: list[dict], cutpoint_max_n: int) -> list[str]:
    out = []
    base = dict(cli).get("python -c pass (baseline)")
    for name, seconds in cli[1:]:
        out.append(f"bench {name}: {seconds:.2f} s ({seconds / base:.1f}x python)")
    for rep in runs:
        n = rep["n"]
        goal = sum(v[0] for k, v in rep["stages"].items() if k in GOAL_STAGES)
        goal_peak = max((v[1] for k, v in rep["stages"].items() if k in GOAL_STAGES), default=0)
        skipped = " (cut-point searches left out)" if n > cutpoint_max_n else ""
        out.append(f"bench full analysis n={n}: {rep['total']:.1f} s, peak {rep['peak'] / GIB:.2f} GiB{skipped}")
        out.append(f"bench read + derive + Table 1 + KM + Cox n={n}: {goal:.1f} s, peak {goal_peak / GIB:.2f} GiB")
        if "engine" in rep and rep["r"]:
            e, r, p = rep["engine"], rep["r"], rep["cox_p"]
            out.append(f"bench cox n={n} ({p} covariates, {rep['ties']}): {_secs(e['coxph.fit_multi'])}, "
                       f"{e['coxph.fit_multi'] / r['coxph.fit_multi']:.2f}x R coxph.fit")
            if "coxph.fit_one" in e and "coxph.fit_one" in r:
                out.append(f"bench cox n={n} (1 covariate): {_secs(e['coxph.fit_one'])}, "
                           f"{e['coxph.fit_one'] / r['coxph.fit_one']:.2f}x R coxph.fit")
            out.append(f"bench cox univariable x{p} n={n}: {_secs(e['coxph.fit_uni_all'])}, "
                       f"{e['coxph.fit_uni_all'] / r['coxph.fit_uni_all']:.2f}x R coxph.fit")
            out.append(f"bench km n={n}: {_secs(e['survfit'])}, {e['survfit'] / r['survfit']:.2f}x R survfit; "
                       f"log-rank {_secs(e['survdiff'])}, {e['survdiff'] / r['survdiff']:.2f}x R survdiff")
        cut = rep["stages"].get("cutpoints")
        if cut:
            out.append(f"bench cut-point searches n={n}: {cut[0]:.2f} s for all declared searches")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=".")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="70,10000,100000,1000000", help="comma-separated cohort sizes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cutpoint-max-n", type=int, default=100_000,
                        help="leave out cut-point searches above this many patients (default 100000)")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI stage timings")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker), args.cutpoint_max_n, args.repeat)))
        return 0
    cli = [] if args.no_cli else cli_rows(args.study, args.repeat)
    if cli:
        base = cli[0][1]
        width = max(len(name) for name, _ in cli)
        for name, seconds in cli:
            print(f"bench {name:<{width}}  {seconds:7.3f} s  {seconds / base:7.1f}x python")
        for label, cmd, banned in (
                ("paperlock --help", ["-m", "paperlock.cli", "--help"], ("pandas", "matplotlib", "lifelines")),
                ("paperlock report (its modules)", ["-c", "import paperlock.commands.report, report.render"],
                 ("lifelines",))):
            heavy = sorted(imports_of(cmd) & set(banned))
            print(f"bench imports of {label}: {', '.join(heavy) if heavy else 'none of ' + ', '.join(banned)}")
    if not args.no_cli:
        for line in cohort_kernel_rows(args.repeat):
            print(line)
    runs = []
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        rep = scaling_run(args.study, n, args.seed, args.cutpoint_max_n, 2 if n >= 1_000_000 else args.repeat)
        print_scaling(rep)
        runs.append(rep)
    print()
    for line in headlines(cli or [("python -c pass (baseline)", 1.0)], runs, args.cutpoint_max_n):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
