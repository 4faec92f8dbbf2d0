# lahstats: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# On a GPU server: make install TORCH_INDEX=https://download.pytorch.org/whl/cu128 (see README)
TORCH_INDEX ?=
# The production model stacks (pyannote.audio, transformers) install with the dev tools so their
# tests run; a small embedded-only install: make install EXTRAS=dev
EXTRAS ?= dev,pyannote,transformers

.DEFAULT_GOAL := help
.PHONY: help install system-deps dev migrate test test-browser lint format bench bench-long bench-backends loadtest reliability eval doctor clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

system-deps: ## Install ffmpeg with apt-get when it is missing (root only)
	@scripts/install-system-deps.sh

install: system-deps ## Create .venv: CPU torch first, then lahstats with dev tools and model stacks
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet "torch==$(TORCH_VERSION)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python scripts/torchaudio_pure.py
	@$(BIN)/python -c "import torch; print('torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'cpu')"

migrate: ## Apply database migrations (lahstats db upgrade)
	$(BIN)/lahstats db upgrade

dev: migrate ## Serve the API and the try-it page on http://127.0.0.1:8000/ (embedded: SQLite, local files, in-process jobs)
	LAHSTATS_LOG_JSON=$${LAHSTATS_LOG_JSON:-false} $(BIN)/lahstats serve

test: ## Run the whole test suite (real PostgreSQL, Redis and models)
	$(BIN)/pytest

test-browser: ## The try-it page in the system Chromium (tests/browser); screenshots in test-artifacts/browser
	$(BIN)/pytest tests/browser

lint: ## ruff (lint + format check) and mypy --strict on the package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: ## Print speed and memory figures: service, the pipeline on 2/10/30 min, the end step at 10/60/180 min, chunk by chunk on 10 min both ways, 120 min uploaded as one file (~50 min)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.pipeline $(if $(BENCH_MINUTES),--minutes $(BENCH_MINUTES))
	$(BIN)/python -m benchmarks.assembly
	$(BIN)/python -m benchmarks.incremental $(if $(BENCH_CHUNKED_MINUTES),--minutes $(BENCH_CHUNKED_MINUTES))
	$(BIN)/python -m benchmarks.incremental --minutes 120 --backend one-file

bench-long: ## Chunk by chunk on 10, 60 and 180 min, embedded and PostgreSQL + Redis + worker (~3.5 h)
	$(BIN)/python -m benchmarks.incremental --minutes 10 60 180

bench-backends: ## Throughput of the production backends (pyannote, transformers) on this device
	$(BIN)/python -m benchmarks.backends $(if $(BENCH_SECONDS),--seconds $(BENCH_SECONDS))

loadtest: ## 100 clients vs serve on PostgreSQL + Redis, processing nowhere/inside/beside it (~8 min; LOADTEST_ARGS=--worker separate)
	$(BIN)/python -m benchmarks.loadtest $(LOADTEST_ARGS)

reliability: ## The README's Reliability tests alone: faults, hostile input, schemathesis, adversarial files, limits
	$(BIN)/pytest tests/faults tests/api/test_hostile_input.py tests/api/test_schemathesis.py tests/api/test_rate_limits.py tests/test_ratelimit.py tests/test_adversarial_cli.py tests/api/test_chunks.py

eval: ## Score the pipeline on ../shared/data/dev (EVAL_ARGS=--chunks to feed 30 s chunks)
	$(BIN)/lahstats eval ../shared/data/dev --json var/eval.json $(EVAL_ARGS)

doctor: ## Check database, Redis, storage, ffmpeg and the models
	$(BIN)/lahstats doctor

clean: ## Remove caches (keeps .venv and var/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
