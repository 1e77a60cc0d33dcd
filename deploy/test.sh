#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up the virtualenv, lint, type-check,
# check the import rules (pyproject.toml [tool.importlinter]), check the
# generated JSON Schemas, then pytest (unit, integration, end-to-end).
# The integration tests start Kafka and PostgreSQL through deploy/ and stop what
# they started. Extra arguments go to pytest.
set -euo pipefail
# shellcheck disable=SC2034
OCC_LOG_TAG=test
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OCC_REPO_ROOT"

bash deploy/setup.sh
# Install the broker's jars and the database server up front, so a first run's
# downloads are not counted against a test's time-outs.
bash deploy/kafka.sh install
bash deploy/postgres.sh install
# The dashboard's end-to-end test drives Debian's Chromium through Playwright.
if [[ -z "${OCC_CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
fi

log "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
log "mypy"
.venv/bin/mypy schemas streams producers api
log "import rules"
.venv/bin/lint-imports
log "JSON Schemas"
.venv/bin/python -m schemas.export --check
log "pytest"
.venv/bin/python -m pytest "$@"
