#!/usr/bin/env bash
# Project-local PostgreSQL cluster for development and tests, on its own port,
# next to (never touching) the Debian system cluster.
#
#   deploy/postgres.sh install   install the PostgreSQL server with apt if it is missing
#   deploy/postgres.sh start     initdb once, start, create role+database `occupancy`
#   deploy/postgres.sh stop      fast shutdown
#   deploy/postgres.sh status    print running/stopped; exit 0 if running, 1 if not
#   deploy/postgres.sh dsn       print the connection URL clients should use
#   deploy/postgres.sh psql ...  open psql on that URL (extra args go to psql)
#
# Environment (all optional):
#   OCC_RUN_DIR       where data, socket and log live (default <repo>/.run; if the
#                     postgres OS user cannot reach it: /var/tmp/occupancy-pg-<hash>)
#   OCC_DATABASE_URL  use an existing database instead: start/status only check it answers
#   PG_PORT           TCP port on 127.0.0.1 (default 15432)
#   PG_BIN            PostgreSQL server bin dir (default: newest /usr/lib/postgresql/*/bin)
#   PG_START_TIMEOUT  seconds pg_ctl waits for startup/shutdown (default 60)
set -euo pipefail

# shellcheck disable=SC2034  # read by log()/warn()/die() in lib.sh
OCC_LOG_TAG=postgres
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${PG_PORT:-15432}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
DB_NAME=occupancy
DB_ROLE=occupancy
# The server runs as this OS user when we are root (postgres refuses to run
# as root). When not root, it simply runs as the calling user.
PG_OS_USER=postgres

ensure_run_dir

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

find_pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN has no initdb/pg_ctl"
        printf '%s' "$PG_BIN"
        return 0
    fi
    # Debian layout: /usr/lib/postgresql/<major>/bin; take the newest major.
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] || return 1
    printf '%s' "$dir"
}

# Run a command as the server's OS user.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

# Decide where data/socket/log live and export PGDATA & co. Deterministic, so
# start/stop/status all find the same place without any state file.
resolve_paths() {
    local base="$OCC_RUN_DIR" hash
    hash="$(run_dir_hash)"
    if [[ $EUID -eq 0 ]]; then
        id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' does not exist (run '$0 install')"
        # The server runs as `postgres`, which must be able to reach its data
        # dir. A checkout inside a private home (mode 700) blocks that: then
        # keep the cluster under /var/tmp instead (per-checkout name).
        if ! runuser -u "$PG_OS_USER" -- test -x "$OCC_RUN_DIR"; then
            base="/var/tmp/occupancy-pg-$hash"
            if [[ ! -d "$base" ]]; then
                log "user '$PG_OS_USER' cannot traverse $OCC_RUN_DIR; keeping the cluster in $base instead"
            fi
            mkdir -p "$base"
            chown "$PG_OS_USER": "$base"
            chmod 700 "$base"
        fi
    fi
    PGDATA="$base/pgdata"
    PG_SOCKET_DIR="$base/pgsocket"
    PG_LOG="$base/postgres.log"
    # Unix socket paths are limited to ~107 bytes; a deep checkout would make
    # the server fail with a cryptic error, so move just the socket to /tmp.
    if (( ${#PG_SOCKET_DIR} + ${#PG_PORT} + 12 > 100 )); then
        PG_SOCKET_DIR="/tmp/occupancy-pg-$hash.sock"
    fi
}

# Create the folders with the right owner (idempotent).
prepare_dirs() {
    mkdir -p "$PGDATA" "$PG_SOCKET_DIR"
    touch "$PG_LOG"
    if [[ $EUID -eq 0 ]]; then
        chown "$PG_OS_USER": "$PGDATA" "$PG_SOCKET_DIR" "$PG_LOG"
    fi
    chmod 700 "$PGDATA"        # initdb/postgres insist on 0700 (or 0750)
    chmod 755 "$PG_SOCKET_DIR"
}

# 0 if the server of our data dir is running: pg_ctl reads postmaster.pid
# and checks that pid with kill(0); we also reject a zombie postmaster (one
# killed -9 and not yet reaped), which pg_ctl would still call running.
pg_running() {
    [[ -f "$PGDATA/PG_VERSION" ]] || return 1
    as_pg "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1 || return 1
    proc_alive "$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null)"
}

# psql as the bootstrap superuser over the unix socket (trust auth).
psql_admin() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

local_dsn() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$DB_ROLE" "$PG_PORT" "$DB_NAME"; }

write_config() {
    # Our settings live in their own file, regenerated on every start (so a
    # changed PG_PORT takes effect), pulled in by one include line.
    cat >"$PGDATA/occupancy.conf" <<EOF
# Generated by deploy/postgres.sh on every start -- edit the script, not this file.
port = ${PG_PORT}
listen_addresses = '127.0.0.1'      # loopback only: see pg_hba.conf
unix_socket_directories = '${PG_SOCKET_DIR}'
max_connections = 100
shared_buffers = 128MB
# Durability stays ON: tests exercise crash/restart behaviour, and a dev
# cluster that lies about fsync hides real bugs. synchronous_commit: default (on).
fsync = on
full_page_writes = on
# Same as the TimescaleDB container in docker-compose.yml.
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off             # pg_ctl -l already captures stderr
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    grep -qxF "include 'occupancy.conf'" "$PGDATA/postgresql.conf" \
        || printf "\n# Added by deploy/postgres.sh\ninclude 'occupancy.conf'\n" >>"$PGDATA/postgresql.conf"

    # Authentication: trust, i.e. no password, for the unix socket and
    # 127.0.0.1 only. Acceptable because this is a throwaway dev/test cluster
    # that listens on loopback and nowhere else; never copy this to a server.
    cat >"$PGDATA/pg_hba.conf" <<'EOF'
# Generated by deploy/postgres.sh -- dev cluster on loopback, trust auth.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 trust
host    all          all   127.0.0.1/32  trust
local   replication  all                 trust
host    replication  all   127.0.0.1/32  trust
EOF
    if [[ $EUID -eq 0 ]]; then
        chown "$PG_OS_USER": "$PGDATA/occupancy.conf" "$PGDATA/pg_hba.conf"
    fi
}

ensure_role_and_db() {
    if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'")" != 1 ]]; then
        # SUPERUSER so tests can create/drop their own databases and extensions.
        psql_admin -c "CREATE ROLE $DB_ROLE LOGIN SUPERUSER"
        log "created role $DB_ROLE"
    fi
    if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
        psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_ROLE"
        log "created database $DB_NAME"
    fi
}

take_lock() {
    # Serialise concurrent start/stop calls on the same run dir.
    exec 9>"$OCC_RUN_DIR/.postgres.lock"
    flock -w 120 9 || die "another postgres.sh start/stop holds $OCC_RUN_DIR/.postgres.lock"
}

# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------

cmd_install() {
    if PGBIN="$(find_pg_bin)"; then
        log "PostgreSQL server found in $PGBIN"
        return 0
    fi
    [[ $EUID -eq 0 ]] || die "PostgreSQL server not installed; run as root (or: sudo apt-get install -y postgresql)"
    log "installing PostgreSQL server with apt"
    # The Debian package would start its own system cluster on 5432; we do not
    # want that side effect, so block service starts for the duration of the
    # install (the standard policy-rc.d mechanism) unless a policy exists.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# temporary, from occupancy deploy/postgres.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    local rc=0
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; } >&2 || rc=$?
    if [[ $added_policy -eq 1 ]]; then rm -f "$policy"; fi
    [[ $rc -eq 0 ]] || die "apt-get install postgresql failed"
    PGBIN="$(find_pg_bin)" || die "postgresql installed but no /usr/lib/postgresql/*/bin found"
    log "PostgreSQL server installed in $PGBIN"
}

cmd_start() {
    if [[ -n "${OCC_DATABASE_URL:-}" ]]; then
        # The user brought their own database: only check that it answers.
        psql "$OCC_DATABASE_URL" -X -q -tAc 'select 1' >/dev/null \
            || die "OCC_DATABASE_URL is set but the database does not answer"
        log "using external database from OCC_DATABASE_URL (it answers)"
        printf '%s\n' "$OCC_DATABASE_URL"
        return 0
    fi
    take_lock
    cmd_install
    resolve_paths
    prepare_dirs

    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        log "initialising cluster in $PGDATA"
        # C collation: deterministic ordering in tests and no dependency on
        # installed locales. Checksums: catch on-disk corruption in crash tests.
        as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --encoding=UTF8 --no-locale \
            --data-checksums --auth=trust >"$OCC_RUN_DIR/initdb.log" 2>&1 \
            || { cat "$OCC_RUN_DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    local data_major bin_major
    data_major="$(<"$PGDATA/PG_VERSION")"
    bin_major="$("$PGBIN/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')"
    [[ "$data_major" == "$bin_major" ]] \
        || die "$PGDATA was created by PostgreSQL $data_major but the server is $bin_major (set PG_BIN, or remove $PGDATA)"

    if pg_running; then
        log "already running (data $PGDATA)"
        ensure_role_and_db
        printf '%s\n' "$(local_dsn)"
        return 0
    fi
    if port_open 127.0.0.1 "$PG_PORT"; then
        die "port $PG_PORT is already in use by another process (set PG_PORT, or OCC_DATABASE_URL to use that server)"
    fi

    # Right after a crash (kill -9) the old postmaster can linger as a zombie
    # for a moment; postgres would refuse to start while its pid "exists".
    local old_pid i
    old_pid="$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
    if [[ "$old_pid" =~ ^[0-9]+$ ]]; then
        for ((i = 0; i < 20; i++)); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.5; done
    fi

    write_config
    log "starting PostgreSQL $bin_major on 127.0.0.1:$PG_PORT, log: $PG_LOG"
    # -w: return only once the server accepts connections. pg_ctl daemonises
    # the postmaster itself, so it survives this script.
    as_pg "$PGBIN/pg_ctl" start -D "$PGDATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" >/dev/null 9>&- \
        || { tail -n 20 "$PG_LOG" >&2; die "PostgreSQL did not start (full log: $PG_LOG)"; }
    ensure_role_and_db
    log "ready"
    printf '%s\n' "$(local_dsn)"
}

cmd_stop() {
    if [[ -n "${OCC_DATABASE_URL:-}" ]]; then
        log "OCC_DATABASE_URL is set: external database, not ours to stop"
        return 0
    fi
    take_lock
    PGBIN="$(find_pg_bin)" || { log "PostgreSQL is not installed, so not running"; return 0; }
    resolve_paths
    if ! pg_running; then
        log "PostgreSQL is not running"
        return 0
    fi
    log "stopping PostgreSQL (pid $(head -n 1 "$PGDATA/postmaster.pid"))"
    # fast = roll back open transactions and shut down cleanly (checkpoint),
    # without waiting for clients to disconnect.
    as_pg "$PGBIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t "$PG_START_TIMEOUT" >/dev/null
    log "PostgreSQL stopped"
}

cmd_status() {
    if [[ -n "${OCC_DATABASE_URL:-}" ]]; then
        if psql "$OCC_DATABASE_URL" -X -q -tAc 'select 1' >/dev/null 2>&1; then
            echo "running (external: OCC_DATABASE_URL)"
            return 0
        fi
        echo "stopped (external OCC_DATABASE_URL does not answer)"
        return 1
    fi
    if PGBIN="$(find_pg_bin)"; then
        resolve_paths
        if pg_running; then
            echo "running (pid $(head -n 1 "$PGDATA/postmaster.pid"), $(local_dsn), data $PGDATA)"
            return 0
        fi
    fi
    echo "stopped"
    return 1
}

cmd_dsn() {
    printf '%s\n' "${OCC_DATABASE_URL:-$(local_dsn)}"
}

case "${1:-}" in
    install) cmd_install ;;
    start)   cmd_start ;;
    stop)    cmd_stop ;;
    status)  cmd_status ;;
    dsn)     cmd_dsn ;;
    psql)    shift; exec psql "$(cmd_dsn)" "$@" ;;
    *)
        echo "usage: $0 {install|start|stop|status|dsn|psql [args]}" >&2
        exit 2
        ;;
esac
