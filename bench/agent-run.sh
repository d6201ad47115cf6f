#!/usr/bin/env bash
# Benchmark: `meet-agent run` with a supplied certificate (wall time and peak RSS), and the
# size of the release binary. Targets (issue 2): under 50 ms, under 10 MB RSS, binary
# under 10 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-50}
# BIN=PATH measures another build (e.g. an older commit's, for a side-by-side).
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  cargo build --release --locked >/dev/null 2>&1
  bin=$PWD/target/release/meet-agent
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Make a certificate to supply: the agent's own fallback, copied out (the installed files
# are links into a versioned folder) and the whole tls folder removed.
mkdir -p "$work/root/etc/meet-agent/config.d"
printf '[server]\ndomain = "meet.example.test"\n[source]\nprovider = "none"\n' \
  >"$work/root/etc/meet-agent/config.d/00.toml"
"$bin" --root "$work/root" run --step tls >/dev/null 2>&1 || true
cp -L "$work/root/etc/meet-agent/tls/fullchain.pem" "$work/cert.pem"
cp -L "$work/root/etc/meet-agent/tls/privkey.pem" "$work/key.pem"
rm -rf "$work/root/etc/meet-agent/tls"
printf '[tls]\ncertificate = "%s"\nkey = "%s"\n' "$work/cert.pem" "$work/key.pem" \
  >"$work/root/etc/meet-agent/config.d/10-tls.toml"
# No system bus here: the start step reports that and moves on, as it would on a broken box.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bench-bus

echo "== binary"
stat -c '%s bytes  %n' "$bin"
echo "== first run (installs the supplied certificate)"
/usr/bin/time -f 'wall %e s, peak RSS %M KiB' "$bin" --root "$work/root" run 2>&1 >/dev/null | tail -1
grep -q '"message": "supplied certificate' "$work/root/var/lib/meet-agent/state.json" \
  || { echo "the supplied certificate was not installed; the benchmark would measure nothing" >&2; exit 1; }
median() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("median %.1f ms (min %.1f, max %.1f, %d runs)" % (r["median"] * 1000, r["min"] * 1000, r["max"] * 1000, len(r["times"])))
PY
}
echo "== steady-state reruns with the supplied certificate (hyperfine)"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/run.json" "$bin --root $work/root run" >/dev/null 2>&1
median "$work/run.json"
echo "== peak RSS of a rerun"
/usr/bin/time -f 'peak RSS %M KiB' "$bin" --root "$work/root" run 2>&1 >/dev/null | tail -1
echo "== status"
hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$work/status.json" "$bin --root $work/root status" >/dev/null 2>&1
median "$work/status.json"
