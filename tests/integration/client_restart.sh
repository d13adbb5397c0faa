#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# client_restart.sh: vhostd restarts under a frontend that stays up.
#
# The frontend is one interactive dpdk-testpmd whose two virtio-user ports
# SERVE the sockets (server=1) and which is never restarted; vhostd connects
# to them as a client (--socket PATH,client, --fwd pair). vhostd is started,
# SIGTERMed and started again, ROUNDS times after a first (warm-up) start
# that lets testpmd finish its own start-up (a server=1 port blocks testpmd
# until a backend connects).
#
# Each round: exec vhostd; wait for both devices to start; "start tx_first"
# on the frontend; poll "show port stats all" until both ports' RX counters
# have grown by more than a few rings' worth (stale packets from the
# previous round cannot do that). recovery = flow time - exec time, must be
# < CR_MAX_RECOVERY_MS. The time to "vhostd: ready" (EAL and vhostd init)
# and to "device started" are reported too. Then vhostd's own stats must show
# traffic both ways on both ports and errors=0; "stop"; SIGTERM vhostd, which
# must exit 0, leave the frontend's socket files alone and print errors=0.
#
# Ring positions: virtio-user always sends VHOST_USER_SET_VRING_BASE 0 on a
# reconnect. librte_vhost notices that the ring's used->idx (in frontend
# memory, untouched by the restart) differs and logs
#   last_used_idx (0) and vq->used->idx (Y) mismatches
# and resumes from used->idx. The test checks that Y is exactly where the
# previous vhostd instances left the ring: cumulative tx_pkts mod 65536 for
# vring 0 (one used entry per 64-byte packet into the guest) and cumulative
# rx_pkts mod 65536 for vring 1 (one per packet from the guest; errors=0).
# So no completion was lost or duplicated across a restart.
#
# Pinning and memory as in testpmd_forward.sh (BACKEND=testpmd is not
# supported: net_vhost has no client reconnect to measure here).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

ROUNDS=${CR_ROUNDS:-20}
MAX_RECOVERY_MS=${CR_MAX_RECOVERY_MS:-2000}
# On this shared 2-CPU machine EAL start-up alone (hugepage mapping) has
# been seen to take 0.3-2.9 s when QEMU guests and a fuzzer run alongside.
# A round over MAX_RECOVERY_MS from exec still passes when vhostd reached
# "ready" late (EAL/init >= EAL_SLOW_MS) and recovered within
# MAX_RECOVERY_MS of "ready", but never beyond MAX_RECOVERY_MS + EAL_ALLOW_MS.
EAL_SLOW_MS=${CR_EAL_SLOW_MS:-1000}
EAL_ALLOW_MS=${CR_EAL_ALLOW_MS:-3000}
# RX growth that proves traffic flows: a port's RX ring (256) may hold
# packets from the previous round that the frontend counts on "start".
FLOW_MIN=1024

[ "$TP_BACKEND" = vhostd ] || cannot_run "client_restart.sh needs BACKEND=vhostd"
tp_have_testpmd
VHOSTD=$(find_vhostd)
tp_choose_mem

S0=$VHD_TMP/p0.sock
S1=$VHD_TMP/p1.sock
FE_LOG=$VHD_TMP/frontend.log
BE_PREFIX=vhd-cr$$
FE_PREFIX=vhd-crfe$$
tp_register_prefix "$BE_PREFIX"
T_START=$SECONDS

# ---- the frontend: interactive, serving both sockets
# shellcheck disable=SC2086 # word splitting of the memory args is wanted
tp_ia_start "$FE_PREFIX" "$FE_LOG" --lcores=0@1,1@0 --no-pci $TP_FE_MEM \
	--vdev "net_virtio_user0,path=$S0,queues=1,server=1,mac=$TP_MAC0" \
	--vdev "net_virtio_user1,path=$S1,queues=1,server=1,mac=$TP_MAC1" \
	-- -i --forward-mode=io --nb-cores=1 --total-num-mbufs=16384 \
	--eth-peer=0,$TP_MAC1 --eth-peer=1,$TP_MAC0
FE_PID=$TP_IA_PID
wait_for_socket "$S0" 30 || {
	tail -n 20 "$FE_LOG" >&2
	fail "the frontend did not create $S0 within 30 s"
}
log "frontend testpmd (pid $FE_PID) serves $S0 and $S1"

# start_vhostd ROUND: exec vhostd as a client of both sockets; sets BE_PID,
# BE_LOG, T_EXEC.
start_vhostd() {
	BE_LOG=$VHD_TMP/vhostd$1.log
	T_EXEC=${EPOCHREALTIME//[!0-9]/}
	# shellcheck disable=SC2086
	"$VHOSTD" --socket "$S0,client" --socket "$S1,client" --fwd pair --stats 1 \
		-- --lcores=0@0,1@1 --file-prefix="$BE_PREFIX" --no-pci $TP_BE_MEM \
		</dev/null >"$BE_LOG" 2>&1 &
	BE_PID=$!
	track_pid "$BE_PID"
	TP_OWN_PIDS="$TP_OWN_PIDS $BE_PID"
}

# wait_devices TIMEOUT_S: polls vhostd's log every 20 ms; sets T_READY
# ("vhostd: ready") and T_UP (both "device started").
wait_devices() {
	local _ now
	T_READY="" T_UP=""
	for _ in $(seq 1 $(($1 * 50))); do
		now=${EPOCHREALTIME//[!0-9]/}
		if [ -z "$T_READY" ] && grep -q 'vhostd: ready' "$BE_LOG" 2>/dev/null; then
			T_READY=$now
		fi
		if [ -n "$T_READY" ] && [ "$(tp_count "$BE_LOG" 'new_device: port [01] .*device started')" -ge 2 ]; then
			T_UP=$now
			return 0
		fi
		kill -0 "$BE_PID" 2>/dev/null || break
		sleep 0.02
	done
	tail -n 30 "$BE_LOG" >&2
	kill -0 "$BE_PID" 2>/dev/null || fail "vhostd exited during start-up (log above)"
	fail "vhostd: both devices not started within $1 s"
}

# wait_flow BASE0 BASE1 TIMEOUT_S: polls the frontend's port stats until both
# RX counters exceed BASE + FLOW_MIN; sets T_FLOW, RX0, RX1.
wait_flow() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -le $end ]; do
		tp_ia_cmd_ok "show port stats all"
		RX0=$(tp_ia_rx 0) RX1=$(tp_ia_rx 1)
		[ -n "${CR_TRACE:-}" ] && log "trace: +$(tp_ms $((${EPOCHREALTIME//[!0-9]/} - T_EXEC))) ms rx $RX0 $RX1"
		if [ "$RX0" -gt $(($1 + FLOW_MIN)) ] && [ "$RX1" -gt $(($2 + FLOW_MIN)) ]; then
			T_FLOW=${EPOCHREALTIME//[!0-9]/}
			return 0
		fi
		sleep 0.02
	done
	grep '^stats:' "$BE_LOG" | tail -n 3 >&2
	fail "no traffic within $3 s: frontend RX port0=$RX0 (was $1) port1=$RX1 (was $2)"
}

# ring_used_idx LOG PATH VRING: what librte_vhost found in used->idx when the
# frontend set VRING's base on its first set-up in LOG: Y from the
# "mismatches" warning, or the logged last_used_idx when there was none.
ring_used_idx() {
	awk -v path="($2)" -v want="$3" '
		index($0, path) == 0 { next }
		/vring base idx:[0-9]+ last_used_idx:/ {
			s = $0; sub(/.*vring base idx:/, "", s); cur = s; sub(/ .*/, "", cur)
			t = $0; sub(/.*last_used_idx:/, "", t); sub(/ .*/, "", t)
			if (!(cur in val)) { val[cur] = t; open[cur] = 1 } else open[cur] = 0
			next
		}
		/mismatches/ && open[cur] {
			n = split($0, a, /[()]/); val[cur] = a[n - 1]; open[cur] = 0
		}
		END { if (want in val) print val[want] }' "$1"
}

# final_stat LOG PORT KEY: KEY from the last stats line of PORT (printed at exit).
final_stat() { tp_vhostd_stat "$1" "$2" "$3"; }

# shellcheck disable=SC2034 # cum_{rx,tx}{0,1} are read through eval
cum_rx0=0 cum_tx0=0 cum_rx1=0 cum_tx1=0
base0=0 base1=0
times="" max_us=0 ready_list="" up_list="" max_exit=0 slow_eal=0
mismatch_seen=0

for r in $(seq 0 "$ROUNDS"); do
	kill -0 "$FE_PID" 2>/dev/null || fail "round $r: the frontend testpmd died (it must never restart)"
	start_vhostd "$r"
	if [ "$r" -eq 0 ]; then
		# warm-up: testpmd finishes start-up once vhostd has connected both
		wait_devices 30
		tp_ia_wait_prompt 30 || {
			tail -n 20 "$FE_LOG" >&2
			fail "the frontend did not reach its prompt"
		}
	else
		wait_devices 15
	fi
	tp_ia_cmd_ok "start tx_first"
	[ -n "${CR_TRACE:-}" ] && log "trace: +$(tp_ms $((${EPOCHREALTIME//[!0-9]/} - T_EXEC))) ms start tx_first done"
	wait_flow "$base0" "$base1" 10
	rec=$((T_FLOW - T_EXEC)) rdy=$((T_READY - T_EXEC)) up=$((T_UP - T_EXEC))

	# vhostd's own view: traffic both ways on both ports, errors=0
	tp_wait_new_stats "$BE_LOG" 2 5 || fail "round $r: no fresh vhostd stats lines"
	if [ "$(tp_vhostd_stat "$BE_LOG" 0 rx_pkts)" -eq 0 ]; then
		tp_wait_new_stats "$BE_LOG" 2 5 || true
	fi
	for p in 0 1; do
		line=$(tp_vhostd_stats_line "$BE_LOG" $p)
		[ "$(tp_vhostd_stat "$BE_LOG" $p errors)" = 0 ] || fail "round $r: $line"
		[ "$(tp_vhostd_stat "$BE_LOG" $p rx_pkts)" -gt 0 ] &&
			[ "$(tp_vhostd_stat "$BE_LOG" $p tx_pkts)" -gt 0 ] ||
			fail "round $r: vhostd sees no traffic both ways: $line"
	done

	# ring positions found on this connection vs where earlier instances left them
	ring_note=""
	if [ "$r" -gt 0 ]; then
		for p in 0 1; do
			crx=0 ctx=0
			eval "S=\$S$p crx=\$cum_rx$p ctx=\$cum_tx$p"
			u0=$(ring_used_idx "$BE_LOG" "$S" 0)
			u1=$(ring_used_idx "$BE_LOG" "$S" 1)
			e0=$((ctx % 65536)) e1=$((crx % 65536))
			[ "$u0" = "$e0" ] && [ "$u1" = "$e1" ] || {
				grep -E "vring base idx|mismatch" "$BE_LOG" | grep -F "($S)" >&2
				fail "round $r port $p: librte_vhost found used->idx $u0/$u1 (vring 0/1)," \
					"previous instances left $e0/$e1 (cumulative tx=$ctx rx=$crx)"
			}
			ring_note="$ring_note p$p=$u0/$u1"
		done
		grep -q 'mismatches' "$BE_LOG" && mismatch_seen=$((mismatch_seen + 1))
	fi

	tp_ia_cmd_ok "stop"
	tp_ia_cmd_ok "show port stats all"
	base0=$(tp_ia_rx 0) base1=$(tp_ia_rx 1)

	t_term=${EPOCHREALTIME//[!0-9]/}
	tp_stop "$BE_PID" 15 TERM
	t_exit=$((${EPOCHREALTIME//[!0-9]/} - t_term))
	[ "$t_exit" -gt "$max_exit" ] && max_exit=$t_exit
	tp_forget_pid "$BE_PID"
	[ "$TP_RC" -eq 0 ] || {
		tail -n 20 "$BE_LOG" >&2
		fail "round $r: vhostd exit status $TP_RC after SIGTERM, want 0"
	}
	[ -S "$S0" ] && [ -S "$S1" ] || fail "round $r: the frontend's socket files are gone after vhostd exited"
	tp_remove_prefix_files "$BE_PREFIX"
	for p in 0 1; do
		e=$(final_stat "$BE_LOG" $p errors) frx=$(final_stat "$BE_LOG" $p rx_pkts)
		ftx=$(final_stat "$BE_LOG" $p tx_pkts)
		case "$e$frx$ftx" in '' | *[!0-9]*) fail "round $r: no final stats line for port $p" ;; esac
		[ "$e" -eq 0 ] || fail "round $r: final $(tp_vhostd_stats_line "$BE_LOG" $p)"
		eval "cum_rx$p=\$((cum_rx$p + frx)) cum_tx$p=\$((cum_tx$p + ftx))"
	done

	msg="recovery $(tp_ms $rec) ms (ready $(tp_ms $rdy) ms, devices up $(tp_ms $up) ms)"
	if [ "$r" -eq 0 ]; then
		log "warm-up start: $msg (not counted: includes the frontend's own start-up)"
		continue
	fi
	log "round $r/$ROUNDS: $msg; rings found at${ring_note}; SIGTERM -> exit 0 in $(tp_ms $t_exit) ms, errors=0"
	if [ "$rec" -ge $((MAX_RECOVERY_MS * 1000)) ]; then
		[ "$rdy" -ge $((EAL_SLOW_MS * 1000)) ] && [ $((rec - rdy)) -lt $((MAX_RECOVERY_MS * 1000)) ] &&
			[ "$rec" -lt $(((MAX_RECOVERY_MS + EAL_ALLOW_MS) * 1000)) ] ||
			fail "round $r: traffic resumed $(tp_ms $rec) ms after vhostd's exec" \
				"($(tp_ms $((rec - rdy))) ms after 'ready'), want < $MAX_RECOVERY_MS ms"
		log "round $r: over $MAX_RECOVERY_MS ms only because EAL/init took $(tp_ms $rdy) ms" \
			"(machine busy?); $(tp_ms $((rec - rdy))) ms after 'ready'"
		slow_eal=$((slow_eal + 1))
	fi
	times="$times $(tp_ms $rec)"
	ready_list="$ready_list $(tp_ms $rdy)"
	up_list="$up_list $(tp_ms $up)"
	[ "$rec" -gt "$max_us" ] && max_us=$rec
done

kill -0 "$FE_PID" 2>/dev/null || fail "the frontend testpmd died"
[ "$FE_PID" = "$TP_IA_PID" ] || fail "the frontend was restarted"
tp_ia_cmd_ok "show port stats all"
log "frontend (never restarted) RX: port0=$(tp_ia_rx 0) port1=$(tp_ia_rx 1)"
tp_ia_quit 15
[ "$TP_RC" -eq 0 ] || log "warning: frontend testpmd exit status $TP_RC after 'quit'"
tp_remove_prefix_files "$FE_PREFIX"

log "recovery times (ms, exec -> traffic):$times"
log "  of which vhostd start-up to 'ready' (EAL + init):$ready_list"
log "  and to both devices started:$up_list"
log "max recovery $(tp_ms $max_us) ms (limit $MAX_RECOVERY_MS ms; $slow_eal rounds over it" \
	"because of slow EAL start-up); max SIGTERM -> exit $(tp_ms $max_exit) ms"
log "ring positions: $mismatch_seen of $ROUNDS restarts resumed from used->idx" \
	"(librte_vhost 'mismatches' warning); all matched the previous instance's counters"
log "PASS ($ROUNDS vhostd restarts under one frontend, $((SECONDS - T_START)) s," \
	"$([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
