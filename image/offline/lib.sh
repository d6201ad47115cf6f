# Shared by the offline builds (build, packer-base). Sourced, not run.
# shellcheck shell=bash

: "${repo:?lib.sh needs repo set to the repository root}"
# The target: RYO_OS names an image/os/*.env (debian12, the default, or debian13);
# RYO_CLOUD_INIT=on adds cloud-init to the base, as the clouds' own images have it.
RYO_OS=${RYO_OS:-debian12}
RYO_CLOUD_INIT=${RYO_CLOUD_INIT:-off}
os_env=$repo/image/os/$RYO_OS.env
[[ -f $os_env ]] || { echo "build: no target $RYO_OS (image/os/$RYO_OS.env is missing)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$os_env"
[[ $RYO_CLOUD_INIT == on ]] && RYO_BASE_PACKAGES="$RYO_BASE_PACKAGES cloud-init"
OUT=${OUT:-$repo/build/image}
# Absolute: the LXD tarball's tar changes directory twice (-C), so a relative OUT would
# name the second folder from inside the first.
OUT=$(realpath -m "$OUT")
CACHE=${CACHE:-$repo/build/cache}
log() { printf '[%s] build: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

mirror_from_sources() {
  local uri
  # Debian's archive, not a third party's repository listed beside it (nodesource, ...).
  uri=$({ grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$2 !~ /^\[/ {print $2} $2 ~ /^\[/ {print $3}'
  } | grep -v security | grep -E '/debian/?$' | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(mirror_from_sources)}

# Runs a command chrooted into $1, in a private mount namespace: /proc, /dev and /run for
# the chroot vanish with it.
in_chroot() {
  local root=$1
  shift
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount --fork -- bash -euo pipefail -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
  ' _ "$root" "$@"
}

# The apt sources of the base: the mirror's suite, -updates (as the machine's own sources
# have it) and, when the os env names one, the backports suite Prosody 13 comes from. The
# security suite is not reachable here.
base_sources() {
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$RYO_OS_CODENAME" "$MIRROR" "$RYO_OS_CODENAME"
  if [[ $RYO_PROSODY_FROM == backports ]]; then
    printf 'deb %s %s main\n' "$MIRROR" "$RYO_BACKPORTS_SUITE"
  fi
}

# Prints the path of the cached base tarball, debootstrapping it first on a cache miss. The
# cache key covers everything that shapes the base: suite, mirror, apt sources (so adding
# the backports suite makes a new base) and both package lists.
ensure_base() {
  packages="$RYO_PACKAGES $RYO_BASE_PACKAGES"
  prosody_target=""
  [[ $RYO_PROSODY_FROM == backports ]] && prosody_target="-t $RYO_BACKPORTS_SUITE"
  key=$(printf '%s\n' "$RYO_OS_CODENAME" "$MIRROR" "$(base_sources)" "$packages" "$prosody_target $RYO_PROSODY_PACKAGES" | sha256sum | cut -c1-16)
  base=$CACHE/base-$RYO_OS_CODENAME-$key.tar.zst
  mkdir -p "$CACHE" "$OUT"
  # One log per release: tests/run prepares both bases at once.
  dlog=$CACHE/debootstrap-$RYO_OS_CODENAME.log
  if [[ ! -f $base ]]; then
    log "debootstrapping $RYO_OS_CODENAME from $MIRROR (cache miss: $base)"
    tmp=$(mktemp -d "$CACHE/debootstrap.XXXX")
    # debootstrap resolves only simple dependencies: it lays down minbase, and apt inside the
    # new system installs the package list with its real resolver.
    debootstrap --variant=minbase --components=main "$RYO_OS_CODENAME" "$tmp/rootfs" "$MIRROR" \
      >"$dlog" 2>&1 ||
      { echo "build: debootstrap failed; see $dlog" >&2; tail -20 "$dlog" >&2; exit 1; }
    base_sources >"$tmp/rootfs/etc/apt/sources.list"
    # Prosody 13 from backports in the base already, so the provisioning (the same script
    # every Packer build runs) finds it installed.
    in_chroot "$tmp/rootfs" bash -euo pipefail -c '
      printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d
      apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends '"$packages"'
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends '"$prosody_target $RYO_PROSODY_PACKAGES"'
      rm -f /usr/sbin/policy-rc.d
      apt-get clean' >>"$dlog" 2>&1 ||
      { echo "build: installing the base packages failed; see $dlog" >&2; tail -20 "$dlog" >&2; exit 1; }
    tar --numeric-owner --xattrs -C "$tmp/rootfs" -I 'zstd -T0 -3' -cf "$base.tmp" .
    mv "$base.tmp" "$base"
    rm -rf "$tmp"
  else
    log "base from cache: $base"
  fi
  echo "$base"
}

# What only a machine built from scratch needs: network by DHCP, the root file system by
# label.
make_bootable() {
  local root=$1
  install -D -m 0644 /dev/stdin "$root/etc/systemd/network/80-dhcp.network" <<NET
[Match]
Name=en* eth*
[Network]
DHCP=yes
# No duplicate address detection: networkd counts the link configured only once its IPv6
# link-local address has passed DAD, about 1.5 s of a first boot under TCG during which
# network-online.target (and meet-agent) waited with a DHCPv4 lease in hand. A virtual NIC's
# link-local address comes from its hypervisor-assigned MAC, which nothing else on the
# virtual segment shares.
IPv6DuplicateAddressDetection=0
NET
  # The kernel's own link-local address: with dad_transmits at 0 (set by networkd from the
  # setting above) it still waits a random 0 to 1 s (rtr_solicit_delay) before counting as
  # done, unless accept_dad is off too; networkd calls the link configured, and wait-online
  # lets meet-agent start, only once it is done. Measured in guests' journals: "Gained
  # carrier" to "Gained IPv6LL" 0.84 and 0.88 s before (two boots), 0.03 to 0.17 s after
  # (twelve). `default` covers links made after systemd-sysctl's run at boot; the pattern
  # covers `all` and the links that run finds, and udev's rule that runs systemd-sysctl for
  # each new link applies it again there.
  install -D -m 0644 /dev/stdin "$root/etc/sysctl.d/80-ryo-jitsi-no-dad.conf" <<'SYSCTL'
# ryo-jitsi: no IPv6 duplicate address detection on virtual links (see
# /etc/systemd/network/80-dhcp.network).
net.ipv6.conf.default.accept_dad = 0
net.ipv6.conf.*.accept_dad = 0
SYSCTL
  # Wait up to 30 s for any network, then go on: a container or VM without a network is
  # still worth booting (meet-agent reports what it could not reach), not a failed boot.
  install -D -m 0644 /dev/stdin "$root/etc/systemd/system/systemd-networkd-wait-online.service.d/10-any.conf" <<UNIT
[Service]
ExecStart=
ExecStart=-/lib/systemd/systemd-networkd-wait-online --any --timeout=30
UNIT
  echo "LABEL=ryo-root / ext4 defaults,noatime 0 1" >"$root/etc/fstab"
  # The initramfs holds only what mounts the root disk on the machines this image runs on
  # (QEMU/KVM's virtio disks and SCSI, NVMe, Xen's block front end, SATA/IDE, and ext4, a
  # module in the recorder's generic kernel; Debian 12's cloud kernel has no AHCI driver,
  # so the standard image does not boot from q35's SATA) instead of MODULES=most: 5.8 MB instead of
  # 13.3 MB with the cloud kernel, which the kernel unpacks sooner (docs/boot-tests.md).
  # One built into the kernel, or one the kernel lacks, is skipped.
  install -D -m 0644 /dev/stdin "$root/etc/initramfs-tools/conf.d/ryo-jitsi-modules.conf" <<CONF
# ryo-jitsi: only the root disk's drivers, added by hooks/ryo-jitsi-root-drivers.
MODULES=list
CONF
  # And no udev in it. udev's coldplug in the initramfs replayed every device and module
  # the kernel had (412 events in a guest) through its rules to load one or two of these
  # drivers, and systemd's udev in the real root replays them all again. One modprobe of
  # the whole list instead: a driver without its device loads and binds to nothing (Xen's
  # refuses to load off Xen), and the mount loads ext4 when it is a module. Under TCG,
  # `Run /init` to systemd: 1.91, 2.02, 2.01 s before, 1.41, 1.42, 1.39 s after (three
  # interleaved boots each; docs/boot-tests.md).
  # The udev package's initramfs scripts are taken out of the image by the hook (its
  # udevd, udevadm and rules with them); ours load the drivers, wait for the root disk
  # and hand /dev over to the real root as udev's init-bottom script did.
  local drivers="virtio_pci virtio_blk virtio_scsi sd_mod nvme xen_blkfront ahci ata_piix"
  install -D -m 0755 /dev/stdin "$root/etc/initramfs-tools/hooks/ryo-jitsi-root-drivers" <<HOOK
#!/bin/sh
# ryo-jitsi (image/offline/lib.sh, make_bootable): the root disk's drivers on QEMU/KVM,
# clouds and Xen (with MODULES=list), loaded by scripts/init-top/ryo-jitsi-root-drivers;
# udev's initramfs scripts, daemon, rules and helpers taken out (blkid, which its hook
# adds, stays).
set -e
case \${1:-} in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
manual_add_modules $drivers ext4 crc32c_generic
rm -f "\$DESTDIR/scripts/init-top/udev" "\$DESTDIR/scripts/init-bottom/udev" \\
  "\$DESTDIR/lib/systemd/systemd-udevd" "\$DESTDIR/usr/lib/systemd/systemd-udevd" \\
  "\$DESTDIR/bin/udevadm" "\$DESTDIR/usr/bin/udevadm"
rm -rf "\$DESTDIR/lib/udev" "\$DESTDIR/usr/lib/udev" "\$DESTDIR/etc/udev"
HOOK
  install -D -m 0755 /dev/stdin "$root/etc/initramfs-tools/scripts/init-top/ryo-jitsi-root-drivers" <<SCRIPT
#!/bin/sh
# ryo-jitsi (image/offline/lib.sh, make_bootable): loads the root disk's drivers in place
# of udev's coldplug. A driver binds its devices as it loads, but NVMe namespaces and SCSI
# disks show up a moment later: look for the root every 50 ms for up to 5 s, before init's
# own wait, which looks once a second (for 30 s) and then opens a shell. Without udev
# there are no /dev/disk/by-* links: a root= naming a by-label, by-uuid, by-partlabel or
# by-partuuid one becomes blkid's LABEL=, UUID=, PARTLABEL= or PARTUUID= (init reads
# /conf/param.conf after each script); by-id and by-path names are not found. A numeric
# root= (root=fe00, root=254:0) becomes /dev/block/MAJ:MIN (init's parse_numeric), a link
# udev made and this script makes.
case \${1:-} in prereqs) exit 0 ;; esac
. /scripts/functions
/sbin/modprobe -a -q -b $drivers || true
block_links() {
  mkdir -p /dev/block
  for dev in /sys/class/block/*/dev; do
    [ -r "\$dev" ] || continue
    read -r majmin <"\$dev"
    name=\${dev%/dev}
    [ -e "/dev/block/\$majmin" ] || ln -s "../\${name##*/}" "/dev/block/\$majmin"
  done
}
block_links
given=\${ROOT:-}
case \$given in
/dev/disk/by-label/*) ROOT=LABEL=\${ROOT#/dev/disk/by-label/} ;;
/dev/disk/by-uuid/*) ROOT=UUID=\${ROOT#/dev/disk/by-uuid/} ;;
/dev/disk/by-partlabel/*) ROOT=PARTLABEL=\${ROOT#/dev/disk/by-partlabel/} ;;
/dev/disk/by-partuuid/*) ROOT=PARTUUID=\${ROOT#/dev/disk/by-partuuid/} ;;
*) parse_numeric "\$given" ;;
esac
[ "\$ROOT" = "\$given" ] || printf "ROOT='%s'\\n" "\$ROOT" >>/conf/param.conf
# 100 looks, at least 5 s (more where blkid is slow to start).
tries=0
while [ "\$tries" -lt 100 ]; do
  case \${ROOT:-} in
  /dev/block/*) block_links; [ -b "\$ROOT" ] && break ;;
  /dev/*) [ -b "\$ROOT" ] && break ;;
  LABEL=* | UUID=* | PARTLABEL=* | PARTUUID=*) blkid -l -t "\$ROOT" -o device >/dev/null 2>&1 && break ;;
  *) break ;;
  esac
  sleep 0.05
  tries=\$((tries + 1))
done
SCRIPT
  install -D -m 0755 /dev/stdin "$root/etc/initramfs-tools/scripts/init-bottom/ryo-jitsi-move-dev" <<'SCRIPT'
#!/bin/sh
# ryo-jitsi (image/offline/lib.sh, make_bootable): hands the initramfs's /dev (a devtmpfs)
# to the real root, as udev's init-bottom script does, which the image leaves out.
case ${1:-} in prereqs) exit 0 ;; esac
mount -n -o move /dev "${rootmnt:?}/dev" || mount -n --move /dev "${rootmnt}/dev"
nuke /dev 2>/dev/null || rm -rf /dev
ln -s "${rootmnt}/dev" /dev
SCRIPT
  # Besides the generators provision.sh masks on every image: gpt-auto, which looks for
  # partitions to mount by their GPT type. This disk has no partition table (a whole-disk
  # ext4 found by its label); on the clouds' images it stays, as their boot may use it.
  install -d "$root/etc/systemd/system-generators"
  ln -sfn /dev/null "$root/etc/systemd/system-generators/systemd-gpt-auto-generator"
  in_chroot "$root" update-initramfs -u -k all >/dev/null
  # The serial console's getty comes from systemd's getty generator when the kernel runs
  # with console=ttyS0; enabling it by hand would leave containers waiting for a ttyS0.
  in_chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
}

# Makes a qcow2 ($2) of the root tree $1: an ext4 file system labelled ryo-root, filled
# with mkfs.ext4 -d (no loop mount); compressed unless $3 is "off".
make_disk() {
  local root=$1 out=$2 compress=${3:-on} flags=(-c)
  [[ $compress == off ]] && flags=()
  rm -f "$out.raw"
  mkfs.ext4 -q -L ryo-root -d "$root" "$out.raw" 3G
  qemu-img convert "${flags[@]}" -O qcow2 "$out.raw" "$out.tmp"
  mv "$out.tmp" "$out"
  rm -f "$out.raw"
}
