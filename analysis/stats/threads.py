"""BLAS on one thread for the many small matrix products of an iterative fit.

A Cox Newton step multiplies p × m by m × p matrices a few times; OpenBLAS splits each product over its threads,
and on a busy two-core machine every split waits for a core (a Cox fit on 10^6 patients went from 0.3 s to 2 s).
One thread keeps the time predictable, and the last digits independent of the machine's thread count (a
threaded product may split its sums; results agree to rounding, see tests/test_performance_equivalence.py).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

_controller: Any = None


def one_blas_thread() -> AbstractContextManager:
    """A context in which BLAS calls run on one thread (threadpoolctl; a few microseconds to enter)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
