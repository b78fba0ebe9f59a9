"""The textbook Cox partial likelihood, shared by the equivalence tests: a loop over event times (risk set:
time >= t), Breslow or Efron ties. Slow and obvious on purpose."""

from __future__ import annotations

import numpy as np


def textbook_derivs(t, e, x, beta, ties):
    """Log partial likelihood, score and information by a loop over event times (risk set: time >= t)."""
    eta = x @ beta
    w = np.exp(eta)
    p = beta.size
    ll, u, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in np.unique(t[e == 1]):
        risk, dead = t >= s, (t == s) & (e == 1)
        d = int(dead.sum())
        s0, s1, s2 = w[risk].sum(), w[risk] @ x[risk], (x[risk] * w[risk, None]).T @ x[risk]
        e0, e1, e2 = w[dead].sum(), w[dead] @ x[dead], (x[dead] * w[dead, None]).T @ x[dead]
        ll += eta[dead].sum()
        u += x[dead].sum(axis=0)
        for k in range(d):
            f = k / d if ties == "efron" else 0.0
            den = s0 - f * e0
            a = (s1 - f * e1) / den
            ll -= np.log(den)
            u -= a
            info += (s2 - f * e2) / den - np.outer(a, a)
    return ll, u, info
