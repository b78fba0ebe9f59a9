"""Independent seeded jobs of the calibration on PAPERLOCK_COHORT_WORKERS processes (default 2).

The workers are forked from the calling process and inherit the jobs (nothing but the results is pickled, so a
job may hold closures). Each job carries its own seed and the caller chooses among the results by value and
order, so the outcome does not depend on the number of processes. A job may itself call `run_jobs`: inside a
worker the nested jobs run one after the other in that worker.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

_PENDING: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
_IN_WORKER = False  # set in the forked workers: their own jobs run serially (a pool's workers cannot fork)


def workers(n_jobs: int) -> int:
    if _IN_WORKER:
        return 1
    return max(1, min(int(os.environ.get("PAPERLOCK_COHORT_WORKERS", "2")), n_jobs))


def _run_index(i: int) -> Any:
    global _IN_WORKER
    assert _PENDING is not None
    _IN_WORKER = True
    fn, jobs = _PENDING
    return fn(jobs[i])


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any],
             on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """[fn(job) for job in jobs], on up to PAPERLOCK_COHORT_WORKERS forked processes; `on_result(i, result)` is
    called as the results arrive, in order (for a progress display)."""
    global _PENDING
    n = workers(len(jobs))
    out = []
    if n <= 1:
        for i, job in enumerate(jobs):
            out.append(fn(job))
            if on_result is not None:
                on_result(i, out[-1])
        return out
    _PENDING = (fn, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            for i, result in enumerate(pool.imap(_run_index, range(len(jobs)), chunksize=1)):
                out.append(result)
                if on_result is not None:
                    on_result(i, result)
    finally:
        _PENDING = None
    return out
