# shellcheck shell=bash
# Shared by the guest scripts deploy/gcp/ryo-jitsi puts into instance metadata (the
# startup-script and shutdown-script attributes, which Google's guest environment runs).
# `ryo-jitsi up` replaces the line that sources it with its text, so each attribute is one
# self-contained script. The RYO_* variables exist for the tests, which point them at a
# stand-in on loopback.
MD=${RYO_METADATA_URL:-http://169.254.169.254/computeMetadata/v1}
SM=${RYO_SECRETMANAGER_URL:-https://secretmanager.googleapis.com/v1}
# shellcheck disable=SC2034 # used by the scripts that source this file
MEET_AGENT=${RYO_MEET_AGENT:-meet-agent}
# shellcheck disable=SC2034
RETRY_SECONDS=${RYO_RETRY_SECONDS:-30}

log() { echo "ryo-jitsi: $*" >&2; }

# An instance metadata value (the metadata server's fixed address: no DNS needed).
md() { curl -fsS --max-time 10 -H 'Metadata-Flavor: Google' "$MD/$1"; }

# The fingerprint meet-agent shows for a token (sha256 of its text, 16 hex digits).
fingerprint() { printf 'sha256:%s' "$(sha256sum <"$1" | cut -c1-16)"; }

# Writes a curl header file with the service account's access token to $1 (mode 0600),
# so that the token is never an argument (visible in ps).
auth_header() {
  local json
  json=$(md instance/service-accounts/default/token) || return 1
  (umask 077 && printf 'Authorization: Bearer %s\n' \
    "$(sed -n 's/.*"access_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$json")" >"$1")
}

# The latest version of Secret Manager secret $1 (projects/P/secrets/S) into file $2.
# Exit status 2: the secret has no version yet; 1: another failure.
latest_secret() {
  local secret=$1 out=$2 dir code
  dir=$(dirname "$out")
  auth_header "$dir/auth" || return 1
  code=$(curl -sS --max-time 20 -o "$dir/answer.json" -w '%{http_code}' -H @"$dir/auth" \
    "$SM/$secret/versions/latest:access") || return 1
  case $code in
    200) ;;
    404) return 2 ;;
    *) log "Secret Manager answered $code for $secret: $(head -c 300 "$dir/answer.json" | tr -d '\n')"; return 1 ;;
  esac
  (umask 077 && sed -n 's/.*"data"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/answer.json" | base64 -d >"$out")
  rm -f "$dir/answer.json"
}
