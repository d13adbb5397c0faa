# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers for vhostd's shell tests. Source it; do not run it.
#
# Exit codes follow meson: 0 pass, 1 fail, 77 skip. A test that cannot run
# (no hugepages, no QEMU) says so loudly; under CI=true it fails instead of
# skipping, so a missing prerequisite never passes silently.

set -u

VHD_TEST_NAME=${VHD_TEST_NAME:-$(basename "$0")}

log() { printf '[%s] %s\n' "$VHD_TEST_NAME" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

# cannot_run REASON: skip (77) normally, fail under CI=true.
cannot_run() {
	log "**********************************************************"
	log "CANNOT RUN: $*"
	log "**********************************************************"
	if [ "${CI:-}" = "true" ]; then
		log "CI=true: a test that cannot run fails the run"
		exit 1
	fi
	exit 77
}

need_cmd() {
	command -v "$1" >/dev/null 2>&1 || cannot_run "'$1' not found (install: $2)"
}

hugepages_free() {
	awk '/^HugePages_Free:/ {print $2}' /proc/meminfo
}

# EAL memory options for a process that must share memory with a vhost-user
# peer (a virtio-user frontend). Uses hugepages when enough are free, else
# falls back to --no-huge as the field notes describe.
frontend_mem_args() {
	if [ "$(hugepages_free)" -ge 256 ] 2>/dev/null; then
		echo "--single-file-segments -m 256"
	else
		echo "--no-huge --single-file-segments -m 512 --iova-mode=va"
	fi
}

# Scratch directory removed on exit; the caller's own cleanup runs first.
VHD_TMP=$(mktemp -d /tmp/vhostd-test.XXXXXX)
VHD_PIDS=""
vhd_cleanup_hook() { :; }
vhd_cleanup() {
	local rc=$?
	vhd_cleanup_hook
	for p in $VHD_PIDS; do kill -INT "$p" 2>/dev/null; done
	sleep 0.5
	for p in $VHD_PIDS; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$VHD_TMP"
	exit $rc
}
trap vhd_cleanup EXIT

track_pid() { VHD_PIDS="$VHD_PIDS $1"; }

# wait_for PATTERN FILE TIMEOUT_S: wait until FILE contains PATTERN.
wait_for() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_for_socket PATH TIMEOUT_S
wait_for_socket() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# The vhostd binary: first argument of the test, or $VHOSTD, or the build dir.
# device_rings LOG: one line "PORT FEATURES PACKED" for each device vhostd
# started (its "device started, features 0x..." log line), PACKED 1 when it
# negotiated VIRTIO_F_RING_PACKED (bit 34), else 0.
device_rings() {
	local port f
	sed -n 's/.*port \([0-9]*\) (.*device started, features \(0x[0-9a-f]*\).*/\1 \2/p' "$1" |
		while read -r port f; do
			echo "$port $f $(((f >> 34) & 1))"
		done
}

find_vhostd() {
	local cand=${VHOSTD:-}
	[ -n "$cand" ] || cand=$(dirname "$0")/../../build/src/vhostd
	[ -x "$cand" ] || fail "vhostd binary not found (set VHOSTD=...)"
	echo "$cand"
}
