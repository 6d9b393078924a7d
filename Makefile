# The README's two commands: `make demo` (set up + main job) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/flowwright validate examples/*.yaml
	@for f in examples/*.yaml; do $(BIN)/flowwright describe $$f || exit 1; done

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --timeout 300

bench: setup
	$(PY) benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) .flowwright .pytest_cache build *.egg-info
