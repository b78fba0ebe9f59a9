"""A deterministic generator of the SYNTHETIC 70-patient cohort that reproduces the Yin et al. (2025) aggregates.

Run `python -m paperlock.cohort` (see `__main__`). Targets are read by key from the published record; the
settings file `data/cohort_targets.yaml` only says how to build the cohort and which entries are excluded.
"""
