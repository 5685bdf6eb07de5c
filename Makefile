# Two commands: `make run` (set up, build the index, start the app) and `make test`.
# `make install` is behind both: a .venv/ at the repo root with everything the project needs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test index lint bench screenshots system-deps clean reader

install: $(STAMP) system-deps

# torch is pinned to the CPU build first: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# Debian's Chromium drives the browser tests (Playwright's own browser download is never used).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else \
	    echo "chromium is missing and this user cannot install it: browser tests will be skipped"; exit 0; fi; \
	  echo "installing chromium for the browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

index: $(STAMP)
	$(BIN)/svt index

run: install index
	$(BIN)/python app.py

test: install
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/svt corpus lint
	$(BIN)/svt rules lint

# Refresh the committed screenshots (docs/screenshots) by running the browser tests.
screenshots: install
	SVT_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/ui/test_ui_browser.py

# Retrain the similarity step's reader (assistant/reader/) after the prototype bank changes
# (about 4 minutes on 2 cores); tests/eval/test_train_reader.py says when it is stale.
reader: $(STAMP)
	$(BIN)/python -m eval.train_reader

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf .svt .pytest_cache .hypothesis
