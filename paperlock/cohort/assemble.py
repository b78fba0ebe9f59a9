"""Put the cohort together: one row per patient with raw values, plus the level codes used to measure it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from paperlock.cohort.baseline_values import categorical_columns, continuous_columns, raw_categorical
from paperlock.cohort.calibrate import State
from paperlock.cohort.clinical import (
    adverse_events,
    afp_week8,
    best_response,
    len_stop_reason,
    pct_change,
    subsequent_therapy,
)
from paperlock.cohort.design import Design
from paperlock.cohort.progress import Progress
from paperlock.cohort.targets import Record


def assemble(design: Design, record: Record, settings: dict[str, Any], state: State,
             rng: np.random.Generator, value_iterations: int, progress: Progress) -> tuple[pd.DataFrame, dict]:
    X = state.X
    col = {c.name: j for j, c in enumerate(design.covariates)}
    cont, residual = continuous_columns(design, X, settings, rng, value_iterations, progress)
    progress.stage("clinical columns")
    codes = categorical_columns(design, X, settings, rng)
    afp_dec = X[:, col["afp_change_decreased"]].astype(int)
    groups = settings["groups"]
    df = pd.DataFrame({
        "patient_id": design.ids,
        "arm": [groups["arm"][a] for a in design.arm],
        "regimen": [groups["regimen"][r] for r in design.regimen],
        "pfs_days": state.pfs.astype(int), "pfs_event": state.ev[0].astype(int),
        "os_days": state.os.astype(int), "os_event": state.ev[1].astype(int),
    })
    for var, cfg in settings["continuous"].items():
        v = cont[var]
        df[cfg["column"]] = v.astype(int) if float(cfg["step"]) == 1.0 else v
    for var, cfg in settings["categorical"].items():
        df[cfg["column"]] = raw_categorical(var, codes[var], settings, rng)
    resp = best_response(design, record, state, afp_dec, settings)
    df["best_response"] = resp
    df["best_pct_change"] = pct_change(resp, settings, rng)
    afp_col = settings["categorical"]["afp"]["column"]
    df["afp_8w_ng_ml"] = afp_week8(df[afp_col].to_numpy(dtype=float), afp_dec, settings, rng)
    df["len_stop_reason"] = len_stop_reason(design, record, rng)
    for e, g in adverse_events(design, record, settings, rng).items():
        df[f"ae_{e}"] = g
    df["subsequent_therapy"] = subsequent_therapy(design, record, state, rng)
    progress.done(columns=df.shape[1], rows=df.shape[0])
    return df, {"codes": codes, "value_residual": residual}
