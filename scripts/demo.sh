#!/usr/bin/env bash
# The main job: start the emulator (state kept in .demo/emulator.json), apply examples/quickstart
# with the provider built in the directory given as $1 (default target/debug, what `make build`
# makes), print the outputs, stop the emulator.
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

cat > "$demo/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "ibmqr/ibmqr" = "$bin_dir"
  }
  direct {}
}
RC
# The example's files are copied so that Terraform's state stays in .demo/, not in examples/.
cp "$root"/examples/quickstart/*.tf "$demo/work/"
export TF_CLI_CONFIG_FILE="$demo/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export IBMQR_ENDPOINT="$endpoint" IC_API_KEY="$api_key"
unset RUST_BACKTRACE TF_LOG
cd "$demo/work"
"$terraform" apply -auto-approve -input=false -no-color
"$terraform" output -no-color
