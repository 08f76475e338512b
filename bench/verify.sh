#!/usr/bin/env bash
# Read-back verify of an image of the shared corpus, in one hyperfine run against the peer tools:
#   bench/verify.sh [CORPUS] [WORKDIR]
# openssl hashes the whole image on one core; xorriso -check_media reads every block and hashes
# nothing; discvault reads every sector once and checks every file's digest against the
# catalog (sha256, and blake3 when the corpus was ingested with it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bench_setup "${1:-/work/corpus}" "${2:-/dev/shm/dv-bench-verify}" 5
vault="$work/vault"
"$dv" --vault "$vault" init >/dev/null
"$dv" --vault "$vault" add "$corpus" --collection corpus --hash sha256,blake3 >/dev/null
"$dv" --vault "$vault" plan --media bd25 >/dev/null
"$dv" --vault "$vault" master --out "$work/img" >/dev/null
img="$work/img/DV-000001.iso"
echo "image: $(stat -c %s "$img") bytes, $(find "$corpus" -type f | wc -l) files"

hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/verify.md" --export-json "$work/verify.json" \
  -n cat "cat '$img'" \
  -n "openssl dgst -sha256" "openssl dgst -sha256 '$img'" \
  -n "xorriso -check_media" "xorriso -indev stdio:'$img' -check_media --" \
  -n "discvault verify (sha256)" "'$dv' --vault '$vault' verify '$img'" \
  -n "discvault verify (blake3)" "'$dv' --vault '$vault' verify '$img' --digest blake3"

cat "$work/verify.md"
python3 - "$work" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(f"{sys.argv[1]}/verify.json"))["results"]}
print(f"verify sha256 / openssl = {r['discvault verify (sha256)'] / r['openssl dgst -sha256']:.2f}  (goal <= 0.6)")
print(f"verify blake3 / xorriso = {r['discvault verify (blake3)'] / r['xorriso -check_media']:.2f}  (goal < 1)")
print(f"openssl / cat = {r['openssl dgst -sha256'] / r['cat']:.2f}, xorriso / cat = {r['xorriso -check_media'] / r['cat']:.2f}")
PY
