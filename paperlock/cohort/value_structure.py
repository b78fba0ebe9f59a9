"""Which patient gets which continuous value, so that related laboratory indices move together.

The quantile targets fix each arm's values of a continuous variable and the calibration fixes which patients lie
above its cut-off; which patient within an arm and a side of the cut-off gets which value is free. The settings'
`value_structure.loadings` declare each index as a weighted sum of shared latent factors on the log scale (NLR as
neutrophils − lymphocytes, SIRI as neutrophils + monocytes − lymphocytes, ...). Every patient draws one standard
normal value per factor; within each arm and side of the cut-off the variable's values are dealt in the order of the
patient's score, the lowest value to the lowest score. The targets cannot move: the dealing permutes values within
the groups that every target sees as one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from paperlock.errors import PaperlockError


def loadings(settings: dict[str, Any], source: str = "generator settings") -> dict[str, dict[str, float]]:
    """{variable: {factor: weight}} from the settings' `value_structure` (empty without one), checked."""
    block = settings.get("value_structure")
    if block is None:
        return {}
    if not isinstance(block, dict) or not isinstance(block.get("loadings"), dict):
        raise PaperlockError(f"{source}: value_structure.loadings must map variables to {{factor: weight}}")
    out: dict[str, dict[str, float]] = {}
    for var, weights in block["loadings"].items():
        where = f"{source}: value_structure.loadings.{var}"
        if var not in settings.get("continuous", {}):
            raise PaperlockError(f"{where}: not a variable of `continuous`")
        if not isinstance(weights, dict) or not weights:
            raise PaperlockError(f"{where}: expected {{factor: weight}}")
        row = {}
        for factor, w in weights.items():
            if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w):
                raise PaperlockError(f"{where}.{factor}: weight {w!r} is not a finite number")
            row[str(factor)] = float(w)
        if not any(row.values()):
            raise PaperlockError(f"{where}: every weight is zero")
        out[str(var)] = row
    return out


def factors(structure: dict[str, dict[str, float]]) -> list[str]:
    return sorted({f for row in structure.values() for f in row})


def latent_scores(structure: dict[str, dict[str, float]], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """{variable: score per patient}: one standard normal draw per patient and factor (factors in sorted order)."""
    names = factors(structure)
    draws = dict(zip(names, rng.standard_normal((len(names), n)), strict=True))
    return {var: sum(w * draws[f] for f, w in row.items()) for var, row in structure.items()}


def deal(values: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The values re-assigned so that their order follows the score's (the lowest value to the lowest score)."""
    out = np.empty(len(values))
    out[np.argsort(score, kind="stable")] = np.sort(values)
    return out


def implied_correlation(structure: dict[str, dict[str, float]], a: str, b: str) -> float:
    """Correlation of two variables' scores (independent standard normal factors): the cosine of their weights."""
    wa, wb = structure[a], structure[b]
    dot = sum(w * wb.get(f, 0.0) for f, w in wa.items())
    return dot / math.sqrt(sum(w * w for w in wa.values()) * sum(w * w for w in wb.values()))


def value_correlation(df: pd.DataFrame, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """For each pair of structured variables: the correlation their factors imply and the cohort's Spearman
    correlation of the written values."""
    structure = loadings(settings)
    names = sorted(structure)
    cols = {v: settings["continuous"][v]["column"] for v in names}
    ranks = {v: df[cols[v]].rank().to_numpy(float) for v in names}
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rho = float(np.corrcoef(ranks[a], ranks[b])[0, 1])
            out.append({"pair": [a, b], "implied": round(implied_correlation(structure, a, b), 4),
                        "cohort": round(rho, 4)})
    return out
