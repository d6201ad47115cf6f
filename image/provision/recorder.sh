#!/usr/bin/env bash
# The recorder image's additions (provision.sh runs this for RYO_ROLE=recorder, inside the
# target system as root, after the appliance's packages): jibri's runtime, a kernel with
# ALSA's loopback, and the files that make Debian's chromium stand in for Google Chrome.
#
# Follows jibri's own setup at jitsi/jibri 62369d55 (README.md "Pre-requisites",
# debian/control's Depends, resources/debian-package/etc/systemd/system/jibri.service),
# with Debian's chromium and chromium-driver where upstream installs Google Chrome and a
# chromedriver download (neither comes from Debian's archive).
set -euo pipefail
: "${RYO_OS_ENV:?set RYO_OS_ENV to an image/os/*.env file}"
: "${RYO_FILES:?set RYO_FILES to the image/ folder}"
# shellcheck source=/dev/null
. "$RYO_OS_ENV"
export DEBIAN_FRONTEND=noninteractive
log() { printf 'provision (recorder): %s\n' "$*"; }
apt_install() { apt-get install -y -q --no-install-recommends "$@"; }

log "installing jibri's runtime: $RYO_RECORDER_PACKAGES"
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt_install $RYO_RECORDER_PACKAGES

# The kernel: jibri records the meeting's sound from snd-aloop. Debian's cloud kernel is
# built without sound drivers, so the recorder image carries the generic one instead (the
# cloud one is removed, so the boot loader cannot pick it).
log "installing the kernel with ALSA's loopback: $RYO_RECORDER_KERNEL"
apt_install "$RYO_RECORDER_KERNEL"
if [[ -n $RYO_CLOUD_KERNEL_PATTERN ]]; then
  mapfile -t cloud < <(dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-*' 2>/dev/null |
    awk -v p="$RYO_CLOUD_KERNEL_PATTERN" '$NF == "installed" && $1 ~ p { print $1 }')
  if [[ ${#cloud[@]} -gt 0 ]]; then
    log "removing the cloud kernel: ${cloud[*]}"
    apt-get purge -y -q "${cloud[@]}"
  fi
fi
# Every kernel left must have the module, or the image would boot a recorder that records
# silence (or nothing): the build fails here instead.
kernels=0
for dir in /lib/modules/*/; do
  version=$(basename "$dir")
  if ! find "$dir" -name 'snd-aloop.ko*' -print -quit | grep -q .; then
    echo "provision: kernel $version has no snd-aloop module; a recorder cannot capture sound with it (RYO_RECORDER_KERNEL=$RYO_RECORDER_KERNEL)" >&2
    exit 1
  fi
  kernels=$((kernels + 1))
done
if [[ $kernels -eq 0 ]]; then
  echo "provision: no kernel is installed in /lib/modules; the recorder image needs one with snd-aloop" >&2
  exit 1
fi
log "snd-aloop is in every installed kernel ($kernels)"

# Loaded at every boot by systemd-modules-load (jibri's README: "snd_aloop" in
# /etc/modules), before meet-agent checks it.
install -D -m 0644 "$RYO_FILES/files/etc/modules-load.d/ryo-jitsi-recorder.conf" \
  /etc/modules-load.d/ryo-jitsi-recorder.conf
# Chrome's managed policy from jibri's README, at the path Debian's chromium reads.
install -D -m 0644 "$RYO_FILES/files/etc/chromium/policies/managed/ryo-jitsi-jibri.json" \
  /etc/chromium/policies/managed/ryo-jitsi-jibri.json
# jibri.service warms Google Chrome up with `sudo -u jibri /usr/bin/google-chrome` before
# it starts; here that is Debian's chromium, run as jibri without sudo.
install -D -m 0644 "$RYO_FILES/files/etc/systemd/system/jibri.service.d/10-ryo-jitsi-chromium.conf" \
  /etc/systemd/system/jibri.service.d/10-ryo-jitsi-chromium.conf

# What the recorder needs must be where jibri and the drop-in look for it.
for tool in /usr/bin/chromium /usr/bin/chromedriver /usr/bin/ffmpeg /usr/bin/Xorg /usr/bin/icewm-session /usr/sbin/runuser; do
  [[ -x $tool ]] || { echo "provision: $tool is missing after installing jibri's runtime" >&2; exit 1; }
done
[[ -f /usr/lib/xorg/modules/drivers/dummy_drv.so ]] ||
  { echo "provision: Xorg's dummy driver (xserver-xorg-video-dummy) is missing" >&2; exit 1; }
log "done"
