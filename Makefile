# Two commands do all set-up: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BOOTSTRAP_VERSION := 5.3.8
BOOTSTRAP_CSS := assets/vendor/bootstrap.min.css
HOST ?= 127.0.0.1
PORT ?= 8050
BENCHES ?= bench/ingest.py bench/web_memory.py bench/jobs.py bench/profile.py bench/ml.py \
  bench/rfm.py bench/basket.py bench/cpu.py

.PHONY: run test lint bench serve clean help

help:
	@echo "make run    - install (first time) and start the app on http://$(HOST):$(PORT)"
	@echo "make test   - install what tests need (incl. chromium) and run the whole suite"
	@echo "make lint   - ruff check + format check"
	@echo "make bench  - run the benchmarks in bench/ and print their figures"
	@echo "make serve  - gunicorn with 2 workers (needs DI_SECRET_KEY)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Bootstrap's stylesheet is served locally (the app must render styled with no internet).
$(BOOTSTRAP_CSS):
	mkdir -p $(dir $@)
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent bootstrap@$(BOOTSTRAP_VERSION) >/dev/null \
	  && tar xzf bootstrap-$(BOOTSTRAP_VERSION).tgz package/dist/css/bootstrap.min.css \
	  && cp package/dist/css/bootstrap.min.css $(CURDIR)/$@ && rm -rf $$tmp

# Debian's chromium + chromedriver for the browser tests, installed only when missing.
.PHONY: browser
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing chromium + chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

run: $(VENV)/.runtime-installed $(BOOTSTRAP_CSS)
	DI_ENV=$${DI_ENV:-development} $(PY) app.py --host $(HOST) --port $(PORT)

serve: $(VENV)/.runtime-installed $(BOOTSTRAP_CSS)
	$(VENV)/bin/gunicorn app:server -w 2 --preload -b $(HOST):$(PORT) --no-control-socket

test: $(VENV)/.dev-installed $(BOOTSTRAP_CSS) browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.dev-installed $(BOOTSTRAP_CSS) browser
	for b in $(BENCHES); do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .data .pytest_cache .ruff_cache
