#!/usr/bin/env bash
# The cost of on-disc recovery data (PAR2, 10% by default): `discvault master` and the whole
# `discvault archive` run with and without it, in one hyperfine run each.
#   bench/recovery.sh [CORPUS] [WORKDIR]
# CORPUS defaults to /work/corpus (made by bench/mkcorpus.py, the standard corpus, if missing). WORKDIR
# (default /dev/shm/dv-bench-recovery, a tmpfs) must have room for about four images of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bench_setup "${1:-/work/corpus}" "${2:-/dev/shm/dv-bench-recovery}" 3

# Master: the corpus planned once onto one bd25 volume without and once with recovery data.
for r in 0 10; do
  "$dv" --vault "$work/v$r" init >/dev/null
  "$dv" --vault "$work/v$r" add "$corpus" --collection corpus >/dev/null
  "$dv" --vault "$work/v$r" plan --media bd25 --redundancy "$r" >/dev/null
  "$dv" --vault "$work/v$r" --json master --out "$work/img$r" > "$work/master$r.json"
  rm -f "$work/img$r"/*.iso
done
python3 - "$work" <<'PY'
import json, sys
m = json.load(open(f"{sys.argv[1]}/master10.json"))[0]
for s in m["recovery"]:
    print(f"set {s['base']}: {s['files']} files, {s['protected_bytes']} bytes, slice {s['slice_size']}, "
          f"{s['input_slices']} input / {s['recovery_slices']} recovery slices")
print(f"recovery data: {m['recovery_bytes']} bytes of an image of {m['image_bytes']}")
PY
hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/master.md" --export-json "$work/master.json" \
  --cleanup "rm -f '$work'/img*/*.iso" \
  -n "master, no recovery data" "'$dv' --vault '$work/v0' master --again --out '$work/img0'" \
  -n "master, 10% recovery data" "'$dv' --vault '$work/v10' master --again --out '$work/img10'"

# Peak memory of mastering with recovery data (goal: under 256 MiB whatever the disc size).
/usr/bin/time -f '%M' -o "$work/peak.txt" "$dv" --vault "$work/v10" master --again --out "$work/img10" >/dev/null
rm -f "$work"/img10/*.iso
echo "peak RSS of master with 10% recovery data: $(( $(cat "$work/peak.txt") / 1024 )) MiB"

# The whole job: init, add, plan, master, verify.
hyperfine --warmup 0 --runs "$runs" --export-markdown "$work/archive.md" --export-json "$work/archive.json" \
  --prepare "rm -rf '$work/a' '$work/aimg'" \
  -n "archive, no recovery data" "'$dv' --vault '$work/a' archive '$corpus' --media bd25 --redundancy 0 --out '$work/aimg'" \
  -n "archive, 10% recovery data" "'$dv' --vault '$work/a' archive '$corpus' --media bd25 --redundancy 10 --out '$work/aimg'"

cat "$work/master.md" "$work/archive.md"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
for name in ("master", "archive"):
    r = {x["command"]: x["mean"] for x in json.load(open(f"{w}/{name}.json"))["results"]}
    no, yes = [v for k, v in r.items() if "no recovery" in k][0], [v for k, v in r.items() if "10%" in k][0]
    print(f"{name}: with recovery data / without = {yes / no:.2f} ({yes - no:.1f} s more)")
PY
