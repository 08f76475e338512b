#!/usr/bin/env bash
# Publishing a dvd5 volume of the shared corpus to an image folder and to an xorriso pseudo
# drive (burn + read-back verify of every sector and file), against xorriso burning the same
# image alone plus its -check_media, with hyperfine.   bench/publish.sh [CORPUS] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bench_setup "${1:-/work/corpus}" "${2:-/dev/shm/dv-publish}" 5
v="$work/vault"
"$dv" --vault "$v" init >/dev/null
"$dv" --vault "$v" add "$corpus" --collection corpus >/dev/null
"$dv" --vault "$v" plan --media dvd5 >/dev/null
"$dv" --vault "$v" master DV-000001 --out "$work/img" >/dev/null
img="$work/img/DV-000001.iso"
echo "volume DV-000001: $(stat -c %s "$img") bytes"
# Each run publishes one copy on a fresh target (the vault's spool holds the image already).
"$dv" --vault "$v" publish DV-000001 --to "images:$work/warm" --copies 1 >/dev/null
hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/publish.md" --export-json "$work/publish.json" \
  --prepare "rm -rf $work/out $work/drive" \
  -n "xorriso burn + check_media" "bash -c 'xorriso -as cdrecord dev=stdio:$work/drive $img >/dev/null 2>&1 && xorriso -indev stdio:$work/drive -check_media -- >/dev/null 2>&1'" \
  -n "cp image" "cp $img $work/out" \
  -n "publish images:" "$dv --vault $v publish DV-000001 --to images:$work/out --copies 1" \
  -n "publish xorriso:stdio:" "$dv --vault $v publish DV-000001 --to xorriso:stdio:$work/drive --copies 1"
cat "$work/publish.md"
python3 - "$work" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(f"{sys.argv[1]}/publish.json"))["results"]}
base = r["xorriso burn + check_media"]
print(f"publish xorriso: / (xorriso burn + check_media) = {r['publish xorriso:stdio:'] / base:.2f}  (goal <= 1.10)")
print(f"publish images:  / (cp + check_media share)     = {r['publish images:'] / base:.2f}")
PY
