#!/usr/bin/env bash
# Mastering and ingest, side by side with the peer tools, in one hyperfine run each.
#   bench/master.sh [CORPUS] [WORKDIR]
# CORPUS defaults to /work/corpus (made by ../shared/bench/mkcorpus.py if missing).
# WORKDIR (default /dev/shm/dv-bench, a tmpfs: the disk's write-back would otherwise dominate
# and scatter the figures) must have room for four copies of the corpus (about 11 GB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bench_setup "${1:-/work/corpus}" "${2:-/dev/shm/dv-bench}" 5
vault="$work/vault"

# Master: the corpus is added and planned once (one bd25 volume), then mastered again and again.
"$dv" --vault "$vault" init >/dev/null
"$dv" --vault "$vault" add "$corpus" --collection corpus >/dev/null
# Without recovery data: the image alone against the other image writers (bench/recovery.sh
# measures what PAR2 adds).
"$dv" --vault "$vault" plan --media bd25 --redundancy 0 >/dev/null
"$dv" --vault "$vault" master --out "$work/img" >/dev/null
files=$(find "$corpus" -type f | wc -l)
bytes=$(du -sb "$corpus" | cut -f1)
echo "corpus: $files files, $bytes bytes"

hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/master.md" --export-json "$work/master.json" \
  -n cat "find '$corpus' -type f -print0 | xargs -0 cat > '$work/cat.out'" \
  -n xorriso "xorriso -as mkisofs -quiet -r -J -joliet-long -o '$work/xorriso.iso' '$corpus'" \
  -n genisoimage "genisoimage -quiet -r -J -joliet-long -o '$work/genisoimage.iso' '$corpus'" \
  -n "discvault master" "'$dv' --vault '$vault' master --again --out '$work/img'"

# The UDF bridge (the default since format version 3) against ISO 9660 only: the same records
# planned again in a vault that chooses iso9660, and genisoimage writing its own bridge (-udf).
rm -f "$work/cat.out" "$work/xorriso.iso" "$work/genisoimage.iso"
"$dv" --vault "$work/vault-iso" init >/dev/null
"$dv" --vault "$work/vault-iso" add "$corpus" --collection corpus >/dev/null
"$dv" --vault "$work/vault-iso" plan --media bd25 --redundancy 0 --file-systems iso9660 >/dev/null
"$dv" --vault "$work/vault-iso" master --out "$work/img-iso" >/dev/null
echo "image bytes: bridge $(stat -c %s "$work"/img/*.iso), iso9660 only $(stat -c %s "$work"/img-iso/*.iso)"
hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/bridge.md" --export-json "$work/bridge.json" \
  -n "genisoimage -udf" "genisoimage -quiet -r -J -joliet-long -udf -o '$work/genisoimage-udf.iso' '$corpus'" \
  -n "discvault master (iso9660)" "'$dv' --vault '$work/vault-iso' master --again --out '$work/img-iso'" \
  -n "discvault master (bridge)" "'$dv' --vault '$vault' master --again --out '$work/img'"
rm -f "$work/genisoimage-udf.iso"

# Ingest with sha256 against cat of the same files to /dev/null.
hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/ingest.md" --export-json "$work/ingest.json" \
  --prepare "rm -rf '$work/v2' && '$dv' --vault '$work/v2' init >/dev/null" \
  -n "cat > /dev/null" "find '$corpus' -type f -print0 | xargs -0 cat > /dev/null" \
  -n "discvault add (sha256)" "'$dv' --vault '$work/v2' add '$corpus' --collection corpus"

cat "$work/master.md" "$work/bridge.md" "$work/ingest.md"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
m = {r["command"]: r["mean"] for r in json.load(open(f"{w}/master.json"))["results"]}
i = {r["command"]: r["mean"] for r in json.load(open(f"{w}/ingest.json"))["results"]}
b = {r["command"]: r["mean"] for r in json.load(open(f"{w}/bridge.json"))["results"]}
print(f"master / xorriso = {m['discvault master'] / m['xorriso']:.2f}  (goal <= 0.55)")
print(f"xorriso / cat    = {m['xorriso'] / m['cat']:.2f}")
print(f"bridge / iso9660 = {b['discvault master (bridge)'] / b['discvault master (iso9660)']:.2f}  (goal <= 1.05)")
print(f"bridge / genisoimage -udf = {b['discvault master (bridge)'] / b['genisoimage -udf']:.2f}")
print(f"add / cat        = {i['discvault add (sha256)'] / i['cat > /dev/null']:.2f}  (goal <= 1.5)")
PY
