#!/usr/bin/env bash
# Proves an image root (default /) holds nothing instance-specific. Prints each finding and
# exits 1 if there is any. Used by the offline build and the boot tests.
set -euo pipefail
root=${1:-/}
found=0
bad() { echo "not generic: $*"; found=1; }

[[ ! -s $root/etc/machine-id ]] || bad "/etc/machine-id is set"
compgen -G "$root/etc/ssh/ssh_host_*" >/dev/null && bad "SSH host keys in /etc/ssh"
for keys in "$root"/root/.ssh/authorized_keys "$root"/home/*/.ssh/authorized_keys; do
  [[ ! -e $keys ]] || bad "build login keys in ${keys#"$root"}"
done
[[ ! -e $root/var/lib/meet-agent ]] || bad "meet-agent state in /var/lib/meet-agent"
[[ ! -e $root/etc/meet-agent/tls ]] || bad "certificates in /etc/meet-agent/tls"
[[ ! -e $root/etc/meet-agent/ssh ]] || bad "SSH login keys in /etc/meet-agent/ssh"
compgen -G "$root/etc/jitsi/meet/*.key" >/dev/null && bad "web keys in /etc/jitsi/meet"
compgen -G "$root/var/lib/prosody/*.key" >/dev/null && bad "prosody keys in /var/lib/prosody"
compgen -G "$root/var/lib/apt/lists/*_Packages" >/dev/null && bad "apt lists in /var/lib/apt/lists"
if [[ -n $(find "$root/var/log" -type f 2>/dev/null | head -1) ]]; then bad "log files in /var/log"; fi
for db in config.dat passwords.dat; do
  if [[ -f $root/var/cache/debconf/$db ]] &&
    grep -A3 -E '^Name: (jitsi-meet-prosody/turn-secret|jitsi-videobridge/jvbsecret|jicofo/jicofo-authpassword|jicofo/jicofosecret|jitsi-meet-tokens/appsecret)$' \
      "$root/var/cache/debconf/$db" | grep -qE '^Value: .+'; then
    bad "Jitsi secrets in the debconf database ($db)"
  fi
done
[[ ! -e $root/var/lib/cloud/instance ]] || bad "cloud-init instance state"

# The build-time host of Jitsi's packages (generalize.sh names the postinsts that make each).
host=meet.invalid
exists() { [[ -e $root/$1 || -L $root/$1 ]]; }
# generalize.sh's placeholders for jitsi-meet-prosody's upgrade checks: a host file of
# comments only and .crt files that are one line of text, each starting with the marker.
marker="ryo-jitsi placeholder (image/provision/generalize.sh)"
placeholder() {
  local f=$root/$1
  [[ -f $f && ! -L $f ]] || return 1
  case $1 in
    *.cfg.lua) head -1 "$f" | grep -qF -- "-- $marker" && ! grep -qvE '^--' "$f" ;;
    *.crt) [[ $(wc -l <"$f") -eq 1 ]] && head -1 "$f" | grep -qF "$marker" ;;
    *) return 1 ;;
  esac
}
placeholders=("etc/prosody/conf.avail/$host.cfg.lua" "var/lib/prosody/$host.crt" "var/lib/prosody/auth.$host.crt")
for f in "${placeholders[@]}"; do
  if exists "$f" && ! placeholder "$f"; then bad "/$f is not generalize.sh's placeholder"; fi
done
for f in "etc/nginx/sites-available/$host.conf" "etc/nginx/sites-enabled/$host.conf" \
  "etc/prosody/conf.d/$host.cfg.lua" \
  "etc/jitsi/meet/$host-config.js" "usr/local/share/ca-certificates/auth.$host.crt" \
  "etc/ssl/certs/auth.$host.pem" "etc/prosody/certs/$host.crt" "etc/prosody/certs/auth.$host.crt"; do
  if exists "$f"; then bad "the build-time host's /$f"; fi
done
for h in "$host" "auth.$host"; do
  if exists "var/lib/prosody/${h//./%2e}"; then bad "prosody accounts and data of $h in /var/lib/prosody/${h//./%2e}"; fi
done
compgen -G "$root/etc/prosody/certs/*.key" >/dev/null && bad "prosody keys in /etc/prosody/certs"
# Any other file of /etc or prosody's data that still names the host.
while IFS= read -r f; do
  rel=${f#"$root"}
  rel=${rel#/}
  if [[ " ${placeholders[*]} " == *" $rel "* ]] && placeholder "$rel"; then continue; fi
  bad "/$rel names the build-time host $host"
done < <(grep -rlIF "$host" "$root/etc" "$root/var/lib/prosody" 2>/dev/null || true)
# Install-time secrets: jicofo's and the bridge's account passwords, the TURN secret.
for f in etc/jitsi/jicofo/jicofo.conf etc/jitsi/videobridge/jvb.conf; do
  if exists "$f"; then bad "/$f (install-time account password; meet-agent renders it)"; fi
done
for f in "$root"/etc/jitsi/*/config "$root"/etc/jitsi/*/sip-communicator.properties; do
  [[ -f $f ]] || continue
  if grep -qiE '(PASSWORD|SECRET)[a-z_]*[[:space:]]*=[[:space:]]*[^[:space:]]' "$f"; then
    bad "install-time password or secret in ${f#"$root"}"
  fi
done
if [[ -f $root/etc/turnserver.conf ]] && grep -qE '^[[:space:]]*static-auth-secret' "$root/etc/turnserver.conf"; then
  bad "install-time TURN secret in /etc/turnserver.conf"
fi
for f in "$root"/etc/prosody/conf.avail/* "$root"/etc/prosody/conf.d/*; do
  if [[ -f $f ]] && grep -qE '^[[:space:]]*external_service_secret' "$f"; then
    bad "a TURN secret (external_service_secret) in ${f#"$root"}"
  fi
done
if ((found)); then exit 1; fi
echo "generic: no instance-specific files found in $root"
