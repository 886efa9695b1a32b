# The README's commands. Each sets up .venv itself, so both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test reliability venv clean

$(BIN)/netsync: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/netsync

demo: venv
	$(BIN)/netsync demo

# ical.js (Thunderbird's parser), which tests/readers.py reads netsync's reminders with.
READERS := tests/readers/node_modules/ical.js/package.json

$(READERS): tests/readers/package.json tests/readers/package-lock.json
	npm ci --prefix tests/readers --no-audit --no-fund --silent
	touch $@

# pytest-xdist workers: one more than the cores, as most of a test's time is spent waiting on
# the servers it starts. Tests that share a module-scoped run are kept on one worker
# (xdist_group). WORKERS=0 runs the suite in one process.
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: venv $(READERS)
	$(BIN)/ruff check netsync tests
	$(BIN)/ruff format --check netsync tests
	$(BIN)/mypy
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup

# docs/reliability.md from a complete, green run of the fault tests (the suite never writes it).
# In one process: the page is written from the figures of the whole run.
reliability: venv
	NETSYNC_RELIABILITY_PAGE=docs/reliability.md $(BIN)/pytest -q -p no:xdist tests/faults

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/readers/node_modules
