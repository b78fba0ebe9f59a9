"""Cox partial-likelihood derivatives for small fits, from a dense risk-set matrix (few numpy calls per step).

A fit of a few hundred rows is mostly numpy call overhead, so the risk sets are one (rows × events) matrix A
built once per fit, one column per event (a time with d events has d columns): A[i, k] = 1 when row i is at
risk at event k's time (time >= it). Every sum of a Newton step is then a product with A:

* S0, S1 = A' (w, w x) in one product, with w = exp(x b - max);
* loglik = sum over events of x b - sum_k log S0_k;
* score and information from C = A (1 / S0), each row's sum of 1 / S0_k over the risk sets it is in:
  Z = [1 x]' diag(w C) [1 x] holds sum_i w_i C_i x_i = sum_k S1_k / S0_k (the score's second term) and
  X' diag(w C) X = sum_k S2_k / S0_k; the information subtracts sum_k M_k M_k' with M_k = S1_k / S0_k.

Breslow: a time's d columns are equal (d times the time's sums). Efron: the k-th of d tied events (k = 0..d-1)
weighs the rows with an event at that time 1 - k/d instead of 1, which gives Efron's S0 - (k/d) E0,
S1 - (k/d) E1 and S2 - (k/d) E2 in the same products.
"""

from __future__ import annotations

import math

import numpy as np

_max = np.maximum.reduce  # the ufuncs themselves: an array method goes through a Python wrapper
_sum = np.add.reduce


def risk_set_matrix(time: np.ndarray, event: np.ndarray, efron: bool) -> np.ndarray:
    """The (rows × events) matrix A of the module docstring, Efron's weights 1 - k/d included."""
    dead = event > 0
    event_time = np.sort(time[dead])  # one risk set per event
    at_risk = (time[:, None] >= event_time).astype(float)
    if efron:
        first = np.searchsorted(event_time, event_time)  # the first event at the same time
        k = np.arange(event_time.size) - first  # k-th event of its time
        if k.any():  # ties: the time's own events weigh 1 - k/d
            d = np.searchsorted(event_time, event_time, side="right") - first
            at_risk -= ((time[:, None] == event_time) & dead[:, None]) * (k / d)
    return at_risk


class DenseBinary:
    """One 0/1 covariate x: a risk set is A0 rows with weight 1 and A1 with e^b (A0 = A'(1 - x), A1 = A'x), so
    S0 = A0 + A1 e^b and S1 = S2 = A1 e^b; `derivs(b)` gives the loglik, score and information as floats."""

    def __init__(self, time: np.ndarray, event: np.ndarray, x: np.ndarray, efron: bool) -> None:
        at_risk = risk_set_matrix(time, event, efron)
        self.a1 = x @ at_risk
        self.a0 = _sum(at_risk) - self.a1
        self.events, self.x_events = float(at_risk.shape[1]), float(x @ event)

    def derivs(self, b: float) -> tuple[float, float, float]:
        shift = max(b, 0.0) if b == b else b  # the larger linear predictor (0 or b); NaN stays NaN
        s1 = self.a1 * math.exp(b - shift)
        s0 = self.a0 * math.exp(-shift) + s1
        m = s1 / s0
        loglik = b * self.x_events - shift * self.events - float(_sum(np.log(s0)))
        return loglik, self.x_events - float(_sum(m)), float(_sum(m - m * m))


class DenseRiskSets:
    """One stratum's risk sets as a dense matrix; `derivs(beta)` gives the log partial likelihood, the score and
    the information at beta. Rows need not be sorted; x is the (standardised) design matrix, event 0/1 floats."""

    def __init__(self, time: np.ndarray, event: np.ndarray, x: np.ndarray, efron: bool) -> None:
        n, p = x.shape
        self.at_risk = at_risk = risk_set_matrix(time, event, efron)  # (n, events)
        x1t = np.empty((p + 1, n))  # a row of ones, then the covariates
        x1t[0] = 1.0
        x1t[1:] = x.T
        self.x1t, self.x1, self.xt = x1t, x1t.T, x1t[1:]
        self.work = np.empty_like(x1t)
        self.xsum_events = self.xt @ event
        self.events = float(at_risk.shape[1])

    def derivs(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = beta @ self.xt
        shift = float(_max(eta))  # exp(eta - max) stays finite; every sum is shift-invariant
        eta -= shift
        w = np.exp(eta, out=eta)
        xw = np.multiply(self.x1t, w, out=self.work)
        s = xw @ self.at_risk  # (p + 1, events): S0, then S1
        inv = 1.0 / s[0]
        loglik = float(beta @ self.xsum_events) - shift * self.events + float(_sum(np.log(inv)))
        z = np.multiply(xw, self.at_risk @ inv, out=self.work) @ self.x1
        m = s[1:] * inv  # (p, events): M_k
        return loglik, self.xsum_events - z[0, 1:], z[1:, 1:] - m @ m.T
