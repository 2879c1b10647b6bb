# Every target creates .venv from nothing when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit docs demo bench fuzz soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,data,postgres,test,docs]"
	touch $(STAMP)

$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $(VENV)/.bench

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html
	$(BIN)/sphinx-build -W -q -b doctest docs docs/_build/doctest

test: lint typecheck unit docs

demo: $(STAMP)
	$(BIN)/python -m gateway demo

bench: $(VENV)/.bench
	$(BIN)/python -m benchmarks

# Fuzz campaign over every entry point (tests/fuzz): FUZZ_SECONDS in all (default 300),
# shared equally by the targets; lists the inputs run and the distinct crash sites.
# `make test` and CI run the same targets as a short smoke round (100 inputs each).
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz

# The suite with its long loops at full length (CI keeps them short): the spool kill test
# runs KILL_ROUNDS rounds of SIGKILLed uploads per server (default 10 in CI), the alarms and
# s0 hostile-input campaigns FUZZ_EXAMPLES_SOAK inputs (300 in CI), property tests without
# their own example count 1000 examples (100 in CI).
KILL_ROUNDS ?= 150
FUZZ_EXAMPLES_SOAK ?= 5000
soak: $(STAMP)
	METERKIT_KILL_ROUNDS=$(KILL_ROUNDS) METERKIT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES_SOAK) \
		HYPOTHESIS_PROFILE=soak $(BIN)/pytest -q

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache .pytest_cache
