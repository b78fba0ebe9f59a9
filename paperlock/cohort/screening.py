"""The screening flow (flow.* in the record): one row per patient who stopped first-line lenvatinib."""

from __future__ import annotations

import pandas as pd

from paperlock.cohort.targets import Record


def screening_frame(record: Record, enrolled_ids: list[str]) -> pd.DataFrame:
    total = int(record.value("flow.discontinued_len"))
    eligible = int(record.value("flow.eligible"))
    reasons = [k.split(".")[-1] for k in record.keys_with_prefix("flow.excluded.") if not k.endswith(".total")]
    rows = [{"screening_id": f"S{i + 1:03d}", "patient_id": pid, "eligible": "yes", "status": "enrolled",
             "reason": ""} for i, pid in enumerate(enrolled_ids)]
    for r in reasons:
        for _ in range(int(record.value(f"flow.excluded.{r}"))):
            rows.append({"screening_id": "", "patient_id": "", "eligible": "yes", "status": "excluded",
                         "reason": r})
    for _ in range(total - eligible):
        rows.append({"screening_id": "", "patient_id": "", "eligible": "no", "status": "excluded",
                     "reason": "no_second_line_therapy"})
    for i, row in enumerate(rows):
        row["screening_id"] = f"S{i + 1:03d}"
    if len(rows) != total or sum(r["eligible"] == "yes" for r in rows) != eligible:
        raise ValueError("flow.* counts are inconsistent (enrolled + excluded != eligible)")
    return pd.DataFrame(rows)
