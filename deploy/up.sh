#!/usr/bin/env bash
# One command from a fresh clone to a live dashboard:
# virtualenv, Kafka (KRaft), PostgreSQL, topics, migrations, the Faust worker,
# the GraphQL API and a simulated camera pair. Safe to run again: what runs is
# reused, what is missing is started. `deploy/down.sh` stops it all.
#
# Environment: KAFKA_BOOTSTRAP_SERVERS / OCC_DATABASE_URL use existing
# services instead of local ones; OCC_API_PORT (default 8000);
# OCC_WORKER_METRICS_PORT (the worker's Prometheus exporter, default 9102, 0: off);
# OCC_LOG_FORMAT (json|text; the logs below are files, so JSON lines by default);
# OCC_SIM_PEOPLE (people per simulated scene, default 60); OCC_NO_SIMULATOR=1
# skips the camera.
set -euo pipefail
# shellcheck disable=SC2034
OCC_LOG_TAG=up
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_run_dir

cd "$OCC_REPO_ROOT"
# The simulated cameras need no detector: no camera extra (no torch, ~6 GB) here.
# `make camera-setup` installs the camera side.
OCC_EXTRAS="${OCC_EXTRAS:-dev}" bash deploy/setup.sh
bash deploy/kafka.sh start >/dev/null
bash deploy/postgres.sh start >/dev/null

export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-19092}}"
OCC_DATABASE_URL="$(bash deploy/postgres.sh dsn)"
export OCC_DATABASE_URL
export OCC_API_PORT="${OCC_API_PORT:-8000}"
export OCC_WORKER_METRICS_PORT="${OCC_WORKER_METRICS_PORT:-9102}"
export PYTHONUNBUFFERED=1
PY="$OCC_REPO_ROOT/.venv/bin/python"

"$PY" -m streams.admin
"$PY" -m streams.cli.migrate
# The API lets nobody in without a key: keep a demo admin key (made once, mode 0600).
admin_key="$("$PY" -m api.auth ensure --name demo-admin --role admin --file "$OCC_RUN_DIR/demo-admin.key")"

mkdir -p "$OCC_RUN_DIR/pids" "$OCC_RUN_DIR/logs"

# start_bg NAME MARKER CMD... : start CMD detached unless NAME already runs.
start_bg() {
    local name="$1" marker="$2"
    shift 2
    local pidfile="$OCC_RUN_DIR/pids/$name.pid" logfile="$OCC_RUN_DIR/logs/$name.log"
    if pid_alive "$pidfile" "$marker"; then
        log "$name already running (pid $(<"$pidfile"))"
        return 0
    fi
    setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
    log "$name started (pid $!, log $logfile)"
}

# Under a supervisor: the worker exits on purpose when it must not go on.
start_bg worker "streams worker" bash deploy/supervise.sh worker \
    "$PY" -m streams worker -l info --without-web
start_bg api "api.app:app" "$PY" -m uvicorn api.app:app --host "${OCC_API_HOST:-127.0.0.1}" \
    --port "$OCC_API_PORT" --log-config deploy/uvicorn-logging.json
if [[ "${OCC_NO_SIMULATOR:-0}" != 1 ]]; then
    start_bg camera "producers.simulation" "$PY" -m producers.simulation \
        --realtime --loop --people "${OCC_SIM_PEOPLE:-60}" --stay-fraction 0.1
fi

api="http://127.0.0.1:$OCC_API_PORT"
for _ in $(seq 1 120); do
    curl -fsS "$api/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "$api/healthz" >/dev/null || die "the API did not come up; see $OCC_RUN_DIR/logs/api.log"

# The worker logs "occupancy worker ready" (streams/readiness.py) once its group
# owns every source partition; Faust's own "Worker ready" also comes after a
# rebalance that left topics out. Only lines of the running worker count (the
# log is appended to across runs; every log line carries the pid: "[pid]" in
# Faust's text, "pid":N in a JSON line, see streams/logs.py).
# The pid file holds the supervisor's pid; the worker is its child.
supervisor_pid="$(<"$OCC_RUN_DIR/pids/worker.pid")"
worker_log="$OCC_RUN_DIR/logs/worker.log"
ready_timeout="${OCC_UP_READY_TIMEOUT_S:-120}"
ready=""
worker_pid=""
for ((i = 0; i < ready_timeout * 2; i++)); do
    worker_pid="$(pgrep -P "$supervisor_pid" -f "streams worker" | head -1)" || true
    pid_re="(\\[${worker_pid:-none}\\] |\"pid\":${worker_pid:-none},)"
    ready_sed="s/.*${pid_re}.*(occupancy worker ready: owns [0-9]+\\/[0-9]+ source partitions).*/\\2/p"
    ready="$(sed -nE "$ready_sed" "$worker_log" 2>/dev/null | tail -1)" || true
    [[ -n "$ready" ]] && break
    pid_alive "$OCC_RUN_DIR/pids/worker.pid" "streams worker" \
        || die "the worker exited; see $worker_log"
    sleep 0.5
done
if [[ -n "$ready" ]]; then
    log "$ready"
else
    warn "the worker is not ready after ${ready_timeout} s (counts may stay at zero); see $worker_log"
    grep -E "\\[$worker_pid\\] \\[(WARNING|ERROR)\\]|\"level\":\"(WARNING|ERROR)\",[^}]*\"pid\":$worker_pid," \
        "$worker_log" | tail -3 >&2 || true
fi

# Let the first simulated people walk through a door before showing counts.
sleep "${OCC_UP_SETTLE_S:-15}"
log "live counts (GraphQL query zones):"
"$PY" -m api.counts --url "$api" --key-file "$OCC_RUN_DIR/demo-admin.key"
cat <<TXT

  Dashboard (live):   $api/   sign in with the demo admin API key:
                      $admin_key
                      (kept in $OCC_RUN_DIR/demo-admin.key; python -m api.auth makes others)
  GraphQL endpoint:   $api/graphql   (subscriptions: graphql-transport-ws)
  Metrics:            $api/metrics (with the key)   worker: http://127.0.0.1:$OCC_WORKER_METRICS_PORT/metrics
  Kafka bootstrap:    $KAFKA_BOOTSTRAP_SERVERS
  PostgreSQL:         $OCC_DATABASE_URL
  Logs:               $OCC_RUN_DIR/logs/
  Stop everything:    deploy/down.sh   (or: make down)
TXT
