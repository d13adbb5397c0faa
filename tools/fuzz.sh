#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Fuzzes the datapath (tests/fuzz/fuzz_virtq.c) or, with
# VHOSTD_FUZZ_TARGET=fuzz_vhost_msg, the control path's message checks
# (tests/fuzz/fuzz_vhost_msg.c) for a bounded time.
#
#   tools/fuzz.sh [SECONDS] [LIBFUZZER_ARGS...]      (default 60 s)
#
# Configures build-fuzz/ with clang, ASan and UBSan if it is missing, builds
# the target, runs it on a fresh copy of tests/fuzz/corpus/ and prints the
# executions, coverage and speed. Exits 1 on any finding (crash, sanitizer
# report, failed invariant, timeout, leak); its input is left in
# build-fuzz/fuzz-run-TARGET/artifacts/ and the log in build-fuzz/fuzz-run-TARGET/fuzz.log.
set -euo pipefail

cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
	echo "usage: $0 [SECONDS] [LIBFUZZER_ARGS...]" >&2
	exit 2
fi

target=${VHOSTD_FUZZ_TARGET:-fuzz_virtq}
case $target in
fuzz_virtq) seeds=tests/fuzz/corpus ;;
fuzz_vhost_msg) seeds=tests/fuzz/corpus_vhost_msg ;;
*) echo "VHOSTD_FUZZ_TARGET=$target: want fuzz_virtq or fuzz_vhost_msg" >&2; exit 2 ;;
esac
build="build-fuzz"
if [ ! -f $build/build.ninja ]; then
	CC=clang meson setup $build -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C $build tests/fuzz/$target
bin=$build/tests/fuzz/$target

run=$build/fuzz-run-$target
rm -rf $run
mkdir -p $run/corpus $run/artifacts
cp $seeds/* $run/corpus/
nseeds=$(find $run/corpus -type f | wc -l)

echo "$target: ${secs} s on $nseeds seeds (log: $run/fuzz.log)"
rc=0
# -timeout: one input taking more than 10 s is a finding (a hang)
"$bin" -max_total_time="$secs" -error_exitcode=1 -timeout=10 -max_len=8192 -print_final_stats=1 \
	-artifact_prefix=$run/artifacts/ "$@" $run/corpus >$run/fuzz.log 2>&1 || rc=$?

# the last status line: "#N DONE cov: C ft: F corp: ..." (or the last pulse)
last=$(grep -E '^#[0-9]+' $run/fuzz.log | tail -n 1 || true)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' $run/fuzz.log)
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' $run/fuzz.log)
cov=$(sed -En 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -En 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
corp=$(sed -En 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")
echo "$target: execs ${execs:-?} (${eps:-?}/s) cov ${cov:-?} ft ${ft:-?} corpus ${corp:-?}"
if [ -n "$last" ]; then
	echo "$target: $last"
fi

findings=$(ls $run/artifacts)
if [ "$rc" -ne 0 ] && [ -z "$findings" ] && ! grep -qE '^==[0-9]+==|invariant failed' $run/fuzz.log; then
	echo "$target: run failed or was interrupted (exit $rc), see $run/fuzz.log" >&2
	exit 1
fi
if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
	echo "$target: FINDING (exit $rc):" >&2
	grep -E 'ERROR: |runtime error|invariant failed|SUMMARY|Test unit written' $run/fuzz.log |
		head -n 20 >&2 || true
	for f in $findings; do
		echo "  reproduce: $bin $run/artifacts/$f" >&2
	done
	exit 1
fi
echo "$target: no findings"
