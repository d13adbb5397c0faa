#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# End to end: two Linux guests (QEMU TCG, virtio_net) on one vhost-user
# backend. Guest A pings guest B, then sends it 8 MiB of random data with nc;
# both print the sha256 of the file on the serial console and power off.
# Both guests also print their MTU and negotiated virtio features, which this
# script decodes by name, and A prints the transfer's start and end, which
# this script turns into MiB/s.
#
# Options (each also an environment variable; an option wins):
#   --mib N             VHD_MIB=8        size of the file in MiB
#   --mtu N             VHD_MTU=         both ports and guests at MTU N:
#                       vhostd --socket PATH,mtu=N, QEMU host_mtu=N, the guest
#                       sets eth0's MTU to N; vhostd's sender port must then
#                       show an average frame above 3000 bytes when N >= 4000
#   --expect-offloads   VHD_EXPECT_OFFLOADS=1  fail unless both guests
#                       negotiated CSUM, GUEST_CSUM, HOST_TSO4, HOST_TSO6,
#                       GUEST_TSO4 and GUEST_TSO6 (checked after the transfer,
#                       so a failing run still shows whether the file came
#                       through)
#   --timeout S         VHD_GUEST_TIMEOUT=240  seconds allowed from start to
#                       both guests done
#   --queues N          VHD_QUEUES=1  vhostd queues=N, QEMU queues=N and mq=on
#   --smp N             VHD_SMP=1  vCPUs per guest; with --queues above it, a
#                       Linux guest enables one queue pair per vCPU, and the
#                       test checks (ethtool -l) that it enabled exactly N
#   --conns N           VHD_CONNS=1  the file goes over N parallel TCP
#                       connections (slices of it); with --queues, vhostd's
#                       per-queue counters must then show traffic on at
#                       least two queues of each guest
#   --requeue N         VHD_REQUEUE=  after the transfer each guest runs
#                       ethtool -L eth0 combined N and must still reach the
#                       other (vhostd follows the queues the guest enables)
#   --runtime-ports     VHD_RUNTIME_PORTS=1  vhostd starts with no --socket;
#                       both ports are added with vhostctl add-port (and
#                       must then be listed as up while the guests run)
#   --ring R            VHD_RING=split  split, or packed (QEMU packed=on):
#                       both guests must negotiate RING_PACKED exactly when
#                       packed
#   --event-idx on|off  VHD_EVENT_IDX=on  off: QEMU event_idx=off. Both
#                       guests must negotiate RING_EVENT_IDX exactly when on
#   --report FILE       VHD_REPORT=  append "ring=R event_idx=E interrupts=N
#                       pkts=N" (vhostd's counters, both ports summed) to FILE
# Environment only:
#   BACKEND=vhostd (default)  vhostd --fwd l2 (binary: $VHOSTD or build dir)
#   BACKEND=testpmd           DPDK's own vhost PMD, testpmd io forwarding,
#                             to check the test itself (with tso=1 on its
#                             ports under --expect-offloads: net_vhost offers
#                             HOST_TSO4/6 only then)
#   VHD_KERNEL=/boot/vmlinuz-X  kernel to boot (default: newest with modules)
#
# The guests use link-local 169.254.10.1/24 and 169.254.10.2/24; their only
# link is the backend's virtual switch. The guest /init is guest-init.sh.
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
BACKEND=${BACKEND:-vhostd}
TIMEOUT=${VHD_GUEST_TIMEOUT:-240}
MIB=${VHD_MIB:-8}
MTU=${VHD_MTU:-}
EXPECT_OFFLOADS=${VHD_EXPECT_OFFLOADS:-0}
RUNTIME_PORTS=${VHD_RUNTIME_PORTS:-0}
QUEUES=${VHD_QUEUES:-1}
SMP=${VHD_SMP:-1}
CONNS=${VHD_CONNS:-1}
REQUEUE=${VHD_REQUEUE:-}
RING=${VHD_RING:-split}
EVENT_IDX=${VHD_EVENT_IDX:-on}
REPORT=${VHD_REPORT:-}
while [ $# -gt 0 ]; do
	case $1 in
	--mib) MIB=${2:-}; shift ;;
	--mtu) MTU=${2:-}; shift ;;
	--expect-offloads) EXPECT_OFFLOADS=1 ;;
	--runtime-ports) RUNTIME_PORTS=1 ;;
	--queues) QUEUES=${2:-}; shift ;;
	--smp) SMP=${2:-}; shift ;;
	--conns) CONNS=${2:-}; shift ;;
	--requeue) REQUEUE=${2:-}; shift ;;
	--ring) RING=${2:-}; shift ;;
	--event-idx) EVENT_IDX=${2:-}; shift ;;
	--report) REPORT=${2:-}; shift ;;
	--timeout) TIMEOUT=${2:-}; shift ;;
	*) fail "unknown argument '$1' (want --mib N, --mtu N, --expect-offloads, --queues N, --smp N, --conns N, --requeue N, --runtime-ports, --ring split|packed, --event-idx on|off, --report FILE, --timeout S)" ;;
	esac
	shift
done
case $MIB in '' | *[!0-9]* | 0) fail "--mib wants a positive number, not '$MIB'" ;; esac
case $TIMEOUT in '' | *[!0-9]* | 0) fail "--timeout wants a positive number of seconds, not '$TIMEOUT'" ;; esac
case $QUEUES in [1-8]) ;; *) fail "--queues wants 1-8, not '$QUEUES'" ;; esac
case $SMP in [1-8]) ;; *) fail "--smp wants 1-8, not '$SMP'" ;; esac
case $CONNS in [1-9] | 1[0-6]) ;; *) fail "--conns wants 1-16, not '$CONNS'" ;; esac
case $REQUEUE in '' | [1-8]) ;; *) fail "--requeue wants 1-8, not '$REQUEUE'" ;; esac
case $RING in split | packed) ;; *) fail "--ring wants split or packed, not '$RING'" ;; esac
case $EVENT_IDX in on | off) ;; *) fail "--event-idx wants on or off, not '$EVENT_IDX'" ;; esac
case $MTU in '') ;; *[!0-9]*) fail "--mtu wants a number, not '$MTU'" ;; esac
if [ -n "$MTU" ] && { [ "$MTU" -lt 68 ] || [ "$MTU" -gt 65535 ]; }; then
	fail "--mtu wants 68-65535, not '$MTU'"
fi
case $EXPECT_OFFLOADS in 0 | 1) ;; *) fail "VHD_EXPECT_OFFLOADS must be 0 or 1, not '$EXPECT_OFFLOADS'" ;; esac
IP_A=169.254.10.1
IP_B=169.254.10.2
PORT=5001
D=$VHD_TMP
T0=$SECONDS

progress() { log "[$((SECONDS - T0))s] $*"; }

# shellcheck source=tests/guest/guest_lib.sh
. "$HERE/guest_lib.sh"
GL_WITH_ETHTOOL=1
[ -z "$MTU" ] || GL_NET_OPTS=",host_mtu=$MTU"
SOCK_OPTS=""
[ -z "$MTU" ] || SOCK_OPTS=",mtu=$MTU"
GL_SMP=$SMP
[ "$RING" = split ] || GL_NET_OPTS="$GL_NET_OPTS,packed=on"
[ "$EVENT_IDX" = on ] || GL_NET_OPTS="$GL_NET_OPTS,event_idx=off"
if [ "$QUEUES" -gt 1 ]; then
	SOCK_OPTS="$SOCK_OPTS,queues=$QUEUES"
	GL_NETDEV_OPTS=",queues=$QUEUES"
	GL_NET_OPTS="$GL_NET_OPTS,mq=on"
fi

# ---------------------------------------------------------------- prerequisites
gl_check_prereqs

case $BACKEND in
vhostd)
	VHOSTD=$(find_vhostd)
	VHOSTCTL=$(dirname "$VHOSTD")/vhostctl
	[ "$RUNTIME_PORTS" = 0 ] || [ -x "$VHOSTCTL" ] || fail "vhostctl not found next to $VHOSTD"
	;;
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

# Virtio feature bits by name: virtio-net's (VIRTIO_NET_F_*) and the
# transport's (VIRTIO_F_*), as in Linux's uapi headers.
declare -A FEATURE_NAME=(
	[0]=CSUM [1]=GUEST_CSUM [2]=CTRL_GUEST_OFFLOADS [3]=MTU [5]=MAC [6]=GSO
	[7]=GUEST_TSO4 [8]=GUEST_TSO6 [9]=GUEST_ECN [10]=GUEST_UFO
	[11]=HOST_TSO4 [12]=HOST_TSO6 [13]=HOST_ECN [14]=HOST_UFO [15]=MRG_RXBUF
	[16]=STATUS [17]=CTRL_VQ [18]=CTRL_RX [19]=CTRL_VLAN [20]=CTRL_RX_EXTRA
	[21]=GUEST_ANNOUNCE [22]=MQ [23]=CTRL_MAC_ADDR
	[24]=NOTIFY_ON_EMPTY [27]=ANY_LAYOUT [28]=RING_INDIRECT_DESC
	[29]=RING_EVENT_IDX [32]=VERSION_1 [33]=ACCESS_PLATFORM [34]=RING_PACKED
	[35]=IN_ORDER [36]=ORDER_PLATFORM [37]=SR_IOV [38]=NOTIFICATION_DATA
	[39]=NOTIF_CONFIG_DATA [40]=RING_RESET
	[53]=NOTF_COAL [54]=GUEST_USO4 [55]=GUEST_USO6 [56]=HOST_USO
	[57]=HASH_REPORT [59]=GUEST_HDRLEN [60]=RSS [61]=RSC_EXT [62]=STANDBY
	[63]=SPEED_DUPLEX
)
OFFLOAD_FEATURES="CSUM GUEST_CSUM HOST_TSO4 HOST_TSO6 GUEST_TSO4 GUEST_TSO6"

# feature_names BITS: the names of the bits set in BITS (a string of 0 and 1,
# bit 0 first, as /sys/class/net/eth0/device/features), space separated.
feature_names() {
	local bits=$1 i out=""
	for ((i = 0; i < ${#bits}; i++)); do
		[ "${bits:i:1}" = 1 ] || continue
		out="$out ${FEATURE_NAME[$i]:-bit$i}"
	done
	echo "${out# }"
}

# has_feature BITS NAME: whether the bit called NAME is set in BITS
has_feature() {
	local i
	for i in "${!FEATURE_NAME[@]}"; do
		[ "${FEATURE_NAME[$i]}" = "$2" ] || continue
		[ "${1:i:1}" = 1 ]
		return
	done
	return 1
}

start_backend() {
	local mem
	if [ "$(hugepages_free)" -ge 256 ] 2>/dev/null; then mem="-m 256"; else mem="--no-huge -m 256"; fi
	case $BACKEND in
	vhostd)
		if [ "$RUNTIME_PORTS" = 1 ]; then
			"$VHOSTD" --control "$D/control.sock" --fwd l2 --stats 2 >"$D/backend.log" 2>&1 &
		else
			"$VHOSTD" --socket "$D/a.sock$SOCK_OPTS" --socket "$D/b.sock$SOCK_OPTS" --fwd l2 \
				--stats 2 --control none >"$D/backend.log" 2>&1 &
		fi
		BACKEND_PID=$!
		;;
	testpmd)
		# io forwarding between the two ports is a wire between the guests.
		local vdev_opts="" pmd_opts=""
		[ "$EXPECT_OFFLOADS" = 1 ] && vdev_opts=",tso=1"
		[ -z "$MTU" ] || pmd_opts="--max-pkt-len=$((MTU + 600))"
		dpdk-testpmd --no-pci --in-memory --file-prefix=guesttest$$ $mem \
			--vdev "net_vhost0,iface=$D/a.sock,queues=1$vdev_opts" \
			--vdev "net_vhost1,iface=$D/b.sock,queues=1$vdev_opts" \
			-- --forward-mode=io --stats-period 5 --nb-cores=1 $pmd_opts \
			</dev/null >"$D/backend.log" 2>&1 &
		BACKEND_PID=$!
		;;
	esac
	track_pid "$BACKEND_PID"
	local s
	if [ "$RUNTIME_PORTS" = 1 ]; then
		wait_for "vhostd: ready" "$D/backend.log" 30 || die "vhostd never said 'vhostd: ready'"
		for s in a b; do
			"$VHOSTCTL" --control "$D/control.sock" add-port "$D/$s.sock$SOCK_OPTS" >&2 ||
				die "vhostctl add-port $D/$s.sock failed"
		done
	fi
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
		"vhd_role=$role vhd_ip=$ip vhd_peer=$peer vhd_mib=$MIB vhd_port=$PORT vhd_watchdog=$TIMEOUT${MTU:+ vhd_mtu=$MTU} vhd_conns=$CONNS${REQUEUE:+ vhd_requeue=$REQUEUE}"
}

# ---------------------------------------------------------------- the test
progress "backend=$BACKEND kernel=$KERNEL file=${MIB}MiB mtu=${MTU:-default} ring=$RING event_idx=$EVENT_IDX expect_offloads=$EXPECT_OFFLOADS timeout=${TIMEOUT}s tmp=$D"
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
	milestone mtu_a a 'VHD_MTU.*' "guest a"
	milestone mtu_b b 'VHD_MTU.*' "guest b"
	milestone feat_a a 'VHD_FEATURES.*' "guest a"
	milestone feat_b b 'VHD_FEATURES.*' "guest b"
	[ -n "${seen[net_a]:-}" ] && [ -z "${seen[ping]:-}" ] && [ -z "${seen[pinging]:-}" ] &&
		{ seen[pinging]=1; progress "pinging $IP_B from guest a"; }
	milestone ping a 'VHD_PING_OK.*' "ping ok"
	if [ "$RUNTIME_PORTS" = 1 ] && [ -n "${seen[ping]:-}" ] && [ -z "${seen[listed]:-}" ]; then
		# the guests talk: both runtime ports must be up in the daemon's list
		seen[listed]=1
		"$VHOSTCTL" --control "$D/control.sock" --json list >"$D/list.json" ||
			die "vhostctl list failed"
		python3 - "$D/list.json" "$D/a.sock" "$D/b.sock" <<'PY' || die "runtime ports not up: $(cat "$D/list.json")"
import json, sys
ports = {p["name"]: p["state"] for p in json.load(open(sys.argv[1]))["ports"]}
sys.exit(0 if all(ports.get(n) == "up" for n in sys.argv[2:]) else 1)
PY
		progress "vhostctl list: both runtime ports up"
	fi
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
if [ -n "$REQUEUE" ]; then
	for g in a b; do
		rq=$(marker $g 'VHD_REQUEUE_OK [0-9 ]+' | tr -d '\r')
		set -- ${rq#VHD_REQUEUE_OK }
		[ "${2:-}" = "$REQUEUE" ] ||
			die "guest $g: after ethtool -L combined $REQUEUE: '${rq:-no VHD_REQUEUE_OK}'"
	done
	progress "both guests went to $REQUEUE queue pair(s) with ethtool -L and still reached each other"
fi
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

# ---------------------------------------------------------------- transfer time
sent=$(marker a 'VHD_SENT .*' | tr -d '\r')
t_start=$(echo "$sent" | sed -n 's/.* start=\([0-9.]*\).*/\1/p')
t_end=$(echo "$sent" | sed -n 's/.* end=\([0-9.]*\).*/\1/p')
[ -n "$t_start" ] && [ -n "$t_end" ] || die "guest a's VHD_SENT has no start=/end=: '$sent'"
rate=$(awk -v s="$t_start" -v e="$t_end" -v m="$MIB" \
	'BEGIN { d = e - s; if (d <= 0) d = 0.01; printf "%.2f s, %.1f MiB/s", d, m / d }')
progress "transfer: ${MIB} MiB in $rate (guest a's nc, uptime $t_start to $t_end; backend=$BACKEND mtu=${MTU:-default})"

# ---------------------------------------------------------------- MTU and features
offload_fail=""
for g in a b; do
	mtu_line=$(marker $g 'VHD_MTU .*' | tr -d '\r')
	[ -n "$mtu_line" ] || die "guest $g printed no VHD_MTU"
	log "    guest $g: ${mtu_line#VHD_MTU }"
	if [ -n "$MTU" ]; then
		echo "$mtu_line" | grep -q " mtu=$MTU " || die "guest $g: eth0's MTU is not $MTU: $mtu_line"
	fi
	bits=$(marker $g 'VHD_FEATURES [01]+' | cut -d' ' -f2)
	[ -n "$bits" ] || die "guest $g printed no VHD_FEATURES bit string: '$(marker $g 'VHD_FEATURES.*' | tr -d '\r')'"
	log "    guest $g features $bits"
	log "    guest $g negotiated: $(feature_names "$bits")"
	if [ "$RING" = packed ]; then
		has_feature "$bits" RING_PACKED || die "guest $g did not negotiate VIRTIO_F_RING_PACKED with packed=on"
	else
		! has_feature "$bits" RING_PACKED || die "guest $g negotiated VIRTIO_F_RING_PACKED without packed=on"
	fi
	if [ "$EVENT_IDX" = on ] && [ "$BACKEND" = vhostd ]; then
		has_feature "$bits" RING_EVENT_IDX || die "guest $g did not negotiate VIRTIO_RING_F_EVENT_IDX"
	elif [ "$EVENT_IDX" = off ]; then
		! has_feature "$bits" RING_EVENT_IDX || die "guest $g negotiated VIRTIO_RING_F_EVENT_IDX with event_idx=off"
	fi
	if [ "$QUEUES" -gt 1 ]; then
		has_feature "$bits" MQ || die "guest $g did not negotiate VIRTIO_NET_F_MQ with queues=$QUEUES"
		q=$(marker $g 'VHD_QUEUES [0-9 ]+' | tr -d '\r')
		set -- ${q#VHD_QUEUES }
		want=$((QUEUES < SMP ? QUEUES : SMP))
		[ "${1:-}" = "$QUEUES" ] && [ "${2:-}" = "$want" ] ||
			die "guest $g: ethtool -l says '${q:-nothing}', want $QUEUES queue pairs offered, $want in use"
		log "    guest $g: $QUEUES queue pairs offered, $want enabled (one per vCPU)"
	fi
	off=$(marker $g 'VHD_OFFLOADS_ON.*' | tr -d '\r')
	if [ -n "$off" ]; then
		log "    guest $g ethtool -k, on: ${off#VHD_OFFLOADS_ON }"
	else
		log "    guest $g printed no ethtool -k (no ethtool on the host to put in the initramfs)"
	fi
	if [ -n "$MTU" ]; then
		has_feature "$bits" MTU || die "guest $g did not negotiate VIRTIO_NET_F_MTU with --mtu $MTU"
		echo "$mtu_line" | grep -q " driver_mtu=$MTU " ||
			die "guest $g: the device gave the driver another MTU than host_mtu=$MTU: $mtu_line"
	fi
	missing=""
	for f in $OFFLOAD_FEATURES; do
		has_feature "$bits" "$f" || missing="$missing $f"
	done
	if [ -n "$missing" ]; then
		log "    guest $g lacks offloads:$missing"
		offload_fail="$offload_fail guest $g lacks$missing;"
	fi
done
[ -z "$MTU" ] || progress "both guests at MTU $MTU, VIRTIO_NET_F_MTU negotiated, host_mtu seen by the driver"

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
		rxb=$(echo "$line" | sed -n 's/.* rx_bytes=\([0-9]*\).*/\1/p')
		too_big=$(echo "$line" | sed -n 's/.* too_big=\([0-9]*\).*/\1/p')
		[ "${rx:-0}" -gt 0 ] || die "vhostd port $port: rx_pkts=${rx:-?}, want > 0"
		[ "$errs" = 0 ] || die "vhostd port $port: errors=${errs:-?}, want 0"
		[ "${too_big:-0}" = 0 ] || die "vhostd port $port: too_big=$too_big, want 0"
		avg[$port]=$((${rxb:-0} / rx)) # rx > 0: checked above
		log "    port $port: average frame received ${avg[$port]} bytes (rx_bytes/rx_pkts)"
	done
	# Port 0 is guest a's, the sender's: its frames are the data segments.
	# At MTU 9000 they are 9014 bytes (or up to 64 KiB with TSO) beside a
	# few small ones (ARP, ping, the handshake, some ACKs): an average
	# above 3000 says big frames went through; at MTU 1500 without TSO it
	# is about 1500.
	if [ -n "$MTU" ] && [ "$MTU" -ge 4000 ]; then
		[ "${avg[0]}" -gt 3000 ] ||
			die "vhostd port 0 (sender): average frame ${avg[0]} bytes at MTU $MTU, want > 3000"
		progress "vhostd carried big frames: sender's average frame ${avg[0]} bytes (> 3000)"
	fi
	progress "vhostd stats: rx_pkts > 0 on both ports, errors=0, too_big=0"
	# Interrupts vhostd sent the guests, over what it carried for them.
	irqs=0 pkts=0
	for port in 0 1; do
		line=$(grep -a "stats: port=$port " "$D/backend.log" | tail -n 1)
		i=$(echo "$line" | sed -n 's/.* interrupts=\([0-9]*\).*/\1/p')
		r=$(echo "$line" | sed -n 's/.* rx_pkts=\([0-9]*\).*/\1/p')
		t=$(echo "$line" | sed -n 's/.* tx_pkts=\([0-9]*\).*/\1/p')
		[ -n "$i" ] && [ -n "$r" ] && [ -n "$t" ] || die "port $port: no interrupts/rx_pkts/tx_pkts in '$line'"
		irqs=$((irqs + i)) pkts=$((pkts + r + t))
	done
	progress "interrupts to the guests: $irqs for $pkts packets ($(awk -v i=$irqs -v p=$pkts 'BEGIN { printf "%.4f", i / p }') per packet, ring=$RING event_idx=$EVENT_IDX)"
	[ -z "$REPORT" ] || echo "ring=$RING event_idx=$EVENT_IDX interrupts=$irqs pkts=$pkts" >>"$REPORT"
	if [ "$QUEUES" -gt 1 ] && [ "$CONNS" -gt 1 ]; then
		# Each guest's queues: several flows each way, steered by flow on
		# vhostd's side and by vCPU on the guest's, must use more than one.
		for port in 0 1; do
			line=$(grep -a "stats: port=$port " "$D/backend.log" | tail -n 1)
			used=0 per=""
			for ((q = 0; q < QUEUES; q++)); do
				qrx=$(echo "$line" | sed -n "s/.* q${q}_rx=\([0-9]*\).*/\1/p")
				qtx=$(echo "$line" | sed -n "s/.* q${q}_tx=\([0-9]*\).*/\1/p")
				[ -n "$qrx" ] && [ -n "$qtx" ] || die "port $port: no q${q}_rx/q${q}_tx in '$line'"
				per="$per q$q=$qrx/$qtx"
				[ $((qrx + qtx)) -gt 0 ] && used=$((used + 1))
			done
			[ "$used" -ge 2 ] || die "port $port: traffic on $used queue(s) only (rx/tx:$per)"
			progress "port $port: $used queues carried traffic (rx/tx:$per)"
		done
	fi

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

if [ "$EXPECT_OFFLOADS" = 1 ]; then
	[ -z "$offload_fail" ] ||
		fail "offloads not negotiated (want $OFFLOAD_FEATURES):$offload_fail the transfer itself was intact"
	progress "both guests negotiated $OFFLOAD_FEATURES"
fi

progress "PASS (backend=$BACKEND, ${MIB} MiB in $rate, mtu=${MTU:-default})"
exit 0
