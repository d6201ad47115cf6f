#!/usr/bin/env bash
# Benchmark (issue 5): boot-to-ready on the ACME path, split into kernel + systemd until
# meet-agent starts (the guest's own monotonic clock) and the agent's run and step
# durations, median of $RUNS boots (fresh CA and disk each). Targets under TCG: agent steps
# under 3 s, boot-to-ready under 30 s. Uses the image in build/image (made by
# image/offline/build, which this runs first: a warm build takes about half a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps
CACHE=${CACHE:-/var/cache/ryo-jitsi} bash image/offline/build >/dev/null
# Under TCG the guest gets QEMU's `max` CPU, as when issue 23's baseline was measured (the
# boot tests give theirs the cheaper `qemu64`; tests/boot/src/lib.rs tcg_cpu).
RYO_QEMU_CPU=${RYO_QEMU_CPU:-max} RUNS=${RUNS:-3} cargo run --quiet --release -p boot-tests --bin boot-bench
