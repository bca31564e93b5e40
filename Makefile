# pp2eb: `make run` starts the app (demo mode with the sandbox APIs by default), `make test` runs
# every test. Both create .venv and install the pinned requirements first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
# Demo mode unless told otherwise: PP2EB_DEMO=0 make run uses the real APIs.
PP2EB_DEMO ?= 1

.PHONY: run test lint format migrate bench screenshots clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV) && \
	  echo "python3-venv is missing; making .venv without pip and using the system pip" && \
	  $(PYTHON) -m venv --without-pip $(VENV); }
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || \
	  $(PYTHON) -m pip --python $(BIN)/python install --quiet pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	@$(FLASK) db upgrade

run: migrate
	@PP2EB_DEMO=$(PP2EB_DEMO) $(BIN)/python app.py

CHROMIUM ?= /usr/bin/chromium

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if [ -x $(CHROMIUM) ]; then $(BIN)/python -m pytest; else \
	  echo "NOTE: the browser test (tests/e2e) does not run: $(CHROMIUM) is missing."; \
	  echo "      Install Debian's chromium (sudo apt-get install chromium) to run it too."; \
	  $(BIN)/python -m pytest --ignore=tests/e2e; fi

# Renew the README's screenshots (docs/screenshots/) with the browser test.
screenshots: $(VENV)/.installed-dev
	PP2EB_SCREENSHOTS=docs $(BIN)/python -m pytest tests/e2e -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The backfill benchmark (bench/README.md): prints the table and writes bench/results.md.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
