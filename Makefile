# hyena-lab: every set-up step lives here, so that a fresh machine needs only `make test` or
# `make handbook`. Override the torch pin for a CUDA build, e.g. `make test TORCH_SPEC=torch`.
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.hyena-lab-installed
PIP        := $(BIN)/python -m pip --disable-pip-version-check -q
NOTEBOOKS  := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
EXECUTE    := $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
              --NotebookClient.record_timing=False --ExecutePreprocessor.timeout=1800

.PHONY: help install test unit notebooks lint handbook sync lab clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## create .venv (if missing) and install the package with its dev extras

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e ".[dev]"
	@touch $@

test: $(STAMP) lint unit notebooks  ## the whole suite: ruff, unit/property tests, notebook sync, nbval

lint: $(STAMP)  ## ruff over the package, the tests and the notebook sources
	$(BIN)/ruff check .

unit: $(STAMP)  ## pytest unit and property tests (includes the .py/.ipynb sync check)
	MPLBACKEND=Agg $(BIN)/pytest -q tests

notebooks: $(STAMP)  ## execute every notebook under nbval (lax: compares only marked cells)
	$(BIN)/pytest -q --nbval-lax notebooks

handbook: $(STAMP)  ## sync .py -> .ipynb, execute every chapter in place, write figures/
	$(BIN)/jupytext --sync $(NOTEBOOKS)
	@for nb in $(NOTEBOOKS:.py=.ipynb); do echo "== $$nb"; $(EXECUTE) $$nb || exit 1; done
	$(BIN)/jupytext --sync $(NOTEBOOKS)

sync: $(STAMP)  ## pair and sync the .py and .ipynb of every chapter
	$(BIN)/jupytext --sync $(NOTEBOOKS)

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks

clean:  ## remove caches (keeps .venv)
	rm -rf .pytest_cache .ruff_cache .hypothesis build *.egg-info
