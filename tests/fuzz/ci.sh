#!/usr/bin/env bash
# ci.sh: the ctest entry of one fuzz target in the plain (gcc) build: builds the clang fuzz tree
# FUZZDIR (once; the targets of a ctest -j run wait on a lock) and runs the target over its corpus
# plus SECONDS of new inputs (run.sh). Exit 77 (ctest: skipped) when clang's libFuzzer is missing.
#   tests/fuzz/ci.sh fuzz_<name> FUZZDIR SECONDS
set -uo pipefail
name=$1 dir=$2 secs=$3
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$dir"
probe=$dir/probe
if ! command -v clang >/dev/null ||
   ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n); }\n' |
     clang -x c -fsanitize=fuzzer,address,undefined -o "$probe" - 2>/dev/null; then
  echo "skipped: clang with libFuzzer (Debian clang, libclang-rt-14-dev) is not installed"
  exit 77
fi
(
  flock 9
  { [ -f "$dir/CMakeCache.txt" ] ||
      cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DXAI_FUZZ=ON; } >"$dir/build.log" 2>&1 &&
  cmake --build "$dir" -j "${FUZZ_JOBS:-2}" --target "$name" >>"$dir/build.log" 2>&1
) 9>"$dir/.lock" || { echo "fuzz build failed:"; tail -40 "$dir/build.log"; exit 1; }
# A fixed seed: the same tree mutates the same way on every run, so a crash found here is found
# again, and an open defect deep in the search does not make unrelated runs flaky. A fixed count
# of new inputs too: with a time limit alone a faster machine searches further than the last green
# run did, so CI's verdict would depend on the machine. Deep searches belong to `make fuzz`.
exec bash "$src/tests/fuzz/run.sh" "$dir/$name" "$secs" "$dir/ci" -seed="${FUZZ_CI_SEED:-1}" -runs="${FUZZ_CI_RUNS:-150}"
