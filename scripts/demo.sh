#!/usr/bin/env bash
# The main job: start the emulator (state kept in .demo/emulator.json), install the provider as
# registry users do (packed by scripts/package.sh into a filesystem mirror in .demo/, then
# `terraform init` from that mirror alone), apply examples/quickstart, print the outputs, stop
# the emulator.
#
# $1 names the build directory holding both binaries (default target/debug, what `make build`
# makes: quick to compile; `bash scripts/demo.sh target/release` runs the release build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.demo"
mkdir -p "$demo/work"
terraform="$root/.tools/terraform"
bin_dir=$(cd "$root" && cd "${1:-target/debug}" && pwd)
api_key="demo-api-key-not-a-secret"
account_id="0123456789abcdef0123456789abcdef"

"$bin_dir/ibmqr-emulator" --listen 127.0.0.1:0 --state "$demo/emulator.json" \
  --api-key "$api_key" --account-id "$account_id" > "$demo/emulator.out" 2> "$demo/emulator.log" &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true; wait $emulator_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s "$demo/emulator.out" ] && break
  sleep 0.05
done
endpoint=$(head -n1 "$demo/emulator.out")
[ -n "$endpoint" ] || { echo "the emulator did not start; see $demo/emulator.log" >&2; exit 1; }
echo "emulator: $endpoint (state in .demo/emulator.json)"

# Stripped and quickly compressed: the demo's archive is never published.
rm -rf "$demo/dist" "$demo/mirror"
bash "$root/scripts/package.sh" --binary "$bin_dir/terraform-provider-ibmqr" --out "$demo/dist" \
  --mirror "$demo/mirror" --level 1 --strip
cat > "$demo/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$demo/mirror"
    include = ["registry.terraform.io/ibmqr/ibmqr"]
  }
}
RC
# The example's files are copied so that Terraform's state stays in .demo/, not in examples/.
cp "$root"/examples/quickstart/*.tf "$demo/work/"
export TF_CLI_CONFIG_FILE="$demo/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export IBMQR_ENDPOINT="$endpoint" IC_API_KEY="$api_key"
unset RUST_BACKTRACE TF_LOG
cd "$demo/work"
# The lock file pins the build installed before, and Terraform keeps an installed package of the
# same version even with -upgrade: after a rebuild (another zip, other checksums) the demo
# forgets both and installs afresh.
sums=("$demo"/dist/*_SHA256SUMS)
if ! cmp -s "${sums[0]}" "$demo/installed_SHA256SUMS"; then
  rm -rf .terraform/providers .terraform.lock.hcl
fi
"$terraform" init -input=false -no-color
cp "${sums[0]}" "$demo/installed_SHA256SUMS"
"$terraform" apply -auto-approve -input=false -no-color
"$terraform" output -no-color
echo "federated users log in at: $("$terraform" output -raw federated_login_url)"
