#!/usr/bin/env bash
# Benchmarks (not tests): pipeline throughput and latency. Services are started
# through deploy/ like the tests. Extra arguments go to the pipeline benchmark.
set -euo pipefail
# shellcheck disable=SC2034
OCC_LOG_TAG=bench
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OCC_REPO_ROOT"
bash deploy/setup.sh
OCC_KEEP_SERVICES="${OCC_KEEP_SERVICES:-0}" .venv/bin/python -m tests.bench.bench_pipeline "$@"
