"""The study spec: a declarative YAML file naming a study's data, variables, groups, endpoints and tables.

Python code holds no study-specific constants: everything the engine needs to know about a study
(column names, labels, level codes, cut-offs, which test per row, conventions) is read from here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from paperlock.errors import PaperlockError

SPEC_FILENAME = "study.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    """One category: its code (used in result keys), the raw value(s) in the data, and its printed label."""

    code: str
    label: str
    values: list[str | int | float | bool] = Field(default_factory=list)


class Cut(_Strict):
    """Dichotomise a continuous column: values <= `at` take the first level, values > `at` the second."""

    at: float
    levels: tuple[Level, Level]


class Variable(_Strict):
    """An analysis variable derived from one raw column."""

    column: str
    label: str
    type: Literal["continuous", "categorical"]
    unit: str | None = None
    levels: list[Level] = Field(default_factory=list)
    cut: Cut | None = None

    @model_validator(mode="after")
    def _levels_for_categorical(self) -> Variable:
        if self.type == "categorical" and not (self.levels or self.cut):
            raise ValueError("a categorical variable needs `levels` or a `cut`")
        return self

    @property
    def level_list(self) -> list[Level]:
        return list(self.cut.levels) if self.cut else list(self.levels)


class Grouping(_Strict):
    """A way of splitting the cohort (treatment arm, regimen, ...): a categorical variable used as groups."""

    variable: str
    label: str


class Endpoint(_Strict):
    time: str
    event: str
    label: str
    abbreviation: str


class Conventions(_Strict):
    """Every convention a number depends on, named once for the whole study."""

    month_days: float = Field(description="days per month when converting survival times")
    quantile_type: int = Field(ge=1, le=9, description="Hyndman–Fan sample quantile type (R's quantile(type=))")
    km_ci: Literal["spss", "log", "log-log", "plain"]
    cox_ties: Literal["breslow", "efron"]
    confidence_level: float = 0.95
    categorical_test_default: Literal["auto", "pearson", "yates", "fisher"] = "auto"
    continuous_test_default: Literal["mann_whitney", "kruskal_wallis"] = "mann_whitney"


class Display(_Strict):
    """Printed precision per kind of number; the same for tables and prose."""

    pct_digits: int = 1
    p_digits: int = 3
    months_digits: int = 2
    hr_digits: int = 2
    continuous_digits: int = 2
    confidence_level_label: str = "95% CI"

    @property
    def ci_label(self) -> str:
        return self.confidence_level_label


class BaselineRow(_Strict):
    variable: str
    test: Literal["pearson", "yates", "fisher", "auto", "mann_whitney", "kruskal_wallis", "none"] = "auto"
    show_levels: list[str] | None = Field(
        default=None, description="print only these levels (e.g. 'yes' of a yes/no prior treatment)"
    )


class BaselineTable(_Strict):
    id: str
    title: str
    by: str
    overall: bool = True
    rows: list[BaselineRow]


class SurvivalAnalysis(_Strict):
    endpoint: str
    by: str | None = Field(default=None, description="grouping name; None for the whole cohort")
    at_risk_times_months: list[float] = Field(default_factory=list)


class Study(_Strict):
    id: str
    title: str
    short_title: str
    synthetic: bool
    data_note: str


class DataFiles(_Strict):
    cohort: str
    dictionary: str | None = None
    published: str | None = None


class Spec(_Strict):
    study: Study
    data: DataFiles
    conventions: Conventions
    display: Display = Field(default_factory=Display)
    variables: dict[str, Variable]
    groupings: dict[str, Grouping]
    endpoints: dict[str, Endpoint]
    baseline_tables: list[BaselineTable] = Field(default_factory=list)
    survival: list[SurvivalAnalysis] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> Spec:
        for name, g in self.groupings.items():
            if g.variable not in self.variables:
                raise ValueError(f"grouping {name!r} names unknown variable {g.variable!r}")
            if self.variables[g.variable].type != "categorical":
                raise ValueError(f"grouping {name!r} must use a categorical variable")
        for t in self.baseline_tables:
            if t.by not in self.groupings:
                raise ValueError(f"table {t.id!r}: unknown grouping {t.by!r}")
            for r in t.rows:
                if r.variable not in self.variables:
                    raise ValueError(f"table {t.id!r}: unknown variable {r.variable!r}")
        for s in self.survival:
            if s.endpoint not in self.endpoints:
                raise ValueError(f"survival: unknown endpoint {s.endpoint!r}")
            if s.by is not None and s.by not in self.groupings:
                raise ValueError(f"survival: unknown grouping {s.by!r}")
        return self


class LoadedSpec(BaseModel):
    """A parsed spec together with where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    spec: Spec
    root: Path
    path: Path
    sha256: str

    def resolve(self, relative: str) -> Path:
        return (self.root / relative).resolve()


def load_spec(study_dir: str | Path = ".") -> LoadedSpec:
    """Read and validate `study.yaml` in `study_dir`; errors name the file and the offending field."""
    root = Path(study_dir).resolve()
    path = root / SPEC_FILENAME
    if not path.is_file():
        raise PaperlockError(f"{path}: no study spec found (expected {SPEC_FILENAME} in {root})")
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PaperlockError(f"{path}: not valid YAML: {exc}") from None
    try:
        spec = Spec.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise PaperlockError(f"{path}: invalid study spec: {problems}") from None
    return LoadedSpec(spec=spec, root=root, path=path, sha256=hashlib.sha256(raw).hexdigest())
