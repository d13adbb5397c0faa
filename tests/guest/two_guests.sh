#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# End to end: two Linux guests (QEMU TCG, virtio_net) on one vhost-user
# backend. Guest A pings guest B, then sends it 8 MiB of random data with nc;
# both print the sha256 of the file on the serial console and power off.
#
#   BACKEND=vhostd (default)  vhostd --fwd l2 (binary: $VHOSTD or build dir)
#   BACKEND=testpmd           DPDK's own vhost PMD, testpmd io forwarding,
#                             to check the test itself
#   VHD_KERNEL=/boot/vmlinuz-X  kernel to boot (default: newest with modules)
#   VHD_GUEST_TIMEOUT=240     seconds allowed from start to both guests done
#   VHD_MIB=8                 size of the file in MiB
#
# The guests use link-local 169.254.10.1/24 and 169.254.10.2/24; their only
# link is the backend's virtual switch. The guest /init is guest-init.sh.
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
BACKEND=${BACKEND:-vhostd}
TIMEOUT=${VHD_GUEST_TIMEOUT:-240}
MIB=${VHD_MIB:-8}
IP_A=169.254.10.1
IP_B=169.254.10.2
PORT=5001
D=$VHD_TMP
T0=$SECONDS

progress() { log "[$((SECONDS - T0))s] $*"; }

# shellcheck source=tests/guest/guest_lib.sh
. "$HERE/guest_lib.sh"

# ---------------------------------------------------------------- prerequisites
gl_check_prereqs

case $BACKEND in
vhostd) VHOSTD=$(find_vhostd) ;;
testpmd) need_cmd dpdk-testpmd "apt-get install dpdk" ;;
*) fail "BACKEND must be vhostd or testpmd, not '$BACKEND'" ;;
esac

gl_find_kernel

# ---------------------------------------------------------------- processes
BACKEND_PID=""
QEMU_A="" QEMU_B=""

vhd_cleanup_hook() {
	local p
	for p in $QEMU_A $QEMU_B; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
	# A DPDK process must leave by itself to release its memory.
	if alive "$BACKEND_PID"; then
		kill -INT "$BACKEND_PID" 2>/dev/null
		wait_exit "$BACKEND_PID" 10 || kill -KILL "$BACKEND_PID" 2>/dev/null
	fi
	for p in $QEMU_A $QEMU_B; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	rm -f /dev/hugepages/guesttest$$* 2>/dev/null
	return 0
}

dump_logs() {
	if [ -s "$D/backend.log" ]; then
		log "--- first 20 lines of backend.log ($BACKEND):"
		head -n 20 "$D/backend.log" >"$D/show" && show "$D/show"
	fi
	gl_dump_tail 40 "$D"/a.serial "$D"/b.serial "$D"/a.qemu.log "$D"/b.qemu.log "$D"/backend.log
}

die() { dump_logs; fail "$*"; }

start_backend() {
	local mem
	if [ "$(hugepages_free)" -ge 256 ] 2>/dev/null; then mem="-m 256"; else mem="--no-huge -m 256"; fi
	case $BACKEND in
	vhostd)
		"$VHOSTD" --socket "$D/a.sock" --socket "$D/b.sock" --fwd l2 --stats 2 \
			>"$D/backend.log" 2>&1 &
		BACKEND_PID=$!
		;;
	testpmd)
		# io forwarding between the two ports is a wire between the guests.
		dpdk-testpmd --no-pci --in-memory --file-prefix=guesttest$$ $mem \
			--vdev "net_vhost0,iface=$D/a.sock,queues=1" \
			--vdev "net_vhost1,iface=$D/b.sock,queues=1" \
			-- --forward-mode=io --stats-period 5 --nb-cores=1 \
			</dev/null >"$D/backend.log" 2>&1 &
		BACKEND_PID=$!
		;;
	esac
	track_pid "$BACKEND_PID"
	local s
	for s in "$D/a.sock" "$D/b.sock"; do
		wait_for_socket "$s" 60 || {
			alive "$BACKEND_PID" || die "$BACKEND exited before creating its sockets"
			die "$BACKEND did not create $s within 60 s"
		}
	done
	if [ "$BACKEND" = vhostd ]; then
		wait_for "vhostd: ready" "$D/backend.log" 30 || die "vhostd never said 'vhostd: ready'"
	fi
	alive "$BACKEND_PID" || die "$BACKEND exited right after start"
}

# boot_guest NAME SOCKET MAC ROLE IP PEER: QEMU in the background, serial
# console in $D/NAME.serial, QEMU's own messages in $D/NAME.qemu.log.
boot_guest() {
	local name=$1 sock=$2 mac=$3 role=$4 ip=$5 peer=$6
	gl_qemu "$name" "$mac" "path=$sock" \
		"vhd_role=$role vhd_ip=$ip vhd_peer=$peer vhd_mib=$MIB vhd_port=$PORT vhd_watchdog=$TIMEOUT"
}

# ---------------------------------------------------------------- the test
progress "backend=$BACKEND kernel=$KERNEL file=${MIB}MiB timeout=${TIMEOUT}s tmp=$D"
INITRD=$D/initrd.gz
gl_build_initramfs "$INITRD"
progress "initramfs built: $(du -k "$INITRD" | cut -f1) KiB"

start_backend
progress "$BACKEND up (pid $BACKEND_PID), sockets $D/a.sock $D/b.sock"

boot_guest b "$D/b.sock" 52:54:00:00:00:02 b $IP_B $IP_A
boot_guest a "$D/a.sock" 52:54:00:00:00:01 a $IP_A $IP_B
progress "booting guest a (qemu $QEMU_A, $IP_A) and guest b (qemu $QEMU_B, $IP_B)"

# Milestones, each reported once with the time it was first seen.
declare -A seen=()
milestone() { # KEY GUEST PATTERN MESSAGE
	[ -n "${seen[$1]:-}" ] && return 0
	local m
	m=$(marker "$2" "$3")
	[ -n "$m" ] || return 0
	seen[$1]=1
	progress "$4: $(echo "$m" | tr -d '\r')"
}
deadline=$((T0 + TIMEOUT))
while :; do
	milestone boot_a a 'VHD_BOOTED.*' "guest a booted"
	milestone boot_b b 'VHD_BOOTED.*' "guest b booted"
	milestone net_a a 'VHD_NET_UP.*' "guest a network up"
	milestone net_b b 'VHD_NET_UP.*' "guest b network up"
	[ -n "${seen[net_a]:-}" ] && [ -z "${seen[ping]:-}" ] && [ -z "${seen[pinging]:-}" ] &&
		{ seen[pinging]=1; progress "pinging $IP_B from guest a"; }
	milestone ping a 'VHD_PING_OK.*' "ping ok"
	milestone sha_sent a 'VHD_SHA_SENT [0-9a-f]{64}' "transferring, sender"
	milestone sent a 'VHD_SENT.*' "transfer done"
	milestone sha_recv b 'VHD_SHA_RECV [0-9a-f]{64}' "receiver"
	milestone done_a a 'VHD_DONE.*' "guest a finished"
	milestone done_b b 'VHD_DONE.*' "guest b finished"

	for g in a b; do
		m=$(marker $g 'VHD_FAIL.*')
		[ -n "$m" ] && die "guest $g reported: $(echo "$m" | tr -d '\r')"
	done
	alive "$BACKEND_PID" || die "$BACKEND exited during the test"
	[ -n "${seen[done_a]:-}" ] && [ -n "${seen[done_b]:-}" ] && break
	alive "$QEMU_A" || [ -n "${seen[done_a]:-}" ] || { sleep 0.5; milestone done_a a 'VHD_DONE.*' "guest a finished"; \
		[ -n "${seen[done_a]:-}" ] || die "QEMU of guest a exited before the guest finished"; }
	alive "$QEMU_B" || [ -n "${seen[done_b]:-}" ] || { sleep 0.5; milestone done_b b 'VHD_DONE.*' "guest b finished"; \
		[ -n "${seen[done_b]:-}" ] || die "QEMU of guest b exited before the guest finished"; }
	[ "$SECONDS" -lt "$deadline" ] || die "timed out after ${TIMEOUT}s waiting for both guests"
	sleep 0.5
done

# Both guests power off by themselves (poweroff -f, QEMU -no-reboot).
for g in a b; do
	eval "p=\$QEMU_$(echo $g | tr a-z A-Z)"
	if ! wait_exit "$p" 20; then
		log "warning: QEMU of guest $g still running 20 s after the guest finished; killing it"
		kill -KILL "$p" 2>/dev/null
	fi
done
progress "both guests powered off"

grep -aq "VHD_PING_OK" "$D/a.serial" || die "guest a never printed VHD_PING_OK"
sha_sent=$(marker a 'VHD_SHA_SENT [0-9a-f]{64}' | cut -d' ' -f2)
sha_recv=$(marker b 'VHD_SHA_RECV [0-9a-f]{64}' | cut -d' ' -f2)
size_sent=$(marker a 'VHD_SIZE_SENT [0-9]+' | cut -d' ' -f2)
size_recv=$(marker b 'VHD_SIZE_RECV [0-9]+' | cut -d' ' -f2)
[ -n "$sha_sent" ] || die "no VHD_SHA_SENT from guest a"
[ -n "$sha_recv" ] || die "no VHD_SHA_RECV from guest b"
[ "$size_sent" = $((MIB * 1048576)) ] || die "guest a sent ${size_sent:-?} bytes, want $((MIB * 1048576))"
[ "$sha_sent" = "$sha_recv" ] ||
	die "file corrupted: sent sha256 $sha_sent (${size_sent} B), received $sha_recv (${size_recv:-?} B)"
progress "ping ok; ${MIB} MiB transferred intact, sha256 $sha_sent"

# ---------------------------------------------------------------- backend checks
if [ "$BACKEND" = vhostd ]; then
	# Wait for a stats round printed after both guests left.
	n0=$(grep -c "stats: port=0 " "$D/backend.log")
	for i in $(seq 1 100); do
		[ "$(grep -c "stats: port=0 " "$D/backend.log")" -gt "$n0" ] && break
		sleep 0.1
	done
	sleep 0.2
	for port in 0 1; do
		line=$(grep -a "stats: port=$port " "$D/backend.log" | tail -n 1)
		[ -n "$line" ] || die "vhostd printed no stats line for port $port"
		log "    $line"
		rx=$(echo "$line" | sed -n 's/.* rx_pkts=\([0-9]*\).*/\1/p')
		errs=$(echo "$line" | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
		[ "${rx:-0}" -gt 0 ] || die "vhostd port $port: rx_pkts=${rx:-?}, want > 0"
		[ "$errs" = 0 ] || die "vhostd port $port: errors=${errs:-?}, want 0"
	done
	progress "vhostd stats: rx_pkts > 0 on both ports, errors=0"

	kill -INT "$BACKEND_PID"
	wait_exit "$BACKEND_PID" 30 || die "vhostd still running 30 s after SIGINT"
	rc=$WAIT_RC
	BACKEND_PID=""
	[ "$rc" -eq 0 ] || die "vhostd exited $rc after SIGINT, want 0"
	for s in "$D/a.sock" "$D/b.sock"; do
		[ -e "$s" ] && die "vhostd left its socket $s behind"
	done
	progress "vhostd exited 0 on SIGINT and removed its sockets"
	log "vhostd's own messages:"
	grep -a "^vhostd: " "$D/backend.log" | head -n 30 >"$D/show" && show "$D/show"
else
	kill -INT "$BACKEND_PID"
	wait_exit "$BACKEND_PID" 30 || log "warning: testpmd still running 30 s after SIGINT"
	BACKEND_PID=""
	grep -aE "RX-packets|TX-packets" "$D/backend.log" | tail -n 6 | sed 's/^ */    /' >&2
fi

progress "PASS (backend=$BACKEND)"
exit 0
