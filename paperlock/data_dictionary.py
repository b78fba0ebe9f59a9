"""The data dictionary (`data/dictionary.yaml`): every column's type, levels and plausible range, plus the
cross-column rules a dataset must meet. Validation is built from it at run time; Python names no study column.

Format (keys beyond those `paperlock.cohort.dictionary` writes are optional):

    encoding: utf-8                # text files only
    missing_values: ["", "NA"]     # cell texts read as missing (default: blank only)
    columns:
      patient_id: {type: string, label: "...", identifier: true}      # unique, never missing, never printed
      arm: {type: categorical, levels: [TKI, TKI-ICI], aliases: ["Treatment arm"]}
      age: {type: integer, unit: years, min: 18, max: 100}           # min/max: plausible range
      start_date: {type: date, format: "%d/%m/%Y", required: false}  # required: the column must exist
      ae_rash: {type: integer, allowed: [0, 1, 2, 3, 4, 5]}
    checks:
      - {rule: less_equal, left: pfs_days, right: os_days}
      - {rule: less_equal, left: diagnosis_date, right: start_date}
      - {rule: non_empty_levels, column: arm}

`range_in_data` (the observed range, written by the cohort generator) is descriptive and not enforced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paperlock.errors import PaperlockError
from paperlock.yaml_models import read_yaml_model

ColumnType = Literal["string", "categorical", "integer", "number", "date", "boolean"]
NUMERIC_TYPES = ("integer", "number", "boolean")
LevelValue = str | int | float | bool

COLUMN_KEYS_KNOWN = {"type", "label", "unit", "table", "levels", "allowed", "range_in_data", "min", "max",
                     "required", "nullable", "unique", "identifier", "aliases", "format", "description"}


class ColumnSpec(BaseModel):
    """One column. Unknown keys are kept (other tools annotate the dictionary) and reported as warnings."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: ColumnType
    label: str | None = None
    unit: str | None = None
    table: str | None = None
    description: str | None = None
    levels: list[LevelValue] | None = None
    allowed: list[LevelValue] | None = None
    range_in_data: list[float] | None = None
    min: float | None = Field(default=None, description="smallest plausible value")
    max: float | None = Field(default=None, description="largest plausible value")
    required: bool = Field(default=True, description="the column must be present")
    nullable: bool = Field(default=True, description="cells may be blank")
    unique: bool = False
    identifier: bool = Field(default=False, description="a patient identifier: unique, never blank, never output")
    aliases: list[str] = Field(default_factory=list, description="other header names meaning this column")
    format: str | None = Field(default=None, description="date format (strftime); default ISO 8601")

    @property
    def allowed_values(self) -> list[LevelValue] | None:
        if self.levels is None and self.allowed is None:
            return None
        return list(self.levels or []) + list(self.allowed or [])


class CrossCheck(BaseModel):
    """A rule over columns: `left <= right` / `left < right` in every row where both are present, or every
    level of `column` present in at least one row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["less_equal", "less", "non_empty_levels"]
    left: str | None = None
    right: str | None = None
    column: str | None = None
    message: str | None = Field(default=None, description="what the rule means, shown with each violation")

    @model_validator(mode="after")
    def _operands(self) -> CrossCheck:
        if self.rule == "non_empty_levels":
            if not self.column:
                raise ValueError("rule non_empty_levels needs `column`")
        elif not (self.left and self.right):
            raise ValueError(f"rule {self.rule} needs `left` and `right`")
        return self

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.left, self.right, self.column) if c]


class DataDictionary(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    columns: dict[str, ColumnSpec]
    checks: list[CrossCheck] = Field(default_factory=list)
    missing_values: list[str] = Field(default_factory=lambda: [""])
    encoding: str | None = None

    @model_validator(mode="after")
    def _checks_name_columns(self) -> DataDictionary:
        for i, check in enumerate(self.checks):
            for col in check.columns:
                if col not in self.columns:
                    raise ValueError(f"checks[{i}] ({check.rule}) names unknown column {col!r}")
            if check.rule != "non_empty_levels":
                kinds = {_comparable(self.columns[c].type) for c in check.columns}
                if len(kinds) != 1 or None in kinds:
                    raise ValueError(f"checks[{i}] ({check.rule}) compares {check.left!r} with {check.right!r}: "
                                     "both must be numbers or both dates")
            elif self.columns[check.column or ""].allowed_values is None:
                raise ValueError(f"checks[{i}] (non_empty_levels): column {check.column!r} declares no levels")
        return self

    def warnings(self) -> list[str]:
        """Keys the validator does not know (a typo such as `nullabel` would otherwise be silently ignored)."""
        out = []
        for name, col in self.columns.items():
            for key in sorted((col.model_extra or {}).keys() - COLUMN_KEYS_KNOWN):
                out.append(f"column {name!r}: key {key!r} is not used by validation")
        return out

    def identifiers(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.identifier]


def _comparable(column_type: str) -> str | None:
    return "number" if column_type in ("integer", "number") else "date" if column_type == "date" else None


class LoadedDictionary(BaseModel):
    model_config = ConfigDict(frozen=True)

    dictionary: DataDictionary
    path: Path
    sha256: str


def load_dictionary(path: Path) -> LoadedDictionary:
    """Read and check a data dictionary; errors name the file and the offending entry."""
    path = Path(path)
    if not path.is_file():
        raise PaperlockError(f"{path}: data dictionary not found")
    dictionary, raw = read_yaml_model(path, DataDictionary, "data dictionary")
    return LoadedDictionary(dictionary=dictionary, path=path, sha256=hashlib.sha256(raw).hexdigest())
