#!/usr/bin/env bash
# A videobridge's shutdown script (instance attribute shutdown-script of the bridges'
# instance template). Compute Engine runs it when the VM is deleted (the autoscaler
# scaling in, `ryo-jitsi down`), stopped or preempted, and gives it about 90 s (30 s on a
# Spot or preemptible VM) before the VM goes regardless. It asks the bridge for a graceful
# shutdown (jicofo sends it no new conferences) and waits while conferences remain, at most
# RYO_DRAIN_SECONDS (75). Conferences still on it when the VM goes are moved by jicofo to
# another bridge: a media break of a few seconds for their participants, not an end.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" # deploy/gcp/ryo-jitsi inlines common.sh here
COLIBRI=${RYO_COLIBRI_URL:-http://127.0.0.1:8080/colibri}
DEADLINE=$((SECONDS + ${RYO_DRAIN_SECONDS:-75}))

conferences() {
  curl -fsS --max-time 3 "$COLIBRI/stats" | sed -n 's/.*"conferences"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p'
}

if ! curl -fsS --max-time 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"graceful-shutdown": true}' "$COLIBRI/shutdown"; then
  log "the bridge did not take a graceful shutdown request (not running?); nothing to drain"
  exit 0
fi
while n=$(conferences) && [ "${n:-0}" -gt 0 ]; do
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    log "drain window over with $n conference(s) left; jicofo moves them to another bridge"
    exit 0
  fi
  log "draining: $n conference(s) left"
  sleep 2
done
log "drained: no conferences left"
