# The two commands a newcomer needs:
#   make demo   install, then publish the Jessica Jones seed campaign to a local outbox (no Redis needed)
#   make test   install everything (Python packages, redis-server), lint, type-check and run the whole suite
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: demo test install install-services lint typecheck unit bench-smoke bench clean

demo: install
	$(BIN)/promo demo

test: install-services lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -q

install:
	@scripts/bootstrap

install-services:
	@scripts/bootstrap --services

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q -m "not slow"

clean:
	rm -rf $(VENV) .promo .pytest_cache .mypy_cache .ruff_cache

bench-smoke: install-services
	$(BIN)/pytest -q tests/test_bench_smoke.py

bench: install-services
	$(BIN)/python -m bench
