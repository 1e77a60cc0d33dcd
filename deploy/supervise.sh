#!/usr/bin/env bash
# supervise.sh NAME CMD... : keep CMD running, as systemd's Restart=always would.
#
# The worker stops itself on purpose when it must not go on (an offset gap,
# an unexpected error in the sink, a commit or batch stuck for 90 s: exit code
# 70, nothing acknowledged), and
# counts on being restarted to read the range again. TERM/INT stop the child
# and then the supervisor. Restarts back off from 1 s to 30 s while the child
# keeps dying within a minute of its start.
set -uo pipefail
name="$1"
shift
child=0
trap 'if ((child)); then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM INT
delay=1
while true; do
    started=$(date +%s)
    "$@" &
    child=$!
    wait "$child"
    rc=$?
    child=0
    printf '[supervise] %s exited with status %d; restarting in %d s\n' "$name" "$rc" "$delay" >&2
    sleep "$delay" &
    wait "$!"
    if (($(date +%s) - started > 60)); then
        delay=1
    else
        delay=$((delay < 16 ? delay * 2 : 30))
    fi
done
