#!/usr/bin/env bash
# Provisions a ryo-jitsi image. The one script every builder runs (Packer amazon-ebs, lxd
# and qemu, and the offline build), inside the target system as root.
#
# Environment:
#   RYO_OS_ENV          path of an image/os/*.env file (required)
#   RYO_AGENT_DEB       path of the meet-agent .deb (required)
#   RYO_FILES           path of image/ from this repository (required)
#   RYO_JITSI_REPO      "on" (default) adds Jitsi's apt repository and installs the stack;
#                       "off" builds without Jitsi's own packages (offline builds)
#   RYO_JITSI_VERSION   pin the jitsi-meet version (e.g. 2.0.9955-1); empty for the newest
#   RYO_APT_UPDATE      "on" (default) or "off" when the package lists are already current
set -euo pipefail

: "${RYO_OS_ENV:?set RYO_OS_ENV to an image/os/*.env file}"
: "${RYO_AGENT_DEB:?set RYO_AGENT_DEB to the meet-agent .deb}"
: "${RYO_FILES:?set RYO_FILES to the image/ folder}"
RYO_JITSI_REPO=${RYO_JITSI_REPO:-on}
RYO_JITSI_VERSION=${RYO_JITSI_VERSION:-}
RYO_APT_UPDATE=${RYO_APT_UPDATE:-on}
# shellcheck source=/dev/null
. "$RYO_OS_ENV"

# Jitsi's signing key, pinned: the build fails if the downloaded key is any other.
readonly JITSI_KEY_URL=https://download.jitsi.org/jitsi-key.gpg.key
readonly JITSI_KEY_FINGERPRINT=66A9CD0595D6AFA247290D3BEF8B479E2DC1389C
readonly JITSI_PACKAGES="jitsi-meet jicofo jitsi-videobridge2 jitsi-meet-web jitsi-meet-web-config jitsi-meet-prosody jitsi-meet-turnserver"

export DEBIAN_FRONTEND=noninteractive
log() { printf 'provision: %s\n' "$*"; }

# No service starts while we install: the image leaves the stack stopped for meet-agent.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT

apt_install() { apt-get install -y -q --no-install-recommends "$@"; }

if [[ $RYO_APT_UPDATE == on ]]; then apt-get update -q; fi
log "installing the appliance packages: $RYO_PACKAGES"
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt_install $RYO_PACKAGES

missing_jitsi=""
if [[ $RYO_JITSI_REPO == on ]]; then
  log "adding Jitsi's apt repository (key $JITSI_KEY_FINGERPRINT)"
  key=$(mktemp)
  curl -fsSL "$JITSI_KEY_URL" | gpg --dearmor >"$key"
  got=$(gpg --show-keys --with-colons "$key" | awk -F: '$1 == "fpr" { print $10; exit }')
  if [[ $got != "$JITSI_KEY_FINGERPRINT" ]]; then
    echo "provision: Jitsi's key has fingerprint '$got', expected $JITSI_KEY_FINGERPRINT; refusing it" >&2
    exit 1
  fi
  install -m 0644 "$key" /usr/share/keyrings/jitsi-keyring.gpg
  rm -f "$key"
  echo "deb [signed-by=/usr/share/keyrings/jitsi-keyring.gpg] https://download.jitsi.org $RYO_JITSI_SUITE" \
    >/etc/apt/sources.list.d/jitsi-stable.list
  if [[ -n $RYO_JITSI_VERSION ]]; then
    printf 'Package: jitsi-meet*\nPin: version %s\nPin-Priority: 1001\n' "$RYO_JITSI_VERSION" \
      >/etc/apt/preferences.d/jitsi-meet.pref
  fi
  debconf-set-selections "$RYO_FILES/provision/jitsi.preseed"
  apt-get update -q
  # shellcheck disable=SC2086
  apt_install $JITSI_PACKAGES
else
  missing_jitsi=$JITSI_PACKAGES
  log "Jitsi's repository is off: this image lacks $missing_jitsi"
fi

log "installing meet-agent from $RYO_AGENT_DEB"
apt_install "$RYO_AGENT_DEB"

# The web server: meet-agent renders the site (sites-available/ryo-jitsi.conf) at every
# boot, before it starts nginx; the link is made here, the file at first boot.
rm -f /etc/nginx/sites-enabled/default
ln -sf ../sites-available/ryo-jitsi.conf /etc/nginx/sites-enabled/ryo-jitsi.conf
install -D -m 0644 "$RYO_FILES/files/usr/share/ryo-jitsi/www/index.html" /usr/share/ryo-jitsi/www/index.html
# sshd has no host keys in a generic image; make them at its first start.
install -D -m 0644 "$RYO_FILES/files/etc/systemd/system/ssh.service.d/10-host-keys.conf" \
  /etc/systemd/system/ssh.service.d/10-host-keys.conf

install -D -m 0644 "$RYO_FILES/files/etc/systemd/system/systemd-binfmt.service.d/10-not-in-containers.conf" \
  /etc/systemd/system/systemd-binfmt.service.d/10-not-in-containers.conf
# Administrative logins by key only (root too), from root's own keys and meet-agent's file
# ([access] ssh_authorized_keys); the login banner shows `meet-agent status --brief`.
install -D -m 0644 "$RYO_FILES/files/etc/ssh/sshd_config.d/50-ryo-jitsi.conf" /etc/ssh/sshd_config.d/50-ryo-jitsi.conf
install -D -m 0755 "$RYO_FILES/files/etc/update-motd.d/60-ryo-jitsi" /etc/update-motd.d/60-ryo-jitsi

# What this image is, for `meet-agent status`.
mkdir -p /usr/share/ryo-jitsi
{
  printf '{"os":"%s %s","jitsi_repository":"%s",' "$RYO_OS_ID" "$RYO_OS_VERSION" "$RYO_JITSI_REPO"
  printf '"missing_packages":['
  sep=""
  for p in $missing_jitsi; do printf '%s"%s"' "$sep" "$p"; sep=","; done
  printf '],"built_at":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >/usr/share/ryo-jitsi/image.json

# prosody and coturn run as their own users; they read the web certificate's key through
# Debian's ssl-cert group, which meet-agent gives the installed key (0640 root:ssl-cert).
for user in prosody turnserver; do
  if id "$user" >/dev/null 2>&1; then usermod -a -G ssl-cert "$user"; fi
done

# The stack stays stopped and disabled: meet-agent starts it once this instance is set up.
for unit in nginx prosody coturn jicofo jitsi-videobridge2; do
  if systemctl list-unit-files "$unit.service" >/dev/null 2>&1; then
    systemctl disable "$unit.service" >/dev/null 2>&1 || true
  fi
done
systemctl enable meet-agent.service >/dev/null
log "done"
