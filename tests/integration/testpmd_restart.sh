#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# testpmd_restart.sh: frontends come and go, vhostd stays.
#
# One vhostd (--fwd pair, two server sockets) serves three dpdk-testpmd
# virtio-user frontends in turn, each forwarding (io, --tx-first) for a few
# seconds and then stopped with SIGINT. Each cycle must forward on both ports;
# vhostd must stay alive, its counters must grow by what each frontend sent
# and received, with errors=0; the final SIGINT must exit 0 and remove the
# sockets.
#
# Pinning, memory and BACKEND=testpmd as in testpmd_forward.sh. An argument
# packed (or TP_RING=packed) gives the frontends packed rings: each new one
# starts its rings afresh (wrap counters set), and vhostd must take them up.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

tp_set_ring "${1:-$TP_RING}"
CYCLES=${TP_CYCLES:-3}
RUN_S=${TP_RUN_S:-3}
MIN_RX=${TP_MIN_RX:-10000}
SLACK=1024

tp_have_testpmd
[ "$TP_BACKEND" = vhostd ] && VHOSTD=$(find_vhostd)
tp_choose_mem

S0=$VHD_TMP/p0.sock
S1=$VHD_TMP/p1.sock
BE_LOG=$VHD_TMP/backend.log

tp_start_backend pair "$S0" "$S1" "vhd-rst$$" "$BE_LOG"

prev_rx0=0 prev_tx0=0 prev_rx1=0 prev_tx1=0
for c in $(seq 1 "$CYCLES"); do
	log "--- cycle $c/$CYCLES"
	FE_LOG=$VHD_TMP/frontend$c.log
	tp_run_frontend "$RUN_S" "$S0" "$S1" "vhd-rstfe$$c$c" "$FE_LOG"
	[ "$TP_RX0" -gt "$MIN_RX" ] && [ "$TP_RX1" -gt "$MIN_RX" ] || {
		grep -E "Rx-pps|RX-packets|TX-packets" "$FE_LOG" | tail -n 12 >&2
		[ "$TP_BACKEND" = vhostd ] && grep '^stats:' "$BE_LOG" | tail -n 4 >&2
		fail "cycle $c: frontend RX port0=$TP_RX0 port1=$TP_RX1, want > $MIN_RX each"
	}

	# The backend must outlive its frontend.
	[ "$TP_BACKEND" = vhostd ] && { tp_wait_new_stats "$BE_LOG" 2 5 ||
		log "warning: no fresh vhostd stats lines after the frontend stopped"; }
	sleep 0.5
	kill -0 "$TP_BE_PID" 2>/dev/null || {
		tail -n 30 "$BE_LOG" >&2
		fail "cycle $c: $TP_BACKEND died after the frontend went away"
	}
	[ -S "$S0" ] && [ -S "$S1" ] || fail "cycle $c: socket files gone while $TP_BACKEND runs"

	if [ "$TP_BACKEND" = vhostd ]; then
		tp_check_vhostd_stats "$BE_LOG" 0 1 1
		tp_check_vhostd_stats "$BE_LOG" 1 1 1
		# Counters are cumulative: this cycle's share matches this frontend.
		for p in 0 1; do
			eval "fe_rx=\$TP_RX$p fe_tx=\$TP_TX$p prx=\$prev_rx$p ptx=\$prev_tx$p"
			v_rx=$(tp_vhostd_stat "$BE_LOG" $p rx_pkts)
			v_tx=$(tp_vhostd_stat "$BE_LOG" $p tx_pkts)
			d_rx=$((v_rx - prx)) d_tx=$((v_tx - ptx))
			[ "$d_tx" -ge "$fe_rx" ] && tp_close "$d_tx" "$fe_rx" $SLACK ||
				fail "cycle $c port $p: vhostd tx_pkts grew by $d_tx, the frontend received $fe_rx (slack $SLACK)"
			[ "$d_rx" -le "$fe_tx" ] && tp_close "$d_rx" "$fe_tx" $SLACK ||
				fail "cycle $c port $p: vhostd rx_pkts grew by $d_rx, the frontend sent $fe_tx (slack $SLACK)"
			eval "prev_rx$p=$v_rx prev_tx$p=$v_tx"
		done
	fi
	log "cycle $c ok: frontend received $TP_RX0 + $TP_RX1 packets"
done

tp_stop "$TP_BE_PID" 15
tp_forget_pid "$TP_BE_PID"
[ "$TP_RC" -eq 0 ] || {
	tail -n 30 "$BE_LOG" >&2
	fail "$TP_BACKEND exit status $TP_RC after SIGINT, want 0"
}
if [ "$TP_BACKEND" = vhostd ]; then
	[ ! -e "$S0" ] && [ ! -e "$S1" ] || fail "socket files left after vhostd exited: $(ls "$VHD_TMP")"
fi
tp_check_ring "$BE_LOG"
log "PASS ($TP_BACKEND, ring=$TP_RING, $CYCLES frontend cycles, $([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
