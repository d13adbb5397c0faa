#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Two Linux guests (QEMU TCG, virtio_net) keep their network across vhostd
# restarts, with either side serving the vhost-user sockets:
#
#   qemu-server  QEMU serves (-chardev socket,...,server=on,wait=off), vhostd
#                connects (--socket PATH,client) and reconnects.
#   qemu-client  vhostd serves (default server mode), QEMU connects and
#                retries every second (-chardev socket,...,reconnect=1).
#
# For each way: boot guests A and B through vhostd --fwd l2; A pings B without
# end (ping -i 0.2, every reply a line on A's console) and sends B a file with
# nc whose sha256 both print. Then, for each restart: SIGTERM vhostd (it must
# exit 0), wait a second, start a new vhostd on the same sockets, and wait for
# A's next ping reply: its delay after the new vhostd started is the recovery
# time, printed and bounded by VHD_RECOVER_TIMEOUT. Another file transfer with
# matching sha256 follows every restart.
#
# The first VHD_RESTARTS restarts leave the guests' ARP alone: their recovery
# includes the guests' neighbour re-resolution (1 s retransmit timers), as for
# any real guest. The VHD_STATIC_RESTARTS after them run with permanent
# neighbour entries in both guests, so they time vhostd and QEMU alone.
# The host drives the guests through their second serial port (a QEMU pipe
# chardev); see guest-init.sh, vhd_mode=restart.
#
#   VHD_WAYS="qemu-server qemu-client"  which ways to test, in this order
#   VHD_RESTARTS=2            restarts per way with ARP as usual
#   VHD_STATIC_RESTARTS=1     restarts per way with static neighbour entries
#   VHD_MIB=2                 size of each transferred file in MiB
#   VHD_RING=split            (or --ring R) the guests' ring layout: split, or packed
#                             (QEMU packed=on; every device vhostd starts
#                             must then have negotiated RING_PACKED; QEMU
#                             restarts them at the ring's start, and vhostd
#                             reads where it stood from the descriptors)
#   VHD_RECOVER_TIMEOUT=30    seconds allowed from a new vhostd's start to A's
#                             first ping reply
#   VHD_KERNEL=/boot/vmlinuz-X  kernel to boot (default: newest with modules)
#   VHD_KEEP_LOGS=DIR         copy every log there before the scratch dir goes
#   VHOSTD=path               the vhostd binary (default: the build dir)
#
# The guests use link-local 169.254.10.1/24 and 169.254.10.2/24; their only
# link is vhostd's switch.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
WAYS=${VHD_WAYS:-qemu-server qemu-client}
RESTARTS=${VHD_RESTARTS:-2}
STATIC_RESTARTS=${VHD_STATIC_RESTARTS:-1}
MIB=${VHD_MIB:-2}
RECOVER_TIMEOUT=${VHD_RECOVER_TIMEOUT:-30}
RING=${VHD_RING:-split}
while [ $# -gt 0 ]; do
	case $1 in
	--ring) RING=${2:-}; shift ;;
	*) fail "unknown argument '$1' (want --ring split|packed)" ;;
	esac
	shift
done
BOOT_TIMEOUT=90  # QEMU start to A's first ping reply
XFER_TIMEOUT=90  # one file transfer, both sides reporting
IP_A=169.254.10.1
IP_B=169.254.10.2
MAC_A=52:54:00:00:00:01
MAC_B=52:54:00:00:00:02
PORT=5001
TOP=$VHD_TMP
D=$TOP
T0=$SECONDS

progress() { log "[$((SECONDS - T0))s] $*"; }

# shellcheck source=tests/guest/guest_lib.sh
. "$HERE/guest_lib.sh"

# ---------------------------------------------------------------- prerequisites
gl_check_prereqs stty arp
case $RING in
split) ;;
packed) GL_NET_OPTS="$GL_NET_OPTS,packed=on" ;;
*) fail "VHD_RING: '$RING' is neither split nor packed" ;;
esac
VHOSTD=$(find_vhostd) || exit 1
gl_find_kernel
[ -n "${EPOCHREALTIME:-}" ] || cannot_run "bash >= 5 needed (EPOCHREALTIME)"
for w in $WAYS; do
	case $w in
	qemu-server | qemu-client) ;;
	*) fail "VHD_WAYS: '$w' is neither qemu-server nor qemu-client" ;;
	esac
done

# milliseconds since the epoch, and their printing as seconds
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t / 1000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# ---------------------------------------------------------------- processes
VHOSTD_PID="" QEMU_A="" QEMU_B="" CMD_A="" CMD_B=""
WAY="" VLOG="" NV=0

vhd_cleanup_hook() {
	local p
	for p in $QEMU_A $QEMU_B; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
	# A DPDK process must leave by itself to release its memory.
	if alive "$VHOSTD_PID"; then
		kill -INT "$VHOSTD_PID" 2>/dev/null
		wait_exit "$VHOSTD_PID" 10 || kill -KILL "$VHOSTD_PID" 2>/dev/null
	fi
	for p in $QEMU_A $QEMU_B; do
		alive "$p" && { wait_exit "$p" 3 || kill -KILL "$p" 2>/dev/null; }
	done
	if [ -n "${VHD_KEEP_LOGS:-}" ]; then
		mkdir -p "$VHD_KEEP_LOGS" &&
			(cd "$TOP" && find . -name '*.log' -o -name '*.serial') |
			while read -r f; do
				mkdir -p "$VHD_KEEP_LOGS/$(dirname "$f")" && cp "$TOP/$f" "$VHD_KEEP_LOGS/$f"
			done
	fi
	return 0
}

dump_logs() {
	[ -n "$WAY" ] || return 0
	log "=== logs of way $WAY ($D)"
	gl_dump_tail 40 "$D"/a.serial "$D"/b.serial "$D"/a.qemu.log "$D"/b.qemu.log
	gl_dump_tail 25 "$D"/vhostd*.log
}

die() { dump_logs; fail "[$WAY] $*"; }

# forget_pid PID: a reaped child leaves lib.sh's list of what to kill at exit,
# so no later process that gets its number is signalled
forget_pid() {
	local p out=""
	for p in $VHD_PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	VHD_PIDS=$out
}

# count PATTERN FILE: lines of FILE matching the fixed string PATTERN
count() {
	local n
	n=$(grep -a -c -F -- "$1" "$2" 2>/dev/null)
	echo "${n:-0}"
}

# Guests and vhostd still there, guests not complaining.
check_alive() {
	local g m rc
	for g in a b; do
		eval "m=\$QEMU_$(echo $g | tr a-z A-Z)"
		alive "$m" && continue
		wait "$m" 2>/dev/null
		rc=$?
		die "QEMU of guest $g exited (status $rc)"
	done
	alive "$VHOSTD_PID" || die "vhostd #$NV exited by itself"
	for g in a b; do
		m=$(marker $g 'VHD_FAIL.*')
		[ -n "$m" ] && die "guest $g reported: $(echo "$m" | tr -d '\r')"
	done
	return 0
}

# vhostd_args: the --socket options of this way
vhostd_args() {
	case $WAY in
	qemu-server) echo "--socket $D/a.sock,client --socket $D/b.sock,client" ;;
	qemu-client) echo "--socket $D/a.sock --socket $D/b.sock" ;;
	esac
}

# start_vhostd: vhostd #NV+1 on this way's sockets, log in $D/vhostdN.log
start_vhostd() {
	NV=$((NV + 1))
	VLOG=$D/vhostd$NV.log
	# shellcheck disable=SC2046
	"$VHOSTD" $(vhostd_args) --fwd l2 --stats 2 >"$VLOG" 2>&1 &
	VHOSTD_PID=$!
	track_pid "$VHOSTD_PID"
	wait_for "vhostd: ready" "$VLOG" 60 || {
		alive "$VHOSTD_PID" || die "vhostd #$NV exited before it was ready"
		die "vhostd #$NV not ready within 60 s"
	}
	if [ "$WAY" = qemu-client ]; then
		wait_for_socket "$D/a.sock" 10 && wait_for_socket "$D/b.sock" 10 ||
			die "vhostd #$NV ready but its sockets are missing"
	fi
}

# stop_vhostd: SIGTERM, which must end vhostd with status 0 within 30 s;
# the time it took in STOP_MS
STOP_MS=0
stop_vhostd() {
	local t0
	t0=$(now_ms)
	kill -TERM "$VHOSTD_PID"
	wait_exit "$VHOSTD_PID" 30 || die "vhostd #$NV still running 30 s after SIGTERM"
	[ "$WAIT_RC" -eq 0 ] || die "vhostd #$NV exited $WAIT_RC after SIGTERM, want 0"
	STOP_MS=$(($(now_ms) - t0))
	forget_pid "$VHOSTD_PID"
	VHOSTD_PID=""
}

# vhostd_stats_check: the final stats lines of vhostd #NV (printed at exit)
# show traffic on both ports and no malformed chains.
vhostd_stats_check() {
	local port line rx errs
	for port in 0 1; do
		line=$(grep -a "stats: port=$port " "$VLOG" | tail -n 1)
		[ -n "$line" ] || die "vhostd #$NV printed no stats line for port $port"
		rx=$(echo "$line" | sed -n 's/.* rx_pkts=\([0-9]*\).*/\1/p')
		errs=$(echo "$line" | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
		log "    vhostd #$NV: $line"
		[ "${rx:-0}" -gt 0 ] || die "vhostd #$NV port $port: rx_pkts=${rx:-?}, want > 0"
		[ "$errs" = 0 ] || die "vhostd #$NV port $port: errors=${errs:-?}, want 0"
	done
	# every device this vhostd started has the ring layout asked for
	local dev f packed n=0 want=0
	[ "$RING" = packed ] && want=1
	while read -r dev f packed; do
		[ "$packed" = "$want" ] ||
			die "vhostd #$NV: port $dev started with features $f, RING_PACKED $packed, want $want"
		n=$((n + 1))
	done < <(device_rings "$VLOG")
	[ "$n" -gt 0 ] || die "vhostd #$NV logged no 'device started, features' line"
}

boot_guests() {
	local chardev_a chardev_b app
	case $WAY in
	qemu-server)
		chardev_a="path=$D/a.sock,server=on,wait=off"
		chardev_b="path=$D/b.sock,server=on,wait=off" ;;
	qemu-client)
		chardev_a="path=$D/a.sock,reconnect=1"
		chardev_b="path=$D/b.sock,reconnect=1" ;;
	esac
	app="vhd_mode=restart vhd_port=$PORT vhd_watchdog=200"
	# The guests read the host's commands from their ttyS1, a pipe chardev
	# (QEMU opens both FIFOs read-write; so does the host: nothing blocks).
	mkfifo "$D/a.cmd.in" "$D/a.cmd.out" "$D/b.cmd.in" "$D/b.cmd.out" || fail "mkfifo failed"
	exec {CMD_A}<>"$D/a.cmd.in" {CMD_B}<>"$D/b.cmd.in"
	gl_qemu b "$MAC_B" "$chardev_b" "vhd_role=b vhd_ip=$IP_B vhd_peer=$IP_A $app" \
		-serial "pipe:$D/b.cmd"
	gl_qemu a "$MAC_A" "$chardev_a" "vhd_role=a vhd_ip=$IP_A vhd_peer=$IP_B $app" \
		-serial "pipe:$D/a.cmd"
}

# cmd a|b LINE: one command to a guest
cmd() {
	case $1 in
	a) printf '%s\n' "$2" >&"$CMD_A" ;;
	b) printf '%s\n' "$2" >&"$CMD_B" ;;
	esac
}

# static_neighbours: permanent ARP entries in both guests, no ARP from now on
static_neighbours() {
	local deadline=$((SECONDS + 30))
	cmd a "arp $MAC_B"
	cmd b "arp $MAC_A"
	until grep -aq "VHD_ARP_SET $IP_B $MAC_B" "$D/a.serial" && grep -aq "VHD_ARP_SET $IP_A $MAC_A" "$D/b.serial"; do
		check_alive
		[ "$SECONDS" -lt "$deadline" ] || die "the guests did not confirm their static neighbour entries within 30 s"
		sleep 0.2
	done
	progress "static neighbour entries set in both guests: no ARP from now on"
}

# xfer N: guest A sends guest B a fresh MIB MiB file; the sha256s must match.
xfer() {
	local n=$1 nb t0 deadline sent recv s_sha r_sha m
	nb=$(count "VHD_XRECV" "$D/b.serial")
	t0=$(now_ms)
	deadline=$((SECONDS + XFER_TIMEOUT))
	cmd a "xfer $n $MIB"
	while :; do
		check_alive
		m=$(marker a "VHD_XSENT_FAIL n=$n .*")
		[ -n "$m" ] && die "transfer $n: guest a: $m"
		sent=$(marker a "VHD_XSENT n=$n .*")
		[ "$(count "VHD_XRECV" "$D/b.serial")" -gt "$nb" ] && recv=$(marker b "VHD_XRECV.*") || recv=""
		[ -n "$sent" ] && [ -n "$recv" ] && break
		[ "$SECONDS" -lt "$deadline" ] || die "transfer $n: not done within ${XFER_TIMEOUT}s (sent: '${sent:-}', received: '${recv:-}')"
		sleep 0.2
	done
	s_sha=$(echo "$sent" | sed -n 's/.* sha=\([0-9a-f]*\).*/\1/p')
	r_sha=$(echo "$recv" | sed -n 's/.* sha=\([0-9a-f]*\).*/\1/p' | tr -d '\r')
	[ "$(echo "$recv" | sed -n 's/.* size=\([0-9]*\).*/\1/p')" = $((MIB * 1048576)) ] &&
		[ -n "$s_sha" ] && [ "$s_sha" = "$r_sha" ] ||
		die "transfer $n corrupted: sent '$sent', received '$recv'"
	progress "transfer $n: ${MIB} MiB intact in $(secs $(($(now_ms) - t0))) s, sha256 ${s_sha:0:16}..."
}

# seq_of LINE: the seq= of a ping reply line
seq_of() { echo "$1" | sed -n 's/.* seq=\([0-9]*\).*/\1/p'; }

# ---------------------------------------------------------------- one way
RESULTS=()

run_way() {
	WAY=$1 NV=0
	D=$TOP/$WAY
	mkdir -p "$D"
	local pongs deadline r base qa qb t_start t_dev t_rec last first n g lost kind

	progress "=== $WAY: $( [ "$WAY" = qemu-server ] && echo "QEMU serves the sockets, vhostd --socket ...,client" ||
		echo "vhostd serves the sockets, QEMU reconnect=1")"
	if [ "$WAY" = qemu-client ]; then
		start_vhostd
		boot_guests
	else
		boot_guests
		wait_for_socket "$D/a.sock" 30 && wait_for_socket "$D/b.sock" 30 ||
			die "QEMU did not create its sockets within 30 s"
		start_vhostd
	fi
	progress "vhostd #$NV (pid $VHOSTD_PID) and guests a (qemu $QEMU_A) b (qemu $QEMU_B) started"

	deadline=$((SECONDS + BOOT_TIMEOUT))
	until [ "$(count "bytes from $IP_B" "$D/a.serial")" -gt 0 ] && grep -aq VHD_CMD_READY "$D/a.serial" &&
		grep -aq VHD_CMD_READY "$D/b.serial" && grep -aq VHD_LISTEN "$D/b.serial"; do
		check_alive
		[ "$SECONDS" -lt "$deadline" ] || die "no ping reply from b on a's console within ${BOOT_TIMEOUT}s"
		sleep 0.2
	done
	progress "a pings b: $(grep -a "bytes from $IP_B" "$D/a.serial" | head -n 1 | tr -d '\r')"
	xfer 0

	for r in $(seq 1 $((RESTARTS + STATIC_RESTARTS))); do
		kind=ARP
		if [ "$r" -gt "$RESTARTS" ]; then
			kind=static
			[ "$r" -eq $((RESTARTS + 1)) ] && static_neighbours
		fi
		qa=$(wc -l <"$D/a.qemu.log") qb=$(wc -l <"$D/b.qemu.log")
		stop_vhostd
		vhostd_stats_check
		progress "restart $r ($kind): vhostd #$NV exited 0 on SIGTERM after $(secs $STOP_MS) s"
		case $WAY in
		qemu-server) [ -S "$D/a.sock" ] && [ -S "$D/b.sock" ] || die "QEMU's sockets went away with vhostd" ;;
		qemu-client) [ ! -e "$D/a.sock" ] && [ ! -e "$D/b.sock" ] || die "vhostd left its sockets behind" ;;
		esac
		sleep 1
		alive "$QEMU_A" && alive "$QEMU_B" || check_alive
		# Every reply from now on went through the new vhostd.
		base=$(count "bytes from $IP_B" "$D/a.serial")
		last=$(grep -a "bytes from $IP_B" "$D/a.serial" | tail -n 1 | tr -d '\r')
		t_start=$(now_ms)
		start_vhostd
		progress "restart $r: vhostd #$NV (pid $VHOSTD_PID) ready after $(secs $(($(now_ms) - t_start))) s"
		deadline=$((t_start + RECOVER_TIMEOUT * 1000))
		t_dev="" t_rec=""
		while :; do
			check_alive
			if [ -z "$t_dev" ]; then
				if grep -aq "port 0 (.*device started" "$VLOG" && grep -aq "port 1 (.*device started" "$VLOG"; then
					t_dev=$(($(now_ms) - t_start))
				fi
			fi
			pongs=$(count "bytes from $IP_B" "$D/a.serial")
			if [ "$pongs" -gt "$base" ]; then
				t_rec=$(($(now_ms) - t_start))
				break
			fi
			[ "$(now_ms)" -lt "$deadline" ] || break
			sleep 0.1
		done
		if [ -z "$t_rec" ]; then
			log "vhostd #$NV device lines: $(grep -a 'device st' "$VLOG" | tr '\n' ';')"
			log "QEMU a since the stop:"; tail -n +$((qa + 1)) "$D/a.qemu.log" | head -n 20 >"$D/show"; show "$D/show"
			log "QEMU b since the stop:"; tail -n +$((qb + 1)) "$D/b.qemu.log" | head -n 20 >"$D/show"; show "$D/show"
			die "restart $r: no ping reply within ${RECOVER_TIMEOUT}s of vhostd #$NV's start" \
				"(both devices started: $([ -n "$t_dev" ] && echo "yes, after $(secs "$t_dev") s" || echo no))"
		fi
		first=$(grep -a "bytes from $IP_B" "$D/a.serial" | sed -n "$((base + 1))p" | tr -d '\r')
		lost=$(($(seq_of "$first") - $(seq_of "$last") - 1))
		progress "restart $r: RECOVERED $(secs "$t_rec") s after vhostd #$NV started" \
			"(both devices started after $([ -n "$t_dev" ] && secs "$t_dev" || echo "?") s);" \
			"ping seq $(seq_of "$last") -> $(seq_of "$first"), $lost replies missing"
		RESULTS+=("$WAY restart $r ($kind): recovery $(secs "$t_rec") s (devices up $([ -n "$t_dev" ] && secs "$t_dev" || echo "?") s, $lost pings lost)")
		# QEMU's complaints about the lost backend, once per way when they repeat
		for g in a b; do
			eval "n=\$q$g"
			tail -n +$((n + 1)) "$D/$g.qemu.log" | head -n 12 >"$D/show"
			if [ ! -s "$D/show" ]; then
				log "    QEMU $g: no messages"
			elif cmp -s "$D/show" "$D/$g.qemu.prev"; then
				log "    QEMU $g: the same $(wc -l <"$D/show") messages as at the restart before"
			else
				log "    QEMU $g said meanwhile:"
				show "$D/show"
			fi
			mv "$D/show" "$D/$g.qemu.prev"
		done
		xfer "$r"
	done

	# Both guests power off; vhostd must still exit 0.
	cmd a quit
	cmd b quit
	for g in a b; do
		eval "n=\$QEMU_$(echo $g | tr a-z A-Z)"
		wait_exit "$n" 30 || { log "warning: guest $g still running 30 s after quit; killing it"; kill -KILL "$n"; wait "$n"; }
		forget_pid "$n"
	done
	QEMU_A="" QEMU_B=""
	exec {CMD_A}>&- {CMD_B}>&-
	stop_vhostd
	vhostd_stats_check
	progress "$WAY: done, $((RESTARTS + STATIC_RESTARTS)) restarts; guests stopped, vhostd #$NV exited 0"
	WAY=""
}

# ---------------------------------------------------------------- the test
progress "kernel=$KERNEL ways='$WAYS' ring=$RING restarts=$RESTARTS+$STATIC_RESTARTS static file=${MIB}MiB tmp=$TOP"
INITRD=$TOP/initrd.gz
gl_build_initramfs "$INITRD"
progress "initramfs built: $(du -k "$INITRD" | cut -f1) KiB"

for w in $WAYS; do
	run_way "$w"
done

log "recovery times (from a new vhostd's start to guest a's first ping reply;"
log "ARP: as real guests, static: permanent neighbour entries, vhostd and QEMU alone):"
for l in "${RESULTS[@]}"; do log "    $l"; done
progress "PASS"
exit 0
