# Parcours — commandes de développement. `make run` puis `make test` suffisent.
# `make run` : serveur web (gunicorn) et tâches de fond ensemble sur http://127.0.0.1:8000/ ; Ctrl+C arrête tout.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run install test test-postgres lint check-migrations ci demo bench bench-pages clean

run: install
	$(BIN)/parcours migrate --noinput
	$(BIN)/parcours demo --if-empty
	$(BIN)/parcours run --host 127.0.0.1 --port 8000

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check parcours tests bench
	$(BIN)/ruff format --check parcours tests bench

check-migrations: install
	$(BIN)/parcours makemigrations --check --dry-run

demo: install
	$(BIN)/parcours migrate --noinput
	$(BIN)/parcours demo

bench: install
	$(BIN)/python bench/import_flux.py

# Pages des agents à 1 500 et 150 000 personnes (PostgreSQL local ; bases parcours_pages_N gardées).
bench-pages: install
	$(BIN)/python bench/pages.py --build 1500 --build 150000

clean:
	rm -rf $(VENV) var
