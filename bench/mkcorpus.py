#!/usr/bin/env python3
"""Deterministic archive-like corpus for side-by-side benchmarks.

The workplace's standard corpus (../shared/bench/mkcorpus.py), kept here so that the benchmarks
and the test that masters it (crates/discvault-cli/tests/udf.rs) run from a clean checkout.

usage: mkcorpus.py DIR [--scale S]
  S=1: ~2.1 GiB: 4 large files (256 MiB), 200 medium (4 MiB), 20,000 small
  (1-64 KiB) in a deep tree with Chinese and mixed-script names.
"""
import os, random, sys

def main():
    out = sys.argv[1]
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    rng = random.Random(20261123)
    os.makedirs(out, exist_ok=True)
    fonds = ["全宗-J001", "全宗-J002", "Records-2024", "城管执法案卷"]
    def w(path, n):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            left = n
            while left:
                k = min(left, 1 << 22)
                f.write(rng.randbytes(k))
                left -= k
    for i in range(int(4 * scale)):
        w(f"{out}/video/巡查录像-{i:03d}.mp4", 256 << 20)
    for i in range(int(200 * scale)):
        w(f"{out}/{fonds[i % 4]}/scans/扫描件-{i:05d}.tif", 4 << 20)
    for i in range(int(20000 * scale)):
        d = f"{out}/{fonds[i % 4]}/{2020 + i % 5}/卷{i % 97:03d}/件{i % 13:02d}"
        w(f"{d}/文书-{i:06d}-report.pdf", rng.randint(1 << 10, 64 << 10))
if __name__ == "__main__":
    main()
