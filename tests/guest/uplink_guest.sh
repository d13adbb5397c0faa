#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# uplink_guest.sh [--mib N] [--timeout S]
#
# End to end through an uplink (issue 10): a Linux guest (QEMU TCG,
# virtio_net, guest-init.sh role a) on vhostd's vhost-user port 0; vhostd's
# port 1 is --uplink net_af_packet0,iface=HOST_END, the other end of a veth
# pair in a network namespace of this test's own (10.0.0.2/24, transmit
# checksum offload off). The guest (10.0.0.1/24) pings 10.0.0.2, then sends
# it N MiB (default 8) of random data with nc; in the namespace busybox
# nc -l writes them to a file, with a stdin that stays open (busybox nc -l
# ends the connection when its stdin ends).
#
# The guest negotiates checksum and TSO offloads; net_af_packet has none,
# so vhostd completes the checksums and cuts the guest's TSO frames to the
# uplink's MTU itself.
#
# Checks: the guest's ping is answered; the file arrives whole (size and
# sha256 of the guest's console line, its trailing \r stripped, against the
# namespace's file); the guest negotiated CSUM and HOST_TSO4, and vhostd
# cut its TSO frames: more frames left by the uplink (port 1's tx_pkts) than
# the guest sent (port 0's rx_pkts), averaging no more than the MTU's 1514
# bytes, at least N MiB in all;
# vhostd's stats: link=up, errors=0 and too_big=0 on both ports, drops=0 on
# the uplink; vhostd exits 0 on SIGINT.
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${VHD_GUEST_TIMEOUT:-240}
MIB=${VHD_MIB:-8}
while [ $# -gt 0 ]; do
	case $1 in
	--mib) MIB=${2:-}; shift ;;
	--timeout) TIMEOUT=${2:-}; shift ;;
	*) fail "unknown argument '$1' (want --mib N, --timeout S)" ;;
	esac
	shift
done
case $MIB in '' | *[!0-9]* | 0) fail "--mib wants a positive number, not '$MIB'" ;; esac
case $TIMEOUT in '' | *[!0-9]* | 0) fail "--timeout wants a positive number of seconds, not '$TIMEOUT'" ;; esac

IP_GUEST=10.0.0.1
IP_NS=10.0.0.2
NS_MAC=02:00:00:00:0b:00
GUEST_MAC=52:54:00:00:00:01
PORT=5001
D=$VHD_TMP
T0=$SECONDS
progress() { log "[$((SECONDS - T0))s] $*"; }

# shellcheck source=tests/guest/guest_lib.sh
. "$HERE/guest_lib.sh"
# shellcheck source=tests/integration/uplink_lib.sh
. "$HERE/../integration/uplink_lib.sh"

# ---------------------------------------------------------------- prerequisites
gl_check_prereqs
ul_need_netns
need_cmd sha256sum "apt-get install coreutils"
VHOSTD=$(find_vhostd)
gl_find_kernel

# ---------------------------------------------------------------- processes
BACKEND_PID="" QEMU_A="" NC_PID=""
vhd_cleanup_hook() {
	alive "$QEMU_A" && kill -KILL "$QEMU_A" 2>/dev/null
	alive "$NC_PID" && kill -KILL "$NC_PID" 2>/dev/null
	if alive "$BACKEND_PID"; then
		kill -INT "$BACKEND_PID" 2>/dev/null
		wait_exit "$BACKEND_PID" 10 || kill -KILL "$BACKEND_PID" 2>/dev/null
	fi
	ul_cleanup
	return 0
}
die() {
	gl_dump_tail 40 "$D"/a.serial "$D"/a.qemu.log "$D"/backend.log "$D"/nc.log
	fail "$*"
}

progress "kernel=$KERNEL file=${MIB}MiB timeout=${TIMEOUT}s tmp=$D"
ul_setup "$NS_MAC" "$IP_NS/24"
UPLINK="net_af_packet0,iface=$UL_HOST"
INITRD=$D/initrd.gz
gl_build_initramfs "$INITRD"

# vhostd's own EAL defaults, as a user would run it
"$VHOSTD" --socket "$D/a.sock" --uplink "$UPLINK" --fwd l2 --stats 2 --control none \
	</dev/null >"$D/backend.log" 2>&1 &
BACKEND_PID=$!
track_pid "$BACKEND_PID"
wait_for "vhostd: ready" "$D/backend.log" 30 || die "vhostd never said 'vhostd: ready'"
wait_for_socket "$D/a.sock" 10 || die "vhostd did not create $D/a.sock"
progress "vhostd up: $(grep -m1 -o "port 1: uplink .*" "$D/backend.log")"

# The namespace's receiver. Its stdin stays open as long as sleep runs.
ip netns exec "$UL_NS" /bin/busybox nc -l -p "$PORT" >"$D/recv" 2>"$D/nc.log" < <(sleep $((TIMEOUT + 30))) &
NC_PID=$!
track_pid "$NC_PID"

gl_qemu a "$GUEST_MAC" "path=$D/a.sock" \
	"vhd_role=a vhd_ip=$IP_GUEST vhd_peer=$IP_NS vhd_mib=$MIB vhd_port=$PORT vhd_watchdog=$TIMEOUT"
progress "booting the guest (qemu $QEMU_A, $IP_GUEST), nc -l in $UL_NS on $IP_NS:$PORT"

declare -A seen=()
milestone() { # KEY PATTERN MESSAGE
	[ -n "${seen[$1]:-}" ] && return 0
	local m
	m=$(marker a "$2")
	[ -n "$m" ] || return 0
	seen[$1]=1
	progress "$3: $(echo "$m" | tr -d '\r')"
}
deadline=$((T0 + TIMEOUT))
while :; do
	milestone boot 'VHD_BOOTED.*' "guest booted"
	milestone net 'VHD_NET_UP.*' "guest network up"
	milestone ping 'VHD_PING_OK.*' "ping ok"
	milestone sent 'VHD_SENT.*' "transfer done"
	milestone done 'VHD_DONE.*' "guest finished"
	m=$(marker a 'VHD_FAIL.*')
	[ -n "$m" ] && die "guest reported: $(echo "$m" | tr -d '\r')"
	alive "$BACKEND_PID" || die "vhostd exited during the test"
	[ -n "${seen[done]:-}" ] && break
	alive "$QEMU_A" || { sleep 0.5; milestone done 'VHD_DONE.*' "guest finished"; \
		[ -n "${seen[done]:-}" ] || die "QEMU exited before the guest finished"; }
	[ "$SECONDS" -lt "$deadline" ] || die "timed out after ${TIMEOUT}s"
	sleep 0.5
done
wait_exit "$QEMU_A" 20 || { log "warning: QEMU still running 20 s after the guest finished"; kill -KILL "$QEMU_A"; }
# nc -l ends once the guest's nc has closed the connection
wait_exit "$NC_PID" 20 || die "nc -l in the namespace still running 20 s after the guest finished"

grep -aq "VHD_PING_OK" "$D/a.serial" || die "the guest never printed VHD_PING_OK"
sha_sent=$(marker a 'VHD_SHA_SENT [0-9a-f]{64}' | cut -d' ' -f2 | tr -d '\r')
size_sent=$(marker a 'VHD_SIZE_SENT [0-9]+' | cut -d' ' -f2 | tr -d '\r')
sha_recv=$(sha256sum "$D/recv" | cut -d' ' -f1)
size_recv=$(wc -c <"$D/recv")
[ -n "$sha_sent" ] || die "no VHD_SHA_SENT from the guest"
[ "$size_sent" = $((MIB * 1048576)) ] || die "the guest sent ${size_sent:-?} bytes, want $((MIB * 1048576))"
[ "$sha_sent" = "$sha_recv" ] ||
	die "file corrupted: sent sha256 $sha_sent ($size_sent B), the namespace got $sha_recv ($size_recv B)"
progress "ping ok; ${MIB} MiB arrived in the namespace intact, sha256 $sha_sent"

bits=$(marker a 'VHD_FEATURES [01]+' | cut -d' ' -f2 | tr -d '\r')
# VIRTIO_NET_F_CSUM is bit 0, HOST_TSO4 bit 11
[ "${bits:0:1}" = 1 ] && [ "${bits:11:1}" = 1 ] ||
	die "the guest did not negotiate CSUM and HOST_TSO4 (features $bits): no offload to do in software"

# A stats round printed after the guest left.
n0=$(grep -c "stats: port=1 " "$D/backend.log")
for _ in $(seq 1 50); do
	[ "$(grep -c "stats: port=1 " "$D/backend.log")" -gt "$n0" ] && break
	sleep 0.1
done
stat() { grep -a "^stats: port=$1 " "$D/backend.log" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
for port in 0 1; do
	log "    $(grep -a "^stats: port=$port " "$D/backend.log" | tail -n 1)"
	for k in errors too_big; do
		[ "$(stat $port $k)" = 0 ] || die "vhostd port $port: $k=$(stat $port $k), want 0"
	done
done
# A guest under TCG may leave no room in its receive ring now and then
# (port 0's drops, TCP sends again); the uplink must lose nothing.
[ "$(stat 1 drops)" = 0 ] || die "vhostd's uplink: drops=$(stat 1 drops), want 0"
[ "$(stat 1 link)" = up ] || die "vhostd's uplink: link=$(stat 1 link), want up"
rx0=$(stat 0 rx_pkts) rxb0=$(stat 0 rx_bytes) tx1=$(stat 1 tx_pkts) txb1=$(stat 1 tx_bytes)
[ "${rx0:-0}" -gt 0 ] && [ "${tx1:-0}" -gt 0 ] || die "no traffic counted: port 0 rx_pkts=$rx0, port 1 tx_pkts=$tx1"
avg_in=$((rxb0 / rx0)) avg_out=$((txb1 / tx1))
progress "the guest sent $rx0 frames (average $avg_in bytes), the uplink $tx1 (average $avg_out bytes, $txb1 in all)"
# In l2 mode with two ports each of the guest's frames leaves by the uplink
# once: more frames out than in are the segments vhostd cut.
[ "$tx1" -gt "$rx0" ] ||
	die "the uplink sent $tx1 frames for the guest's $rx0: none cut from a TSO frame"
[ "$avg_out" -le 1514 ] || die "the uplink's frames average $avg_out bytes, over its MTU's 1514"
[ "$txb1" -ge $((MIB * 1048576)) ] || die "the uplink sent $txb1 bytes, less than the ${MIB} MiB file"

kill -INT "$BACKEND_PID"
wait_exit "$BACKEND_PID" 30 || die "vhostd still running 30 s after SIGINT"
rc=$WAIT_RC
BACKEND_PID=""
[ "$rc" -eq 0 ] || die "vhostd exited $rc after SIGINT, want 0"
progress "PASS (${MIB} MiB from the guest through the uplink, TSO cut in software)"
exit 0
