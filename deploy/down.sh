#!/usr/bin/env bash
# Stop what deploy/up.sh started, by process id: camera, API, worker, then
# Kafka and PostgreSQL (their own scripts leave user-provided services alone).
set -euo pipefail
# shellcheck disable=SC2034
OCC_LOG_TAG=down
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_run_dir
cd "$OCC_REPO_ROOT"

stop_pid "$OCC_RUN_DIR/pids/camera.pid" "producers.simulation" 10 camera
stop_pid "$OCC_RUN_DIR/pids/api.pid" "api.app:app" 15 api
stop_pid "$OCC_RUN_DIR/pids/worker.pid" "streams worker" 30 worker
bash deploy/kafka.sh stop
bash deploy/postgres.sh stop
