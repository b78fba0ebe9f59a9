"""The compiled Newton–Raphson of small unstratified Cox fits (_cox_kernel.c), built and loaded with ctypes.

A fit of 70 rows is mostly Python and numpy call overhead; the kernel runs the whole Newton–Raphson (the same
start, step-halving, convergence and cholesky2 rules as cox.py's `_iterate`) in one call. The shared library
is built with the system C compiler (``$CC`` or ``cc``) on first use, or by tools/setup_env.sh, into a cache
folder keyed by the source's hash (``$PAPERLOCK_NATIVE_DIR``, else ``<sys.prefix>/paperlock-native``, else
``~/.cache/paperlock``); the file is written under a temporary name and renamed, so concurrent builds cannot
collide. Without a compiler, or when the build fails, `load()` returns None (logged once at debug level) and
cox.py uses its numpy path, which stays the reference (tests/test_cox_kernel.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("_cox_kernel.c")
CFLAGS = ("-O2", "-shared", "-fPIC", "-ffp-contract=off")  # no fused multiply-add: the same bits everywhere
DISABLE_ENV = "PAPERLOCK_NO_NATIVE"  # set (non-empty) to force the numpy path

log = logging.getLogger(__name__)
_state: dict[str, object] = {}  # "lib": the loaded kernel or None, once tried


def _cache_dirs() -> list[Path]:
    env = os.environ.get("PAPERLOCK_NATIVE_DIR")
    dirs = [Path(env)] if env else []
    return dirs + [Path(sys.prefix) / "paperlock-native", Path.home() / ".cache" / "paperlock"]


def library_name(source: Path = SOURCE) -> str:
    """File name of the built library: the source's and flags' hash, so an edit gives a new build."""
    digest = hashlib.sha256(source.read_bytes() + " ".join(CFLAGS).encode()).hexdigest()[:16]
    return f"{source.stem}-{digest}.so"


def build(source: Path = SOURCE) -> Path | None:
    """The built library's path (built now if missing), or None without a compiler or a writable folder.
    `source`: this kernel by default; the project's other C kernels (paperlock/cohort/km_kernel.py) are built
    the same way, each keyed by its own source."""
    name = library_name(source)
    for folder in _cache_dirs():
        if (folder / name).is_file():
            return folder / name
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        log.debug("cox kernel: no C compiler found; using the numpy path")
        return None
    for folder in _cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=folder)
        except OSError:
            continue
        os.close(fd)
        try:
            subprocess.run([compiler, *CFLAGS, "-o", tmp, str(source), "-lm"], check=True, capture_output=True,
                           timeout=120)
            os.replace(tmp, folder / name)  # atomic: a concurrent build's file is equally good
            for stale in folder.glob(f"{source.stem}-*.so"):  # builds of earlier sources (a loaded one stays mapped)
                if stale.name != name:
                    stale.unlink(missing_ok=True)
            return folder / name
        except (OSError, subprocess.SubprocessError) as exc:
            log.debug("cox kernel: build in %s failed (%s); using the numpy path", folder, exc)
            Path(tmp).unlink(missing_ok=True)
            return None
    log.debug("cox kernel: no writable cache folder; using the numpy path")
    return None


def open_library(source: Path, declare: Callable[[ctypes.CDLL], None]) -> ctypes.CDLL | None:
    """A C kernel built from `source` (`build`) and loaded, `declare` setting its functions' signatures; None
    when disabled (`PAPERLOCK_NO_NATIVE`) or when it cannot be built or loaded (logged at debug level)."""
    if os.environ.get(DISABLE_ENV):
        return None
    try:
        path = build(source)
        if path is None:
            return None
        lib = ctypes.CDLL(str(path))
        declare(lib)
        return lib
    except OSError as exc:
        log.debug("%s: cannot load (%s); using numpy", source.name, exc)
        return None


def _declare(lib: ctypes.CDLL) -> None:
    i32, dbl, ptr, lng = ctypes.c_int, ctypes.c_double, ctypes.c_void_p, ctypes.c_long
    lib.cox_newton.argtypes = [i32, i32, ptr, ptr, ptr, lng, lng, i32, i32, i32, dbl, dbl, ptr]
    lib.cox_newton.restype = i32


def load() -> ctypes.CDLL | None:
    """The kernel (built on first use), or None when it cannot be built or loaded or is disabled."""
    if "lib" not in _state:
        _state["lib"] = open_library(SOURCE, _declare)
    return _state["lib"]  # type: ignore[return-value]


def reset(lib: ctypes.CDLL | None | bool = True) -> None:
    """Forget the loaded kernel (True: load again on next use), or pin it (a CDLL, or None for the numpy path)."""
    _state.clear()
    if lib is not True:
        _state["lib"] = lib


def newton(lib: ctypes.CDLL, time: np.ndarray, event: np.ndarray, x: np.ndarray, efron: bool, scalar: bool,
           iter_max: int, eps: float, toler: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, int, bool]:
    """Run the kernel on float64 rows in any order (time, event 0/1, x (n, p) of any strides; the kernel sorts by
    time, stably). `scalar`: one 0/1 covariate, stepped as `_newton_one`. Returns newbeta, the
    score, the information, the inverse of its non-singular block, the singular columns (bool), the loglik at
    newbeta and at 0, the number of iterations and whether they converged."""
    n, p = x.shape
    time, event = np.ascontiguousarray(time, dtype=float), np.ascontiguousarray(event, dtype=float)
    rs, cs = x.strides
    if rs % 8 or cs % 8:
        x = np.ascontiguousarray(x)
        rs, cs = x.strides
    out = np.empty(4 + 3 * p + 2 * p * p)
    if lib.cox_newton(n, p, time.ctypes.data, event.ctypes.data, x.ctypes.data, rs // 8, cs // 8, int(efron),
                      int(scalar), iter_max, eps, toler, out.ctypes.data):
        raise MemoryError("cox kernel: out of memory")
    pp = p * p
    var_end = 2 * p + 2 * pp
    tail = out[var_end + p:].tolist()
    return (out[:p], out[p:2 * p], out[2 * p:2 * p + pp].reshape(p, p), out[2 * p + pp:var_end].reshape(p, p),
            out[var_end:var_end + p] > 0, tail[0], tail[1], int(tail[2]), tail[3] > 0)
