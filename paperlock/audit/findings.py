"""Findings of the paper audit: a severity, the evidence in numbers, one sentence of explanation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["gross", "moderate", "rounding-level"]
SEVERITIES: tuple[Severity, ...] = ("gross", "moderate", "rounding-level")
MEANING: dict[Severity, str] = {
    "gross": "cannot be a rounding or convention issue and changes or invalidates what is reported",
    "moderate": "beyond rounding, but does not change the paper's main conclusions",
    "rounding-level": "within about one unit of the last printed digit: a rounding slip or convention",
}


@dataclass(frozen=True)
class Finding:
    """One discrepancy. `evidence` holds the numbers (printed values, recomputations)."""

    check: str
    id: str
    severity: Severity
    title: str
    explanation: str
    places: tuple[str, ...]
    keys: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[int, str, str]:
        return SEVERITIES.index(self.severity), self.check, self.id

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "id": self.id, "severity": self.severity, "title": self.title,
                "explanation": self.explanation, "places": list(self.places), "keys": list(self.keys),
                "evidence": self.evidence}


def by_relative_gap(gap_units: float, relative: float, gross_above: float = 0.1) -> Severity:
    """Severity from how far a value is off: in units of its last printed digit and relative to its size."""
    if gap_units <= 1.0:
        return "rounding-level"
    return "gross" if relative > gross_above else "moderate"


def fmt(x: float, digits: int = 4) -> float:
    """A number rounded for the evidence (stable JSON)."""
    return float(f"{x:.{digits}g}")
