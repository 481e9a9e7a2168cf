# sfnotebook: every command a developer or CI needs. `make test` builds everything from nothing.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest docs demo lab labextension bench cassettes audit browser java clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An editable install skips pyproject's data-files, so the prebuilt JupyterLab extension
# (%%soql highlighted as SQL) is linked where JupyterLab looks, as a wheel would install it.
LABEXT := $(VENV)/share/jupyter/labextensions/sfnotebook-soql

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	mkdir -p $(dir $(LABEXT))
	ln -sfn "$(CURDIR)/sfnotebook/labextension" $(LABEXT)
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser test (Playwright drives it; it never downloads a browser).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser test will skip"; \
	  else echo "chromium missing and apt-get unavailable: the browser test will skip"; fi; \
	fi

# Debian's Java 17 runtime for the Spark tests (pyspark runs a JVM); like Chromium above.
java:
	@if ! command -v java >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	      || echo "could not install openjdk-17-jre-headless: the Spark tests will skip"; \
	  else echo "java missing and apt-get unavailable: the Spark tests will skip"; fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install browser java
	$(BIN)/pytest -q

# The documentation site (mkdocs.yml, docs/) into site/; --strict: any warning fails the build.
# Offline: no plugin fetches anything (see mkdocs.yml); NO_MKDOCS_2_WARNING quiets Material's
# end-of-life banner, which is not about this project.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs pytest

# Rebuild the prebuilt JupyterLab extension from labextension/lib/ into sfnotebook/labextension/
# (committed, so installing sfnotebook needs no Node.js); records the sources' hash, which a
# test compares, so a source change without a rebuild fails the tests.
labextension: install
	cd labextension && npm ci --no-audit --no-fund --loglevel=error \
	  && PATH="$(CURDIR)/$(BIN):$$PATH" jupyter-builder build .
	$(BIN)/python -m tools.labextension_hash --write

demo: install
	$(BIN)/python -m tools.run_demo

lab: install
	$(BIN)/python -m tools.run_lab

bench: install
	$(BIN)/python bench/run_all.py

cassettes: install
	SFNOTEBOOK_RECORD=1 $(BIN)/pytest -q tests/cassettes

audit: install
	$(BIN)/pip-audit --skip-editable

clean:
	rm -rf $(VENV) build site .pytest_cache .mypy_cache .ruff_cache
