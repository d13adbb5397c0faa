#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs every test of vhostd (the README's test command; .ci/run calls it):
#   1. meson test in build/: datapath unit tests, command line, testpmd
#      virtio-user integration, two QEMU guests, restarts;
#   2. the unit tests again under ASan + UBSan (build-asan/);
#   3. the libFuzzer targets: the datapath for VHOSTD_FUZZ_SECONDS (default
#      60) s, the control path's message checks for VHOSTD_FUZZ_MSG_SECONDS
#      (default 30) s.
# Needs tools/setup.sh first. Ends with "test-all: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0

# Adds up meson's results for one build directory.
count_meson() {
	local counts
	counts=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
) || { failed=$((failed + 1)); return; }
	read -r p f s <<<"$counts"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

echo "=== 1/3 meson test -C build"
meson test -C build --print-errorlogs
rc=$?
count_meson build
[ $rc -eq 0 ] || echo "=== meson test failed (exit $rc)"

echo "=== 2/3 unit tests under ASan + UBSan"
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson test -C build-asan --suite unit --print-errorlogs
rc=$?
count_meson build-asan
[ $rc -eq 0 ] || echo "=== sanitizer unit tests failed (exit $rc)"

echo "=== 3/3 fuzzing: the datapath for ${VHOSTD_FUZZ_SECONDS:-60} s, the message checks for ${VHOSTD_FUZZ_MSG_SECONDS:-30} s"
if tools/fuzz.sh "${VHOSTD_FUZZ_SECONDS:-60}"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "=== fuzzing the datapath found a problem (see build-fuzz/fuzz-run-fuzz_virtq/)"
fi
if VHOSTD_FUZZ_TARGET=fuzz_vhost_msg tools/fuzz.sh "${VHOSTD_FUZZ_MSG_SECONDS:-30}"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "=== fuzzing the message checks found a problem (see build-fuzz/fuzz-run-fuzz_vhost_msg/)"
fi

echo "test-all: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
