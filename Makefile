# paperlock pipeline: data + spec -> results.json -> manuscript. `make help` lists the targets.
STUDY ?= .
PY    := .venv/bin/python
CLI   := $(PY) -m paperlock.cli
BUILD := $(STUDY)/build
ENV   := .venv/.installed
# results.json depends on the data, the spec and the analysis code only (not on templates)
RESULTS_DEPS := $(STUDY)/study.yaml $(wildcard $(STUDY)/data/*.csv $(STUDY)/data/dictionary.yaml) \
                $(wildcard $(STUDY)/data/*.xlsx $(STUDY)/data/*.sav $(STUDY)/data/*.parquet $(STUDY)/data/*.json) \
                $(shell find analysis paperlock -name '*.py' -not -path '*/audit/*' 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help env report results validate lock test lint bench audit-paper audit cohort cohort-seeds clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(ENV): pyproject.toml
	@tools/setup_env.sh

env: $(ENV) ## create .venv (and Debian packages when root) if missing

results: $(BUILD)/results.json ## compute every statistic into build/results.json (only when inputs changed)

$(BUILD)/results.json: $(ENV) $(RESULTS_DEPS)
	@$(CLI) results --study $(STUDY)

report: $(BUILD)/results.json ## build the manuscript (HTML, PDF, DOCX, .qmd) from the shipped data
	@$(CLI) report --study $(STUDY)

validate: $(ENV) ## check the study's data (or FILE=...) against its data dictionary and spec
	@$(CLI) validate $(FILE) --study $(STUDY)

lock: $(ENV) ## validate and freeze the study's data: normalised copy + manifest with a lock id
	@$(CLI) lock --study $(STUDY)

test: ## ruff + pytest (sets up the environment, R included, if missing)
	@tools/setup_env.sh --with-r
	@.venv/bin/ruff check .
	@.venv/bin/pytest

lint: $(ENV) ## ruff only
	@.venv/bin/ruff check .

bench: $(ENV) ## time each stage, cold and warm, as ratios to a bare python start
	@$(PY) tools/bench.py --study $(STUDY) $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES))

audit-paper: $(ENV) ## audit the published record for internal consistency
	@$(CLI) audit-paper

audit: results ## audit every published number against results.json (build/audit)
	@$(CLI) audit --study $(STUDY)

audit-gaps: results ## re-record the published numbers the shipped data do not reproduce (data/reproduction_gaps.yaml)
	@$(CLI) audit --study $(STUDY) --write-gaps $(STUDY)/data/reproduction_gaps.yaml || true

cohort: $(ENV) ## regenerate the synthetic cohort from the published record
	@$(PY) -m paperlock.cohort

SEEDS ?= 20250306
SEEDS_OUT ?= build/cohort-seeds
cohort-seeds: $(ENV) ## whole calibrations for SEEDS="a b ..." into SEEDS_OUT, tabulated best first
	@$(PY) tools/cohort_seeds.py --out $(SEEDS_OUT) $(SEEDS)

clean: ## remove build outputs (keeps .venv)
	rm -rf $(BUILD)
