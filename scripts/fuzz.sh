#!/usr/bin/env bash
# `make fuzz`: runs each fuzz target of src/fuzzing.rs with libFuzzer (cargo-fuzz) for
# FUZZ_SECONDS (default 60) and prints, per target, the executions and what was found.
#
# Each target starts from its checked-in corpus (fuzz/corpus/<target>/, read only) and grows a
# working corpus in fuzz/work/<target>/ (ignored by git), so a run never adds files to the
# repository. FUZZ_MERGE=1 afterwards merges into fuzz/corpus/<target>/ only the working inputs
# that reach new coverage (libFuzzer's -merge=1). Crashes are left in fuzz/artifacts/<target>/;
# the script fails if a run found any. FUZZ_TARGETS limits the targets (space separated).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"protocol_values ibm_responses emulator_requests"}

command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1; }
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain when there is one, or
# else stable told to accept them (RUSTC_BOOTSTRAP) without a sanitizer (-s none).
if cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=()
else
  echo "fuzz: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1 and no sanitizer" >&2
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  sanitizer=(-s none)
fi

summary=()
failed=0
for target in $targets; do
  [ -n "$(ls -A "corpus/$target" 2>/dev/null)" ] || { echo "fuzz: corpus/$target is empty" >&2; exit 1; }
  mkdir -p "work/$target" "artifacts/$target"
  log="work/$target.log"
  before=$(ls "artifacts/$target" | wc -l)
  working_before=$(ls "work/$target" | wc -l)
  echo "== $target: ${seconds} s"
  status=0
  "${fuzz[@]}" run "${sanitizer[@]}" "$target" "work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(#[0-9]+\s+(INITED|DONE)|Done [0-9]+ runs|==[0-9]+== ERROR|SUMMARY|thread '.*' panicked)" "$log" || true
  runs=$(grep -oE '^stat::number_of_executed_units:\s+[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  rate=$(grep -oE '^stat::average_exec_per_sec:\s+[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  after=$(ls "artifacts/$target" | wc -l)
  found=$((after - before))
  working=$(ls "work/$target" | wc -l)
  if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed=1
    new=$(ls -t "artifacts/$target" | head -n "$((found > 0 ? found : 1))" | sed "s|^|fuzz/artifacts/$target/|" | tr '\n' ' ')
    summary+=("$target: $runs executions ($rate exec/s) in ${seconds} s; working corpus $working_before -> $working files; FOUND: $new(exit $status)")
  else
    summary+=("$target: $runs executions ($rate exec/s) in ${seconds} s; working corpus $working_before -> $working files; nothing found")
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    "${fuzz[@]}" run "${sanitizer[@]}" "$target" "corpus/$target" "work/$target" -- -merge=1 >"work/$target.merge.log" 2>&1
    echo "merged into corpus/$target: now $(ls "corpus/$target" | wc -l) files"
  fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"
