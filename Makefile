# The newcomer's path: `make demo` trains a CNN on the shipped digits, `make test` runs the
# whole suite. Both create .venv and install the package (editable) with its extras first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= test,data,notebooks,torch,sweep,distributed
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: help install test lint demo bench bench-quick clean

help:
	@echo "make demo    train a LeNet on the shipped digits (writes runs/demo/)"
	@echo "make test    lint and run the whole test suite"
	@echo "make bench   the full benchmark suite (writes benchmarks/results/)"
	@echo "make clean   remove .venv, caches and outputs"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed; this is " + sys.version.split()[0] + ". Run: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@sh scripts/ensure_dot.sh
	@touch $@

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	@sh scripts/ensure_browser.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/autograd-train

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis runs benchmarks/results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
