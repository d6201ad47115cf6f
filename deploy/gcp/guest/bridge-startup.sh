#!/usr/bin/env bash
# A videobridge's startup script (instance attribute startup-script of the bridges'
# instance template, run by Google's guest environment at every boot). It reads the join
# token from the Secret Manager secret named by attribute ryo-jitsi-join-secret (with this
# VM's service account, the only one besides the signaling node's allowed to read it),
# waiting until the signaling node has published it, and writes it as bridge.join into
# the drop-in /etc/meet-agent/config.d/60-gcp-join.toml (mode 0600). When that changes
# what meet-agent read at boot, it runs meet-agent again (the run waits for a run in
# progress: the agent takes a lock). meet-agent cannot read Secret Manager itself, hence
# this script. The token never reaches a log: only its fingerprint does.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" # deploy/gcp/ryo-jitsi inlines common.sh here
DEADLINE=$((SECONDS + ${RYO_DEADLINE_SECONDS:-21600}))
CONFIG_DIR=${RYO_CONFIG_DIR:-/etc/meet-agent/config.d}
DROP_IN=$CONFIG_DIR/60-gcp-join.toml

secret=$(md instance/attributes/ryo-jitsi-join-secret)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

while :; do
  status=0
  latest_secret "$secret" "$work/token" || status=$?
  [ "$status" -eq 0 ] && break
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    log "gave up waiting for the join token in $secret"
    exit 1
  fi
  [ "$status" -eq 2 ] && log "$secret has no version yet (the signaling node publishes it after its first run); trying again in ${RETRY_SECONDS}s"
  sleep "$RETRY_SECONDS"
done
if ! grep -Eq '^ryojvb1\.[A-Za-z0-9_=-]+$' "$work/token"; then
  log "the latest version of $secret is not a join token (ryojvb1.…); not using it"
  exit 1
fi
{
  echo "# Written by the ryo-jitsi startup script from Secret Manager $secret at every boot."
  echo "[bridge]"
  printf 'join = "%s"\n' "$(cat "$work/token")"
} >"$work/drop-in"
if cmp -s "$work/drop-in" "$DROP_IN"; then
  log "bridge.join is the token $(fingerprint "$work/token") already"
  exit 0
fi
mkdir -p "$CONFIG_DIR"
tmp=$(mktemp "$CONFIG_DIR/.60-gcp-join.XXXXXX")
cat "$work/drop-in" >"$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$DROP_IN"
log "bridge.join is now the token $(fingerprint "$work/token") from $secret; running meet-agent"
"$MEET_AGENT" run
