"""The compiled Kaplan–Meier steps of the cohort search (_km_kernel.c), built and loaded with ctypes.

The search evaluates ~10⁶ curves of 10–70 patients, where numpy's call overhead is most of the cost. The
shared library is built like the analysis' Cox kernel (`analysis.stats.cox_kernel.build`: the system C
compiler, -ffp-contract=off, a cache folder keyed by the source's hash; `PAPERLOCK_NO_NATIVE` disables it).
Without it `fast_survival` uses `km_steps_numpy`, the reference, which gives the same bits
(tests/test_cohort_search.py), so the cohort does not depend on which one ran.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from analysis.stats import cox_kernel

SOURCE = Path(__file__).with_name("_km_kernel.c")

_state: dict[str, object] = {}  # "lib": the loaded kernel or None, once tried; "buf": `_Buffers`


def _declare(lib: ctypes.CDLL) -> None:
    ptr, i32, dbl = ctypes.c_void_p, ctypes.c_int, ctypes.c_double
    lib.km_steps.argtypes = [i32, ptr, ptr, dbl, dbl, ptr, ptr, ptr, ptr]
    lib.km_steps.restype = i32


def load() -> ctypes.CDLL | None:
    """The kernel (built on first use), or None when it cannot be built or loaded or is disabled."""
    if "lib" not in _state:
        _state["lib"] = cox_kernel.open_library(SOURCE, _declare)
    return _state["lib"]  # type: ignore[return-value]


def reset(lib: ctypes.CDLL | None | bool = True) -> None:
    """Forget the loaded kernel (True: load again on next use), or pin it (a CDLL, or None for numpy)."""
    _state.clear()  # the buffers too
    if lib is not True:
        _state["lib"] = lib


class _Buffers:
    """Input and output arrays reused across calls, with their addresses read once (numpy's `.ctypes` costs
    microseconds per array, more than the kernel on a regimen's curve)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.t, self.e = np.empty(n), np.empty(n)
        self.out = np.empty((3, n))
        self.idx = np.empty(3, dtype=np.intc)
        self.addr = [a.ctypes.data for a in (self.t, self.e, self.out[0], self.out[1], self.out[2], self.idx)]


def km_steps(lib: ctypes.CDLL, t: np.ndarray, e: np.ndarray, r_tol: float, eps: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """`fast_survival.km_steps_numpy` by the kernel, for float64 times and 0/1 events (new arrays returned)."""
    n = t.size
    buf = _state.get("buf")
    if not isinstance(buf, _Buffers) or buf.n < n:
        buf = _state["buf"] = _Buffers(max(n, 128))
    buf.t[:n], buf.e[:n] = t, e
    a_t, a_e, a_te, a_s, a_g, a_i = buf.addr
    k = lib.km_steps(n, a_t, a_e, r_tol, eps, a_te, a_s, a_g, a_i)
    if k < 0:
        raise MemoryError("km kernel: out of memory")
    m, up, lo = buf.idx.tolist()
    return buf.out[0, :k].copy(), buf.out[1, :k].copy(), buf.out[2, :k].copy(), m, up, lo
