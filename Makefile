.DEFAULT_GOAL := help
.PHONY: help up camera-setup down test lint format typecheck schemas bench

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-13s %s\n", $$1, $$2}'

up: ## Set up and run everything: Kafka, PostgreSQL, worker, API, simulated cameras
	bash deploy/up.sh

camera-setup: ## Install the camera side too (YOLO, ByteTrack, OpenCV, torch: ~6 GB)
	OCC_EXTRAS=dev,camera bash deploy/setup.sh

down: ## Stop everything that `make up` started
	bash deploy/down.sh

test: ## Lint, type-check and run every test against real Kafka and PostgreSQL
	bash deploy/test.sh

lint: ## ruff lint and format check, import rules (import-linter)
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

format: ## Format the code
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

typecheck: ## mypy
	.venv/bin/mypy schemas streams producers api

schemas: ## Regenerate the JSON Schema files (schemas/json) and the AsyncAPI document
	.venv/bin/python -m schemas.export
	.venv/bin/python -m streams.cli.asyncapi

bench: ## Run every benchmark (tables to copy into the README)
	bash deploy/bench.sh
