#!/usr/bin/env bash
# Makes the provisioned system generic: nothing that belongs to one instance stays in the
# image. Every builder runs it last. check-generic.sh proves the result.
#
# Usage: generalize.sh [ROOT]   ROOT is the tree to clean (default /, the running system;
#                               the tests clean a throwaway root).
set -euo pipefail
r=${1:-/}
r=${r%/}
# Runs a command of the cleaned system: directly on /, chrooted into another root when the
# root has it; nothing (status 0) when it does not.
in_root() {
  if [[ -z $r ]]; then
    command -v "$1" >/dev/null || return 0
    "$@"
  elif [[ -x $r/usr/bin/$1 || -x $r/usr/sbin/$1 ]]; then
    chroot "$r" "$@"
  fi
}

# machine-id: empty, so systemd makes one at first boot (and ConditionFirstBoot holds).
mkdir -p "$r/etc" "$r/var/lib/dbus"
: >"$r/etc/machine-id"
rm -f "$r/var/lib/dbus/machine-id"
ln -sf /etc/machine-id "$r/var/lib/dbus/machine-id"

rm -f "$r"/etc/ssh/ssh_host_*
# Keys the build logged in with (Packer's temporary key, the offline base's build key).
rm -f "$r/root/.ssh/authorized_keys" "$r"/home/*/.ssh/authorized_keys
rm -rf "$r/var/lib/meet-agent" "$r/etc/meet-agent/tls" "$r/etc/meet-agent/ssh" "$r/run/meet-agent"
# The console banner names one instance's address and health.
rm -f "$r/etc/issue.d/ryo-jitsi.issue"
rm -f "$r"/etc/jitsi/meet/*.key "$r"/etc/jitsi/meet/*.crt
rm -f "$r"/var/lib/prosody/*.crt "$r"/var/lib/prosody/*.key "$r"/etc/prosody/certs/*.crt "$r"/etc/prosody/certs/*.key

# The build-time host (jitsi.preseed's jitsi-videobridge/jvb-hostname) everywhere Jitsi's
# postinsts put it (jitsi/jitsi-meet debian/jitsi-meet-web-config.postinst 7d76d8ac,
# jitsi-meet-prosody.postinst 3c2247a2, jitsi-meet-turnserver.postinst b6170ed2; jitsi/jicofo
# debian/postinst 7ebb13dc; jitsi/jitsi-videobridge debian/postinst a29d97d1; read
# 2026-12). meet-agent renders the real domain's files at first boot.
host=meet.invalid
# nginx: web-config's site and its link (on 443, which the agent's site needs).
rm -f "$r/etc/nginx/sites-enabled/$host.conf" "$r/etc/nginx/sites-available/$host.conf"
# The web app's config.js for the host.
rm -f "$r/etc/jitsi/meet/$host-config.js"
# prosody: the host file (with the install-time TURN secret, external_service_secret, as a
# global) and its conf.d link; the accounts focus@ and jvb@auth.HOST whose passwords every
# instance would share (prosody stores a host's data below its name, "." as "%2e"); the
# hosts' certificates, the auth one also in the system's (and so Java's) trust store.
rm -f "$r/etc/prosody/conf.d/$host.cfg.lua" "$r/etc/prosody/conf.avail/$host.cfg.lua"
for h in "$host" "auth.$host"; do
  rm -rf "$r/var/lib/prosody/${h//./%2e}"
  rm -f "$r/etc/prosody/certs/$h.crt" "$r/etc/prosody/certs/$h.key"
  if [[ -e $r/usr/local/share/ca-certificates/$h.crt || -L $r/usr/local/share/ca-certificates/$h.crt ]]; then
    rm -f "$r/usr/local/share/ca-certificates/$h.crt"
    removed_ca=1
  fi
done
if [[ -n ${removed_ca:-} ]]; then in_root update-ca-certificates --fresh >/dev/null; fi
# ... but jitsi-meet-prosody's postinst (jitsi/jitsi-meet debian/jitsi-meet-prosody.postinst,
# read 2026-12) takes a missing conf.avail/HOST.cfg.lua for a first install and a missing
# /var/lib/prosody/HOST.crt or auth.HOST.crt for new hosts: its first upgrade would register
# the accounts again, make both certificates, put auth.HOST into the system's and Java's trust
# stores and restart prosody (and the bridge) in the middle of meetings. So placeholders stay
# that answer every check it makes on an upgrade (the host file exists and already has the
# internal MUC, restrict_room_creation and unlimited_jids; both .crt exist), hold no secret,
# and are read by nothing: the host file is all comments and has no conf.d link, the .crt
# files are not certificates and /var/lib/prosody is not prosody's certificate folder.
# check-generic.sh accepts exactly these. Only where jitsi-meet-prosody is installed.
if [[ -f $r/var/lib/dpkg/info/jitsi-meet-prosody.list ]]; then
  mkdir -p "$r/etc/prosody/conf.avail" "$r/var/lib/prosody"
  cat >"$r/etc/prosody/conf.avail/$host.cfg.lua" <<PLACEHOLDER
-- ryo-jitsi placeholder (image/provision/generalize.sh): not configuration, never included.
-- Its presence keeps jitsi-meet-prosody's upgrades from redoing a first install for the
-- image's build-time host; meet-agent renders the real domain's file at first boot
-- (/etc/prosody/conf.d/ryo-jitsi.cfg.lua). The lines below only answer that postinst's checks:
-- Component "conference.$host" "muc"
--     restrict_room_creation = true
-- Component "internal.auth.$host" "muc"
-- unlimited_jids
PLACEHOLDER
  for h in "$host" "auth.$host"; do
    printf 'ryo-jitsi placeholder (image/provision/generalize.sh): not a certificate.\n' >"$r/var/lib/prosody/$h.crt"
  done
fi
# jicofo and the bridge: their HOCON files hold the install-time passwords of those accounts
# (the agent renders both at first boot); older postinsts also wrote them, and the bridge's
# secret, into /etc/jitsi/*/config and sip-communicator.properties (with the host name,
# JVB_HOSTNAME, JICOFO_HOSTNAME): those lines go, the rest (JAVA_SYS_PROPS) stays.
rm -f "$r/etc/jitsi/jicofo/jicofo.conf" "$r/etc/jitsi/videobridge/jvb.conf"
for f in "$r"/etc/jitsi/*/config "$r"/etc/jitsi/*/sip-communicator.properties; do
  [[ -f $f ]] || continue
  sed -i -E -e '/(PASSWORD|SECRET)[A-Za-z_]*[[:space:]]*=/Id' -e "/${host//./\\.}/d" "$f"
done
# coturn: turnserver-config's file for the host, with the install-time TURN secret. The
# agent renders its own at first boot (carrying the marker lines that keep the postinst
# away on upgrades).
if [[ -f $r/etc/turnserver.conf ]] && grep -qE "static-auth-secret|$host" "$r/etc/turnserver.conf"; then
  printf '# meet-agent renders this file at first boot ([jitsi.turn]).\n' >"$r/etc/turnserver.conf"
fi

# Secrets the Jitsi packages generated at install time (meet-agent makes new ones per
# instance) and their debconf answers, which sit in the world-readable debconf database
# (passwords in passwords.dat). The host name answers stay: they keep an upgrade from
# taking the install for a first one (which would make the host's nginx site again).
if [[ -z $r ]] || [[ -x $r/usr/bin/debconf-communicate ]]; then
  for q in jitsi-meet-prosody/turn-secret jitsi-videobridge/jvbsecret jicofo/jicofo-authpassword \
    jicofo/jicofosecret jitsi-meet-tokens/appsecret jitsi-meet-prosody/jvb-hostname jigasi/sip-password; do
    echo "SET $q " | in_root debconf-communicate >/dev/null 2>&1 || true
  done
fi
rm -rf "$r/var/lib/cloud/instances" "$r/var/lib/cloud/instance" "$r/var/lib/cloud/data" "$r/var/lib/cloud/sem"
rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
rm -rf "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old
if [[ -d $r/var/log ]]; then find "$r/var/log" -type f -delete; fi
rm -rf "$r"/tmp/* "$r"/var/tmp/* "$r/root/.bash_history" "$r/root/.cache"
rm -f "$r/etc/hostname"
# systemd runs the units with ConditionNeedsUpdate=/etc or /var (in Debian 12's image only
# systemd-sysusers) at a boot whose /etc/.updated or /var/.updated is missing or older than
# /usr. Debian ships no systemd-update-done to write them, so its sysusers ran at every
# boot (0.4 s on the path to meet-agent under TCG), redoing what the packages' own scripts
# did at install (dh_installsysusers runs systemd-sysusers in each postinst). The users are made once more here, then the stamps
# are written as systemd-update-done would: /usr's mtime, also in nanoseconds inside.
if [[ -e $r/lib/systemd/system/systemd-sysusers.service ]]; then
  in_root systemd-sysusers
  # Seconds from %Y and the nanoseconds from %y's fraction (every coreutils has both).
  usr_s=$(stat -c '%Y' "$r/usr/")
  usr_frac=$(stat -c '%y' "$r/usr/" | sed -nE 's/^[^.]*\.([0-9]{1,9}).*/\1/p')
  usr_frac=$(printf '%-9s' "${usr_frac:-0}" | tr ' ' 0)
  for d in etc var; do
    printf '# Written by image/provision/generalize.sh as systemd-update-done writes it:\n# /usr was last changed at this time (ConditionNeedsUpdate=).\nTIMESTAMP_NSEC=%s\n' \
      "$((usr_s * 1000000000 + 10#$usr_frac))" >"$r/$d/.updated"
    touch -r "$r/usr/" "$r/$d/.updated"
  done
fi
echo "generalize: done"
