#!/usr/bin/env bash
# Single-node Apache Kafka 4.x (KRaft, combined broker+controller) for local
# development and tests -- no Docker, no tarball download.
#
#   deploy/kafka.sh install   fetch the broker jars with Maven (once)
#   deploy/kafka.sh start     start the broker in the background, wait until it answers
#   deploy/kafka.sh stop      stop it (TERM, then KILL after a timeout)
#   deploy/kafka.sh status    print running/stopped; exit 0 if running, 1 if not
#   deploy/kafka.sh bootstrap print the bootstrap address clients should use
#
# Environment (all optional):
#   OCC_RUN_DIR              where jars, data, logs and the pid live (default <repo>/.run)
#   KAFKA_BOOTSTRAP_SERVERS  use an existing Kafka instead: start/status only check it answers
#   KAFKA_HOME               use an unpacked Kafka distribution's libs/ instead of Maven jars
#   KAFKA_VERSION            Kafka version to fetch (default: the one pinned in kafka/pom.xml)
#   KAFKA_PORT               client listener port (default 19092)
#   KAFKA_CONTROLLER_PORT    KRaft controller port (default 19093)
#   KAFKA_HEAP_OPTS          JVM heap flags (default -Xms256m -Xmx512m: dev machines are small)
#   KAFKA_JVM_EXTRA_OPTS     extra JVM flags appended to the command line
#   KAFKA_START_TIMEOUT      seconds to wait for the broker to answer (default 180: after an
#                            unclean stop it recovers every partition first, about a minute
#                            for 2,500 partitions on 2 cores)
#   KAFKA_STOP_TIMEOUT       seconds to wait for a clean shutdown before KILL (default 30)
set -euo pipefail

# shellcheck disable=SC2034  # read by log()/warn()/die() in lib.sh
OCC_LOG_TAG=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-180}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
# Default version = the one pinned in the POM, so there is a single place to bump it.
KAFKA_VERSION="${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$OCC_DEPLOY_DIR/kafka/pom.xml")}"

ensure_run_dir
KAFKA_DIR="$OCC_RUN_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_MARKER="$KAFKA_LIBS/.installed-version"
LOG4J_CONF="$OCC_DEPLOY_DIR/kafka/log4j2.properties"
# Main classes (present in the kafka_2.13 jar for all 4.x releases so far).
KAFKA_MAIN=kafka.Kafka
STORAGE_TOOL=kafka.tools.StorageTool
# -XX:-UsePerfData: no /tmp/hsperfdata_<user> file, so everything we write
# stays under $OCC_RUN_DIR (costs only jps/jstat visibility).
JAVA_TOOL_FLAGS=(-XX:-UsePerfData -Dlog4j2.configurationFile="$LOG4J_CONF")
# Identifies our JVM in /proc/<pid>/cmdline (see pid_alive in lib.sh).
PID_MARKER="$KAFKA_MAIN $KAFKA_PROPS"

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

classpath() {
    if [[ -n "${KAFKA_HOME:-}" ]]; then
        printf '%s/libs/*' "$KAFKA_HOME"
    else
        printf '%s/*' "$KAFKA_LIBS"
    fi
}

require_java() {
    command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
    command -v java >/dev/null 2>&1 || die "java not found on PATH (Kafka 4 needs Java 17+)"
    local major
    major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ "${major%%.*}" =~ ^[0-9]+$ && "${major%%.*}" -ge 17 ]] \
        || die "Kafka 4 brokers need Java 17+, found java.specification.version=$major"
}

# Ask a broker for its API versions (Kafka wire protocol, ApiVersions v0, which
# every broker answers, even 4.x after old protocol versions were removed).
# An answer with error_code 0 means the broker is up AND processing requests:
# a KRaft broker only enables request processing once it is unfenced, so this
# is a much stronger check than "the port accepts". Pure python3 stdlib so it
# works before any project virtualenv exists. Falls back to a TCP check.
# Usage: kafka_ping "host:port[,host:port...]" -> 0 if any of them answers.
kafka_ping() {
    local servers="$1"
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$servers" <<'PY'
import socket, struct, sys

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf

def ping(host, port):
    client_id = b"occupancy-deploy"
    # request header v1: api_key=18 (ApiVersions), api_version=0, correlation_id, client_id
    body = struct.pack(">hhih", 18, 0, 42, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=3) as s:
        s.settimeout(3)
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        data = recv_exact(s, size)
    correlation_id, error_code = struct.unpack(">ih", data[:6])
    return correlation_id == 42 and error_code == 0

for server in sys.argv[1].split(","):
    server = server.strip().split("://")[-1]   # tolerate PLAINTEXT://host:port
    if not server:
        continue
    host, _, port = server.rpartition(":")
    try:
        if ping(host.strip("[]"), int(port)):
            sys.exit(0)
    except (OSError, ValueError, struct.error):
        pass
sys.exit(1)
PY
    else
        local server host port
        IFS=',' read -ra list <<<"$servers"
        for server in "${list[@]}"; do
            server="${server##*://}"
            host="${server%:*}"
            port="${server##*:}"
            port_open "$host" "$port" && return 0
        done
        return 1
    fi
}

local_bootstrap() { printf '127.0.0.1:%s' "$KAFKA_PORT"; }

# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------

cmd_install() {
    if [[ -n "${KAFKA_HOME:-}" ]]; then
        # The user brought their own distribution: install nothing, just check it.
        compgen -G "$KAFKA_HOME/libs/kafka_2.13-*.jar" >/dev/null \
            || die "KAFKA_HOME=$KAFKA_HOME has no libs/kafka_2.13-*.jar"
        log "using Kafka from KAFKA_HOME=$KAFKA_HOME (nothing to install)"
        return 0
    fi
    if [[ -f "$KAFKA_MARKER" && "$(<"$KAFKA_MARKER")" == "$KAFKA_VERSION" ]]; then
        log "Kafka $KAFKA_VERSION already installed in $KAFKA_LIBS"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install -y maven)"
    require_java

    log "fetching Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS"
    # Copy into a scratch dir and swap it in at the end, so an interrupted or
    # failed download never leaves a half-filled libs/ that looks installed.
    local tmp="$KAFKA_DIR/libs.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$KAFKA_DIR"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    if ! mvn -B -q -Dstyle.color=never -f "$OCC_DEPLOY_DIR/kafka/pom.xml" \
            -Dkafka.version="$KAFKA_VERSION" \
            dependency:copy-dependencies \
            -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 \
            | sed 's/\x1b\[[0-9;]*m//g' >&2; then   # mvn 3.8 emits ANSI resets even with -B
        die "Maven could not resolve Kafka $KAFKA_VERSION (try another KAFKA_VERSION)"
    fi
    compgen -G "$tmp/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null \
        || die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
    printf '%s\n' "$KAFKA_VERSION" >"$tmp/.installed-version"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    trap - EXIT
    log "installed $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1))"
}

write_server_properties() {
    # Regenerated on every start so port/env changes take effect; the data
    # (and its cluster id) lives in $KAFKA_DATA and is kept.
    cat >"$KAFKA_PROPS" <<EOF
# Generated by deploy/kafka.sh on every start -- edit the script, not this file.
# Single node, KRaft combined mode: this process is both broker and controller.
process.roles=broker,controller
node.id=1
# Static single-voter quorum: simplest KRaft setup for one node.
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=${KAFKA_DATA}
num.partitions=4
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1

# Internal topics: replication factor 1 (there is only one broker), and fewer
# partitions than the default 50 so the first consumer group / transaction
# on a small machine does not wait for 50 partitions to be created.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests create and join groups constantly: do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0

# Dev data: keep a day, small segments so retention can actually delete.
log.retention.hours=24
log.segment.bytes=104857600
num.recovery.threads.per.data.dir=1
EOF
}

format_storage_once() {
    # KRaft storage must be formatted with a cluster id before the first start.
    # meta.properties is written by the format step: its presence = done.
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    local cp cluster_id
    cp="$(classpath)"
    mkdir -p "$KAFKA_DATA"
    cluster_id="$(java "${JAVA_TOOL_FLAGS[@]}" -cp "$cp" \
        "$STORAGE_TOOL" random-uuid 2>/dev/null | tail -n 1)"
    [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not generate a cluster id (got '$cluster_id')"
    log "formatting KRaft storage in $KAFKA_DATA (cluster id $cluster_id)"
    # The tool dumps the whole KafkaConfig at INFO: keep that in a file and
    # only show it when formatting fails.
    if ! java "${JAVA_TOOL_FLAGS[@]}" -cp "$cp" \
            "$STORAGE_TOOL" format --ignore-formatted -t "$cluster_id" -c "$KAFKA_PROPS" \
            >"$KAFKA_DIR/format.log" 2>&1; then
        tail -n 30 "$KAFKA_DIR/format.log" >&2
        die "storage format failed (full output: $KAFKA_DIR/format.log)"
    fi
    printf '%s\n' "$cluster_id" >"$KAFKA_DIR/cluster.id"
}

cmd_start() {
    if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        # The user runs their own Kafka: never start a second one behind their back.
        if kafka_ping "$KAFKA_BOOTSTRAP_SERVERS"; then
            log "using external Kafka at $KAFKA_BOOTSTRAP_SERVERS (it answers)"
            printf '%s\n' "$KAFKA_BOOTSTRAP_SERVERS"
            return 0
        fi
        die "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS is set but no broker answers there"
    fi

    mkdir -p "$KAFKA_DIR"
    # Serialise concurrent start/stop calls (e.g. two test sessions at once).
    exec 9>"$KAFKA_DIR/.lock"
    flock -w 120 9 || die "another kafka.sh start/stop holds $KAFKA_DIR/.lock"

    if pid_alive "$KAFKA_PID" "$PID_MARKER"; then
        log "already running (pid $(<"$KAFKA_PID"))"
        printf '%s\n' "$(local_bootstrap)"
        return 0
    fi
    rm -f "$KAFKA_PID"
    if port_open 127.0.0.1 "$KAFKA_PORT" || port_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT"; then
        die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT, or KAFKA_BOOTSTRAP_SERVERS to use it)"
    fi

    cmd_install
    require_java
    write_server_properties
    format_storage_once

    # Keep the previous run's log for post-mortems, start a fresh one.
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"

    local -a jvm_opts
    # shellcheck disable=SC2206  # word splitting of the *_OPTS strings is intended
    jvm_opts=($KAFKA_HEAP_OPTS
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError
        -Djava.awt.headless=true
        "${JAVA_TOOL_FLAGS[@]}"
        ${KAFKA_JVM_EXTRA_OPTS:-})

    log "starting Kafka (KRaft, node 1) on $(local_bootstrap), log: $KAFKA_LOG"
    # setsid: own session, so a Ctrl-C in the calling terminal or the end of
    # a CI step's process group does not take the broker down; nohup + closed
    # stdin for the same reason; 9>&- so the broker does not inherit (and hold
    # forever) our start/stop lock. No job control in a script, so the background
    # child is not a group leader and setsid execs in place: $! is java's pid.
    setsid nohup java "${jvm_opts[@]}" -cp "$(classpath)" \
        "$KAFKA_MAIN" "$KAFKA_PROPS" </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
    echo $! >"$KAFKA_PID"

    # While starting, liveness is checked on our own child's pid only: its
    # /proc cmdline only shows java's arguments once setsid/nohup have exec'd,
    # so the marker check of pid_alive would race (and wrongly report a crash).
    local pid=$! i
    for ((i = 0; i < KAFKA_START_TIMEOUT * 2; i++)); do
        if ! proc_alive "$pid"; then
            tail -n 30 "$KAFKA_LOG" >&2 || true
            rm -f "$KAFKA_PID"
            die "Kafka exited during startup (full log: $KAFKA_LOG)"
        fi
        if kafka_ping "$(local_bootstrap)"; then
            log "ready after ~$((i / 2))s (pid $pid)"
            printf '%s\n' "$(local_bootstrap)"
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$KAFKA_LOG" >&2 || true
    die "Kafka did not answer within ${KAFKA_START_TIMEOUT}s; it is still running (pid $pid), see $KAFKA_LOG or run '$0 stop'"
}

cmd_stop() {
    if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        log "KAFKA_BOOTSTRAP_SERVERS is set: external Kafka, not ours to stop"
        return 0
    fi
    mkdir -p "$KAFKA_DIR"
    exec 9>"$KAFKA_DIR/.lock"
    flock -w 120 9 || die "another kafka.sh start/stop holds $KAFKA_DIR/.lock"
    # A broker shutting down cleanly (controlled shutdown, flush, close logs)
    # takes a few seconds; KILL is only the fallback, the data survives it.
    stop_pid "$KAFKA_PID" "$PID_MARKER" "$KAFKA_STOP_TIMEOUT" "Kafka"
}

cmd_status() {
    if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        if kafka_ping "$KAFKA_BOOTSTRAP_SERVERS"; then
            echo "running (external: $KAFKA_BOOTSTRAP_SERVERS)"
            return 0
        fi
        echo "stopped (external $KAFKA_BOOTSTRAP_SERVERS does not answer)"
        return 1
    fi
    if pid_alive "$KAFKA_PID" "$PID_MARKER"; then
        if kafka_ping "$(local_bootstrap)"; then
            echo "running (pid $(<"$KAFKA_PID"), bootstrap $(local_bootstrap))"
        else
            echo "running (pid $(<"$KAFKA_PID"), not answering yet on $(local_bootstrap))"
        fi
        return 0
    fi
    echo "stopped"
    return 1
}

cmd_bootstrap() {
    printf '%s\n' "${KAFKA_BOOTSTRAP_SERVERS:-$(local_bootstrap)}"
}

case "${1:-}" in
    install)   cmd_install ;;
    start)     cmd_start ;;
    stop)      cmd_stop ;;
    status)    cmd_status ;;
    bootstrap) cmd_bootstrap ;;
    *)
        echo "usage: $0 {install|start|stop|status|bootstrap}" >&2
        exit 2
        ;;
esac
