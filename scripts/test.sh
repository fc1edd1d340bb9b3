#!/usr/bin/env bash
# The README's test command (`make test`): the unit tests once, then the end-to-end suite on each
# Terraform version that scripts/install-terraform.sh put in .tools/, oldest first. Prints the
# wall time of each pass. Fails, never skips, when a Terraform is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
versions=(1.0.3 1.15.5)
for version in "${versions[@]}"; do
  [ -x ".tools/terraform-$version" ] || { echo "test: .tools/terraform-$version is missing: run scripts/install-terraform.sh" >&2; exit 1; }
done

# Build every test target first, so that the passes below time tests, not compilation.
cargo test --all-targets --no-run --quiet

timings=()
all_started=$SECONDS
started=$SECONDS
cargo test --lib --bins -- --test-threads=2
timings+=("unit tests: $((SECONDS - started)) s")
started=$SECONDS
# Every checked-in fuzz input (fuzz/corpus/<target>/) once, with the count per target.
cargo test --test fuzz_corpus -- --nocapture
timings+=("fuzz corpus replay: $((SECONDS - started)) s")
for version in "${versions[@]}"; do
  started=$SECONDS
  echo "== end-to-end tests on Terraform $version"
  # The chaos tests write their fault matrix here, and the secrets test the list of what it
  # searched (a passing test's output is not shown).
  matrix=target/tmp/chaos-fault-matrix.txt
  searched=target/tmp/secrets-searched.txt
  rm -f "$matrix" "$searched"
  IBMQR_TERRAFORM="$root/.tools/terraform-$version" IBMQR_TERRAFORM_VERSION="$version" \
    cargo test --test e2e -- --test-threads=2
  cat "$matrix" "$searched"
  timings+=("end-to-end tests on Terraform $version: $((SECONDS - started)) s")
done
timings+=("make test after the build: $((SECONDS - all_started)) s")
printf '%s\n' "${timings[@]}"
