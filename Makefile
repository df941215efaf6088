# Shortcuts for the commands in the README. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= auto

.PHONY: setup book test bench lint clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(PY) -m monosem book --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m monosem test

bench: $(STAMP)
	$(PY) -m monosem bench

lint: $(STAMP)
	$(PY) -m ruff check monosem tests book
	$(PY) -m ruff format --check monosem tests book

clean:
	rm -rf _build
