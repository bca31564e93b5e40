# pp2eb: `make run` starts the app (demo mode with the sandbox APIs by default), `make test` runs
# every test (on SQLite; `make test-postgres` on PostgreSQL). Both create .venv and install the pinned requirements first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
# Demo mode unless told otherwise: PP2EB_DEMO=0 make run uses the real APIs.
PP2EB_DEMO ?= 1

.PHONY: run test test-dates test-postgres lint format migrate bench bench-links bench-overview screenshots clean

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

# The date-dependent tests (marker `dates`) with the whole process's clock set to each moment
# that breaks software: year end in Dutch time, both summer-time changes, a leap day, month
# end (tests/date_runs.py). faketime comes from Debian's libfaketime; installed when missing.
test-dates: $(VENV)/.installed-dev
	@command -v faketime >/dev/null || { \
	  echo "Installing Debian's faketime for the date runs..."; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq faketime >/dev/null; }
	$(BIN)/python -m tests.date_runs

# The whole suite on PostgreSQL: tests/pg_run.py starts a throwaway server from Debian's package
# (initdb into a temporary folder, a unix socket there), gives each test its own database on it,
# and stops it whatever the outcome. Tests marked `sqlite` (SQLite's file copy, WAL) are left out.
test-postgres: $(VENV)/.installed-dev
	@if [ -x $(CHROMIUM) ]; then $(BIN)/python -m tests.pg_run; else \
	  echo "NOTE: the browser test (tests/e2e) does not run: $(CHROMIUM) is missing."; \
	  $(BIN)/python -m tests.pg_run --ignore=tests/e2e; fi

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

# Many links on PostgreSQL, 1 and 3 processes (bench/README.md; about half an hour): writes its
# section of bench/results.md. Smaller: make bench-links BENCH_LINKS_ARGS="--links 20 --orders 50"
bench-links: $(VENV)/.installed-dev
	$(BIN)/python -m bench.links $(BENCH_LINKS_ARGS)

# The overview of many links (an office's home page), cold and warm, on SQLite and PostgreSQL
# (bench/README.md; about a minute): writes its section of bench/results.md. Smaller:
# make bench-overview BENCH_OVERVIEW_ARGS="--links 20 --orders 100 --databases sqlite"
bench-overview: $(VENV)/.installed-dev
	$(BIN)/python -m bench.overview --databases sqlite postgresql $(BENCH_OVERVIEW_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
