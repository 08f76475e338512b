#!/usr/bin/env bash
# Catalog benchmark (issue 12) on SQLite or PostgreSQL: fills a catalog with FILES synthetic
# records through the library's bulk path (examples/locate_bench.rs: record_ingest, the planner,
# volumes mastered, three copies each with places), reports files/s and bytes per file, then
# 1,000 mixed locate queries (p50/p99), status, report and inspect due in-process, and the
# whole commands with hyperfine.
#   bench/catalog.sh sqlite   [FILES] [WORKDIR]
#   bench/catalog.sh postgres [FILES] [WORKDIR]   # needs DISCVAULT_TEST_POSTGRES (scripts/pg.sh)
# FILES: 1000000 by default. WORKDIR: /tmp/dv-catalog-<backend> by default, removed at the end
# (and the PostgreSQL database dropped) unless KEEP=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
backend=${1:?sqlite or postgres}
files=${2:-1000000}
work=${3:-/tmp/dv-catalog-$backend}
target=${CARGO_TARGET_DIR:-$here/../target}
export CARGO_TARGET_DIR=$target
cargo build --release -q -p discvault-cli --manifest-path "$here/../Cargo.toml"
cargo build --release -q -p discvault --example locate_bench --manifest-path "$here/../Cargo.toml"
bench="$target/release/examples/locate_bench"
dv="$target/release/discvault"
rm -rf "$work"
catalog=()
case $backend in
  sqlite) ;;
  postgres)
    admin=${DISCVAULT_TEST_POSTGRES:?start a server: eval "\$(bash scripts/pg.sh start)"}
    db=dvbench_$files
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    url=${admin%/*}/$db
    catalog=(--catalog "$url")
    ;;
  *) echo "sqlite or postgres" >&2; exit 2 ;;
esac
cleanup() {
  rm -rf "$work"
  [ "$backend" = postgres ] && psql -q "$admin" -c "DROP DATABASE IF EXISTS $db"
  return 0
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT
echo "== $(date -u +%FT%TZ) $backend, $files files; load: $(uptime | sed 's/.*load/load/')"
"$bench" "$work" "$files" "${catalog[@]}" --fill-only
# The catalog at rest: SQLite's WAL folded in; PostgreSQL vacuumed and analysed (what
# autovacuum does shortly after a bulk load).
case $backend in
  sqlite)
    sqlite3 "$work/catalog.sqlite" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    bytes=$(stat -c %s "$work/catalog.sqlite")
    ;;
  postgres)
    psql -q "$url" -c 'VACUUM ANALYZE'
    bytes=$(psql -qtA "$url" -c 'SELECT pg_database_size(current_database())')
    ;;
esac
echo "catalog bytes=$bytes bytes_per_file=$((bytes / files))"
echo "load before measuring: $(uptime | sed 's/.*load/load/')"
"$bench" "$work" "$files" "${catalog[@]}"
hyperfine -N --warmup 2 --runs "${RUNS:-10}" \
  -n "locate 纪" "$dv --vault $work locate 纪" \
  -n "locate 会议" "$dv --vault $work locate 会议" \
  -n "locate J012/2018" "$dv --vault $work locate J012/2018" \
  -n "locate retention=永久" "$dv --vault $work locate retention=永久" \
  -n "locate --barcode" "$dv --vault $work locate --barcode DA000007L" \
  -n "inspect due" "$dv --vault $work inspect due"
# status and report take seconds at a million files: fewer runs.
hyperfine -N --warmup 0 --runs "${SLOW_RUNS:-3}" \
  -n "status" "$dv --vault $work status" \
  -n "report" "$dv --vault $work report --format html --out $work/report.html"
echo "load after: $(uptime | sed 's/.*load/load/')"
