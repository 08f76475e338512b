#!/usr/bin/env bash
# Label rendering: a disc face with four photo thumbnails (3000 x 2000 pixel PNGs), as PNG at
# 600 dpi and as PDF, with hyperfine.   bench/label.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/dev/shm/dv-label}
runs=${RUNS:-10}
cargo build --release -q -p discvault-cli --manifest-path "$here/../Cargo.toml"
dv="$here/../target/release/discvault"
rm -rf "$work"; mkdir -p "$work/photos/现场照片"
# The work folder is in RAM (tmpfs) and holds gigabytes: removed at the end unless KEEP=1.
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
python3 - "$work/photos/现场照片" <<'PY'
import struct, sys, zlib
def png(path, w, h, seed):
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        rows += bytes(b for x in range(w)
                      for b in ((x * 255 // w + seed) % 256, y * 255 // h, ((x ^ y) + seed) % 256))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)
for i in range(4):
    png(f"{sys.argv[1]}/照片-{i + 1:03}.png", 3000, 2000, i * 60)
PY
"$dv" --vault "$work/vault" archive "$work/photos" --media dvd5 --out "$work/img" >/dev/null
"$dv" --vault "$work/vault" copies add DV-000001 --roles sealed >/dev/null
hyperfine -N --warmup 2 --runs "$runs" --export-markdown "$work/label.md" \
  -n "label, PNG 600 dpi" "$dv --vault $work/vault label DV-000001-C1 --format png --out $work/face.png" \
  -n "label, PDF" "$dv --vault $work/vault label DV-000001-C1 --format pdf --out $work/face.pdf"
cat "$work/label.md"
