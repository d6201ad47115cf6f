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
if [[ -f $root/var/cache/debconf/config.dat ]] &&
  grep -A3 -E '^Name: (jitsi-meet-prosody/turn-secret|jitsi-videobridge/jvbsecret|jicofo/jicofo-authpassword)$' \
    "$root/var/cache/debconf/config.dat" | grep -qE '^Value: .+'; then
  bad "Jitsi secrets in the debconf database"
fi
[[ ! -e $root/var/lib/cloud/instance ]] || bad "cloud-init instance state"
if ((found)); then exit 1; fi
echo "generic: no instance-specific files found in $root"
