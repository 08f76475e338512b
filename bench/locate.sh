#!/usr/bin/env bash
# Locate on a 1,000,000-file catalog: p50/p99 over 1,000 mixed queries, in-process
# (examples/locate_bench.rs), and the whole command (process start included) with hyperfine.
#   bench/locate.sh [WORKDIR] [FILES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/dev/shm/dv-locate}
files=${2:-1000000}
cargo build --release -q -p discvault-cli -p discvault --examples --manifest-path "$here/../Cargo.toml"
rm -rf "$work"
"$here/../target/release/examples/locate_bench" "$work" "$files"
dv="$here/../target/release/discvault"
hyperfine --warmup 2 --runs 20 -N \
  -n "locate 纪 (1 char)" "$dv --vault $work locate 纪" \
  -n "locate 会议 (2 chars)" "$dv --vault $work locate 会议" \
  -n "locate J002/2018" "$dv --vault $work locate J002/2018" \
  -n "locate miss" "$dv --vault $work locate nothing-here"
