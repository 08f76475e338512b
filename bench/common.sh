# Sourced by the benchmark scripts: `bench_setup CORPUS WORKDIR RUNS [PACKAGE]` makes the
# standard corpus (bench/mkcorpus.py) if it is missing, builds PACKAGE (discvault-cli by
# default) in release, and gives an empty WORKDIR. Sets corpus, work, runs (RUNS in the
# environment wins) and dv (the discvault binary). The work folder is in RAM (tmpfs) and holds gigabytes: it is removed at the end
# unless KEEP=1.
bench_setup() {
  corpus=$1
  work=$2
  runs=${RUNS:-$3}
  [ -d "$corpus" ] || python3 "$here/mkcorpus.py" "$corpus"
  cargo build --release -q -p "${4:-discvault-cli}" --manifest-path "$here/../Cargo.toml"
  dv="${CARGO_TARGET_DIR:-$here/../target}/release/discvault"
  rm -rf "$work"; mkdir -p "$work"
  [ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
}
