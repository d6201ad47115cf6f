# shellcheck shell=bash
# Sourced by the ACME benchmarks: `bench_setup` builds the release agent ($bin), makes a
# scratch folder ($work) removed on exit, and starts Debian's pebble and
# pebble-challtestsrv on 127.0.0.1 (as the tests do, with openssl's CLI making the
# listener certificate); the other functions are helpers for the runs.

bench_setup() {
  cargo build --release --locked >/dev/null 2>&1
  # shellcheck disable=SC2034 # used by the sourcing benchmark
  bin=$PWD/target/release/meet-agent
  work=$(mktemp -d)
  PIDS=()
  trap 'stop_all; rm -rf "$work"' EXIT
  start_pebble
  # No system bus here: the start step reports that and moves on.
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bench-bus
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_pebble() {
  local d=$work/pebble
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench-listener-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$d/key.pem" -out "$d/req.csr" 2>/dev/null
  openssl x509 -req -in "$d/req.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -out "$d/cert.pem" -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost') 2>/dev/null
  ACME_PORT=$(free_port) MGMT_PORT=$(free_port) HTTP_PORT=$(free_port) TLS_PORT=$(free_port)
  DNS_PORT=$(free_port) CHALL_PORT=$(free_port)
  cat >"$d/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$ACME_PORT", "managementListenAddress": "127.0.0.1:$MGMT_PORT",
 "certificate": "$d/cert.pem", "privateKey": "$d/key.pem", "httpPort": $HTTP_PORT, "tlsPort": $TLS_PORT,
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
  pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
    -management "127.0.0.1:$CHALL_PORT" -defaultIPv4 "" -defaultIPv6 "" >"$d/challtestsrv.log" 2>&1 &
  PIDS+=($!)
  PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$d/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT" >"$d/pebble.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$d/ca.pem" "https://127.0.0.1:$ACME_PORT/dir" \
      && curl -s -o /dev/null "http://127.0.0.1:$CHALL_PORT/" && break
    sleep 0.1
  done
  DIRECTORY=https://127.0.0.1:$ACME_PORT/dir
  LISTENER_CA=$d/ca.pem
}

# set_a HOST IP: the A record of HOST in challtestsrv, replaced.
set_a() {
  curl -sf -X POST -d "{\"host\":\"$1.\"}" "http://127.0.0.1:$CHALL_PORT/clear-a" >/dev/null
  curl -sf -X POST -d "{\"host\":\"$1.\",\"addresses\":[\"$2\"]}" "http://127.0.0.1:$CHALL_PORT/add-a" >/dev/null
}

issued() { grep -c 'Issued certificate serial' "$work/pebble/pebble.log" || true; }

stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }

# agent_config ROOT DOMAIN: meet-agent configured for this pebble, DNS wait on challtestsrv.
agent_config() {
  mkdir -p "$1/etc/meet-agent/config.d"
  cat >"$1/etc/meet-agent/config.d/00.toml" <<TOML
[source]
provider = "none"
[server]
domain = "$2"
public_ipv4 = "127.0.0.1"
[dns.wait]
resolvers = ["127.0.0.1:$DNS_PORT"]
nameservers = ["127.0.0.1:$DNS_PORT"]
timeout_seconds = 60
[tls.acme]
enabled = true
directory = "$DIRECTORY"
ca_root = "$LISTENER_CA"
http_listen = "127.0.0.1:$HTTP_PORT"
TOML
}

# median FILE: median of the numbers in FILE, one a line.
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) printf "%g\n", a[(NR+1)/2]; else printf "%g\n", (a[NR/2]+a[NR/2+1])/2}'; }
