"""The study spec: a declarative YAML file naming a study's data, variables, groups, endpoints and tables.

Python code holds no study-specific constants: everything the engine needs to know about a study
(column names, labels, level codes, cut-offs, which test per row, conventions) is read from here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paperlock.errors import PaperlockError
from paperlock.prose import in_sentence
from paperlock.yaml_models import read_yaml_model

SPEC_FILENAME = "study.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Prose:
    """`prose`: the label as it reads mid-sentence, `text_label` if given, else the label by `prose.in_sentence`
    (for models with `label` and `text_label` fields; no fields of its own, so the models' field order stays)."""

    @property
    def prose(self) -> str:
        return self.text_label or in_sentence(self.label)  # type: ignore[attr-defined]


class Level(_Strict):
    """One category: its code (used in result keys), the raw value(s) in the data, and its printed label."""

    code: str
    label: str
    values: list[str | int | float | bool] = Field(default_factory=list)


class Cut(_Strict):
    """Dichotomise a continuous column: values <= `at` take the first level, values > `at` the second.

    With `key`, the cut-off itself is recorded in results (e.g. `cutoff.nlr`), so the audit can check it too."""

    at: float
    levels: tuple[Level, Level]
    key: str | None = None
    source: str | None = Field(default=None, description="where the cut-off comes from, e.g. 'X-tile (authors)'")


class Change(_Strict):
    """Categorise the change from `column` (baseline) to `followup`: the first level when the follow-up value is
    higher, the second otherwise (no change counts as not higher)."""

    followup: str
    levels: tuple[Level, Level]


class Variable(_Strict, _Prose):
    """An analysis variable derived from one raw column (or, with `change`, from two)."""

    column: str
    label: str
    text_label: str | None = Field(default=None, description="the label inside a sentence (default: by rule)")
    type: Literal["continuous", "categorical"]
    unit: str | None = None
    levels: list[Level] = Field(default_factory=list)
    cut: Cut | None = None
    change: Change | None = None

    @model_validator(mode="after")
    def _levels_for_categorical(self) -> Variable:
        if self.type == "categorical" and not (self.levels or self.cut or self.change):
            raise ValueError("a categorical variable needs `levels`, a `cut` or a `change`")
        return self

    @property
    def level_list(self) -> list[Level]:
        if self.cut:
            return list(self.cut.levels)
        if self.change:
            return list(self.change.levels)
        return list(self.levels)


class Grouping(_Strict):
    """A way of splitting the cohort (treatment arm, regimen, ...): a categorical variable used as groups.

    `within` names a coarser grouping this one subdivides (regimens within arms), for the flow chart."""

    variable: str
    label: str
    within: str | None = None


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
    alpha: float = Field(default=0.05, description="two-sided significance level used in the text's wording")
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
    test: Literal["pearson", "yates", "fisher", "auto", "auto_observed", "mann_whitney", "kruskal_wallis",
                  "none"] = "auto"
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
    name: str | None = Field(default=None, description="stratifier key segment (default: the grouping name)")
    groups: list[str] | None = Field(default=None, description="compare only these groups (default: all)")
    at_risk_times_months: list[float] = Field(default_factory=list)

    @property
    def stratifier(self) -> str:
        return self.name or self.by or "overall"


class CoxCovariate(_Strict, _Prose):
    """One covariate of a Cox model, by `type`:

    * `indicator` (default): 1 where the categorical `variable` equals `level`, 0 for its other levels;
    * `continuous`: the numeric `variable` divided by `per`, so the HR is per `per` units (e.g. per 10 years);
    * `categorical`: one indicator per level other than `reference`, all in the same model; each level's
      result is keyed `<key>_<level code>` and the factor's joint test `<key>.p`.

    Rows missing the variable are dropped from the fits that use it."""

    key: str
    variable: str
    label: str
    text_label: str | None = Field(default=None, description="the label inside a sentence (default: by rule)")
    type: Literal["indicator", "continuous", "categorical"] = "indicator"
    level: str | None = Field(default=None, description="indicator: the level coded 1")
    per: float = Field(default=1.0, gt=0, description="continuous: the HR is per this many units")
    reference: str | None = Field(default=None, description="categorical: the reference level")

    @model_validator(mode="after")
    def _fields_for_type(self) -> CoxCovariate:
        if (self.type == "indicator") != (self.level is not None):
            raise ValueError(f"covariate {self.key!r}: `level` is required for, and only for, type indicator")
        if (self.type == "categorical") != (self.reference is not None):
            raise ValueError(f"covariate {self.key!r}: `reference` is required for, and only for, type categorical")
        if self.type != "continuous" and self.per != 1.0:
            raise ValueError(f"covariate {self.key!r}: `per` applies to continuous covariates only")
        return self


class CoxTerm(_Strict, _Prose):
    """One column of a Cox model's design: an indicator of `level` (None for a continuous covariate)."""

    key: str
    label: str
    covariate: str
    level: str | None = None
    text_label: str | None = Field(default=None, description="the label inside a sentence (default: by rule)")
    contrast: str | None = Field(default=None, description="categorical: 'II vs. I', for a row under the factor")


class CoxModels(_Strict):
    """Univariable fits of every covariate, then one multivariable fit per endpoint of those with p < entry_p.

    A categorical covariate with several non-reference levels enters by `factor_entry`: its joint Wald test
    (`wald`), its likelihood-ratio test against the null model (`lr`), or any of its levels' Wald p (`any_level`);
    all its levels enter together."""

    id: str
    title: str
    population: str = Field(description="key segment naming the population, e.g. 'all'")
    subset: dict[str, str] | None = Field(default=None, description="{variable: level} restricting the rows")
    endpoints: list[str]
    entry_p: float
    factor_entry: Literal["wald", "lr", "any_level"] = "wald"
    covariates: list[CoxCovariate]


class BinaryOutcomeTable(_Strict):
    """Counts of categories (and unions of them) by group, each tested as yes/no against the groups.

    Used for tumour response (CR, PR, ..., ORR = CR + PR) and, with `grades`, adverse events."""

    id: str
    title: str
    key_prefix: str
    by: str
    variable: str | None = Field(default=None, description="one categorical variable whose levels are the rows")
    composites: dict[str, list[str]] = Field(default_factory=dict)
    composite_labels: dict[str, str] = Field(default_factory=dict)
    test: Literal["pearson", "yates", "fisher", "auto", "auto_observed", "none"] = "auto"
    tested: list[str] | None = Field(default=None, description="rows to test; None tests every row")
    exact_ci: bool = False


class GradedEvent(_Strict):
    """One row: an event with its worst-grade column, or a union (`any_of`) of other rows' events.

    `graded: false` marks a yes/no consequence (dose reduction, discontinuation) counted alike in every grade
    column, as journals print it."""

    code: str
    label: str
    column: str | None = None
    any_of: list[str] = Field(default_factory=list)
    graded: bool = True
    indent: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> GradedEvent:
        if bool(self.column) == bool(self.any_of):
            raise ValueError(f"event {self.code!r}: give exactly one of `column` and `any_of`")
        return self


class GradedEventTable(_Strict):
    """Adverse events by worst grade: each event counted at 'any grade' and at or above each threshold."""

    id: str
    title: str
    key_prefix: str
    by: str
    grades: dict[str, int] = Field(description="{key segment: minimum grade}, e.g. {any: 1, g3plus: 3}")
    grade_labels: dict[str, str]
    events: list[GradedEvent]
    test: Literal["pearson", "yates", "fisher", "auto", "auto_observed", "none"] = "auto"
    tested: list[str] | None = None


class FlowStage(_Strict):
    """A box of the flow chart: the screening rows matching every `where` condition (none = all rows)."""

    key: str
    label: str
    where: dict[str, str] = Field(default_factory=dict)


class FlowExit(_Strict):
    """Patients in stage `from_stage` but not in `to_stage`, counted by reason: `flow.<key>.total|<reason>`."""

    key: str
    label: str
    from_stage: str
    to_stage: str
    reasons: dict[str, str] = Field(description="{reason code in the screening file: printed label}")


class FlowFacts(_Strict):
    """Screening/flow counts from a file with one row per screened patient: `flow.<stage>` and exits by reason.

    The last stage must hold exactly the analysed cohort."""

    file: str
    reason_column: str
    stages: list[FlowStage]
    exits: list[FlowExit] = Field(default_factory=list)
    stop_column: str | None = Field(default=None, description="cohort column: why the prior treatment stopped")
    stop_reasons: list[Level] = Field(default_factory=list)
    stop_segment: str = Field(default="prior_stop", description="key segment: flow.<segment>.<reason>")
    stop_label: str = "Reason the prior treatment stopped"

    @model_validator(mode="after")
    def _stages_known(self) -> FlowFacts:
        keys = {s.key for s in self.stages}
        for e in self.exits:
            if {e.from_stage, e.to_stage} - keys:
                raise ValueError(f"flow exit {e.key!r} names an unknown stage")
        return self


class SurvivalTableRows(_Strict):
    stratifier: str
    groups: list[str] | None = None
    heading: str | None = Field(default=None, description="a row-group heading above these rows")


class SurvivalTable(_Strict):
    """Median survival (95% CI) per group: one column per endpoint, rows from Kaplan–Meier analyses."""

    id: str
    title: str
    endpoints: list[str]
    rows: list[SurvivalTableRows]


class CoxTable(_Strict):
    """Univariable and multivariable Cox results side by side, one column group per endpoint × model."""

    id: str
    models: str = Field(description="id of a `cox` entry")
    title: str


class Figure(_Strict):
    id: str
    kind: Literal["flow", "km_grid", "waterfall", "forest"]
    title: str
    panels: list[str] = Field(default_factory=list, description="km_grid: curve ids 'km.<endpoint>.<stratifier>'")
    panel_titles: list[str] = Field(default_factory=list)
    models: str | None = Field(default=None, description="forest: id of a `cox` entry")
    endpoint: str | None = None
    listing: str | None = Field(default=None, description="waterfall: listing name in results")


class Manuscript(_Strict):
    """Order of tables and figures; numbers and cross-references are generated from it."""

    tables: list[str]
    figures: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=lambda: ["results"],
                                description="templates/sections/<name>.html.j2, in order")


class Listing(_Strict):
    """A de-identified patient-level listing for a figure (e.g. a waterfall): chosen fields, sorted.

    `fields` maps output names to spec variables or raw numeric columns; identifiers are never listed."""

    fields: dict[str, str]
    sort_by: str
    descending: bool = True


class CutpointSearch(_Strict):
    """A data-driven cut-point for a continuous variable (maximally selected log-rank statistic, as X-tile does),
    always reported with a selection-adjusted p-value, never with a naive one alone."""

    variable: str
    endpoint: str
    min_prop: float = 0.1
    max_prop: float = 0.9
    permutations: int = 1000
    seed: int = 1


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
    lock: str | None = Field(default=None, description="data lock manifest; when set, results refuse data that "
                                                       "no longer match it (`paperlock lock` writes it)")


class Privacy(_Strict):
    """Disclosure control for outputs: groups smaller than `min_count` in any listing are flagged."""

    min_count: int = Field(default=5, ge=1)


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
    cox: list[CoxModels] = Field(default_factory=list)
    outcome_tables: list[BinaryOutcomeTable] = Field(default_factory=list)
    graded_event_tables: list[GradedEventTable] = Field(default_factory=list)
    flow: FlowFacts | None = None
    listings: dict[str, Listing] = Field(default_factory=dict)
    cutpoints: list[CutpointSearch] = Field(default_factory=list)
    privacy: Privacy = Field(default_factory=Privacy)
    survival_tables: list[SurvivalTable] = Field(default_factory=list)
    cox_tables: list[CoxTable] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    manuscript: Manuscript | None = None

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
        for c in self.cox:
            for cov in c.covariates:
                self._check_cox_covariate(f"cox {c.id!r} covariate {cov.key!r}", cov)
            keys = [k for cov in c.covariates for k in (t.key for t in self.cox_terms(cov))] + [
                cov.key for cov in c.covariates if cov.type == "categorical"]
            if len(keys) != len(set(keys)):
                raise ValueError(f"cox {c.id!r}: covariate keys are not unique: {sorted(keys)}")
            for var, level in (c.subset or {}).items():
                self._check_level(f"cox {c.id!r} subset", var, level)
            for ep in c.endpoints:
                if ep not in self.endpoints:
                    raise ValueError(f"cox {c.id!r}: unknown endpoint {ep!r}")
        for t in self.outcome_tables:
            if t.variable:
                codes = {lvl.code for lvl in self.variables[t.variable].level_list}
                for name, members in t.composites.items():
                    if set(members) - codes:
                        raise ValueError(f"table {t.id!r}: composite {name!r} names unknown levels")
        return self

    def _check_cox_covariate(self, where: str, cov: CoxCovariate) -> None:
        if cov.variable not in self.variables:
            raise ValueError(f"{where}: unknown variable {cov.variable!r}")
        var = self.variables[cov.variable]
        if cov.type == "continuous":
            if var.type != "continuous":
                raise ValueError(f"{where}: {cov.variable!r} is not a continuous variable")
        elif var.type != "categorical":
            raise ValueError(f"{where}: {cov.variable!r} is not a categorical variable")
        else:
            self._check_level(where, cov.variable, cov.level or cov.reference or "")

    def cox_terms(self, cov: CoxCovariate) -> list[CoxTerm]:
        """The model columns of a covariate, each with its result key and printed label."""
        if cov.type != "categorical":
            return [CoxTerm(key=cov.key, label=cov.label, covariate=cov.key, level=cov.level,
                            text_label=cov.text_label)]
        levels = self.variables[cov.variable].level_list
        ref = next(lvl for lvl in levels if lvl.code == cov.reference)
        return [CoxTerm(key=f"{cov.key}_{lvl.code}", label=f"{cov.label} ({lvl.label} vs. {ref.label})",
                        covariate=cov.key, level=lvl.code, contrast=f"{lvl.label} vs. {ref.label}",
                        text_label=cov.text_label and f"{cov.text_label} ({lvl.label} vs. {ref.label})")
                for lvl in levels if lvl.code != cov.reference]

    def _check_level(self, where: str, variable: str, level: str) -> None:
        if variable not in self.variables:
            raise ValueError(f"{where}: unknown variable {variable!r}")
        if level not in {lvl.code for lvl in self.variables[variable].level_list}:
            raise ValueError(f"{where}: {variable!r} has no level {level!r}")


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
    spec, raw = read_yaml_model(path, Spec, "study spec")
    return LoadedSpec(spec=spec, root=root, path=path, sha256=hashlib.sha256(raw).hexdigest())
