# The two commands of the README: `make demo` and `make test`. Everything they need is installed
# by these targets into .venv (Python packages) or through apt (Debian packages for browser tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint check clean embeddings

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

## Set everything up on SQLite, ingest the sample papers, score them and write digests to var/outbox/.
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo

## Run the whole test suite (unit tests on SQLite, integration tests on real PostgreSQL/Redis/Celery).
test: $(STAMP)
	bash scripts/install-system-packages.sh
	$(BIN)/python -m pytest

## The optional sentence-embedding part of relevance (torch CPU, ~1 GB); then set
## RECOMMENDER_EMBEDDINGS=minilm and refit (docs/recommender.md).
embeddings: $(STAMP)
	$(BIN)/pip install --quiet -r requirements-embeddings.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(STAMP)
	$(BIN)/python manage.py check

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
