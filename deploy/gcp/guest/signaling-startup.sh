#!/usr/bin/env bash
# The signaling VM's startup script (instance attribute startup-script, run by Google's
# guest environment at every boot). Once meet-agent's first run has made this node's join
# token (its auth.DOMAIN certificate and jvb password), it publishes the token as a new
# version of the Secret Manager secret named by attribute ryo-jitsi-join-secret, unless
# the latest version already is this token. The bridges read it from there. The token
# host is attribute ryo-jitsi-join-host (the VM's internal DNS name, since the firewall
# rule for 5222 matches internal traffic only). The token never reaches a log: only its
# fingerprint does.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" # deploy/gcp/ryo-jitsi inlines common.sh here
DEADLINE=$((SECONDS + ${RYO_DEADLINE_SECONDS:-21600}))

secret=$(md instance/attributes/ryo-jitsi-join-secret)
host=$(md instance/attributes/ryo-jitsi-join-host)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

until "$MEET_AGENT" bridge token --host "$host" >"$work/token" 2>"$work/why"; do
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    log "gave up waiting for this node's join token: $(head -1 "$work/why")"
    exit 1
  fi
  log "no join token yet ($(head -1 "$work/why")); trying again in ${RETRY_SECONDS}s"
  sleep "$RETRY_SECONDS"
done
# meet-agent prints the token and a newline; the secret holds the token alone.
printf '%s' "$(cat "$work/token")" >"$work/token.bare"

status=0
latest_secret "$secret" "$work/published" || status=$?
if [ "$status" -eq 0 ] && cmp -s "$work/published" "$work/token.bare"; then
  log "the join token $(fingerprint "$work/token.bare") is already the latest version of $secret"
  exit 0
fi
[ "$status" -eq 1 ] && exit 1
auth_header "$work/auth"
printf '{"payload": {"data": "%s"}}' "$(base64 -w0 <"$work/token.bare")" >"$work/body.json"
code=$(curl -sS --max-time 20 -o "$work/answer.json" -w '%{http_code}' -X POST -H @"$work/auth" \
  -H 'Content-Type: application/json' --data-binary @"$work/body.json" "$SM/$secret:addVersion")
if [ "$code" != 200 ]; then
  log "could not add a version to $secret (HTTP $code): $(head -c 300 "$work/answer.json" | tr -d '\n')"
  exit 1
fi
log "published the join token $(fingerprint "$work/token.bare") as the latest version of $secret"
