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

DEMO_REQUEST := Extract the email addresses from the text 'Write to ada@example.com or bob@example.org', then validate each of them

demo: setup
	$(BIN)/flowwright validate examples/*.yaml
	$(BIN)/flowwright run examples/lead_intake.yaml --dry-run --example-inputs
	rm -rf build/demo
	$(BIN)/flowwright generate "$(DEMO_REQUEST)" --out build/demo
	@echo "Generated artifacts are in build/demo: run 'cd build/demo && ../../.venv/bin/python graph.py --help'"

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --timeout 300

bench: setup
	$(PY) benchmarks/cli_startup.py
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/planner.py
	$(PY) benchmarks/generate.py
	$(PY) benchmarks/backend.py

clean:
	rm -rf $(VENV) .flowwright .pytest_cache build *.egg-info
