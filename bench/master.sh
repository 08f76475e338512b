#!/usr/bin/env bash
# Mastering and ingest, side by side with the peer tools, in one hyperfine run each.
#   bench/master.sh [CORPUS] [WORKDIR]
# CORPUS defaults to /work/corpus (made by bench/mkcorpus.py, the standard corpus, if missing).
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
# The two masters alternate (ABBA...) so that the machine's drift (tmpfs against page reclaim
# moves every tool by ±20% over minutes) falls on both alike: the median of the pairs' ratios,
# of wall time and of CPU time (user + system).
python3 - "$dv" "$vault" "$work" "${PAIRS:-15}" <<'PY' | tee "$work/pairs.txt"
import resource, statistics, subprocess, sys, time
dv, vault, work, pairs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cmds = {
    "bridge": [dv, "--vault", vault, "master", "--again", "--out", f"{work}/img"],
    "iso9660": [dv, "--vault", f"{work}/vault-iso", "master", "--again", "--out", f"{work}/img-iso"],
}
wall = {k: [] for k in cmds}
cpu = {k: [] for k in cmds}
for i in range(pairs):
    for k in ("bridge", "iso9660") if i % 2 == 0 else ("iso9660", "bridge"):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmds[k], check=True, stdout=subprocess.DEVNULL)
        wall[k].append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[k].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
med = statistics.median
for name, m in (("wall", wall), ("cpu", cpu)):
    ratios = [b / i for b, i in zip(m["bridge"], m["iso9660"])]
    print(f"{name}: bridge {med(m['bridge']):.3f} s, iso9660 {med(m['iso9660']):.3f} s (medians of {pairs}); "
          f"bridge / iso9660 pairwise median {med(ratios):.3f}, quartiles {statistics.quantiles(ratios, n=4)[0]:.3f}-{statistics.quantiles(ratios, n=4)[2]:.3f}")
PY

# Ingest with sha256 against cat of the same files to /dev/null.
hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/ingest.md" --export-json "$work/ingest.json" \
  --prepare "rm -rf '$work/v2' && '$dv' --vault '$work/v2' init >/dev/null" \
  -n "cat > /dev/null" "find '$corpus' -type f -print0 | xargs -0 cat > /dev/null" \
  -n "discvault add (sha256)" "'$dv' --vault '$work/v2' add '$corpus' --collection corpus"

cat "$work/master.md" "$work/bridge.md" "$work/pairs.txt" "$work/ingest.md"
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
