# Two commands for a fresh machine (Python 3.11, pip, make): `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: install demo test lint bench bench-sync bench-indicators bench-report clean

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/cchc demo

lint: install
	$(BIN)/ruff check .

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench-sync: install
	$(BIN)/cchc bench sync --dossiers $(or $(N),1000000)

bench-indicators: install
	$(BIN)/cchc bench indicators --dossiers $(or $(N),1000000)

bench-report: install
	$(BIN)/cchc bench report --dossiers $(or $(N),1000000)

bench: bench-sync bench-indicators bench-report

clean:
	rm -rf var/cchc.sqlite* var/demo.sqlite* var/reports var/bench
