# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= demo-output

CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test lint bench clean browser schemas fuzz docs example-figures

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An editable install leaves the package's bytecode to be written on first import, which PYTHONDONTWRITEBYTECODE
# forbids: every command would then compile its ~60 modules again (~0.15 s). compileall writes it once.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src/ionscope >/dev/null
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m compileall -q src/ionscope >/dev/null
	@touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/ionscope demo --out $(OUT) --force
	@echo "Open $(abspath $(OUT))/report.html in a browser."

# The README's example figures (the scripts write into ./example-figures/ unless given a folder).
example-figures: $(VENV)/.installed
	for f in spectrum_identify depth_layers operando microstructure; do \
	  $(BIN)/python examples/$$f.py - docs/images/examples || exit 1; done

# The viewer's end-to-end tests drive Debian's Chromium; install it when missing and we are root.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the viewer's end-to-end tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "could not install chromium: the viewer's e2e tests will skip"; \
	else echo "no $(CHROMIUM) and not root with apt-get: the viewer's e2e tests will skip"; fi

test: $(VENV)/.installed-dev browser
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# JSON Schemas of every command's --json output, generated from ionscope.model.contract.
schemas: $(VENV)/.installed
	$(BIN)/python -m ionscope.model.contract docs/schemas

# Long fuzz run: FUZZ_EXAMPLES mutants per reader case (16 cases: ≥ 10 000 in all), figures into docs/reliability.md.
FUZZ_EXAMPLES ?= 650
fuzz: $(VENV)/.installed-dev
	@mkdir -p build
	@start=$$(date +%s); \
	IONSCOPE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) IONSCOPE_FUZZ_REPORT=build/fuzz-counts.json \
	  $(BIN)/python -m pytest tests/fuzz/test_fuzz.py -q -p no:cacheprovider; rc=$$?; \
	load="$$(cut -d' ' -f1-3 /proc/loadavg)"; \
	$(BIN)/python -m tests.fuzz.report build/fuzz-counts.json docs/reliability.md $$(( $$(date +%s) - start )) "$$load"; \
	exit $$rc

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/mypy

# API reference (mkdocstrings over the numpydoc docstrings) and the documents of docs/, into build/docs.
$(VENV)/.installed-docs: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	@touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "Open $(abspath build/docs)/api/index.html in a browser."

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
