# Two commands on a fresh machine:  `make demo`  and  `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
export SKILLPATH_SHARED_DIR ?= $(SHARED)
export HF_HUB_OFFLINE := 1

.PHONY: install demo test test-fast lint lint-imports bench browser postgres clean

# The venv is (re)installed when pyproject.toml changes. torch is installed first and pinned:
# 2.13.0 is the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Headless Chromium from Debian for the browser test (Playwright's own download can't work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium package for the browser test"; fi; }

# Debian's PostgreSQL server for the store tests on PostgreSQL (tests/pg.py starts one in a
# temporary folder and stops it).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "install Debian's postgresql package for the PostgreSQL store tests"; fi; }

CATALOGUES := coursera-courses.csv coursera-descriptions.csv edx-courses.csv eu-university-modules.csv

demo: install
	$(BIN)/skillpath esco ingest $(SHARED)/esco
	$(BIN)/skillpath index build
	$(BIN)/skillpath skills search "write scripts in Python" -k 5
	$(BIN)/skillpath occupations search "data analyst" -k 5
	$(BIN)/skillpath catalogue import $(addprefix $(SHARED)/catalogue/,$(CATALOGUES))
	$(BIN)/skillpath catalogue import --format elm $(SHARED)/standards/elm-v3-microcredential-sample.jsonld
	$(BIN)/skillpath catalogue stats
	$(BIN)/skillpath recommend --target "data analyst" --occupation "warehouse worker" \
	  --text "I keep stock records in Excel and write short reports" --budget-ects 20 --language en -k 5

# The layer contract (pyproject [tool.importlinter]) first: an upward import or a cycle fails
# the build before any test runs.
lint-imports: install
	$(BIN)/python tools/lint_imports.py

test: install browser postgres lint-imports
	$(BIN)/python -m pytest -q

# The fast loop: pure logic, no full ESCO index, no server, no browser (under a minute).
test-fast: install lint-imports
	$(BIN)/python -m pytest -q -m "not (slow or esco or model or build or browser or server)"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf var results $(VENV)
