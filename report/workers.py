"""Worker processes for rendering: which start method, how many workers, and errors that cross the boundary.

Figures are drawn and the PDF is typeset in child processes so that they use every core. On Linux children are
forked: they inherit the imported modules, the spec and the results, so starting one costs milliseconds; other
platforms spawn them. `PAPERLOCK_JOBS=1` renders everything in the calling process, one step after another.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import pickle
import sys
import traceback

from paperlock.errors import PaperlockError

JOBS_ENV = "PAPERLOCK_JOBS"


def context() -> multiprocessing.context.BaseContext:
    """`fork` on Linux (cheap, inherits the loaded modules), `spawn` elsewhere (fork is unsafe on macOS)."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def jobs() -> int:
    """How many processes may work at once: `PAPERLOCK_JOBS` when set, else the cores this process may use."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise PaperlockError(f"{JOBS_ENV}={value!r}: expected a whole number of processes") from None
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def portable(exc: BaseException) -> tuple[BaseException | None, str]:
    """(the exception if it survives pickling, else None; its formatted traceback) to send to the parent."""
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any unpicklable exception is reported by its text
        return None, text
    return exc, text


def reraise(exc: BaseException | None, text: str, what: str) -> None:
    """Raise a child's error in the parent: user errors as they are, anything else with the child's traceback."""
    if isinstance(exc, PaperlockError):
        raise exc
    raise RuntimeError(f"{what} failed in a worker process:\n{text}") from exc
