#!/usr/bin/env bash
# inspect due and locate --barcode on a catalog of 100,000 copies (33,334 volumes × 3 copies,
# checked over the last four years), with hyperfine.
#   bench/copies.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/dev/shm/dv-copies}
cargo build --release -q -p discvault-cli --manifest-path "$here/../Cargo.toml"
dv="$here/../target/release/discvault"
rm -rf "$work"
"$dv" --vault "$work" init >/dev/null
sqlite3 "$work/catalog.sqlite" <<'SQL'
INSERT INTO plans (id, media, capacity_sectors, reserve_permille, volume_count, created_at)
  VALUES (1, 'bd25', 12219392, 0, 33334, 1577836800);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 33334)
INSERT INTO volumes (id, volume_id, plan_id, seq, seq_count, media, capacity_sectors, payload_bytes,
                     image_bytes, state, format_version, created_at)
  SELECT i, printf('DV-%06d', i), 1, i, 33334, 'bd25', 12219392, 0, 0, 'mastered', 1, 1577836800 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
INSERT INTO copies (copy_id, volume, barcode, role, medium, state, site, room, cabinet, shelf, slot,
                    created_at, verified_at)
  SELECT printf('DV-%06d-C%d', i / 3 + 1, i % 3 + 1), i / 3 + 1, printf('BC%07d', i),
         CASE i % 3 WHEN 0 THEN 'sealed' WHEN 1 THEN 'access' ELSE 'offsite' END, 'bd25', 'verified',
         CASE i % 3 WHEN 2 THEN '异地库' ELSE '本馆' END, 'R' || (i / 3 % 10), '柜' || (i / 3 % 500),
         i / 3 % 8, i / 3 % 200 + 1, 1577836800, 1577836800 + (i * 7919 % 1461) * 86400
  FROM n;
SQL
echo "due on 2024-06-01: $("$dv" --vault "$work" --json inspect due --at 2024-06-01 | grep -c '"copy_id"') copies"
hyperfine -N --warmup 3 --runs 20 \
  -n "inspect due (100,000 copies)" "$dv --vault $work inspect due --at 2024-06-01" \
  -n "locate --barcode (100,000 copies)" "$dv --vault $work locate --barcode BC0054321"
