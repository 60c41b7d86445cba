#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz into build-fuzz/ (clang, ASan+UBSan) and run each
# for a bounded time on a copy of its seed corpus: fuzz_config (config.json), fuzz_state
# (state.json, footprint.json), fuzz_objects (exec --process, update --resources, the saved
# seccomp profile). Installs what is missing with apt-get.
# usage: scripts/fuzz.sh [TARGET...]        (default: all three)
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_WORK     work directory: corpus copies, logs, crashing inputs (default
#                 build-fuzz/work, emptied first); the seeds in the repo are never written.
# Prints per target the runs, the corpus size and the crash if any, then one summary line per
# target ("fuzz_config: 123456 runs in 60 s, no crash"). Exits 1 if any target crashed.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
work=${FUZZ_WORK:-$top/build-fuzz/work}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_config fuzz_state fuzz_objects)

# Debian 12's clang 14 cannot compile std::expected against libstdc++ 12 (it predates
# C++20 concepts in full), so the fuzz build uses clang 19 from the same release.
llvm=19
"$top/scripts/deps.sh" "clang-$llvm" "libclang-rt-$llvm-dev" "llvm-$llvm"
CC=clang-$llvm CXX=clang++-$llvm cmake -S "$top" -B "$top/build-fuzz" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNSBOX_FUZZ=ON -DNSBOX_STATIC_DEPS=OFF -DNSBOX_TESTS=OFF >/dev/null
ninja -C "$top/build-fuzz" "${targets[@]}" >&2

export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-$llvm
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

seeds_of() {
  case "$1" in
    fuzz_config) echo config ;;
    fuzz_state) echo state ;;
    fuzz_objects) echo objects ;;
    *) echo "fuzz: unknown target $1" >&2; exit 2 ;;
  esac
}

rm -rf "$work"
mkdir -p "$work"
summary=()
crashed=0
for t in "${targets[@]}"; do
  seeds=$(seeds_of "$t")
  dir=$work/$t
  mkdir -p "$dir/artifacts" "$dir/tmp"
  cp -r "$top/tests/fuzz/corpus/$seeds" "$dir/corpus"
  echo "== $t: ${seconds} s on $(find "$dir/corpus" -type f | wc -l) seeds (log: $dir/log)"
  start=$SECONDS
  rc=0
  # The outer timeout only guards against a hang of libFuzzer itself.
  TMPDIR=$dir/tmp timeout --kill-after=30 $((seconds + 120)) \
    "$top/build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -dict="$top/tests/fuzz/config.dict" -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$dir/log" | tail -1 | tr -d '#')
  runs=${runs:-0}
  corpus=$(find "$dir/corpus" -type f | wc -l)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -1 || true)
  echo "   runs: $runs  corpus: $corpus files  ${cov:+($cov)}"
  inputs=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
             -o -name 'oom-*' \) | sort)
  if [ "$rc" -eq 0 ] && [ -z "$inputs" ]; then
    echo "   no crash"
    summary+=("$t: $runs runs in $elapsed s, no crash")
    continue
  fi
  crashed=1
  echo "   CRASH (exit $rc); what the sanitizer or libFuzzer said:"
  grep -E 'terminate called|what\(\):|runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^fuzz_[a-z]+: |SUMMARY' \
    "$dir/log" | head -8 | sed 's/^/     /' || true
  # The first frames of the project's own code (nsbox::, the harness).
  grep -E '^ +#[0-9]+ .* in (nsbox::|LLVMFuzzerTestOneInput)' "$dir/log" | head -4 | sed 's/^/     /' || true
  for f in $inputs; do
    echo "   crashing input: $f ($(stat -c %s "$f") bytes); first 200 bytes:"
    head -c 200 "$f" | cat -v | sed 's/^/     | /'
    echo
  done
  [ -n "$inputs" ] || echo "   (no input saved; see $dir/log)"
  summary+=("$t: $runs runs in $elapsed s, CRASH: $(echo "${inputs:-see $dir/log}" | head -1)")
done

echo "== fuzz summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
exit "$crashed"
