#!/usr/bin/env bash
# The Debian package: built with cargo-deb from the binary already built (PROFILE=dev, the
# tests' build, unless PROFILE=release), then checked as a package manager would take it:
# dpkg-deb reads its control data and files, the extracted binary runs and makes a vault,
# systemd-analyze verifies the unit, and the maintainer scripts pass sh -n. Prints the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-dev}"
if ! command -v cargo-deb >/dev/null; then
  cargo install cargo-deb --locked --version 3.8.0 --quiet
fi
if [ "$profile" = release ]; then dir=release; else dir=debug; fi
[ -x "target/$dir/discvault" ] || cargo build -q -p discvault-cli --profile "$profile"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo deb -q -p discvault-cli --no-build --profile "$profile" -o "$work/" >/dev/null
deb="$(ls "$work"/*.deb)"
fail() { echo "deb.sh: $deb: $*" >&2; exit 1; }
info="$(dpkg-deb -I "$deb")"
grep -q "^ Package: discvault$" <<<"$info" || fail "no Package: discvault in its control file"
grep -q "^ Depends:.*xorriso" <<<"$info" || fail "does not depend on xorriso"
files="$(dpkg-deb -c "$deb")"
for f in ./usr/bin/discvault ./etc/default/discvault ./usr/share/doc/discvault/API.md; do
  grep -q " $f$" <<<"$files" || fail "$f is not in the package"
done
unit="$(grep -o ' \./[a-z/]*systemd/system/discvault.service$' <<<"$files" | tr -d ' ')"
[ -n "$unit" ] || fail "no discvault.service in the package"
dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/control"
for s in postinst postrm; do
  [ -x "$work/control/$s" ] || fail "no $s"
  sh -n "$work/control/$s" || fail "$s is not valid sh"
done
grep -q "adduser --system" "$work/control/postinst" || fail "postinst makes no service user"
grep -q "conffiles" <<<"$(ls "$work/control")" && grep -q "/etc/default/discvault" "$work/control/conffiles" \
  || fail "/etc/default/discvault is not a conffile"
"$work/root/usr/bin/discvault" --version >/dev/null
"$work/root/usr/bin/discvault" --vault "$work/vault" init >/dev/null
[ -f "$work/vault/discvault.toml" ] || fail "the packaged binary made no vault"
# The unit as installed, its binary pointed at the extracted one.
sed "s#/usr/bin/discvault#$work/root/usr/bin/discvault#" "$work/root/${unit#./}" > "$work/discvault.service"
out="$(systemd-analyze verify "$work/discvault.service" 2>&1 || true)"
if grep -v "Failed to resolve unit file\|user.*discvault\|group.*discvault\|No such file or directory.*postgresql" <<<"$out" | grep -q .; then
  fail "systemd-analyze verify: $out"
fi
echo "$(basename "$deb"): $(wc -c <"$deb") bytes, checked"
