# shellcheck shell=bash
# Shared helpers for deploy/*.sh. Sourced, never executed directly.
#
# Everything the dev services write (jars, data, logs, pid files) lives under
# one project-local folder, $OCC_RUN_DIR (default: <repo root>/.run), so that
# a `rm -rf .run` is a complete reset and nothing leaks into the source tree.

# Repo root = parent of deploy/. Resolved from this file's location so the
# scripts work no matter which directory they are called from.
OCC_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
OCC_REPO_ROOT="$(cd "$OCC_DEPLOY_DIR/.." && pwd -P)"
OCC_RUN_DIR="${OCC_RUN_DIR:-$OCC_REPO_ROOT/.run}"
export OCC_RUN_DIR

# Plain, colour-free logging on stderr (stdout is kept for machine-readable
# answers such as `postgres.sh dsn`). The prefix tells which script spoke.
log()  { printf '[%s] %s\n' "${OCC_LOG_TAG:-deploy}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${OCC_LOG_TAG:-deploy}" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "${OCC_LOG_TAG:-deploy}" "$*" >&2; exit 1; }

# Create the run dir with an absolute path (relative OCC_RUN_DIR values would
# break once a script cd's elsewhere).
ensure_run_dir() {
    mkdir -p "$OCC_RUN_DIR"
    OCC_RUN_DIR="$(cd "$OCC_RUN_DIR" && pwd -P)"
    export OCC_RUN_DIR
}

# port_open HOST PORT -> 0 if something accepts TCP connections there.
# Uses bash's /dev/tcp so it needs no extra tools; `timeout` bounds the
# connect so an unroutable host cannot hang us.
port_open() {
    local host="$1" port="$2"
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# wait_for_port HOST PORT SECONDS -> 0 once the port accepts, 1 on timeout.
wait_for_port() {
    local host="$1" port="$2" secs="$3" i
    for ((i = 0; i < secs * 2; i++)); do
        port_open "$host" "$port" && return 0
        sleep 0.5
    done
    return 1
}

# proc_alive PID -> 0 if the process exists and is not a zombie. A killed
# daemon whose parent is gone stays a zombie until init reaps it (slow or
# never in some containers), and kill -0 alone would call it alive.
proc_alive() {
    local pid="$1" state
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# pid_alive PIDFILE MARKER -> 0 if the pid in PIDFILE is alive AND its command
# line contains MARKER. The marker check guards against PID reuse after a
# reboot or crash: a stale pid file must never make us signal a stranger.
pid_alive() {
    local pidfile="$1" marker="$2" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# stop_pid PIDFILE MARKER TIMEOUT_SECONDS NAME
# TERM, wait up to TIMEOUT for a clean shutdown, then KILL. Removes the pid
# file. Returns 0 also when nothing was running (stop is idempotent).
stop_pid() {
    local pidfile="$1" marker="$2" timeout="$3" name="$4" pid i
    if ! pid_alive "$pidfile" "$marker"; then
        rm -f "$pidfile"
        log "$name is not running"
        return 0
    fi
    pid="$(<"$pidfile")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 2; i++)); do
        proc_alive "$pid" || break
        sleep 0.5
    done
    if proc_alive "$pid"; then
        warn "$name did not exit within ${timeout}s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
    log "$name stopped"
}

# Short, stable hash of the run dir: gives per-checkout (per-run-dir) names to
# the few things that must live outside it (e.g. the /var/tmp fallback).
run_dir_hash() {
    printf '%s' "$OCC_RUN_DIR" | sha256sum | cut -c1-12
}

# apt_install PKG... : install Debian packages when we are root and apt exists;
# otherwise say what to install. Used only for tools a fresh machine may lack.
apt_install() {
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing $* with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        warn "please install: $*"
    fi
}
