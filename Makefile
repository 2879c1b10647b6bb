# Every target creates .venv from nothing when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit docs demo bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,test,docs]"
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
	$(BIN)/python -m gateway.demo

# The spool kill test for longer: more rounds of SIGKILLed uploads (default 10 per server).
KILL_ROUNDS ?= 150
soak: $(STAMP)
	METERKIT_KILL_ROUNDS=$(KILL_ROUNDS) $(BIN)/pytest -q -s tests/exporters/test_exporters_spool_kill.py

bench: $(VENV)/.bench
	$(BIN)/python -m benchmarks

# Fuzz campaign over every entry point (tests/fuzz): FUZZ_SECONDS in all (default 300),
# FUZZ_EXAMPLES inputs per target and round (default 2000); lists the distinct crash sites.
# `make test` and CI run the same targets as a short smoke round (100 inputs each).
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz

# The suite with its long loops at full length (CI keeps them short): the spool kill tests
# run 150 rounds per server instead of 10, property tests without their own example count
# run 1000 examples instead of 100.
soak: $(STAMP)
	METERKIT_KILL_ROUNDS=150 HYPOTHESIS_PROFILE=soak $(BIN)/pytest -q

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache .pytest_cache
