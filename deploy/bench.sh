#!/usr/bin/env bash
# Benchmarks (not tests). Each compares side by side in one run, so the ratios
# hold on a noisy machine; copy the printed tables into the README.
#
#   deploy/bench.sh                 all of them
#   deploy/bench.sh pipeline ARGS   throughput vs a bare consumer, live latency
#   deploy/bench.sh counters ARGS   counting accuracy vs supervision/ultralytics, kernel speed
#   deploy/bench.sh producer ARGS   camera producer vs ultralytics' model.track loop
#   deploy/bench.sh history ARGS    sink ingest vs raw COPY, history query latency
set -euo pipefail
# shellcheck disable=SC2034
OCC_LOG_TAG=bench
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OCC_REPO_ROOT"
OCC_EXTRAS="${OCC_EXTRAS:-dev,camera,bench}" bash deploy/setup.sh

which="${1:-all}"
[[ $# -gt 0 ]] && shift
run() { log "benchmark: $1"; .venv/bin/python -m "tests.bench.bench_$1" "${@:2}"; }
case "$which" in
    all) for b in counters pipeline history producer; do run "$b"; done ;;
    pipeline | counters | producer | history) run "$which" "$@" ;;
    *) die "unknown benchmark $which (pipeline, counters, producer, history, all)" ;;
esac
