# Two commands on a fresh machine:  `make run` (install, train the default model if missing, serve)
# and `make test`. Everything else is for ML owners and analysts.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
MODEL   := models/default/model.joblib
HOST    ?= 127.0.0.1
PORT    ?= 8000

.PHONY: run setup system-deps train eval corpus test bench load clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dask,postgres]'
	touch $(STAMP)

setup: $(STAMP)

$(MODEL): | $(STAMP)
	$(BIN)/triage train

## The main job: install, train the default model if models/ has none, serve the API and review page.
run: $(MODEL)
	$(BIN)/triage serve --host $(HOST) --port $(PORT)

## Browser and database for the end-to-end tests (Debian packages); skipped when already there.
system-deps:
	@if command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql >/dev/null) \
	  || echo "system-deps: could not install chromium/postgresql; their tests will be skipped"; \
	else echo "system-deps: not root or no apt-get; browser and PostgreSQL tests will be skipped"; fi

## Retrain from corpora/ plus agents' corrections (model selection by 3-fold CV), then the evaluation report.
train: $(STAMP)
	$(BIN)/triage train --feedback
	$(BIN)/triage evaluate

eval: $(STAMP)
	$(BIN)/triage evaluate

## Merge writers' slices in corpora/parts/ into corpora/complaints.jsonl (dedupe, split, data card).
corpus: $(STAMP)
	$(BIN)/python -m training.build_corpus

test: $(STAMP) system-deps $(MODEL)
	$(BIN)/python -m pytest

bench: $(MODEL)
	$(BIN)/python -m bench.bench

load: $(MODEL)
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
