#!/usr/bin/env bash
# Benchmark (issue 3): obtaining one certificate for one name from the same local pebble,
# side by side and interleaved: meet-agent (its whole `run`, DNS wait included) vs
# `certbot certonly --standalone` vs `lego run`, each from a fresh state folder (new
# account, new order). Wall time and peak RSS from /usr/bin/time; medians of $RUNS runs.
# Targets: faster than both, at most a quarter of certbot's memory.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
# shellcheck source=bench/lib-pebble.sh
. bench/lib-pebble.sh
bench_setup
domain=bench.example.test
set_a "$domain" 127.0.0.1

measure() { # NAME COMMAND...: appends "wall rss" to $work/NAME.times
  local name=$1; shift
  local before; before=$(issued)
  /usr/bin/time -f '%e %M' -o "$work/one" "$@" >"$work/$name.out" 2>&1 \
    || { echo "$name failed:"; tail -5 "$work/$name.out"; exit 1; }
  [[ $(issued) -gt $before ]] || { echo "$name reported success but pebble issued nothing" >&2; exit 1; }
  cat "$work/one" >>"$work/$name.times"
}

for i in $(seq "$runs"); do
  r=$work/agent-$i; agent_config "$r" "$domain"
  measure meet-agent "$bin" --root "$r" run
  c=$work/certbot-$i
  measure certbot env REQUESTS_CA_BUNDLE="$LISTENER_CA" certbot certonly --standalone \
    --non-interactive --agree-tos --register-unsafely-without-email --server "$DIRECTORY" \
    --http-01-address 127.0.0.1 --http-01-port "$HTTP_PORT" -d "$domain" \
    --config-dir "$c/conf" --work-dir "$c/work" --logs-dir "$c/logs"
  l=$work/lego-$i
  measure lego env LEGO_CA_CERTIFICATES="$LISTENER_CA" lego --server "$DIRECTORY" --accept-tos \
    --email bench@example.org --domains "$domain" --http --http.port "127.0.0.1:$HTTP_PORT" \
    --path "$l" run
done

printf '%-12s %12s %14s\n' client "median wall" "median peak RSS"
for name in meet-agent certbot lego; do
  cut -d' ' -f1 "$work/$name.times" >"$work/w"; cut -d' ' -f2 "$work/$name.times" >"$work/m"
  printf '%-12s %10s s %11s KiB\n' "$name" "$(median "$work/w")" "$(median "$work/m")"
done
echo "($runs runs each, interleaved; pebble issued $(issued) certificates)"
