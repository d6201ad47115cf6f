#!/usr/bin/env bash
# Benchmark: the offline image build from a warm cache (target under 3 minutes) and the
# size of its outputs (qcow2 target under 500 MB). Warms the cache first if it is cold, then
# times a second, warm build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CACHE=${CACHE:-/var/cache/ryo-jitsi}

if ! compgen -G "$CACHE/base-*.tar.zst" >/dev/null; then
  echo "== cold build (fills the cache)"
  start=$(date +%s.%N)
  bash image/offline/build >/dev/null 2>&1
  echo "cold build: $(echo "$(date +%s.%N) - $start" | bc) s"
fi
echo "== warm build"
start=$(date +%s.%N)
bash image/offline/build >/tmp/ryo-image-build.log 2>&1
echo "warm build: $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s (log: /tmp/ryo-image-build.log)"
echo "== outputs"
for f in build/image/ryo-jitsi.qcow2 build/image/ryo-jitsi-lxd.tar.zst build/image/vmlinuz build/image/initrd.img; do
  printf '%-36s %6.1f MB\n' "$f" "$(echo "$(stat -c %s "$f") / 1000000" | bc -l)"
done
printf '%-36s %6.1f MB (virtual size)\n' "qcow2 virtual" \
  "$(echo "$(qemu-img info --output=json build/image/ryo-jitsi.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') / 1000000" | bc -l)"
