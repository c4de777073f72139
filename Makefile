# Two commands on a fresh machine: `make run` and `make test`.
# `make test` runs the behaviour tiers (CI); `make bench-test` the tests marked bench.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench-test bench docs clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/regtui run --preset dropout

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench-test: $(STAMP)
	$(BIN)/python -m pytest -q -m bench

bench: $(STAMP)
	$(BIN)/regtui bench

# docs/configuration.md is generated from the config fields; tests/test_docs.py checks it.
docs: $(STAMP)
	$(BIN)/python -m regtui.config_docs > docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md

clean:
	rm -rf $(VENV) build *.egg-info
