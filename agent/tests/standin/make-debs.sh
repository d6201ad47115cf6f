#!/usr/bin/env bash
# Builds STAND-INS for Jitsi's Debian packages (tests only; nothing of upstream's code): they
# carry the real package names, so that apt's hook (image/files/usr/lib/ryo-jitsi/after-dpkg)
# sees "a Jitsi package", and their postinsts make the same package-generated files, for the
# build-time host meet.invalid, that upstream's postinsts make on a fresh install and on an
# upgrade. Each postinst names the upstream file whose effect it imitates (read 2026-12).
# They run with dpkg --root DIR --force-script-chrootless, so every path is below $DPKG_ROOT.
#
# Usage: make-debs.sh OUTDIR VERSION    writes OUTDIR/standin-PACKAGE_VERSION_all.deb
# The postinsts are single-quoted text, expanded when they run.
# shellcheck disable=SC2016
set -euo pipefail
out=${1:?usage: make-debs.sh OUTDIR VERSION}
version=${2:?usage: make-debs.sh OUTDIR VERSION}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The postinsts share these helpers (a random secret, a file written once).
read -r -d '' common <<'SH' || true
#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
R=${DPKG_ROOT:-}
HOST=meet.invalid
secret() { od -An -tx1 -N8 /dev/urandom | tr -d ' \n'; }
SH

package() { # NAME POSTINST-BODY
  local dir=$work/$1
  mkdir -p "$dir/DEBIAN"
  cat >"$dir/DEBIAN/control" <<CONTROL
Package: $1
Version: $version
Architecture: all
Maintainer: ryo-jitsi tests <tests@ryo-jitsi.invalid>
Description: STAND-IN for Jitsi's $1 package (ryo-jitsi tests only)
 Makes the files upstream's postinst makes; contains nothing of Jitsi.
CONTROL
  printf '%s\n%s\n' "$common" "$2" >"$dir/DEBIAN/postinst"
  chmod 0755 "$dir/DEBIAN/postinst"
  dpkg-deb --root-owner-group --build "$dir" "$out/standin-$1_${version}_all.deb" >/dev/null
}

# jitsi/jitsi-meet debian/jitsi-meet-web-config.postinst (7d76d8ac): config.js for the host
# when missing; on a first install the nginx site on 443 and its (absolute) link.
package jitsi-meet-web-config '
mkdir -p "$R/etc/jitsi/meet" "$R/etc/nginx/sites-available" "$R/etc/nginx/sites-enabled"
[ -f "$R/etc/jitsi/meet/$HOST-config.js" ] || printf "var config = { hosts: { domain: \"%s\" } };\n" "$HOST" >"$R/etc/jitsi/meet/$HOST-config.js"
if [ ! -f "$R/etc/nginx/sites-available/$HOST.conf" ]; then
  printf "server {\n    listen 80;\n    server_name %s;\n}\nserver {\n    listen 443 ssl;\n    listen [::]:443 ssl;\n    server_name %s;\n}\n" "$HOST" "$HOST" >"$R/etc/nginx/sites-available/$HOST.conf"
  [ -e "$R/etc/nginx/sites-enabled/$HOST.conf" ] || ln -s "/etc/nginx/sites-available/$HOST.conf" "$R/etc/nginx/sites-enabled/$HOST.conf"
fi'

# jitsi/jitsi-meet debian/jitsi-meet-prosody.postinst (3c2247a2; its checks re-read 2026-12):
# when conf.avail/HOST.cfg.lua is missing, a first install: the host file (TURN secret as a
# global, the internal MUC, restrict_room_creation, unlimited_jids) and its conf.d link,
# focus@auth.HOST registered, prosody restarted; jvb@auth.HOST registered when missing; on
# every configure the migrations: the internal MUC appended when the file lacks it,
# restrict_room_creation added after the conference MUC line when the two lines after it lack
# it, unlimited_jids when missing (each of the last two restarts prosody); each host's
# certificate made when /var/lib/prosody/HOST.crt is missing, the auth one also linked into
# /etc/prosody/certs and the system's CA folder (a restart). A restart is recorded in
# /var/lib/standin/prosody-restarts (the stand-in has no prosody to restart).
package jitsi-meet-prosody '
avail=$R/etc/prosody/conf.avail/$HOST.cfg.lua
mkdir -p "$R/etc/prosody/conf.avail" "$R/etc/prosody/conf.d" "$R/etc/prosody/certs" "$R/var/lib/prosody" "$R/usr/local/share/ca-certificates" "$R/var/lib/standin"
restart=""
account() { # USER PASSWORD
  d=$R/var/lib/prosody/auth%2emeet%2einvalid/accounts
  mkdir -p "$d"
  printf "return {\n\t[\"password\"] = \"%s\";\n};\n" "$2" >"$d/$1.dat"
}
if [ ! -f "$avail" ]; then
  printf "unlimited_jids = { \"focus@auth.%s\" }\nplugin_paths = { \"/usr/share/jitsi-meet/prosody-plugins/\" }\nexternal_service_secret = \"%s\";\nexternal_services = {\n     { type = \"stun\", host = \"%s\", port = 3478 },\n};\nVirtualHost \"%s\"\n    authentication = \"jitsi-anonymous\"\nComponent \"conference.%s\" \"muc\"\n    restrict_room_creation = true\nVirtualHost \"auth.%s\"\nComponent \"internal.auth.%s\" \"muc\"\n" \
    "$HOST" "$(secret)" "$HOST" "$HOST" "$HOST" "$HOST" "$HOST" >"$avail"
  [ -e "$R/etc/prosody/conf.d/$HOST.cfg.lua" ] || ln -s "/etc/prosody/conf.avail/$HOST.cfg.lua" "$R/etc/prosody/conf.d/$HOST.cfg.lua"
  account focus "$(secret)"
  restart="first install"
fi
[ -f "$R/var/lib/prosody/auth%2emeet%2einvalid/accounts/jvb.dat" ] || account jvb "$(secret)"
grep -q "internal.auth.$HOST" "$avail" || printf "Component \"internal.auth.%s\" \"muc\"\n" "$HOST" >>"$avail"
if ! grep -A 2 -- "Component \"conference.$HOST\" \"muc\"" "$avail" | grep -q restrict_room_creation; then
  printf "Component \"conference.%s\" \"muc\"\n    restrict_room_creation = true\n" "$HOST" >>"$avail"
  restart="$restart restrict_room_creation"
fi
if ! grep -q unlimited_jids "$avail"; then
  printf "unlimited_jids = { \"focus@auth.%s\" }\n" "$HOST" >>"$avail"
  restart="$restart unlimited_jids"
fi
for h in "$HOST" "auth.$HOST"; do
  if [ ! -f "$R/var/lib/prosody/$h.crt" ]; then
    printf "STAND-IN KEY %s\n" "$(secret)" >"$R/var/lib/prosody/$h.key"
    printf "STAND-IN CERTIFICATE for %s\n" "$h" >"$R/var/lib/prosody/$h.crt"
    ln -sf "/var/lib/prosody/$h.key" "$R/etc/prosody/certs/$h.key"
    ln -sf "/var/lib/prosody/$h.crt" "$R/etc/prosody/certs/$h.crt"
    if [ "$h" = "auth.$HOST" ]; then
      ln -sf "/var/lib/prosody/auth.$HOST.crt" "$R/usr/local/share/ca-certificates/auth.$HOST.crt"
    fi
    restart="$restart certificate-$h"
  fi
done
[ -z "$restart" ] || echo "prosody restarted:$restart" >>"$R/var/lib/standin/prosody-restarts"'

# jitsi/jicofo debian/postinst (7ebb13dc): /etc/jitsi/jicofo/config rewritten; jicofo.conf made
# with the focus password when missing; client-proxy set to focus.HOST on every configure
# (here appended: in HOCON the later value wins, as hocon set leaves it).
package jicofo '
mkdir -p "$R/etc/jitsi/jicofo"
printf "# adds java system props that are passed to jicofo\nJAVA_SYS_PROPS=\"-Dnet.java.sip.communicator.SC_HOME_DIR_NAME=jicofo\"\n" >"$R/etc/jitsi/jicofo/config"
conf=$R/etc/jitsi/jicofo/jicofo.conf
[ -f "$conf" ] || printf "jicofo {\n  xmpp.client.password = \"%s\"\n}\n" "$(secret)" >"$conf"
printf "jicofo.xmpp.client.client-proxy = \"focus.%s\"\n" "$HOST" >>"$conf"'

# jitsi/jitsi-videobridge debian/postinst (a29d97d1): jvb.conf with the jvb password when
# missing; /etc/jitsi/videobridge/config gets JAVA_SYS_PROPS when it lacks them. The secret
# line in config is what older postinsts wrote there (JVB_SECRET), which the current one
# still reads.
package jitsi-videobridge2 '
mkdir -p "$R/etc/jitsi/videobridge"
conf=$R/etc/jitsi/videobridge/jvb.conf
[ -f "$conf" ] || printf "videobridge {\n  apis.xmpp-client.configs {\n    shard {\n      PASSWORD = \"%s\"\n    }\n  }\n}\n" "$(secret)" >"$conf"
cfg=$R/etc/jitsi/videobridge/config
if [ ! -f "$cfg" ]; then printf "JVB_HOSTNAME=%s\nJVB_SECRET=%s\n" "$HOST" "$(secret)" >"$cfg"; fi
grep -q JAVA_SYS_PROPS "$cfg" || printf "JAVA_SYS_PROPS=\"-Dnet.java.sip.communicator.SC_HOME_DIR_NAME=videobridge\"\n" >>"$cfg"'

# jitsi/jitsi-meet debian/jitsi-meet-turnserver.postinst (b6170ed2): a turnserver.conf without
# the marker "jitsi-meet coturn config" moves to .bak; an existing one with it is left alone
# (the relay rules appended when the second marker is missing); else its own file with the
# TURN secret.
package jitsi-meet-turnserver '
conf=$R/etc/turnserver.conf
if [ -f "$conf" ] && ! grep -q "jitsi-meet coturn config" "$conf"; then mv "$conf" "$conf.bak"; fi
if [ -f "$conf" ]; then
  grep -q "jitsi-meet coturn relay disable config" "$conf" || printf "# jitsi-meet coturn relay disable config. Do not modify this line\nno-multicast-peers\n" >>"$conf"
  exit 0
fi
mkdir -p "$R/etc"
printf "# jitsi-meet coturn config. Do not modify this line\nuse-auth-secret\nstatic-auth-secret=%s\nrealm=%s\n" "$(secret)" "$HOST" >"$conf"'
