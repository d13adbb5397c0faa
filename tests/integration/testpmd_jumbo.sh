#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# testpmd_jumbo.sh MODE [RING]   MODE: pair | l2 | mtu, RING: split (default) | packed
#
# 9000-byte frames through vhostd: dpdk-testpmd with two virtio-user ports
# (io forwarding, --tx-first, --txpkts=9000 with 10 KiB mbufs) on two vhostd
# server sockets.
#   pair  --fwd pair: guest to guest with the single copy, no mbuf
#   l2    --fwd l2: through vhostd's mbufs (chains of five 2 KiB mbufs)
#   mtu   --fwd pair, port 1 with mtu=1500: the first burst the frontend
#         sends on port 0 is too big for port 1 and dropped as too_big, not
#         as malformed; the burst from port 1 keeps circulating to port 0.
# Checks: both ends count the packets, every one 9000 bytes (vhostd
# rx_bytes/tx_bytes, the frontend's RX-bytes), errors=0, vhostd's counters
# agree with the frontend's; in mtu mode too_big and drops on port 1 only.
# BACKEND=testpmd runs DPDK's net_vhost (--max-pkt-len=9600) instead.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

MODE=${1:-}
case $MODE in
pair | l2) FWD=$MODE ;;
mtu) FWD=pair TP_SOCK_OPTS1=",mtu=1500" ;;
*) fail "usage: $0 pair|l2|mtu [split|packed]" ;;
esac
tp_set_ring "${2:-$TP_RING}"
VHD_TEST_NAME="testpmd_jumbo.sh $MODE $TP_RING"

FRAME=9000
RUN_S=${TP_RUN_S:-5}
MIN_RX=${TP_MIN_RX:-5000} # per port that carries traffic
SLACK=1024
# --mbuf-size before --txpkts, or testpmd refuses the length (field notes)
FE_ARGS=(--mbuf-size=10240 --total-num-mbufs=8192 --max-pkt-len=9600 --txpkts=$FRAME)
TP_BE_ARGS="--max-pkt-len=9600"

tp_have_testpmd
[ "$TP_BACKEND" = vhostd ] && VHOSTD=$(find_vhostd)
tp_choose_mem

S0=$VHD_TMP/p0.sock
S1=$VHD_TMP/p1.sock
BE_LOG=$VHD_TMP/backend.log
FE_LOG=$VHD_TMP/frontend.log

tp_start_backend "$FWD" "$S0" "$S1" "vhd-jumbo$$" "$BE_LOG"
tp_run_frontend "$RUN_S" "$S0" "$S1" "vhd-jumbofe$$" "$FE_LOG" "${FE_ARGS[@]}"

# fe_rx_bytes PORT: RX-packets and RX-bytes of the port's last periodic block.
fe_rx_bytes() {
	awk -v port="$1" '/NIC statistics for port/ { p = $(NF-1); next }
		/statistics/ { p = "" }
		p == port && /RX-packets:/ && $5 == "RX-bytes:" { pk = $2; by = $6 }
		END { print pk, by }' "$FE_LOG"
}

# The frontend's receive side: packets of 9000 bytes, many of them.
for p in 0 1; do
	eval "fe_rx=\$TP_RX$p"
	if [ "$MODE" = mtu ] && [ $p = 1 ]; then
		[ "$fe_rx" -eq 0 ] || fail "frontend port 1 received $fe_rx frames over port 1's MTU"
		continue
	fi
	[ "$fe_rx" -gt "$MIN_RX" ] || {
		grep -E "Rx-pps|RX-packets|TX-packets" "$FE_LOG" | tail -n 12 >&2
		[ "$TP_BACKEND" = vhostd ] && grep '^stats:' "$BE_LOG" | tail -n 4 >&2
		fail "frontend port $p received $fe_rx packets, want > $MIN_RX"
	}
	read -r pk by <<<"$(fe_rx_bytes $p)"
	[ -n "$pk" ] && [ "$pk" -gt 0 ] && [ "$by" -eq $((pk * FRAME)) ] ||
		fail "frontend port $p: RX-bytes=$by for RX-packets=$pk, want $FRAME each"
done
log "frontend received $TP_RX0 + $TP_RX1 frames of $FRAME bytes in ~${RUN_S}s" \
	"(last Rx-pps: $(tp_last_rx_pps "$FE_LOG"))"

if [ "$TP_BACKEND" = vhostd ]; then
	tp_wait_new_stats "$BE_LOG" 2 5 || log "warning: no fresh vhostd stats lines after the frontend stopped"
	kill -0 "$TP_BE_PID" 2>/dev/null || fail "vhostd died when the frontend went away"
	for p in 0 1; do
		eval "fe_rx=\$TP_RX$p fe_tx=\$TP_TX$p"
		line=$(tp_vhostd_stats_line "$BE_LOG" $p)
		for k in rx_pkts rx_bytes tx_pkts tx_bytes drops errors too_big; do
			v=$(tp_vhostd_stat "$BE_LOG" $p $k)
			case $v in '' | *[!0-9]*) fail "no $k in: $line" ;; esac
			eval "v_$k=$v"
		done
		[ "$v_errors" -eq 0 ] || fail "port $p: errors=$v_errors (too big is not malformed): $line"
		[ "$v_rx_bytes" -eq $((v_rx_pkts * FRAME)) ] && [ "$v_tx_bytes" -eq $((v_tx_pkts * FRAME)) ] ||
			fail "port $p: bytes are not $FRAME per packet: $line"
		[ "$v_tx_pkts" -ge "$fe_rx" ] && tp_close "$v_tx_pkts" "$fe_rx" $SLACK ||
			fail "port $p: vhostd tx_pkts=$v_tx_pkts but the frontend received $fe_rx: $line"
		[ "$v_rx_pkts" -le "$fe_tx" ] && tp_close "$v_rx_pkts" "$fe_tx" $SLACK ||
			fail "port $p: vhostd rx_pkts=$v_rx_pkts but the frontend sent $fe_tx: $line"
		if [ "$MODE" = mtu ] && [ $p = 1 ]; then
			[ "$v_too_big" -ge 1 ] && [ "$v_drops" -ge "$v_too_big" ] && [ "$v_tx_pkts" -eq 0 ] ||
				fail "port 1 (mtu=1500): want too_big >= 1, in drops, nothing sent: $line"
		else
			[ "$v_too_big" -eq 0 ] || fail "port $p: too_big=$v_too_big: $line"
			[ "$v_rx_pkts" -gt "$MIN_RX" ] || [ "$MODE" = mtu ] ||
				fail "port $p: rx_pkts=$v_rx_pkts, want > $MIN_RX: $line"
		fi
		log "vhostd ok: $line"
	done
	log "lcore load: $(grep '^stats: lcore=' "$BE_LOG" | sort -t= -k3 -g | tail -n 1)"
fi

tp_stop "$TP_BE_PID" 15
tp_forget_pid "$TP_BE_PID"
[ "$TP_RC" -eq 0 ] || {
	tail -n 30 "$BE_LOG" >&2
	fail "$TP_BACKEND exit status $TP_RC after SIGINT, want 0"
}
tp_check_ring "$BE_LOG"
log "PASS ($TP_BACKEND, ring=$TP_RING, $MODE, $FRAME-byte frames, $([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
