# SPDX-License-Identifier: BSD-3-Clause
# Helpers shared by testpmd_forward.sh and testpmd_restart.sh: a dpdk-testpmd
# virtio-user frontend with two ports against vhostd (or, for developing the
# tests, against DPDK's own backend: BACKEND=testpmd, a testpmd with two
# net_vhost ports in io forwarding).
# Source it after tests/lib.sh; do not run it.
#
# Pinning (2 CPUs): the backend runs --lcores=0@0,1@1 (main on CPU 0,
# forwarding lcore on CPU 1), the frontend --lcores=0@1,1@0, so the two
# busy-polling lcores get a CPU each and the mostly sleeping main lcores share.
#
# Environment knobs:
#   BACKEND=vhostd|testpmd  what serves the sockets (default vhostd)
#   TP_NOHUGE=1             run without hugepages even when some are free
#   TP_KEEP_LOGS=DIR        copy the logs there before the scratch dir goes
#   TP_RING=split|packed|mixed  the frontend's ring layout (packed: packed_vq=1
#                           on its virtio-user ports; mixed: port 0 packed,
#                           port 1 split); scripts take it as an argument too
#                           (tp_set_ring)
#   TP_VDEV_EXTRA=",in_order=1"  appended to the frontend's virtio-user devargs

TP_BACKEND=${BACKEND:-vhostd}
case $TP_BACKEND in
vhostd | testpmd) ;;
*) fail "BACKEND='$TP_BACKEND': want vhostd or testpmd" ;;
esac

# tp_set_ring split|packed|mixed: the ring layouts the frontend asks for.
tp_set_ring() {
	case $1 in
	split) TP_VDEV_OPTS0="" TP_VDEV_OPTS1="" ;;
	packed) TP_VDEV_OPTS0=",packed_vq=1" TP_VDEV_OPTS1=",packed_vq=1" ;;
	mixed) TP_VDEV_OPTS0=",packed_vq=1" TP_VDEV_OPTS1="" ;;
	*) fail "ring layout '$1': want split, packed or mixed" ;;
	esac
	TP_RING=$1
}
tp_set_ring "${TP_RING:-split}"

# tp_check_ring LOG: every device vhostd started negotiated the ring layout
# asked for (VIRTIO_F_RING_PACKED, bit 34, exactly when packed; mixed: port 0
# packed, port 1 split). Nothing to check with BACKEND=testpmd.
tp_check_ring() {
	local logf=$1 port f packed n=0 want
	[ "$TP_BACKEND" = vhostd ] || return 0
	while read -r port f packed; do
		case $TP_RING in
		split) want=0 ;;
		packed) want=1 ;;
		mixed) want=$((port == 0 ? 1 : 0)) ;;
		esac
		[ "$packed" = "$want" ] ||
			fail "port $port started with features $f: RING_PACKED is $packed, want $want (ring=$TP_RING)"
		n=$((n + 1))
	done < <(device_rings "$logf")
	[ "$n" -gt 0 ] || fail "vhostd logged no 'device started, features' line"
	log "ring layout: $n device start(s), as asked ($TP_RING)"
}

# Pages one side of the loop preallocates with -m 256 (2 MB pages).
TP_PAGES_PER_PROC=128

TP_PREFIXES=""  # EAL file prefixes we used: hugepage files to remove
TP_OWN_PIDS=""  # processes to stop gracefully before lib.sh's cleanup

# tp_choose_mem: sets TP_HUGE, TP_BE_MEM (backend) and TP_FE_MEM (frontend).
# One decision for both sides, made before either starts: hugepages when
# there are enough free for both processes, else --no-huge as the field notes
# describe (the frontend then also needs --iova-mode=va).
tp_choose_mem() {
	local free
	free=$(hugepages_free)
	if [ "${TP_NOHUGE:-0}" != 1 ] && [ "${free:-0}" -ge $((2 * TP_PAGES_PER_PROC + 32)) ]; then
		TP_HUGE=1
		TP_BE_MEM="-m 256"
		TP_FE_MEM=$(frontend_mem_args) # hugepage variant: free >= 256
	else
		TP_HUGE=0
		TP_BE_MEM="--no-huge -m 512"
		TP_FE_MEM="--no-huge --single-file-segments -m 512 --iova-mode=va"
	fi
	log "memory: hugepages free=${free:-?} -> $([ $TP_HUGE = 1 ] && echo hugepages || echo no-huge);" \
		"backend '$TP_BE_MEM', frontend '$TP_FE_MEM'"
}

tp_have_testpmd() {
	need_cmd dpdk-testpmd "apt-get install dpdk"
	need_cmd stdbuf "apt-get install coreutils"
}

# tp_remove_prefix_files PREFIX: what an EAL process with that --file-prefix
# leaves behind once it is gone (hugepage files are kept on exit unless
# --in-memory/--huge-unlink; the runtime dir always).
tp_remove_prefix_files() {
	[ -n "$1" ] || return 0
	rm -f /dev/hugepages/"$1"map_* 2>/dev/null
	rm -rf /var/run/dpdk/"$1" 2>/dev/null
}

tp_register_prefix() { TP_PREFIXES="$TP_PREFIXES $1"; }

# tp_stop PID TIMEOUT_S [SIGNAL]: SIGNAL (default INT), wait up to
# TIMEOUT_S, then SIGKILL.
# Sets TP_RC to the exit status (137 for a process we had to kill). Not for
# use in $(...): a subshell cannot wait for its parent's children.
tp_stop() {
	local pid=$1 t=$2 sig=${3:-INT} _
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 $((t * 50))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid still alive ${t}s after SIG$sig: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	TP_RC=0
	wait "$pid" 2>/dev/null || TP_RC=$?
}

tp_forget_pid() {
	local p out=""
	for p in $TP_OWN_PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	TP_OWN_PIDS=$out
}

# Stop what is still running (frontends first, they are started last),
# then remove the prefixes' files. Runs from lib.sh's EXIT trap.
tp_cleanup() {
	local p rev=""
	for p in $TP_OWN_PIDS; do rev="$p $rev"; done
	for p in $rev; do
		kill -0 "$p" 2>/dev/null && tp_stop "$p" 5
	done
	TP_OWN_PIDS=""
	for p in $TP_PREFIXES; do tp_remove_prefix_files "$p"; done
	if [ -n "${TP_KEEP_LOGS:-}" ]; then
		mkdir -p "$TP_KEEP_LOGS" && cp "$VHD_TMP"/*.log "$TP_KEEP_LOGS"/ 2>/dev/null
	fi
}
vhd_cleanup_hook() { tp_cleanup; }

# tp_wait_log PATTERN FILE TIMEOUT_S PID: like wait_for, but gives up as
# soon as PID is gone.
tp_wait_log() {
	local _
	for _ in $(seq 1 $(($3 * 10))); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || { grep -q -- "$1" "$2" 2>/dev/null; return; }
		sleep 0.1
	done
	return 1
}

# tp_start_backend MODE SOCK0 SOCK1 PREFIX LOG: starts vhostd (or testpmd
# with net_vhost ports when BACKEND=testpmd) serving two sockets; sets
# TP_BE_PID. Waits for "vhostd: ready" and both socket files.
# TP_SOCK_OPTS0 / TP_SOCK_OPTS1: vhostd --socket suboptions for each port
# (e.g. ",mtu=1500"); TP_BE_ARGS: more testpmd app args for BACKEND=testpmd.
tp_start_backend() {
	local mode=$1 s0=$2 s1=$3 prefix=$4 logf=$5
	tp_register_prefix "$prefix"
	if [ "$TP_BACKEND" = vhostd ]; then
		# shellcheck disable=SC2086 # word splitting of the memory args is wanted
		"$VHOSTD" --socket "$s0${TP_SOCK_OPTS0:-}" --socket "$s1${TP_SOCK_OPTS1:-}" \
			--fwd "$mode" --stats 1 \
			-- --lcores=0@0,1@1 --file-prefix="$prefix" --no-pci $TP_BE_MEM \
			</dev/null >"$logf" 2>&1 &
	else
		# shellcheck disable=SC2086
		stdbuf -oL dpdk-testpmd --lcores=0@0,1@1 --file-prefix="$prefix" --no-pci $TP_BE_MEM \
			--vdev "net_vhost0,iface=$s0,queues=1" --vdev "net_vhost1,iface=$s1,queues=1" \
			-- --forward-mode=io --nb-cores=1 --stats-period 1 --total-num-mbufs=16384 \
			${TP_BE_ARGS:-} </dev/null >"$logf" 2>&1 &
	fi
	TP_BE_PID=$!
	track_pid "$TP_BE_PID"
	TP_OWN_PIDS="$TP_OWN_PIDS $TP_BE_PID"
	if [ "$TP_BACKEND" = vhostd ]; then
		tp_wait_log "vhostd: ready" "$logf" 30 "$TP_BE_PID" || {
			tail -n 30 "$logf" >&2
			kill -0 "$TP_BE_PID" 2>/dev/null || fail "vhostd exited during start-up (log above)"
			fail "vhostd did not print 'vhostd: ready' within 30 s"
		}
	fi
	wait_for_socket "$s0" 30 && wait_for_socket "$s1" 30 || {
		tail -n 30 "$logf" >&2
		fail "$TP_BACKEND did not create $s0 and $s1 within 30 s"
	}
	kill -0 "$TP_BE_PID" 2>/dev/null || {
		tail -n 30 "$logf" >&2
		fail "$TP_BACKEND exited right after start"
	}
	log "$TP_BACKEND (pid $TP_BE_PID, --fwd $mode) serves $s0 and $s1"
}

# tp_start_frontend SOCK0 SOCK1 PREFIX LOG [extra testpmd app args...]:
# testpmd with two virtio-user ports, io forwarding, --tx-first, stats every
# second until SIGINT. Ports get fixed MACs and each other as --eth-peer, so
# in l2 mode the tx_first packets are unicast to a MAC vhostd can learn.
# Sets TP_FE_PID.
TP_MAC0=02:00:00:00:0a:00
TP_MAC1=02:00:00:00:0b:00
tp_start_frontend() {
	local s0=$1 s1=$2 prefix=$3 logf=$4
	shift 4
	tp_register_prefix "$prefix"
	# stdbuf: testpmd printf()s its periodic stats; without line buffering a
	# log file sees them late or not at all.
	# shellcheck disable=SC2086
	stdbuf -oL dpdk-testpmd --lcores=0@1,1@0 --file-prefix="$prefix" --no-pci $TP_FE_MEM \
		--vdev "net_virtio_user0,path=$s0,queues=1,mac=$TP_MAC0$TP_VDEV_OPTS0${TP_VDEV_EXTRA:-}" \
		--vdev "net_virtio_user1,path=$s1,queues=1,mac=$TP_MAC1$TP_VDEV_OPTS1${TP_VDEV_EXTRA:-}" \
		-- --forward-mode=io --nb-cores=1 --tx-first --stats-period 1 \
		--total-num-mbufs=16384 --eth-peer=0,$TP_MAC1 --eth-peer=1,$TP_MAC0 "$@" \
		</dev/null >"$logf" 2>&1 &
	TP_FE_PID=$!
	track_pid "$TP_FE_PID"
	TP_OWN_PIDS="$TP_OWN_PIDS $TP_FE_PID"
}

# tp_run_frontend SECONDS SOCK0 SOCK1 PREFIX LOG [extra testpmd app args...]:
# runs the frontend for about SECONDS of forwarding (counted from its first
# periodic stats block), stops it with SIGINT and checks it exited 0. Sets
# TP_RX0 TP_TX0 TP_RX1 TP_TX1 from its final "Forward statistics" blocks.
tp_run_frontend() {
	local secs=$1 s0=$2 s1=$3 prefix=$4 logf=$5
	shift 5
	tp_start_frontend "$s0" "$s1" "$prefix" "$logf" "$@"
	if ! tp_wait_log "Port statistics" "$logf" 30 "$TP_FE_PID"; then
		tail -n 30 "$logf" >&2
		kill -0 "$TP_FE_PID" 2>/dev/null || fail "frontend testpmd exited during start-up (log above)"
		fail "frontend testpmd did not start forwarding within 30 s"
	fi
	sleep "$secs"
	kill -0 "$TP_FE_PID" 2>/dev/null || {
		tail -n 30 "$logf" >&2
		fail "frontend testpmd died while forwarding"
	}
	tp_stop "$TP_FE_PID" 15
	tp_forget_pid "$TP_FE_PID"
	tp_remove_prefix_files "$prefix"
	[ "$TP_RC" -eq 0 ] || {
		tail -n 30 "$logf" >&2
		fail "frontend testpmd exit status $TP_RC after SIGINT, want 0"
	}
	tp_parse_forward_stats "$logf"
	log "frontend: port0 RX=$TP_RX0 TX=$TP_TX0, port1 RX=$TP_RX1 TX=$TP_TX1" \
		"(last Rx-pps: $(tp_last_rx_pps "$logf"))"
}

# tp_parse_forward_stats LOG: final per-port counters testpmd prints on exit:
#   ---------------------- Forward statistics for port 0  ----------------------
#   RX-packets: 3559680        RX-dropped: 0             RX-total: 3559680
#   TX-packets: 3559456        TX-dropped: 0             TX-total: 3559456
tp_parse_forward_stats() {
	local v
	v=$(awk '
		/Forward statistics for port/ { port = $6; next }
		port != "" && /RX-packets:/ { rx[port] = $2 }
		port != "" && /TX-packets:/ { tx[port] = $2; port = "" }
		END { if ((0 in rx) && (1 in rx) && (0 in tx) && (1 in tx))
			print rx[0], tx[0], rx[1], tx[1] }' "$1")
	[ -n "$v" ] || {
		tail -n 40 "$1" >&2
		fail "no final 'Forward statistics' for ports 0 and 1 in $1"
	}
	# shellcheck disable=SC2086
	set -- $v
	TP_RX0=$1 TP_TX0=$2 TP_RX1=$3 TP_TX1=$4
}

# tp_last_rx_pps LOG: "p0+p1" from the last periodic stats block.
tp_last_rx_pps() {
	awk '/NIC statistics for port/ { port = $(NF-1) }
		/Rx-pps:/ { pps[port] = $2 }
		END { printf "%s+%s", pps[0], pps[1] }' "$1"
}

# tp_vhostd_stat LOG PORT KEY: KEY's value in the last "stats: port=PORT"
# line of vhostd's log (empty if there is none).
tp_vhostd_stat() {
	awk -v port="$2" -v key="$3" '
		$1 == "stats:" && $2 == ("port=" port) {
			for (i = 2; i <= NF; i++) {
				n = index($i, "=")
				if (n && substr($i, 1, n - 1) == key) val = substr($i, n + 1)
			}
		}
		END { print val }' "$1"
}

# tp_vhostd_stats_line LOG PORT: the last stats line of PORT, for messages.
tp_vhostd_stats_line() {
	grep "^stats: port=$2 " "$1" | tail -n 1
}

# tp_count_stats_lines LOG: how many stats lines vhostd printed so far.
tp_count_stats_lines() {
	grep -c '^stats: port=' "$1" 2>/dev/null || true
}

# tp_wait_new_stats LOG N TIMEOUT_S: wait until vhostd printed N more stats
# lines than now (a fresh line for each of N ports).
tp_wait_new_stats() {
	local before
	before=$(tp_count_stats_lines "$1")
	for _ in $(seq 1 $(($3 * 10))); do
		[ "$(tp_count_stats_lines "$1")" -ge $((before + $2)) ] && return 0
		sleep 0.1
	done
	return 1
}

# tp_check_vhostd_stats LOG PORT MIN_RX MIN_TX: the port's last stats line
# shows rx_pkts >= MIN_RX, tx_pkts >= MIN_TX (both at least 1) and errors=0.
tp_check_vhostd_stats() {
	local logf=$1 port=$2 minrx=$3 mintx=$4 rx tx err line
	[ "$minrx" -ge 1 ] || minrx=1
	[ "$mintx" -ge 1 ] || mintx=1
	line=$(tp_vhostd_stats_line "$logf" "$port")
	[ -n "$line" ] || fail "vhostd printed no stats line for port $port"
	rx=$(tp_vhostd_stat "$logf" "$port" rx_pkts)
	tx=$(tp_vhostd_stat "$logf" "$port" tx_pkts)
	err=$(tp_vhostd_stat "$logf" "$port" errors)
	case "$rx$tx$err" in
	'' | *[!0-9]*) fail "cannot parse rx_pkts/tx_pkts/errors from: $line" ;;
	esac
	[ "$err" -eq 0 ] || fail "vhostd port $port: errors=$err: $line"
	[ "$rx" -ge "$minrx" ] || fail "vhostd port $port: rx_pkts=$rx, want >= $minrx: $line"
	[ "$tx" -ge "$mintx" ] || fail "vhostd port $port: tx_pkts=$tx, want >= $mintx: $line"
	log "vhostd ok: $line"
}

# tp_close ACTUAL EXPECTED SLACK: |ACTUAL - EXPECTED| <= SLACK
tp_close() {
	local d=$(($1 - $2))
	[ "$d" -lt 0 ] && d=$((-d))
	[ "$d" -le "$3" ]
}

# ---------------------------------------------------------------------------
# Helpers for client_restart.sh, frontend_churn.sh and mem_table_change.sh.

# tp_now_us: wall-clock microseconds, without a fork when used as
# t=$(tp_now_us)... (that forks); prefer the inline form
#   t=${EPOCHREALTIME//[!0-9]/}
# which is what this prints (bash >= 5; the separator may be ',' or '.').
tp_now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# tp_ms US: microseconds as milliseconds with one decimal ("1234.5").
tp_ms() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# tp_start_vhostd MODE PREFIX LOG SOCKSPEC... [-- VHOSTD_OPTS...]: vhostd
# with one --socket per SOCKSPEC (PATH or PATH,client), --fwd MODE,
# --stats 1, pinned like tp_start_backend. Options after a literal "--" are
# added before vhostd's own "--". Waits for "vhostd: ready" and, for server
# sockets, the socket files. Sets TP_BE_PID.
tp_start_vhostd() {
	local mode=$1 prefix=$2 logf=$3 s
	local -a socks=() extra=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		socks+=(--socket "$1")
		shift
	done
	[ $# -gt 0 ] && shift && extra=("$@")
	tp_register_prefix "$prefix"
	# shellcheck disable=SC2086 # word splitting of the memory args is wanted
	"$VHOSTD" "${socks[@]}" --fwd "$mode" --stats 1 "${extra[@]}" \
		-- --lcores=0@0,1@1 --file-prefix="$prefix" --no-pci $TP_BE_MEM \
		</dev/null >"$logf" 2>&1 &
	TP_BE_PID=$!
	track_pid "$TP_BE_PID"
	TP_OWN_PIDS="$TP_OWN_PIDS $TP_BE_PID"
	tp_wait_log "vhostd: ready" "$logf" 30 "$TP_BE_PID" || {
		tail -n 30 "$logf" >&2
		kill -0 "$TP_BE_PID" 2>/dev/null || fail "vhostd exited during start-up (log above)"
		fail "vhostd did not print 'vhostd: ready' within 30 s"
	}
	for s in "${socks[@]}"; do
		case $s in
		--socket | *,client*) continue ;;
		esac
		wait_for_socket "$s" 30 || fail "vhostd did not create $s within 30 s"
	done
	log "vhostd (pid $TP_BE_PID, --fwd $mode ${extra[*]}) serves ${socks[*]}"
}

# tp_count LOG PATTERN: how many lines of LOG match the extended regex.
tp_count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

# tp_wait_count LOG PATTERN N TIMEOUT_S [PID]: wait until at least N lines
# of LOG match PATTERN (gives up early when PID is gone).
tp_wait_count() {
	local _
	for _ in $(seq 1 $(($4 * 50))); do
		[ "$(tp_count "$1" "$2")" -ge "$3" ] && return 0
		[ -n "${5:-}" ] && ! kill -0 "$5" 2>/dev/null && break
		sleep 0.02
	done
	[ "$(tp_count "$1" "$2")" -ge "$3" ]
}

# --- an interactive testpmd fed through a fifo ---------------------------
# tp_ia_start PREFIX LOG EAL_ARGS... -- -i APP_ARGS...: dpdk-testpmd
# whose stdin is a fifo this shell holds open read-write (so opening never
# blocks and testpmd never sees EOF). Sets TP_IA_PID, TP_IA_LOG, TP_IA_FD.
# One interactive testpmd at a time.
tp_ia_start() {
	local prefix=$1 logf=$2
	shift 2
	tp_register_prefix "$prefix"
	TP_IA_FIFO=$VHD_TMP/$prefix.cmd
	TP_IA_LOG=$logf
	rm -f "$TP_IA_FIFO"
	mkfifo "$TP_IA_FIFO" || fail "mkfifo $TP_IA_FIFO"
	exec {TP_IA_FD}<>"$TP_IA_FIFO"
	stdbuf -oL dpdk-testpmd --file-prefix="$prefix" "$@" \
		<"$TP_IA_FIFO" >"$logf" 2>&1 &
	TP_IA_PID=$!
	track_pid "$TP_IA_PID"
	TP_OWN_PIDS="$TP_OWN_PIDS $TP_IA_PID"
}

# tp_ia_prompts: how many "testpmd> " prompts the interactive testpmd printed.
tp_ia_prompts() { grep -o 'testpmd> ' "$TP_IA_LOG" 2>/dev/null | wc -l; }

# tp_ia_wait_prompt TIMEOUT_S: wait for the first prompt (start-up done).
tp_ia_wait_prompt() {
	local _
	for _ in $(seq 1 $(($1 * 50))); do
		[ "$(tp_ia_prompts)" -ge 1 ] && return 0
		kill -0 "$TP_IA_PID" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# tp_ia_cmd CMD [TIMEOUT_S]: type CMD and wait until testpmd prints its next
# prompt, i.e. until the command finished. Returns 1 on timeout or death.
tp_ia_cmd() {
	local n _
	n=$(tp_ia_prompts)
	printf '%s\n' "$1" >&"$TP_IA_FD"
	for _ in $(seq 1 $((${2:-10} * 50))); do
		[ "$(tp_ia_prompts)" -gt "$n" ] && return 0
		kill -0 "$TP_IA_PID" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# tp_ia_cmd_ok CMD [TIMEOUT_S]: tp_ia_cmd or fail the test.
tp_ia_cmd_ok() {
	tp_ia_cmd "$@" || {
		tail -n 30 "$TP_IA_LOG" >&2
		kill -0 "$TP_IA_PID" 2>/dev/null || fail "interactive testpmd died during '$1'"
		fail "interactive testpmd did not finish '$1' within ${2:-10} s"
	}
}

# tp_ia_rx PORT: RX-packets of PORT in the last "show port stats" output.
tp_ia_rx() {
	awk -v p="$1" '/NIC statistics for port/ { cur = ($(NF - 1) == p) }
		cur && /RX-packets:/ { v = $2; cur = 0 }
		END { print v + 0 }' "$TP_IA_LOG"
}

# tp_ia_quit TIMEOUT_S: "quit", wait for the exit (SIGINT, then SIGKILL, if
# it hangs); sets TP_RC.
tp_ia_quit() {
	local _
	printf 'quit\n' >&"$TP_IA_FD"
	for _ in $(seq 1 $(($1 * 50))); do
		kill -0 "$TP_IA_PID" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$TP_IA_PID" 2>/dev/null; then
		log "interactive testpmd still alive ${1}s after 'quit'"
		tp_stop "$TP_IA_PID" 5
		[ "$TP_RC" -eq 0 ] && TP_RC=124
	else
		TP_RC=0
		wait "$TP_IA_PID" 2>/dev/null || TP_RC=$?
	fi
	tp_forget_pid "$TP_IA_PID"
	exec {TP_IA_FD}>&-
	rm -f "$TP_IA_FIFO"
}

# --- vhostd's periodic stats blocks --------------------------------------
# tp_stats_block LOG FROM_LINE NPORTS: the first complete stats block
# ("stats: daemon" line and NPORTS port lines) that starts after line
# FROM_LINE, as one line of KEY=VALUE words:
#   line=N in_use=N rss=N p0_state=up p0_rx_pkts=N p0_tx_pkts=N p0_errors=N ...
# Empty if there is none yet.
tp_stats_block() {
	awk -v from="$2" -v np="$3" '
		NR <= from { next }
		$1 == "stats:" && $2 == "daemon" {
			start = NR; out = "line=" NR; seen = 0
			for (i = 3; i <= NF; i++) {
				sub(/^mbufs_in_use=/, "in_use=", $i); sub(/^rss_kib=/, "rss=", $i)
				out = out " " $i
			}
			next
		}
		start && $1 == "stats:" && $2 ~ /^port=/ {
			p = substr($2, 6)
			for (i = 4; i <= NF; i++) out = out " p" p "_" $i
			if (++seen == np) { print out; exit }
		}' "$1"
}

# tp_wait_stats_block LOG FROM_LINE NPORTS TIMEOUT_S PID: waits for
# tp_stats_block LOG FROM_LINE NPORTS and puts it into BLOCK; fails the test
# when the process PID (which writes LOG) dies or TIMEOUT_S passes first.
tp_wait_stats_block() {
	local _
	for _ in $(seq 1 $(($4 * 50))); do
		BLOCK=$(tp_stats_block "$1" "$2" "$3")
		[ -n "$BLOCK" ] && return 0
		kill -0 "$5" 2>/dev/null || fail "vhostd died (log: $(tail -n 5 "$1"))"
		sleep 0.02
	done
	fail "no vhostd stats block after line $2 within $4 s"
}

# tp_block_errors_zero WORDS NPORTS CONTEXT: fails the test unless every port
# of a tp_stats_block line has errors=0.
tp_block_errors_zero() {
	local p e
	for p in $(seq 0 $(($2 - 1))); do
		e=$(tp_kv "$1" "p${p}_errors")
		[ "$e" = 0 ] || fail "${3:+$3: }port $p errors=$e: $1"
	done
}

# tp_kv WORDS KEY: the value of KEY=... in a tp_stats_block line.
tp_kv() {
	local w
	for w in $1; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return; }
	done
}

# tp_lines LOG: the number of lines LOG has now.
tp_lines() { wc -l <"$1"; }

# tp_tel_open PREFIX: a python3 coprocess holding one connection to the EAL
# telemetry socket of --file-prefix PREFIX (one connection for the whole
# test: vhostd serves each client from a thread of its own). Needs python3.
# tp_tel_ports then prints vhostd's "/vhostd/daemon" and "/vhostd/port,N" right now, in the format
# of tp_stats_block: "in_use=N p0_state=up p0_rx_pkts=N p0_tx_pkts=N
# p0_errors=N p0_drops=N ..." (empty on error). tp_tel_close ends it.
tp_tel_open() {
	coproc TP_TEL {
		exec python3 -u -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(65536)  # the greeting
for _ in sys.stdin:
    try:
        s.send(b"/vhostd/daemon")
        daemon = json.loads(s.recv(1 << 20).decode())["/vhostd/daemon"]
        out = ["in_use=%d" % daemon["mbufs_in_use"]]
        for i in range(daemon["ports"]):
            s.send(b"/vhostd/port,%d" % i)
            v = json.loads(s.recv(1 << 20).decode())["/vhostd/port"]
            for f in ("state", "rx_pkts", "tx_pkts", "errors", "drops"):
                out.append("p%d_%s=%s" % (i, f, v[f]))
        print(" ".join(out))
    except Exception as e:
        print("")
' "/var/run/dpdk/$1/dpdk_telemetry.v2" 2>/dev/null
	}
	track_pid "$TP_TEL_PID"
	TP_TEL_OUT=${TP_TEL[0]} TP_TEL_IN=${TP_TEL[1]}
}
tp_tel_ports() {
	local line=""
	printf 'q\n' 1>&"$TP_TEL_IN" 2>/dev/null || return 0
	read -r -t 10 line <&"$TP_TEL_OUT" || true
	echo "$line"
}
tp_tel_close() {
	eval "exec $TP_TEL_IN>&-" 2>/dev/null
	wait "$TP_TEL_PID" 2>/dev/null
}

# tp_stats_blocks LOG FROM_LINE NPORTS: every complete stats block after
# FROM_LINE, one per line: "LINE IN_USE RSS_KIB STATE0 STATE1 ... RX0 RX1 ...
# ERRORS" (states and rx_pkts for ports 0..NPORTS-1, errors summed).
tp_stats_blocks() {
	awk -v from="$2" -v np="$3" '
		function flush() {
			if (seen != np) return
			out = start " " inuse " " rss
			for (p = 0; p < np; p++) out = out " " st[p]
			for (p = 0; p < np; p++) out = out " " rx[p]
			print out " " err
		}
		NR <= from { next }
		$1 == "stats:" && $2 == "daemon" {
			flush(); start = NR; seen = 0; err = 0
			for (i = 3; i <= NF; i++) {
				n = index($i, "=")
				if (substr($i, 1, n - 1) == "mbufs_in_use") inuse = substr($i, n + 1)
				if (substr($i, 1, n - 1) == "rss_kib") rss = substr($i, n + 1)
			}
			next
		}
		start && $1 == "stats:" && $2 ~ /^port=/ {
			p = substr($2, 6); seen++
			for (i = 3; i <= NF; i++) {
				n = index($i, "="); k = substr($i, 1, n - 1); v = substr($i, n + 1)
				if (k == "state") st[p] = v
				if (k == "rx_pkts") rx[p] = v
				if (k == "errors") err += v
			}
		}
		END { flush() }' "$1"
}
