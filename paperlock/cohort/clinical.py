"""Response, AFP at 8 weeks, adverse events, first-line stop reason and later therapy, per patient.

All counts come from the record by key; which patients carry them follows the calibrated survival
(progressive disease goes to the earliest progressions, responses to the longest PFS in each arm ×
AFP-change cell) or is random within arm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paperlock.cohort.calibrate import State
from paperlock.cohort.design import ARMS, Design
from paperlock.cohort.targets import Record
from paperlock.errors import PaperlockError


def _split(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of `total` proportional to `weights`."""
    s = sum(weights)
    raw = [total * w / s if s else 0.0 for w in weights]
    out = [int(np.floor(r)) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: -(raw[i] - out[i]))[: total - sum(out)]:
        out[i] += 1
    return out


def best_response(design: Design, record: Record, state: State, afp_decreased: np.ndarray,
                  settings: dict[str, Any]) -> np.ndarray:
    cats = settings["response"]["categories"]
    counts = {a: {c: int(record.value(f"response.{c}.{a}.n")) for c in cats} for a in ARMS}
    n_dec = {a: int(afp_decreased[design.arm == a].sum()) for a in ARMS}
    orr = {a: counts[a]["cr"] + counts[a]["pr"] for a in ARMS}
    pd_ = {a: counts[a]["pd"] for a in ARMS}
    dec_total = sum(n_dec.values())
    dec_orr = record.get("response_by_afp_change.orr.decreased.pct")
    dec_dcr = record.get("response_by_afp_change.dcr.decreased.pct")
    orr_dec_total = int(round(dec_orr / 100 * dec_total)) if dec_orr is not None else None
    pd_dec_total = dec_total - int(round(dec_dcr / 100 * dec_total)) if dec_dcr is not None else None
    orr_dec = _split(orr_dec_total, [orr[a] for a in ARMS]) if orr_dec_total is not None else \
        _split(sum(orr.values()) * dec_total // design.n, [orr[a] for a in ARMS])
    pd_dec = _split(pd_dec_total, [pd_[a] for a in ARMS]) if pd_dec_total is not None else \
        _split(sum(pd_.values()) * dec_total // design.n, [pd_[a] for a in ARMS])
    resp = np.empty(design.n, dtype=object)
    for k, a in enumerate(ARMS):
        for dec, n_orr, n_pd in ((1, orr_dec[k], pd_dec[k]), (0, orr[a] - orr_dec[k], pd_[a] - pd_dec[k])):
            idx = np.flatnonzero((design.arm == a) & (afp_decreased == dec))
            # earliest progression first; censored patients last
            key = np.where(state.events("pfs")[idx] == 1, state.pfs[idx], state.pfs[idx] + 10_000)
            order = idx[np.lexsort((idx, key))]
            resp[order[:n_pd]] = "PD"
            resp[order[n_pd:]] = "SD"
            longest = order[::-1][:n_orr]
            resp[longest] = "PR"
        # CRs: the longest-PFS responders of the arm
        idx = np.flatnonzero((design.arm == a) & (resp == "PR"))
        best = idx[np.lexsort((idx, -state.pfs[idx]))][: counts[a]["cr"]]
        resp[best] = "CR"
    return resp


def pct_change(resp: np.ndarray, settings: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    ranges = settings["response"]["pct_change"]
    out = np.empty(len(resp))
    for i, r in enumerate(resp):
        lo, hi = ranges[r.lower()]
        out[i] = round(float(rng.uniform(lo, hi)), 1) if lo != hi else float(lo)
    return out


def afp_week8(afp: np.ndarray, decreased: np.ndarray, settings: dict[str, Any],
              rng: np.random.Generator) -> np.ndarray:
    r = settings["afp_8w_ratio"]
    ratio = np.where(decreased == 1, rng.uniform(*r["decreased"], size=len(afp)),
                     rng.uniform(*r["elevated"], size=len(afp)))
    return np.round(afp * ratio, 1)


def len_stop_reason(design: Design, record: Record, rng: np.random.Generator) -> np.ndarray:
    reasons = [k.split(".")[-1] for k in record.keys_with_prefix("flow.len_stop.")]
    labels = []
    for r in reasons:
        labels += [r] * int(record.value(f"flow.len_stop.{r}"))
    if len(labels) != design.n:
        raise ValueError("flow.len_stop.* do not add up to the cohort size")
    return np.array(labels, dtype=object)[rng.permutation(design.n)]


def adverse_events(design: Design, record: Record, settings: dict[str, Any],
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Worst grade per patient for every Table 6 event (0 = none)."""
    cfg = settings["adverse_events"]
    events = sorted({k.split(".")[1] for k in record.keys_with_prefix("ae.") if k.endswith(".n")})
    derived, flags, skip = cfg["derived"], cfg["flags"], set(cfg["skip"])
    singles = [e for e in events if e not in derived and e not in flags and e not in skip]
    grades = {e: np.zeros(design.n, dtype=np.int64) for e in events if e not in skip}
    g4 = float(cfg["grade4_share"])
    parts_of = {p for parts in derived.values() for p in parts}
    for a in ARMS:
        idx = rng.permutation(np.flatnonzero(design.arm == a))
        n_any = int(record.value(f"ae.total.any.{a}.n"))
        n_g3 = int(record.value(f"ae.total.g3plus.{a}.n"))
        severe, anyae = list(idx[:n_g3]), list(idx[:n_any])
        mild_only = [i for i in anyae if i not in severe]
        for e, parts in derived.items():  # parts of a derived event first, on the patients it counts
            _deal_derived(record, e, parts, a, severe, mild_only, grades, g4, rng)
        # grade >= 3 slots next, covering every severe patient not yet covered at least once
        slots = [(e, _n(record, f"ae.{e}.g3plus.{a}.n")) for e in singles if e not in parts_of]
        bare = [i for i in severe if not any(grades[p][i] >= 3 for p in parts_of)]
        _deal(slots, bare + [i for i in severe if i not in bare], grades,
              lambda: 4 if rng.random() < g4 else 3, rng, cover=len(bare))
        # grade 1-2 slots, covering every mild-only patient at least once
        slots = [(e, _n(record, f"ae.{e}.any.{a}.n")) for e in singles if e not in parts_of]
        bare = [i for i in mild_only if not any(grades[p][i] > 0 for p in parts_of)]
        _deal(slots, bare + [i for i in anyae if i not in bare], grades,
              lambda: int(rng.integers(1, 3)), rng, cover=len(bare))
        for e in flags:
            k3, k = int(record.value(f"ae.{e}.g3plus.{a}.n")), int(record.value(f"ae.{e}.any.{a}.n"))
            chosen = list(rng.permutation(severe)[:k3]) + list(rng.permutation(mild_only)[: k - k3])
            for i in chosen:
                grades[e][i] = max(grades[s][i] for s in singles)
    for e, parts in derived.items():
        grades[e] = np.max([grades[p] for p in parts], axis=0)
    return grades


def _deal_derived(record: Record, event: str, parts: list[str], arm: str, severe: list, mild_only: list,
                  grades: dict[str, np.ndarray], g4: float, rng: np.random.Generator) -> None:
    """Place the parts of a derived event (any of the parts) so that its own counts hold by construction: the
    patients it counts are k severe and n - k mild-only patients of the arm (n, k: its any / grade >= 3 counts);
    each part's grade >= 3 events go to distinct severe ones in turn, its other events to the rest."""
    n, k = _n(record, f"ae.{event}.any.{arm}.n"), _n(record, f"ae.{event}.g3plus.{arm}.n")
    if n == 0:
        return
    if k > len(severe) or n - k > len(mild_only):
        raise PaperlockError(f"ae.{event} in {arm}: {n} patients ({k} grade >= 3) do not fit the arm's adverse "
                             f"event counts ({len(severe)} grade >= 3, {len(mild_only)} milder only)")
    sev_u, counted = severe[:k], severe[:k] + mild_only[: n - k]
    turn = 0
    for p in parts:
        g3p, anyp = _n(record, f"ae.{p}.g3plus.{arm}.n"), _n(record, f"ae.{p}.any.{arm}.n")
        if g3p > len(sev_u) or anyp > n:
            raise PaperlockError(f"ae.{p} in {arm}: {anyp} patients ({g3p} grade >= 3) exceed its derived event "
                                 f"ae.{event} ({n} patients, {k} grade >= 3)")
        holders = [sev_u[(turn + j) % len(sev_u)] for j in range(g3p)]
        turn += g3p
        for i in holders:
            grades[p][i] = 4 if rng.random() < g4 else 3
        for i in [i for i in counted if i not in holders][: anyp - g3p]:
            grades[p][i] = int(rng.integers(1, 3))
    covered = {i for i in counted if any(grades[p][i] > 0 for p in parts)}
    if len(covered) != n or sum(any(grades[p][i] >= 3 for p in parts) for i in covered) != k:
        raise PaperlockError(f"ae.{event} in {arm}: its parts' counts cannot make {n} patients ({k} grade >= 3)")


def _n(record: Record, key: str) -> int:
    """A count from the record; 0 where the record prints none (e.g. an event named only for one arm)."""
    return int(record.get(key, 0.0) or 0)


def _deal(slots, people, grades, grade, rng, cover: int | None = None) -> None:
    """Bring each event to `count` distinct people; the first `cover` people (all by default) are served first."""
    cover = len(people) if cover is None else cover
    need = list(people[:cover])
    for e, k in sorted(slots, key=lambda s: -s[1]):
        taken = [i for i in people if grades[e][i] > 0]
        pool = [i for i in need if grades[e][i] == 0] + [i for i in rng.permutation(people)
                                                         if i not in need and grades[e][i] == 0]
        for i in pool[: max(0, k - len(taken))]:
            grades[e][i] = grade()
            if i in need:
                need.remove(i)


def subsequent_therapy(design: Design, record: Record, state: State, rng: np.random.Generator) -> np.ndarray:
    out = np.array(["none"] * design.n, dtype=object)
    for a in ARMS:
        keys = [k for k in record.keys_with_prefix("subsequent.")
                if k.count(".") == 3 and k.endswith(f".{a}.n") and k.split(".")[1] != "any"]
        labels = []
        for k in keys:
            labels += [k.split(".")[1]] * int(record.value(k))
        progressed = rng.permutation(np.flatnonzero((design.arm == a) & (state.events("pfs") == 1)))
        out[progressed[: len(labels)]] = labels
    return out
