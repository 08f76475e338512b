#!/usr/bin/env bash
# The server under load (issue 13): 100 concurrent clients on locate and status against a
# catalog of FILES records (1,000,000 by default, filled by examples/locate_bench.rs), with
# ApacheBench (ab, keep-alive) as the peer client; p50/p99 latency, throughput, and the server's
# peak memory (VmHWM). Everything on 127.0.0.1; each load run is bounded by a request count.
#   bench/serve.sh [WORKDIR] [FILES]
# WORKDIR (default /dev/shm/dv-serve) is removed at the end unless KEEP=1. With
# CATALOG=postgres://… (an empty database, e.g. from `eval "$(bash scripts/pg.sh start)"`:
# CATALOG=$DISCVAULT_TEST_POSTGRES) the catalog is PostgreSQL's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/dev/shm/dv-serve}
files=${2:-1000000}
clients=${CLIENTS:-100}
requests=${REQUESTS:-20000}
target=${CARGO_TARGET_DIR:-$here/../target}
export CARGO_TARGET_DIR=$target
cargo build --release -q -p discvault-cli --manifest-path "$here/../Cargo.toml"
cargo build --release -q -p discvault --example locate_bench --manifest-path "$here/../Cargo.toml"
dv="$target/release/discvault"
command -v ab >/dev/null || { echo "ab is missing: apt-get install apache2-utils" >&2; exit 1; }
cat=()
[ -n "${CATALOG:-}" ] && cat=(--catalog "$CATALOG")
if [ ! -e "$work/discvault.toml" ]; then
  rm -rf "$work"
  "$target/release/examples/locate_bench" "$work" "$files" --fill-only "${cat[@]}"
fi
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  return 0
}
trap cleanup EXIT
"$dv" --vault "$work" "${cat[@]}" user add bench --role auditor >/dev/null 2>&1 || true
token=$("$dv" --vault "$work" "${cat[@]}" token create --user bench 2>/dev/null)
"$dv" --vault "$work" "${cat[@]}" serve --listen 127.0.0.1:0 --workers 0 --connections "${CONNECTIONS:-8}" >"$work/serve.out" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
echo "== $(date -u +%FT%TZ) $files files ($([ -n "${CATALOG:-}" ] && echo PostgreSQL || echo SQLite)), $clients clients, server $url; load: $(uptime | sed 's/.*load/load/')"
run() {
  local name=$1 path=$2 n=$3
  echo "-- $name: $n requests"
  ab -q -k -c "$clients" -n "$n" -H "Authorization: Bearer $token" "$url$path" \
    | grep -E "Complete requests|Failed requests|Non-2xx|Requests per second|^  50%|^  99%|^ 100%"
}
if [ "${LOAD:-1}" = 1 ]; then
# Warm-up, not timed: the first thousands of requests after a start make each catalog
# connection's statements and plans, and fill the search cache (the first timed run after a
# start had a p99 about 25 ms above the runs after it).
for q in "%E4%BC%9A%E8%AE%AE" "J017%2F2004"; do
  ab -q -k -c "$clients" -n "${WARMUP:-5000}" -H "Authorization: Bearer $token" \
    "$url/api/v1/locate?q=$q&limit=20" >/dev/null
done
# The status is kept between changes: its first request after a start makes it (0.1-0.3 s at
# a million files, "dashboard after a change" below); it and the first connections' answers
# (~600 KB each) are not timed here.
ab -q -k -c "$clients" -n "${WARMUP:-5000}" -H "Authorization: Bearer $token" \
  "$url/api/v1/status" >/dev/null
run "locate 会议 (2 characters)" "/api/v1/locate?q=%E4%BC%9A%E8%AE%AE&limit=20" "$requests"
run "locate J017/2004 (path piece)" "/api/v1/locate?q=J017%2F2004&limit=20" "$requests"
run "locate by sha256 miss" "/api/v1/locate?q=$(printf '0%.0s' $(seq 64))" "$requests"
run "status" "/api/v1/status" "${STATUS_REQUESTS:-$requests}"
fi
# The web UI's pages (issue 14: under 300 ms of server time at 1M files), one browser at a
# time and four at once, logged in as an operator (who sees every page below).
printf '%s\n' "bench page password" | "$dv" --vault "$work" "${cat[@]}" user add bench-ui --role operator --password-stdin >/dev/null 2>&1 || true
cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -d '{"user":"bench-ui","password":"bench page password"}' "$url/api/v1/session" \
  | sed -n 's/^[Ss]et-[Cc]ookie: \(discvault_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "no session cookie from $url/api/v1/session" >&2; exit 1; }
cabinet=$(curl -s -H "Authorization: Bearer $token" "$url/api/v1/copies?volume=DV-000001" | python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)[0]["place"]["cabinet"]))')
page() {
  local name=$1 path=$2
  for c in 1 4; do
    echo "-- page $name, $c at once: ${PAGE_REQUESTS:-200} requests"
    ab -q -k -c "$c" -n "${PAGE_REQUESTS:-200}" -C "$cookie" -H "Accept-Language: zh-CN" "$url$path" \
      | grep -E "Complete requests|Failed requests|Non-2xx|Document Length|Requests per second|^  50%|^  99%|^ 100%"
  done
}
# The dashboard reads the status the server keeps; after a change (any event) the first
# request makes it again: five changes, each followed by one request.
sleep "${WARM:-10}"  # the search cache is read at the start (PostgreSQL)
for i in 1 2 3 4 5; do
  "$dv" --vault "$work" "${cat[@]}" user add "bench-change-$i-$$" --role auditor >/dev/null
  echo "-- dashboard after a change: $(curl -s -o /dev/null -w '%{time_total}' -b "$cookie" "$url/") s"
done
page "dashboard" "/"
page "search 会议" "/search?q=%E4%BC%9A%E8%AE%AE"
page "search J017/2004" "/search?q=J017%2F2004"
page "cabinets (the list)" "/cabinets"
page "cabinet $cabinet" "/cabinets?cabinet=$cabinet"
page "inspection round" "/inspect"
page "volumes" "/volumes"
echo "server peak memory: $(grep VmHWM /proc/$server/status)"
echo "load after: $(uptime | sed 's/.*load/load/')"
