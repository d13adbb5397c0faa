#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# uplink_testpmd.sh [l2|pair]
#
# An uplink (issue 10): vhostd with one vhost-user port and one uplink,
# --uplink net_af_packet0,iface=HOST_END, the other end of the veth pair in
# a network namespace of this test's own (10.0.0.2/24, MAC 02:00:00:00:0b:00,
# transmit checksum offload off).
#
#   1. Frames both ways. A dpdk-testpmd virtio-user frontend (interactive,
#      rxonly after `start tx_first 4`) sends 4 bursts of 32 UDP frames to
#      10.0.0.2 port 9 at the namespace's MAC; in the namespace
#      ns_frames.py counts them at the interface and at a UDP socket bound
#      to port 9 (the kernel's own IP and UDP checks passed). Then
#      ns_frames.py sends 100 raw frames (EtherType 0x88b5) to testpmd's
#      MAC, and testpmd counts what it receives: every frame the namespace's
#      interface sent (ours, and anything its kernel sends on its own).
#   2. Offloads in software. net_af_packet offers no checksum or TSO, so
#      vhostd completes checksums and cuts TSO frames itself: a second
#      testpmd replays offload_pcap.py's TCP frames (IPv4 and IPv6, up to
#      65160 payload bytes, 2 KiB mbufs) through its virtio-user port with
#      `csum set tcp hw` and `tso set MSS` (as testpmd_offload.sh); the
#      namespace captures what arrives, and offload_pcap.py checks it as
#      segments: at most MSS payload bytes each, every checksum valid, the
#      payload byte for byte.
#
# Checks, with exact counts: testpmd sent 128, the namespace received 128
# (interface and socket); testpmd received exactly what the namespace sent;
# vhostd's stats: the uplink tx_pkts 128 and rx_pkts what the namespace sent,
# link=up, drops=0, errors=0, too_big=0, the vhost port the other way round;
# after the offload run the uplink's tx_pkts grew by exactly the segments
# offload_pcap.py expects, still with no drop; vhostd exits 0 on SIGINT.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"
# shellcheck source=tests/integration/uplink_lib.sh
. "$(dirname "$0")/uplink_lib.sh"

FWD=${1:-l2}
case $FWD in
l2 | pair) ;;
*) fail "usage: $0 [l2|pair]" ;;
esac
VHD_TEST_NAME="uplink_testpmd.sh $FWD"
[ "$TP_BACKEND" = vhostd ] || fail "this test is about vhostd's uplink (BACKEND=vhostd)"

NS_MAC=02:00:00:00:0b:00
TP_MAC=02:00:00:00:0a:00
NS_IP=10.0.0.2
TP_IP=10.0.0.1
BURSTS=4
BURST=32
WANT_TX=$((BURSTS * BURST))
NS_SEND=100
MSS=${TP_MSS:-1400} # IPv6 + TCP options + MSS fit the uplink's MTU of 1500
FRAMES=${TP_FRAMES:-32}
PCAP_TOOL=$(dirname "$0")/offload_pcap.py

tp_have_testpmd
ul_need_netns
VHOSTD=$(find_vhostd)
tp_choose_mem

vhd_cleanup_hook() {
	tp_cleanup
	ul_cleanup
}

S0=$VHD_TMP/p0.sock
BE_LOG=$VHD_TMP/backend.log
FE_LOG=$VHD_TMP/frontend.log
STATUS=$VHD_TMP/sink.status

ul_setup "$NS_MAC" "$NS_IP/24"
UPLINK="net_af_packet0,iface=$UL_HOST"

tp_register_prefix "vhd-ul$$"
# shellcheck disable=SC2086 # word splitting of the memory args is wanted
"$VHOSTD" --socket "$S0" --uplink "$UPLINK" --fwd "$FWD" --stats 1 --control none \
	-- --lcores=0@0,1@1 --file-prefix="vhd-ul$$" --no-pci $TP_BE_MEM \
	</dev/null >"$BE_LOG" 2>&1 &
TP_BE_PID=$!
track_pid "$TP_BE_PID"
TP_OWN_PIDS="$TP_OWN_PIDS $TP_BE_PID"
tp_wait_log "vhostd: ready" "$BE_LOG" 30 "$TP_BE_PID" || {
	tail -n 30 "$BE_LOG" >&2
	fail "vhostd did not start with --uplink $UPLINK (log above)"
}
wait_for_socket "$S0" 10 || fail "vhostd did not create $S0"
uplink_line=$(grep -m1 "port 1: uplink $UPLINK" "$BE_LOG")
log "vhostd: ${uplink_line#*: }"
echo "$uplink_line" | grep -q "(net_af_packet), mtu 1500" ||
	fail "want the uplink on net_af_packet at MTU 1500 (its kernel interface's): $uplink_line"

# ------------------------------------------------------------- 1. both ways
ul_sink_start "$STATUS" --udp-port 9
# shellcheck disable=SC2086
tp_ia_start "vhd-ulfe$$" "$FE_LOG" --lcores=0@1,1@0 --no-pci $TP_FE_MEM \
	--vdev "net_virtio_user0,path=$S0,queues=1,mac=$TP_MAC" \
	-- -i --forward-mode=rxonly --nb-cores=1 --total-num-mbufs=16384 --burst=$BURST \
	--eth-peer=0,$NS_MAC --tx-ip=$TP_IP,$NS_IP
tp_ia_wait_prompt 30 || { tail -n 30 "$FE_LOG" >&2; fail "testpmd gave no prompt within 30 s"; }
tp_ia_cmd_ok "start tx_first $BURSTS" 20
ul_wait_count "$STATUS" udp "$WANT_TX" 10 ||
	log "the namespace's socket has $(ul_count "$STATUS" udp) of $WANT_TX datagrams after 10 s"
sleep 0.5 # anything beyond shows up now

ip netns exec "$UL_NS" python3 "$UL_FRAMES" send "$UL_PEER" --dst "$TP_MAC" --count "$NS_SEND" >/dev/null ||
	fail "ns_frames.py send failed"
ul_wait_count "$STATUS" out "$NS_SEND" 5 || fail "the namespace's interface sent $(ul_count "$STATUS" out) frames, want >= $NS_SEND"
sleep 0.5
ns_out=$(ul_count "$STATUS" out)
for _ in $(seq 1 50); do
	tp_ia_cmd_ok "show port stats 0"
	[ "$(tp_ia_rx 0)" -ge "$ns_out" ] && break
	sleep 0.1
done
tp_ia_cmd_ok "stop" 20
# Forward statistics of port 0 as "stop" prints them
read -r fe_rx fe_tx <<<"$(awk '/Forward statistics for port 0/ { p = 1; next }
	p && /RX-packets:/ { rx = $2 }
	p && /TX-packets:/ { tx = $2; p = 0 }
	END { print rx + 0, tx + 0 }' "$FE_LOG")"
tp_ia_quit 15
[ "$TP_RC" -eq 0 ] || { tail -n 20 "$FE_LOG" >&2; fail "testpmd exit status $TP_RC after quit"; }
tp_remove_prefix_files "vhd-ulfe$$"

ns_in_udp=$(ul_count "$STATUS" in_udp)
ns_udp=$(ul_count "$STATUS" udp)
ns_out=$(ul_count "$STATUS" out)
log "testpmd: TX-packets=$fe_tx RX-packets=$fe_rx; namespace: UDP frames in=$ns_in_udp," \
	"datagrams at the socket=$ns_udp, frames out=$ns_out (all in: $(ul_count "$STATUS" in))"
[ "$fe_tx" -eq "$WANT_TX" ] || fail "testpmd sent $fe_tx frames, want $WANT_TX ($BURSTS bursts of $BURST)"
[ "$ns_in_udp" -eq "$WANT_TX" ] || fail "the namespace's interface received $ns_in_udp of testpmd's $WANT_TX frames"
[ "$ns_udp" -eq "$WANT_TX" ] || fail "the namespace's UDP socket took $ns_udp of $WANT_TX datagrams"
[ "$ns_out" -ge "$NS_SEND" ] || fail "the namespace sent $ns_out frames, fewer than its own $NS_SEND"
[ "$fe_rx" -eq "$ns_out" ] || fail "testpmd received $fe_rx frames, the namespace sent $ns_out"

# vhostd's stats after both sides went quiet: a fresh line per port
tp_wait_new_stats "$BE_LOG" 2 5 || fail "vhostd printed no fresh stats lines"
check_port() { # PORT KEY WANT
	local v
	v=$(tp_vhostd_stat "$BE_LOG" "$1" "$2")
	[ "$v" = "$3" ] || fail "vhostd port $1: $2=${v:-?}, want $3: $(tp_vhostd_stats_line "$BE_LOG" "$1")"
}
check_port 1 tx_pkts "$WANT_TX"
check_port 1 rx_pkts "$ns_out"
check_port 1 link up
check_port 1 state up
check_port 0 rx_pkts "$WANT_TX"
check_port 0 tx_pkts "$ns_out"
for p in 0 1; do
	for k in drops errors too_big; do check_port $p $k 0; done
done
grep "^stats: port=0 " "$BE_LOG" | tail -n 1 | grep -q " link=" &&
	fail "the vhost port's stats line has a link= field: $(tp_vhostd_stats_line "$BE_LOG" 0)"
log "vhostd: $(tp_vhostd_stats_line "$BE_LOG" 1)"
ul_sink_stop

# ------------------------------------------------------------- 2. offloads
IN_PCAP=$VHD_TMP/in.pcap
OUT_PCAP=$VHD_TMP/out.pcap
TX_LOG=$VHD_TMP/sender.log
tx0=$(tp_vhostd_stat "$BE_LOG" 1 tx_pkts)
gen=$(python3 "$PCAP_TOOL" gen "$IN_PCAP" --frames "$FRAMES" --mss "$MSS") || fail "offload_pcap.py gen failed"
SEGMENTS=$(sed -n 's/.*segments=\([0-9]*\).*/\1/p' <<<"$gen")
log "offload run: $gen"
ul_sink_start "$STATUS" --pcap "$OUT_PCAP"
CMDS=$VHD_TMP/sender.cmds
cat >"$CMDS" <<EOF
port stop 1
csum set ip sw 1
csum set tcp hw 1
csum set udp hw 1
tso set $MSS 1
set fwd csum retry
port start 1
EOF
tp_register_prefix "vhd-ultx$$"
# shellcheck disable=SC2086
stdbuf -oL dpdk-testpmd --lcores=0@1,1@0 --file-prefix="vhd-ultx$$" --no-pci $TP_FE_MEM \
	--vdev "net_pcap0,rx_pcap=$IN_PCAP" \
	--vdev "net_virtio_user0,path=$S0,queues=1,queue_size=1024,mac=$TP_MAC" \
	-- --forward-mode=csum --nb-cores=1 --stats-period 1 --total-num-mbufs=16384 \
	--rxd=1024 --txd=1024 --burst=8 --no-flush-rx --eth-peer=1,$NS_MAC --cmdline-file="$CMDS" \
	</dev/null >"$TX_LOG" 2>&1 &
TX_PID=$!
track_pid "$TX_PID"
TP_OWN_PIDS="$TP_OWN_PIDS $TX_PID"
ul_wait_count "$STATUS" in "$SEGMENTS" 60 ||
	log "the namespace received $(ul_count "$STATUS" in) of $SEGMENTS segments after 60 s"
sleep 1 # anything beyond shows up now
kill -0 "$TX_PID" 2>/dev/null || { tail -n 30 "$TX_LOG" >&2; fail "sender testpmd died"; }
tp_stop "$TX_PID" 15
tp_forget_pid "$TX_PID"
[ "$TP_RC" -eq 0 ] || { tail -n 30 "$TX_LOG" >&2; fail "sender testpmd exit status $TP_RC after SIGINT"; }
tp_remove_prefix_files "vhd-ultx$$"
ul_sink_stop
log "the namespace received $(ul_count "$STATUS" in) frames"

chk=$(python3 "$PCAP_TOOL" check segmented "$IN_PCAP" "$OUT_PCAP" --mss "$MSS" 2>"$VHD_TMP/check.err")
rc=$?
log "$chk"
[ $rc -eq 0 ] || {
	head -n 20 "$VHD_TMP/check.err" >&2
	fail "what the namespace received is not the sent frames cut at MSS $MSS (above)"
}
tp_wait_new_stats "$BE_LOG" 2 5 || fail "vhostd printed no fresh stats lines"
tx1=$(tp_vhostd_stat "$BE_LOG" 1 tx_pkts)
[ $((tx1 - tx0)) -eq "$SEGMENTS" ] ||
	fail "vhostd's uplink sent $((tx1 - tx0)) frames in the offload run, want $SEGMENTS segments: $(tp_vhostd_stats_line "$BE_LOG" 1)"
for k in drops errors too_big; do check_port 1 $k 0; done
log "vhostd: $(tp_vhostd_stats_line "$BE_LOG" 1)"

tp_stop "$TP_BE_PID" 15
tp_forget_pid "$TP_BE_PID"
[ "$TP_RC" -eq 0 ] || { tail -n 30 "$BE_LOG" >&2; fail "vhostd exit status $TP_RC after SIGINT, want 0"; }
grep -q "uplink $UPLINK closed" "$BE_LOG" || fail "vhostd did not close the uplink on exit"
log "PASS (--fwd $FWD: $WANT_TX frames out, $ns_out in, $FRAMES offload frames as $SEGMENTS segments, $([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
