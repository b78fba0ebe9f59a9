"""Sample quantiles of Hyndman & Fan (1996) types 1–9, exactly as R ``stats::quantile(x, probs, type=)``.

There is deliberately no default type: callers name the convention (R's default is 7; SPSS's EXAMINE
"HAVERAGE" default corresponds to type 6). The arithmetic, including R's ``4 * .Machine$double.eps`` fuzz
for types 4–9 and the special-cased type 7 formula, follows R 4.2's ``quantile.default``.
"""

from __future__ import annotations

import numpy as np

_AB = {4: (0.0, 1.0), 5: (0.5, 0.5), 6: (0.0, 0.0), 7: (1.0, 1.0), 8: (1 / 3, 1 / 3), 9: (3 / 8, 3 / 8)}
_FUZZ = 4 * np.finfo(float).eps


def quantile(x, probs, type: int):  # noqa: A002 - R's argument name
    """Quantile(s) of ``x`` at ``probs`` (scalar or array) using Hyndman–Fan ``type`` (1–9)."""
    if type not in range(1, 10):
        raise ValueError("type must be an integer 1..9")
    xs = np.sort(np.asarray(x, dtype=float).ravel())
    if np.isnan(xs).any():
        raise ValueError("x contains NaN; drop missing values first")
    scalar = np.ndim(probs) == 0
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    if np.any((p < -100 * np.finfo(float).eps) | (p > 1 + 100 * np.finfo(float).eps)):
        raise ValueError("probs outside [0, 1]")
    p = np.clip(p, 0.0, 1.0)
    n = xs.size
    if n == 0:
        out = np.full(p.shape, np.nan)
        return float(out[0]) if scalar else out
    if type == 7:
        index = 1 + max(n - 1, 0) * p
        lo = np.floor(index).astype(int)
        hi = np.ceil(index).astype(int)
        qs = xs[lo - 1].copy()
        h = index - lo
        i = (index > lo) & (xs[hi - 1] != qs)
        qs[i] = (1 - h[i]) * qs[i] + h[i] * xs[hi[i] - 1]
    else:
        if type <= 3:
            nppm = n * p - 0.5 if type == 3 else n * p
            j = np.floor(nppm)
            if type == 1:
                h = (nppm > j).astype(float)
            elif type == 2:
                h = ((nppm > j) + 1) / 2
            else:
                h = ((nppm != j) | (np.mod(j, 2) == 1)).astype(float)
        else:
            a, b = _AB[type]
            nppm = a + p * (n + 1 - a - b)
            j = np.floor(nppm + _FUZZ)
            h = nppm - j
            h[np.abs(h) < _FUZZ] = 0.0
        j = j.astype(int)
        padded = np.concatenate(([xs[0], xs[0]], xs, [xs[-1], xs[-1]]))
        lo_v, hi_v = padded[j + 1], padded[j + 2]  # R's x[j + 2L], x[j + 3L] (1-based)
        qs = lo_v.copy()
        qs[h == 1] = hi_v[h == 1]
        other = (h > 0) & (h < 1) & (lo_v != hi_v)
        qs[other] = ((1 - h) * lo_v + h * hi_v)[other]
    return float(qs[0]) if scalar else qs
