#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# testpmd_forward.sh MODE [RING]   MODE: pair | l2, RING: split (default) | packed | mixed
#
# A real DPDK frontend against vhostd: dpdk-testpmd with two virtio-user ports
# (io forwarding, --tx-first) on two vhostd server sockets, vhostd in
# --fwd MODE. The loop recirculates the tx_first burst through vhostd for about
# 5 s. Checks: the frontend received many packets on both ports; vhostd's own
# stats show traffic both ways on both ports, no errors, and agree with the
# frontend's counters; its lcore load line shows busy time; SIGINT makes
# vhostd exit 0 and remove its sockets.
#
# Pinning: vhostd --lcores=0@0,1@1, testpmd --lcores=0@1,1@0 (the two
# forwarding lcores on different CPUs).
# Memory: hugepages when enough are free, else --no-huge (TP_NOHUGE=1 forces it).
# BACKEND=testpmd runs DPDK's own net_vhost backend instead of vhostd (to
# check the test itself); the vhostd-specific checks are skipped then.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

MODE=${1:-}
case $MODE in
pair | l2) ;;
*) fail "usage: $0 pair|l2 [split|packed|mixed]" ;;
esac
tp_set_ring "${2:-$TP_RING}"
VHD_TEST_NAME="testpmd_forward.sh $MODE $TP_RING"

RUN_S=${TP_RUN_S:-5}       # seconds of forwarding
MIN_RX=${TP_MIN_RX:-10000} # per port; a working loop does millions
# A frontend that stops leaves up to a ring's worth (256 by default) of
# packets in flight; allow a few rings of difference between the two sides.
SLACK=1024

tp_have_testpmd
[ "$TP_BACKEND" = vhostd ] && VHOSTD=$(find_vhostd)
tp_choose_mem

S0=$VHD_TMP/p0.sock
S1=$VHD_TMP/p1.sock
BE_LOG=$VHD_TMP/backend.log
FE_LOG=$VHD_TMP/frontend.log

tp_start_backend "$MODE" "$S0" "$S1" "vhd-fwd$$" "$BE_LOG"
tp_run_frontend "$RUN_S" "$S0" "$S1" "vhd-fwdfe$$" "$FE_LOG"

[ "$TP_RX0" -gt "$MIN_RX" ] && [ "$TP_RX1" -gt "$MIN_RX" ] || {
	grep -E "Rx-pps|RX-packets|TX-packets" "$FE_LOG" | tail -n 12 >&2
	[ "$TP_BACKEND" = vhostd ] && grep '^stats:' "$BE_LOG" | tail -n 4 >&2
	fail "frontend RX port0=$TP_RX0 port1=$TP_RX1, want > $MIN_RX each"
}
log "forwarding ok: frontend received $TP_RX0 + $TP_RX1 packets in ~${RUN_S}s"

if [ "$TP_BACKEND" = vhostd ]; then
	# Take the counters after the frontend is gone: one fresh line per port.
	tp_wait_new_stats "$BE_LOG" 2 5 || log "warning: no fresh vhostd stats lines after the frontend stopped"
	kill -0 "$TP_BE_PID" 2>/dev/null || {
		tail -n 30 "$BE_LOG" >&2
		fail "vhostd died when the frontend went away"
	}
	tp_check_vhostd_stats "$BE_LOG" 0 "$MIN_RX" "$MIN_RX"
	tp_check_vhostd_stats "$BE_LOG" 1 "$MIN_RX" "$MIN_RX"

	# vhostd tx on port p = what the frontend received on p (less what was
	# left in the ring); vhostd rx on p = what the frontend sent on p.
	for p in 0 1; do
		eval "fe_rx=\$TP_RX$p fe_tx=\$TP_TX$p"
		v_rx=$(tp_vhostd_stat "$BE_LOG" $p rx_pkts)
		v_tx=$(tp_vhostd_stat "$BE_LOG" $p tx_pkts)
		[ "$v_tx" -ge "$fe_rx" ] && tp_close "$v_tx" "$fe_rx" $SLACK ||
			fail "port $p: vhostd tx_pkts=$v_tx but the frontend received $fe_rx (slack $SLACK)"
		[ "$v_rx" -le "$fe_tx" ] && tp_close "$v_rx" "$fe_tx" $SLACK ||
			fail "port $p: vhostd rx_pkts=$v_rx but the frontend sent $fe_tx (slack $SLACK)"
	done
	log "vhostd counters agree with the frontend's"

	# The worker's load lines: while it forwarded, part of its time was busy
	# and each busy loop moved at least one packet; no share is above 100%.
	loaded=$(awk -F'[ =]' '$1 == "stats:" && $2 == "lcore" && $5 > 0 && $7 >= 1 && $9 > 0' "$BE_LOG" | wc -l)
	over=$(awk -F'[ =]' '$1 == "stats:" && $2 == "lcore" && ($5 > 100 || $5 < 0)' "$BE_LOG" | wc -l)
	[ "$loaded" -ge 1 ] && [ "$over" -eq 0 ] || {
		grep '^stats: lcore=' "$BE_LOG" >&2
		fail "lcore load lines: $loaded show work, $over are out of range"
	}
	log "lcore load: $(grep '^stats: lcore=' "$BE_LOG" | sort -t= -k3 -g | tail -n 1)"
fi

tp_stop "$TP_BE_PID" 15
tp_forget_pid "$TP_BE_PID"
[ "$TP_RC" -eq 0 ] || {
	tail -n 30 "$BE_LOG" >&2
	fail "$TP_BACKEND exit status $TP_RC after SIGINT, want 0"
}
if [ "$TP_BACKEND" = vhostd ]; then
	[ ! -e "$S0" ] && [ ! -e "$S1" ] || fail "socket files left after vhostd exited: $(ls "$VHD_TMP")"
	# "Same lines are printed once more at exit"
	tail -n 2 "$BE_LOG" | grep -q '^stats: port=1 ' || log "warning: no stats lines at the end of vhostd's log"
fi
tp_check_ring "$BE_LOG"
log "PASS ($TP_BACKEND, ring=$TP_RING, --fwd $MODE, $([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
