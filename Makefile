# spine-implants: `make demo` builds every implant type's default model into out/;
# `make test` runs the test suite. Both create the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKERS ?= 2

.PHONY: demo test test-slow bench docs install clean

$(BIN)/implants: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/implants

demo: install
	$(BIN)/implants demo --out out

test: install
	$(BIN)/python -m pytest -n $(WORKERS) -m "not slow" -q

test-slow: install
	$(BIN)/python -m pytest -n $(WORKERS) -q

bench: install
	$(BIN)/python benchmarks/run.py

docs: install
	$(BIN)/mkdocs build --strict --site-dir site/docs

clean:
	rm -rf out site .pytest_cache
