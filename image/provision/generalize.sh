#!/usr/bin/env bash
# Makes the provisioned system generic: nothing that belongs to one instance stays in the
# image. Every builder runs it last. check-generic.sh proves the result.
set -euo pipefail

# machine-id: empty, so systemd makes one at first boot (and ConditionFirstBoot holds).
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -sf /etc/machine-id /var/lib/dbus/machine-id

rm -f /etc/ssh/ssh_host_*
# Keys the build logged in with (Packer's temporary key, the offline base's build key).
rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys
rm -rf /var/lib/meet-agent /etc/meet-agent/tls /etc/meet-agent/ssh /run/meet-agent
# The console banner names one instance's address and health.
rm -f /etc/issue.d/ryo-jitsi.issue
rm -f /etc/jitsi/meet/*.key /etc/jitsi/meet/*.crt
rm -f /var/lib/prosody/*.crt /var/lib/prosody/*.key /etc/prosody/certs/*.crt /etc/prosody/certs/*.key
# Secrets the Jitsi packages generated at install time (meet-agent makes new ones per
# instance) and their debconf answers, which sit in the world-readable debconf database.
if command -v debconf-communicate >/dev/null; then
  for q in jitsi-meet-prosody/turn-secret jitsi-videobridge/jvbsecret jicofo/jicofo-authpassword \
    jicofo/jicofosecret jitsi-meet-prosody/jvb-hostname; do
    echo "SET $q " | debconf-communicate >/dev/null 2>&1 || true
  done
fi
rm -rf /var/lib/cloud/instances /var/lib/cloud/instance /var/lib/cloud/data /var/lib/cloud/sem
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
rm -rf /var/cache/debconf/*-old /var/lib/dpkg/*-old
find /var/log -type f -delete
rm -rf /tmp/* /var/tmp/* /root/.bash_history /root/.cache
rm -f /etc/hostname
echo "generalize: done"
