#!/usr/bin/env bash
# Packs one provider binary the way the Terraform Registry publishes a release, and lays the
# archive out as a filesystem mirror that `terraform init` installs from. `make release` packs the
# release build with it; `make demo` and the end-to-end harness pack whatever build they run.
#
#   scripts/package.sh --binary PATH --out DIR [--version X.Y.Z] [--mirror DIR] [--level 0-9] [--strip]
#
# Writes into --out:
#   terraform-provider-ibmqr_X.Y.Z_linux_amd64.zip   holding terraform-provider-ibmqr_vX.Y.Z
#   terraform-provider-ibmqr_X.Y.Z_manifest.json     plugin protocol 6.0
#   terraform-provider-ibmqr_X.Y.Z_SHA256SUMS        the zip and the manifest
#   terraform-provider-ibmqr_X.Y.Z_SHA256SUMS.sig    only when IBMQR_GPG_KEY names a gpg key
#                                                    (GNUPGHOME is honoured, as gpg does)
# --level is the zip's deflate level: 9 (the default) for releases; the e2e harness and the demo
# pack a large dev binary at 1, which takes a tenth of the time.
# --strip packs a copy without debug information (`strip`): a dev build is mostly debug info,
# and Terraform hashes the whole installed package on every command (against the lock file).
# With --mirror DIR, also DIR/registry.terraform.io/ibmqr/ibmqr/<the zip> (the packed layout).
#
# The version defaults to what the binary's `--version` prints (Cargo.toml's); a --version that
# differs is refused, so an archive never names another version than its binary reports.
# Only linux_amd64 is built: the toolchains for other platforms cannot be had offline here.
#
# The zip is deterministic: a fixed timestamp and mode, so the same binary always gives the same
# bytes (and hash), and a rebuilt binary that differs gives another.
set -euo pipefail

name=terraform-provider-ibmqr
platform=linux_amd64
binary="" out="" version="" mirror="" level=9 strip=no
usage() { echo "usage: $0 --binary PATH --out DIR [--version X.Y.Z] [--mirror DIR] [--level 0-9] [--strip]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --version) version=${2:-}; shift 2 ;;
    --mirror) mirror=${2:-}; shift 2 ;;
    --level) level=${2:-}; shift 2 ;;
    --strip) strip=yes; shift ;;
    *) usage ;;
  esac
done
[ -n "$binary" ] && [ -n "$out" ] || usage
[[ "$level" =~ ^[0-9]$ ]] || usage
[ -x "$binary" ] || { echo "package: $binary is not an executable; build it first" >&2; exit 1; }

binary=$(readlink -f "$binary")
reported=$("$binary" --version | awk '{print $NF}')
if [ -z "$version" ]; then
  version=$reported
elif [ "$version" != "$reported" ]; then
  echo "package: $binary reports version $reported, not $version: set version = \"$version\" in Cargo.toml and rebuild" >&2
  exit 1
fi
# Plain X.Y.Z only: Terraform's range constraints (">= 0.2, < 1.0") never match a prerelease.
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "package: version $version is not plain X.Y.Z" >&2; exit 1; }

mkdir -p "$out"
if [ "$strip" = yes ]; then
  command -v strip >/dev/null || { echo "package: --strip needs strip (binutils)" >&2; exit 1; }
  stripped=$(mktemp)
  trap 'rm -f "$stripped"' EXIT
  strip -o "$stripped" "$binary"
  binary=$stripped
fi
zip_name="${name}_${version}_${platform}.zip"
manifest_name="${name}_${version}_manifest.json"
sums_name="${name}_${version}_SHA256SUMS"

python3 - "$binary" "$out/$zip_name.part" "${name}_v${version}" "$level" <<'PY'
import sys, zipfile
binary, target, member, level = sys.argv[1:]
info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
info.create_system = 3                      # Unix, so that the mode below is read
info.external_attr = (0o100755 & 0xFFFF) << 16
info.compress_type = zipfile.ZIP_DEFLATED if level != "0" else zipfile.ZIP_STORED
with open(binary, "rb") as src, zipfile.ZipFile(target, "w") as archive:
    archive.writestr(info, src.read(), compresslevel=int(level))
PY
mv "$out/$zip_name.part" "$out/$zip_name"
printf '{"version":1,"metadata":{"protocol_versions":["6.0"]}}\n' > "$out/$manifest_name"
(cd "$out" && sha256sum "$zip_name" "$manifest_name" > "$sums_name")

rm -f "$out/$sums_name.sig"
if [ -n "${IBMQR_GPG_KEY:-}" ]; then
  gpg --batch --yes --local-user "$IBMQR_GPG_KEY" --detach-sign --output "$out/$sums_name.sig" "$out/$sums_name"
fi

if [ -n "$mirror" ]; then
  dir="$mirror/registry.terraform.io/ibmqr/ibmqr"
  mkdir -p "$dir"
  cp "$out/$zip_name" "$dir/$zip_name.part"
  mv "$dir/$zip_name.part" "$dir/$zip_name"
fi
echo "packaged $name $version ($platform) in $out${mirror:+; mirror in $mirror}"
