#!/usr/bin/env bash
# Benchmark (issues 5 and 23): boot-to-ready on the ACME path, split into QEMU's start
# until the guest kernel runs, kernel + systemd until meet-agent starts (the guest's own
# monotonic clock), the agent's run, its steps and the time outside them, and READY until the first HTTPS
# answer; medians of $RUNS boots (fresh CA and disk each). Issue 23's targets under TCG:
# boot-to-ready 15 s, kernel + systemd 9 s, agent run 2.5 s, HTTPS 1 s after READY. Each
# run's timeline and status record stay in target/boot-bench/. Uses the image in build/image (made by
# image/offline/build, which this runs first: a warm build takes about half a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps
CACHE=${CACHE:-/var/cache/ryo-jitsi} bash image/offline/build >/dev/null
# Under TCG the guest gets QEMU's `max` CPU, as when issue 23's baseline was measured (the
# boot tests give theirs the cheaper `qemu64`; tests/boot/src/lib.rs tcg_cpu).
RYO_QEMU_CPU=${RYO_QEMU_CPU:-max} RUNS=${RUNS:-3} cargo run --quiet --release -p boot-tests --bin boot-bench
