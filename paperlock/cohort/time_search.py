"""Last calibration phase: survival times and events against the Cox rows, every Kaplan–Meier number held.

After the covariate columns are searched with the times fixed, the times themselves still have room: a time
may move wherever no curve it belongs to loses a printed number (a censoring between two events, an event
within the days that keep a median and its CI). This phase anneals such moves (time shifts, slides between
regimen neighbours, exchanges of the event flags) against the univariable and multivariable Cox rows, with the
count-oriented miss cost of the covariate search. No move may add a Kaplan–Meier failure to a curve it
touches, and the curves' own cost is scaled down (`KM_WEIGHT`) so that within their tolerances the Cox rows
decide. Measured 2026-11-24 after the multivariable phase (audit of the manuscript): 1026 -> 1035 of 1197
published numbers reproduced with 10,000 moves (50 s), 1036 with 20,000; the curves at their full weight and a
guard on the touched curves' summed failures instead of each curve's: 1031.
"""

from __future__ import annotations

import numpy as np

from paperlock.cohort.calibrate import Calibrator, Search, State, afp_guard, anneal
from paperlock.cohort.cox_search import ModelRows, univariable_phase
from paperlock.cohort.fast_survival import cox_multi
from paperlock.cohort.parallel import run_jobs
from paperlock.cohort.progress import Progress

KM_WEIGHT = 0.01  # the curves' weight in this phase (the settings' KM weight scaled down to it)
MOVES = {"pfs": 3, "os": 3, "slide_pfs": 1, "slide_os": 1, "event": 1}
T0, T1 = 0.3, 0.01  # annealing temperatures


class CoxTimeSearch(Search):
    """`Search` over every univariable row (log miss cost) plus the multivariable models, the curves scaled down."""

    uni_miss = "log"

    def __init__(self, cal: Calibrator, state: State) -> None:
        super().__init__(cal, state, uni_cols=None)
        self.models = {key: ModelRows.of(cal, key) for key in cal.multi_t}
        self.multi = {key: self._model_cost(key) for key in self.models}

    def _model_cost(self, key: tuple[str, str]) -> float:
        cal, s = self.cal, self.s
        mask = cal.pop_mask[key[0]]
        cols = [cal.col[c] for c in cal.multi_sets[key]]
        fit = cox_multi(s.time(key[1])[mask].astype(float), s.events(key[1])[mask], s.X[mask][:, cols])
        return cal.w_multi * float(self.models[key].cost(fit.beta[None], fit.se[None], "log")[0])

    def total(self) -> float:
        return (KM_WEIGHT / self.cal.w_km * sum(self.km.values()) + sum(float(v.sum()) for v in self.uni.values())
                + sum(self.multi.values()))

    def snapshot(self, keys_km, uni_keys) -> tuple:
        return (*super().snapshot(keys_km, uni_keys), dict(self.multi))

    def restore(self, snap: tuple) -> None:
        super().restore(snap[:2])
        self.multi = snap[2]

    def recompute(self, keys_km, uni_keys, cols: list[int] | None = None) -> None:
        super().recompute(keys_km, uni_keys, cols)
        for key in self.models:
            if key in uni_keys:
                self.multi[key] = self._model_cost(key)


def cox_time_phase(cal: Calibrator, state: State, rng: np.random.Generator, iterations: int,
                   progress: Progress) -> None:
    """Anneal survival times and events against the Cox rows; no move adds a Kaplan–Meier failure."""
    anneal(CoxTimeSearch(cal, state), rng, iterations, MOVES, progress, t0=T0, t1=T1, protect_km=True,
           locked=set(cal.curves))


def _tail_job(job: tuple) -> tuple[float, State]:
    """One seeded tail from a copy of the state: the time search, then the columns outside every model searched
    again on the new times. Returns (the Cox rows' cost under `CoxTimeSearch`, the state)."""
    cal, state, seed, time_iterations, uni_steps = job
    trial = state.copy()
    rng = np.random.default_rng(seed)
    quiet = Progress(enabled=False)
    cox_time_phase(cal, trial, rng, time_iterations, quiet)
    univariable_phase(cal, trial, rng, uni_steps, quiet, afp_guard(cal, trial), outside_models=True)
    return CoxTimeSearch(cal, trial).total(), trial


def final_tails(cal: Calibrator, state: State, rng: np.random.Generator, chains: int, time_iterations: int,
                uni_steps: int, progress: Progress) -> None:
    """The last two phases as `chains` independent seeded tails from the same state (on parallel processes);
    the tail with the lowest Cox cost is kept (the first of equals)."""
    jobs = [(cal, state, int(seed), time_iterations, uni_steps) for seed in rng.integers(2**63, size=chains)]
    results = run_jobs(_tail_job, jobs,
                       lambda k, result: progress.update(tail=f"{k + 1}/{chains}", cost=result[0]))
    best = min(range(len(results)), key=lambda k: (results[k][0], k))
    state.take(results[best][1])
    progress.done(tails=len(results), best=best + 1, cost=results[best][0],
                  costs=",".join(f"{cost:.1f}" for cost, _ in results))
