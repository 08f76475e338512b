#!/usr/bin/env bash
# Mastering one volume of 1,000,000 small files (a BD of scanned pages): peak memory of
# `discvault master` (GNU time) and its wall time against xorriso's on the same tree, in one
# hyperfine run.
#   bench/master-1m.sh [WORKDIR]
# The work happens in a new folder dv-1m.XXXXXX inside WORKDIR (default /dev/shm, a tmpfs),
# removed at the end unless KEEP=1. It needs about 10 GB: the tree (1,000,000 files of
# 100-1,500 bytes, a page each in tmpfs), the vault and two images of ~2.3 GB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-3}
cargo build --release -q -p discvault-cli --manifest-path "$here/../Cargo.toml"
dv="$here/../target/release/discvault"
# A fresh folder inside WORKDIR: what WORKDIR already holds is never touched.
mkdir -p "${1:-/dev/shm}"
work=$(mktemp -d "${1:-/dev/shm}/dv-1m.XXXXXX")
echo "work folder: $work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
tree="$work/tree"
vault="$work/vault"

# 全宗 / 年度 / 卷 / 件: 20 fonds x 25 years x 20 files (卷) x 100 items (件).
python3 - "$tree" <<'PY'
import os, sys, random
root = sys.argv[1]
rnd = random.Random(12)
titles = ["关于加强安全生产工作的通知", "会议纪要", "记账凭证", "年度工作总结", "人事任免决定",
          "项目验收报告", "函", "批复", "防汛值班记录", "基建合同"]
n = 0
for fonds in range(1, 21):
    for year in range(2001, 2026):
        for vol in range(1, 21):
            d = os.path.join(root, f"J{fonds:03}", str(year), f"卷{vol:04}")
            os.makedirs(d)
            for item in range(1, 101):
                t = titles[rnd.randrange(len(titles))]
                body = (f"{t} {fonds}/{year}/{vol}/{item}\n" * rnd.randint(3, 45)).encode()
                with open(os.path.join(d, f"件{item:03}-{t}.txt"), "wb") as f:
                    f.write(body)
                n += 1
print(f"{n} files")
PY
echo "tree: $(du -sb "$tree" | cut -f1) bytes"

"$dv" --vault "$vault" init >/dev/null
/usr/bin/time -f "add: %e s, peak %M kB" "$dv" --vault "$vault" add "$tree" --collection pages >/dev/null
/usr/bin/time -f "plan: %e s, peak %M kB" "$dv" --vault "$vault" plan --media bd25 --redundancy 0 >/dev/null
/usr/bin/time -f "master: %e s, peak %M kB" "$dv" --vault "$vault" master --out "$work/img" >/dev/null
/usr/bin/time -f "master --again: %e s, peak %M kB" "$dv" --vault "$vault" master --again --out "$work/img" >/dev/null
/usr/bin/time -f "xorriso: %e s, peak %M kB" xorriso -as mkisofs -quiet -r -J -joliet-long -o "$work/xorriso.iso" "$tree"
ls -l "$work/img" "$work/xorriso.iso"

hyperfine --runs "$runs" --export-markdown "$work/master-1m.md" --export-json "$work/master-1m.json" \
  -n xorriso "xorriso -as mkisofs -quiet -r -J -joliet-long -o '$work/xorriso.iso' '$tree'" \
  -n "discvault master" "'$dv' --vault '$vault' master --again --out '$work/img'"
cat "$work/master-1m.md"
python3 - "$work" <<'PY'
import json, sys
m = {r["command"]: r["mean"] for r in json.load(open(f"{sys.argv[1]}/master-1m.json"))["results"]}
print(f"master / xorriso = {m['discvault master'] / m['xorriso']:.2f}  (goal <= 1)")
PY
