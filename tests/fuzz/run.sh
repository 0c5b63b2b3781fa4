#!/usr/bin/env bash
# run.sh: runs one libFuzzer target over its seed corpus plus SECONDS of new inputs.
#   tests/fuzz/run.sh BUILD/fuzz_<name> SECONDS WORKDIR [extra libFuzzer flags]
# New inputs go to WORKDIR/corpus/<name> (the committed seeds in tests/fuzz/corpus/<name> are only
# read), crashes to WORKDIR/artifacts/<name>-*, and one line per run to WORKDIR/fuzz.log:
# date, target, seconds, executions, coverage, features, corpus size, exit status.
set -uo pipefail
bin=$1 secs=$2 work=$3
shift 3
name=$(basename "$bin"); name=${name#fuzz_}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seeds=$src/corpus/$name
mkdir -p "$work/corpus/$name" "$work/artifacts" "$seeds"
out=$work/last-$name.log
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Limits: an input of a few KB that makes our code allocate 1 GB in one go, run over 60 s (wall
# clock, so generous: shared machines are slow; FUZZ_TIMEOUT) or hold 2.5 GB is a finding (sizes
# from files are checked before they are used).
"$bin" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-60}" -rss_limit_mb=2560 -malloc_limit_mb=1024 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" "$@" "$work/corpus/$name" "$seeds" >"$out" 2>&1
rc=$?
stat() { grep -m1 "^stat::$1:" "$out" | awk '{print $2}'; }
last=$(grep -E '^#[0-9]+' "$out" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(ls "$work/corpus/$name" "$seeds" | grep -vc ':$')
printf '%s %s secs=%s execs=%s cov=%s ft=%s corpus=%s rc=%s\n' "$(date -u +%FT%TZ)" "$name" "$secs" \
  "$(stat number_of_executed_units)" "${cov:-?}" "${ft:-?}" "$corp" "$rc" >>"$work/fuzz.log"
tail -1 "$work/fuzz.log"
if [ $rc -ne 0 ]; then
  echo "fuzz_$name: FAILED (exit $rc); the input is in $work/artifacts/; log:"
  grep -v '^#[0-9]' "$out" | tail -60
fi
exit $rc
