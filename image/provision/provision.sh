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
#   RYO_ROLE            "all" (default) or "recorder": the recorder image adds jibri's runtime
#                       (chromium, chromedriver, ffmpeg, Xorg's dummy driver, icewm), the
#                       generic kernel in place of the cloud one (for snd-aloop) and, with
#                       Jitsi's repository on, the jibri package
set -euo pipefail

: "${RYO_OS_ENV:?set RYO_OS_ENV to an image/os/*.env file}"
: "${RYO_AGENT_DEB:?set RYO_AGENT_DEB to the meet-agent .deb}"
: "${RYO_FILES:?set RYO_FILES to the image/ folder}"
RYO_JITSI_REPO=${RYO_JITSI_REPO:-on}
RYO_JITSI_VERSION=${RYO_JITSI_VERSION:-}
RYO_APT_UPDATE=${RYO_APT_UPDATE:-on}
RYO_ROLE=${RYO_ROLE:-all}
# shellcheck source=/dev/null
. "$RYO_OS_ENV"

# Jitsi's signing key, pinned: the build fails if the downloaded key is any other.
readonly JITSI_KEY_URL=https://download.jitsi.org/jitsi-key.gpg.key
readonly JITSI_KEY_FINGERPRINT=66A9CD0595D6AFA247290D3BEF8B479E2DC1389C
# jitsi-meet-tokens: the token (JWT) plugin's package (luajwtjitsi); jigasi: the SIP gateway
# (sip.local, docs/sip.md); both preseeded in jitsi.preseed.
readonly JITSI_PACKAGES="jitsi-meet jicofo jitsi-videobridge2 jitsi-meet-web jitsi-meet-web-config jitsi-meet-prosody jitsi-meet-turnserver jitsi-meet-tokens jigasi"
# Prosody's signing key (packages.prosody.im), pinned the same way. The fingerprint is the
# one published with the key ID 0x7393D7E674D9DBB5 that Prosody's Debian repository has
# been signed with (see docs/packer-vs-offline.md for where it was checked).
readonly PROSODY_KEY_URL=https://prosody.im/files/prosody-debian-packages.key
readonly PROSODY_KEY_FINGERPRINT=107D65A0A148C237FDF00AB47393D7E674D9DBB5

export DEBIAN_FRONTEND=noninteractive
log() { printf 'provision: %s\n' "$*"; }

case $RYO_ROLE in
  all) ;;
  recorder)
    if [[ -z ${RYO_RECORDER_PACKAGES:-} ]]; then
      echo "provision: $RYO_OS_ID $RYO_OS_VERSION has no recorder image (see RYO_RECORDER_PACKAGES in $RYO_OS_ENV); build recorders from debian12 or debian13" >&2
      exit 1
    fi
    ;;
  *)
    echo "provision: RYO_ROLE must be all or recorder, not '$RYO_ROLE'" >&2
    exit 1
    ;;
esac

# No service starts while we install: the image leaves the stack stopped for meet-agent.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT

apt_install() { apt-get install -y -q --no-install-recommends "$@"; }

# Fetches the signing key at $1 into keyring $3, refusing any key whose fingerprint is not $2.
pinned_key() {
  local url=$1 fingerprint=$2 keyring=$3 key got
  key=$(mktemp)
  curl -fsSL "$url" | gpg --dearmor >"$key"
  got=$(gpg --show-keys --with-colons "$key" | awk -F: '$1 == "fpr" { print $10; exit }')
  if [[ $got != "$fingerprint" ]]; then
    echo "provision: the key at $url has fingerprint '$got', expected $fingerprint; refusing it" >&2
    rm -f "$key"
    exit 1
  fi
  install -m 0644 "$key" "$keyring"
  rm -f "$key"
}

# The Debian mirror the system's own apt sources name (deb822 or one-line), for the
# backports suite.
system_mirror() {
  local uri
  # Debian's archive, not a third party's repository listed beside it (nodesource, ...).
  uri=$({ grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$2 !~ /^\[/ {print $2} $2 ~ /^\[/ {print $3}'
  } | grep -v security | grep -E '/debian/?$' | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Prosody 13 on every image: from the backports suite or from Prosody's repository, as the
# os env says (image/os/*.env).
prosody_target=()
sources_added=false
case $RYO_PROSODY_FROM in
  backports)
    : "${RYO_BACKPORTS_SUITE:?the os env must set RYO_BACKPORTS_SUITE for RYO_PROSODY_FROM=backports}"
    prosody_target=(-t "$RYO_BACKPORTS_SUITE")
    if ! grep -rqsE "^(Suites:.*[[:space:]]|deb .*[[:space:]])$RYO_BACKPORTS_SUITE([[:space:]]|$)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding $RYO_BACKPORTS_SUITE (Prosody 13) to apt's sources"
      printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$(system_mirror)" "$RYO_BACKPORTS_SUITE" >/etc/apt/sources.list.d/ryo-jitsi-backports.sources
      sources_added=true
    fi
    ;;
  distro)
    # The distribution's own suite already carries Prosody 13 (Debian 13).
    ;;
  prosody.im)
    # curl and gnupg fetch and check the key before anything else is installed.
    if ! command -v curl >/dev/null || ! command -v gpg >/dev/null; then
      apt-get update -q
      apt_install curl gnupg ca-certificates
    fi
    log "adding Prosody's apt repository (key $PROSODY_KEY_FINGERPRINT)"
    pinned_key "$PROSODY_KEY_URL" "$PROSODY_KEY_FINGERPRINT" /usr/share/keyrings/prosody-keyring.gpg
    echo "deb [signed-by=/usr/share/keyrings/prosody-keyring.gpg] https://packages.prosody.im/debian $RYO_OS_CODENAME main" \
      >/etc/apt/sources.list.d/prosody.list
    sources_added=true
    ;;
  *)
    echo "provision: RYO_PROSODY_FROM must be backports, distro or prosody.im, not '${RYO_PROSODY_FROM:-}'" >&2
    exit 1
    ;;
esac

if [[ $RYO_APT_UPDATE == on ]] || $sources_added; then apt-get update -q; fi
log "installing the appliance packages: $RYO_PACKAGES"
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt_install $RYO_PACKAGES
log "installing Prosody 13: $RYO_PROSODY_PACKAGES ${prosody_target[*]}"
# shellcheck disable=SC2086
apt_install "${prosody_target[@]}" $RYO_PROSODY_PACKAGES
prosody_version=$(dpkg-query -W -f='${Version}' prosody)
if [[ $prosody_version != 13.* ]]; then
  echo "provision: prosody $prosody_version is installed, but every image runs Prosody 13 (RYO_PROSODY_FROM=$RYO_PROSODY_FROM)" >&2
  exit 1
fi
log "prosody $prosody_version"
# Jitsi's token (JWT) plugin needs basexx, cjson.safe, openssl.hmac and inspect in Prosody
# 13's Lua 5.4; the build fails here if they do not load (see the script).
bash "$RYO_FILES/provision/lua54-libraries.sh"

jitsi_packages=$JITSI_PACKAGES
if [[ $RYO_ROLE == recorder ]]; then
  bash "$RYO_FILES/provision/recorder.sh"
  jitsi_packages="$jitsi_packages jibri"
fi

missing_jitsi=""
if [[ $RYO_JITSI_REPO == on ]]; then
  log "adding Jitsi's apt repository (key $JITSI_KEY_FINGERPRINT)"
  pinned_key "$JITSI_KEY_URL" "$JITSI_KEY_FINGERPRINT" /usr/share/keyrings/jitsi-keyring.gpg
  echo "deb [signed-by=/usr/share/keyrings/jitsi-keyring.gpg] https://download.jitsi.org $RYO_JITSI_SUITE" \
    >/etc/apt/sources.list.d/jitsi-stable.list
  if [[ -n $RYO_JITSI_VERSION ]]; then
    printf 'Package: jitsi-meet*\nPin: version %s\nPin-Priority: 1001\n' "$RYO_JITSI_VERSION" \
      >/etc/apt/preferences.d/jitsi-meet.pref
  fi
  debconf-set-selections "$RYO_FILES/provision/jitsi.preseed"
  apt-get update -q
  # shellcheck disable=SC2086
  apt_install $jitsi_packages
else
  missing_jitsi=$jitsi_packages
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

# Administrative logins by key only (root too), from root's own keys and meet-agent's file
# ([access] ssh_authorized_keys); the login banner shows `meet-agent status --brief`.
install -D -m 0644 "$RYO_FILES/files/etc/ssh/sshd_config.d/50-ryo-jitsi.conf" /etc/ssh/sshd_config.d/50-ryo-jitsi.conf
install -D -m 0755 "$RYO_FILES/files/etc/update-motd.d/60-ryo-jitsi" /etc/update-motd.d/60-ryo-jitsi

# What this image is, for `meet-agent status`.
mkdir -p /usr/share/ryo-jitsi
{
  printf '{"os":"%s %s","jitsi_repository":"%s","role":"%s",' "$RYO_OS_ID" "$RYO_OS_VERSION" "$RYO_JITSI_REPO" "$RYO_ROLE"
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

# After a dpkg run that touched Jitsi's packages (an upgrade), meet-agent's files are put
# back by its jitsi step (apt's DPkg::Post-Invoke hook; see the script's header).
install -D -m 0755 "$RYO_FILES/files/usr/lib/ryo-jitsi/after-dpkg" /usr/lib/ryo-jitsi/after-dpkg
install -D -m 0644 "$RYO_FILES/files/etc/apt/apt.conf.d/80ryo-jitsi-after-dpkg" /etc/apt/apt.conf.d/80ryo-jitsi-after-dpkg

# systemd runs every generator before it loads a unit, on the path to meet-agent: under
# TCG the generators took 1.1 s of a first boot, and these find nothing to do on the
# appliance: no encrypted, integrity or verity volumes (an encrypted cloud disk is the
# hypervisor's business), no hibernation, no offline system updates (apt updates in place),
# and no service that has only a SysV init script (each in the image has a systemd unit).
# /etc/rc.local still runs for those who use it.
install -d /etc/systemd/system-generators
for generator in cryptsetup integritysetup veritysetup hibernate-resume system-update sysv; do
  ln -sfn /dev/null "/etc/systemd/system-generators/systemd-$generator-generator"
done

# e2scrub_reap removes e2scrub's leftover LVM snapshots at every boot: the appliance has no
# LVM, and the script (lvs and friends) took 4.5 s of a first boot under TCG, on CPUs
# meet-agent's run shares.
systemctl --quiet --no-reload mask e2scrub_reap.service

# What systemd sets up early at every boot for features the appliance does not use; under
# TCG each took 0.3 to 0.8 s (systemd-analyze blame, wall time) on the two CPUs the path
# to meet-agent shares (docs/boot-tests.md):
# - modprobe@ units that load, ahead of any use, drm (logind's seats on a display; a GPU's
#   driver brings it when there is one), dm_mod and loop (wanted by systemd-repart, whose
#   condition then skips it): these load on demand when their device node (made by
#   kmod-static-nodes) is opened;
# - the fuse control file system and configfs (/sys/kernel/config, for kernel targets and
#   USB gadgets), with their modprobe@ units: fuse itself still loads on demand;
# - binfmt_misc (foreign binaries through an interpreter) and systemd-binfmt, which
#   registers none here. In a container it failed besides (it cannot mount binfmt_misc).
# - hugetlbfs at /dev/hugepages (nothing here asks for explicit huge pages; the JVM's
#   transparent huge pages need no mount), the POSIX message queue file system at
#   /dev/mqueue (mq_open works without it; only listing queues as files needs it), and
#   debugfs and tracefs under /sys/kernel: each a /bin/mount process at every boot. Who
#   traces the kernel mounts them by hand (`mount -t debugfs none /sys/kernel/debug`).
# efi_pstore stays: on an EFI machine it keeps the last kernel panic's log.
# --quiet, not a redirection: the "Created symlink" lines go, an error still shows.
systemctl --quiet --no-reload mask modprobe@drm.service modprobe@dm_mod.service modprobe@loop.service \
  modprobe@fuse.service sys-fs-fuse-connections.mount modprobe@configfs.service sys-kernel-config.mount \
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
  dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount

# Kernel modules udev loads because the CPU has a feature, which the appliance never uses:
# - the kernel's own AES, GHASH, SHA and CRC-T10DIF/CRC32 code for AES-NI, PCLMULQDQ and
#   SSSE3. They serve in-kernel crypto: disk encryption, IPsec, kernel TLS, none of it here
#   (nginx, coturn, prosody and the JVMs encrypt in user space with their own AES-NI code).
#   Each algorithm a module registers runs the kernel's self-tests first: under TCG these
#   loads ran from 6.0 to 8.9 s of a first boot (initcall_debug, wall time), beside
#   networkd and meet-agent. crc32c_intel stays: ext4's metadata checksums are CRC32C,
#   and connection tracking's libcrc32c loads it.
# - KVM, loaded when the CPU offers nested virtualization (Proxmox's "host" CPU type, or
#   QEMU's "max"): nothing here runs virtual machines.
# A blacklist stops the loading by alias: udev's, and the kernel's own requests (a user of
# "crypto-aes" then gets the generic C code); `modprobe aesni_intel` by name still works.
install -D -m 0644 /dev/stdin /etc/modprobe.d/ryo-jitsi-unused-modules.conf <<'CONF'
# ryo-jitsi (image/provision/provision.sh): modules the appliance does not use.
blacklist aesni_intel
blacklist ghash_clmulni_intel
blacklist sha1_ssse3
blacklist sha256_ssse3
blacklist sha512_ssse3
blacklist crct10dif_pclmul
blacklist crc32_pclmul
blacklist kvm_intel
blacklist kvm_amd
CONF

# unattended-upgrades.service is a Python program that waits for the shutdown, to hold it
# while an upgrade runs. Started beside meet-agent's first run, its start took 1.3 to 1.8 s
# of the guest's CPU before READY under TCG (the units' cgroup cpu.stat), while the boot's
# two CPUs were 94 % busy; it starts once the agent and the web server have. Upgrades run
# later: from apt-daily-upgrade.timer, or (updates.first_boot) inside meet-agent's run. While
# the helper waits for meet-agent (its first run may wait for DNS for up to 20 min), it does
# not hold a shutdown: then stopping meet-agent.service sends SIGTERM to all of its
# processes, unattended-upgrade and dpkg included, as before this ordering; a daily run
# started by the timer in that window is not held either. At a shutdown the helper now stops
# before meet-agent and nginx.
install -D -m 0644 /dev/stdin /etc/systemd/system/unattended-upgrades.service.d/ryo-jitsi-after-stack.conf <<'UNIT'
[Unit]
After=meet-agent.service nginx.service
UNIT

# nginx's unit (Debian's nginx-common nginx.service; Jitsi's packaging and
# docker-jitsi-meet, which runs nginx without systemd, leave it as it is) tests its
# configuration (nginx -t) before starting it with the same arguments, which reads every file and the certificate a second time on the way to the
# first HTTPS answer; a configuration that does not load fails the start itself with the
# same message in the journal.
install -D -m 0644 /dev/stdin /etc/systemd/system/nginx.service.d/ryo-jitsi-start.conf <<'UNIT'
[Service]
ExecStartPre=
UNIT

# The stack stays stopped and disabled: meet-agent starts it once this instance is set up.
# One systemctl call, without reloading systemd (the build machine is shut down next; under
# TCG each reload, once per call, took seconds).
installed=()
for unit in nginx prosody coturn jicofo jitsi-videobridge2 jibri jigasi; do
  for dir in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [[ -e $dir/$unit.service ]]; then
      installed+=("$unit.service")
      break
    fi
  done
done
if [[ ${#installed[@]} -gt 0 ]] && ! systemctl --no-reload disable "${installed[@]}" >/dev/null 2>&1; then
  # One unit it could not disable fails the call for all: then one at a time.
  for unit in "${installed[@]}"; do
    systemctl --no-reload disable "$unit" >/dev/null 2>&1 || true
  done
fi
systemctl --no-reload enable meet-agent.service >/dev/null
log "done"
