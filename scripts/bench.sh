#!/usr/bin/env bash
# Prints the figures the project tracks, each as min / median / max of several runs:
#   - size of the stripped release binary,
#   - time from exec to the go-plugin handshake line,
#   - wall time of `terraform plan` on examples/quickstart against the emulator (after one apply),
# then the organizations-at-scale table of scripts/bench_org.py (10, 100 and 300 generated
# projects: requests, token exchanges, walls with and without latency, provider RSS and CPU,
# GetProviderSchema calls, a rate-limited run), with the targets beside.
# Usage: bash scripts/bench.sh [RUNS]   (needs the release build and .tools/terraform-1.15.5)
# SIZES="10 100" and RATE_LIMIT_PROJECTS=0 shorten the table's runs; BIN_DIR picks other binaries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-15}
bin_dir=${BIN_DIR:-$root/target/release}
provider="$bin_dir/terraform-provider-ibmqr"
emulator="$bin_dir/ibmqr-emulator"
# Current Terraform by default (it honours get_provider_schema_optional); TERRAFORM picks another.
terraform=${TERRAFORM:-$root/.tools/terraform-1.15.5}
work=$(mktemp -d)
trap 'kill ${emu_pid:-0} 2>/dev/null || true; rm -rf "$work"' EXIT

echo "binary: $(stat -c %s "$provider") bytes stripped ($(numfmt --to=iec-i --suffix=B "$(stat -c %s "$provider")"))"

# Terraform's client certificate is P-521; make one of the same kind.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes -keyout "$work/key.pem" \
  -out "$work/cert.pem" -days 1 -subj "/CN=localhost" >/dev/null 2>&1

PROVIDER="$provider" CERT="$work/cert.pem" RUNS="$runs" HANDSHAKE_FILE="$work/handshake" python3 - <<'PY'
import os, statistics, subprocess, time
env = dict(os.environ,
           TF_PLUGIN_MAGIC_COOKIE="d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
           PLUGIN_PROTOCOL_VERSIONS="6", PLUGIN_CLIENT_CERT=open(os.environ["CERT"]).read())
samples = []
for _ in range(int(os.environ["RUNS"]) + 1):
    t0 = time.perf_counter()
    p = subprocess.Popen([os.environ["PROVIDER"]], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    samples.append((time.perf_counter() - t0) * 1000)
    p.kill(); p.wait()
    assert line.startswith(b"1|6|tcp|127.0.0.1:"), line
samples = samples[1:]  # the first run warms the page cache
print("exec to handshake line: min %.2f ms, median %.2f ms, max %.2f ms (%d runs)" % (min(samples), statistics.median(samples), max(samples), len(samples)))
open(os.environ["HANDSHAKE_FILE"], "w").write("%.2f" % statistics.median(samples))
PY

"$emulator" --listen 127.0.0.1:0 --api-key bench-key > "$work/emu.out" 2>/dev/null &
emu_pid=$!
for _ in $(seq 1 100); do [ -s "$work/emu.out" ] && break; sleep 0.05; done
cat > "$work/rc" <<RC
provider_installation {
  dev_overrides { "ibmqr/ibmqr" = "$bin_dir" }
  direct {}
}
RC
mkdir -p "$work/tf" && cp "$root"/examples/quickstart/*.tf "$work/tf/"
export TF_CLI_CONFIG_FILE="$work/rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 IC_API_KEY=bench-key
export IBMQR_ENDPOINT=$(head -n1 "$work/emu.out")
unset RUST_BACKTRACE TF_LOG
cd "$work/tf"
"$terraform" apply -auto-approve -input=false -no-color >/dev/null
RUNS="$runs" TERRAFORM="$terraform" python3 - <<'PY'
import os, statistics, subprocess, time
samples = []
for _ in range(int(os.environ["RUNS"]) + 1):
    t0 = time.perf_counter()
    r = subprocess.run([os.environ["TERRAFORM"], "plan", "-input=false", "-no-color", "-detailed-exitcode"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples.append((time.perf_counter() - t0) * 1000)
    assert r.returncode == 0, "plan after apply must show no changes"
samples = samples[1:]
print("terraform plan (quickstart, no changes): min %.0f ms, median %.0f ms, max %.0f ms (%d runs)" % (min(samples), statistics.median(samples), max(samples), len(samples)))
PY

cd "$root"
kill "$emu_pid" 2>/dev/null || true
PROVIDER_DIR="$bin_dir" TERRAFORM="$terraform" BINARY_SIZE="$(stat -c %s "$provider")" \
  HANDSHAKE_MS="$(cat "$work/handshake")" python3 "$root/scripts/bench_org.py"
