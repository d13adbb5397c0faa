#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# testpmd_offload.sh CASE [pair|l2]   CASE: offload | nooffload
#
# TCP segments marked for TSO and checksum offload, from one dpdk-testpmd
# virtio-user frontend through vhostd to another (issue 9).
#
#   sender    testpmd, port 0 = net_pcap replaying offload_pcap.py's frames
#             once (IPv4 and IPv6 TCP, payloads of 1 B to 65160 B, with and
#             without TCP options, FIN on some; 2 KiB mbufs, so a 64 KiB
#             frame is a chain of 33), port 1 = net_virtio_user on vhostd's
#             port 0. --forward-mode=csum with `csum set tcp hw 1` and
#             `tso set MSS 1` (from --cmdline-file, port 1 stopped and
#             restarted around them: the virtio PMD asks for CSUM and
#             HOST_TSO4/6 only when its tx offloads say so), `set fwd csum
#             retry` so nothing is dropped while vhostd's ring is busy.
#   receiver  testpmd, port 0 = net_virtio_user on vhostd's port 1, port 1 =
#             net_pcap writing what it receives (io forwarding).
#               offload    rx offloads tcp_cksum, udp_cksum and tcp_lro on
#                          the virtio port (`port config 0 rx_offload ...`
#                          from --cmdline-file): the virtio PMD negotiates
#                          GUEST_CSUM and GUEST_TSO4/6 (it asks for them
#                          only when these rx offloads are on,
#                          drivers/net/virtio/virtio_ethdev.c); 64 KiB mbufs
#                          so a whole frame is one mbuf, which net_pcap
#                          writes in full.
#               nooffload  no rx offloads: the PMD negotiates none of them,
#                          and vhostd must complete checksums and segment
#                          in software. The ring has 4096 buffers, room for
#                          every segment of the run.
#   vhostd    --fwd MODE (pair: single copy when the offloads fit, l2: the
#             mbuf path).
#
# Checks:
#   - the features vhostd logs at new_device: the sender negotiated CSUM and
#     HOST_TSO4/6; the receiver GUEST_CSUM and GUEST_TSO4/6 (offload) or
#     none of them (nooffload);
#   - the received frames (offload_pcap.py check): offload: every frame
#     once, whole and unchanged, the TCP checksum complete or the partial
#     pseudo-header sum of NEEDS_CSUM; nooffload: every frame cut into
#     exactly ceil(payload / MSS) segments of at most MSS payload bytes,
#     valid IPv4 header and complete TCP checksums, the payload
#     reassembled byte for byte, sequence numbers, IPv4 ids and flags right;
#   - counts on both ends: the sender's TX-packets, vhostd's rx_pkts on port
#     0 and tx_pkts on port 1, the receiver's RX-packets and the frames in
#     its pcap all match; vhostd errors=0, drops=0, too_big=0.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

CASE=${1:-}
FWD=${2:-pair}
case $CASE in
offload | nooffload) ;;
*) fail "usage: $0 offload|nooffload [pair|l2]" ;;
esac
case $FWD in
pair | l2) ;;
*) fail "usage: $0 offload|nooffload [pair|l2]" ;;
esac
VHD_TEST_NAME="testpmd_offload.sh $CASE $FWD"
[ "$TP_BACKEND" = vhostd ] || fail "this test needs vhostd's counters (BACKEND=vhostd)"

MSS=${TP_MSS:-1448}
FRAMES=${TP_FRAMES:-64}
PCAP_TOOL=$(dirname "$0")/offload_pcap.py
MAC_TX=02:00:00:00:0a:00
MAC_RX=02:00:00:00:0b:00

tp_have_testpmd
need_cmd python3 "apt-get install python3"
VHOSTD=$(find_vhostd)

# Three processes: vhostd and two testpmds (the receiver's pool of 64 KiB
# mbufs needs -m 512 in the offload case).
RX_MB=256
[ "$CASE" = offload ] && RX_MB=512
free=$(hugepages_free)
if [ "${TP_NOHUGE:-0}" != 1 ] && [ "${free:-0}" -ge $(((256 + 256 + RX_MB) / 2 + 32)) ]; then
	TP_HUGE=1
	TP_BE_MEM="-m 256"
	TX_MEM="--single-file-segments -m 256"
	RX_MEM="--single-file-segments -m $RX_MB"
else
	TP_HUGE=0
	TP_BE_MEM="--no-huge -m 512"
	TX_MEM="--no-huge --single-file-segments -m 512 --iova-mode=va"
	RX_MEM="--no-huge --single-file-segments -m $((RX_MB + 256)) --iova-mode=va"
fi
log "memory: hugepages free=${free:-?} -> $([ $TP_HUGE = 1 ] && echo hugepages || echo no-huge)"

S0=$VHD_TMP/p0.sock
S1=$VHD_TMP/p1.sock
BE_LOG=$VHD_TMP/backend.log
TX_LOG=$VHD_TMP/sender.log
RX_LOG=$VHD_TMP/receiver.log
IN_PCAP=$VHD_TMP/in.pcap
OUT_PCAP=$VHD_TMP/out.pcap

gen=$(python3 "$PCAP_TOOL" gen "$IN_PCAP" --frames "$FRAMES" --mss "$MSS") || fail "offload_pcap.py gen failed"
log "frames to send: $gen"
SEGMENTS=$(sed -n 's/.*segments=\([0-9]*\).*/\1/p' <<<"$gen")
OVER_MSS=$(sed -n 's/.*over_mss=\([0-9]*\).*/\1/p' <<<"$gen")
if [ "$CASE" = offload ]; then WANT_RX=$FRAMES; else WANT_RX=$SEGMENTS; fi

tp_start_backend "$FWD" "$S0" "$S1" "vhd-ofl$$" "$BE_LOG"

# The receiver first, so that nothing the sender sends finds no buffers.
RX_ARGS=(--forward-mode=io --nb-cores=1 --stats-period 1 --burst=64)
if [ "$CASE" = offload ]; then
	RX_QS=1024
	# Per port (--enable-lro/--rx-offloads would ask the pcap port too, and
	# --enable-rx-cksum asks for the IPv4 checksum virtio cannot offer).
	RX_CMDS=$VHD_TMP/receiver.cmds
	printf '%s\n' "port stop 0" "port config 0 rx_offload tcp_cksum on" \
		"port config 0 rx_offload udp_cksum on" "port config 0 rx_offload tcp_lro on" \
		"port start 0" "set verbose 1" >"$RX_CMDS"
	RX_ARGS+=(--mbuf-size=65535 --total-num-mbufs=2048 --rxd=1024 --txd=1024
		--cmdline-file="$RX_CMDS")
else
	RX_QS=4096
	RX_CMDS=$VHD_TMP/receiver.cmds
	echo "set verbose 1" >"$RX_CMDS"
	RX_ARGS+=(--total-num-mbufs=16384 --rxd=4096 --txd=1024 --cmdline-file="$RX_CMDS")
fi
tp_register_prefix "vhd-oflrx$$"
# shellcheck disable=SC2086 # word splitting of the memory args is wanted
stdbuf -oL dpdk-testpmd --lcores=0@1,1@0 --file-prefix="vhd-oflrx$$" --no-pci $RX_MEM \
	--vdev "net_virtio_user0,path=$S1,queues=1,queue_size=$RX_QS,mac=$MAC_RX" \
	--vdev "net_pcap0,tx_pcap=$OUT_PCAP" \
	-- "${RX_ARGS[@]}" </dev/null >"$RX_LOG" 2>&1 &
RX_PID=$!
track_pid "$RX_PID"
TP_OWN_PIDS="$TP_OWN_PIDS $RX_PID"
tp_wait_log "Port statistics" "$RX_LOG" 30 "$RX_PID" || {
	tail -n 30 "$RX_LOG" >&2
	fail "receiver testpmd did not start forwarding within 30 s"
}
tp_wait_count "$BE_LOG" "port 1 .*device started" 1 10 "$TP_BE_PID" ||
	fail "vhostd did not start port 1 (receiver): $(tail -n 5 "$BE_LOG")"

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
tp_register_prefix "vhd-ofltx$$"
# shellcheck disable=SC2086
stdbuf -oL dpdk-testpmd --lcores=0@0,1@1 --file-prefix="vhd-ofltx$$" --no-pci $TX_MEM \
	--vdev "net_pcap0,rx_pcap=$IN_PCAP" \
	--vdev "net_virtio_user0,path=$S0,queues=1,queue_size=1024,mac=$MAC_TX" \
	-- --forward-mode=csum --nb-cores=1 --stats-period 1 --total-num-mbufs=16384 \
	--rxd=1024 --txd=1024 --burst=8 --no-flush-rx --eth-peer=1,$MAC_RX --cmdline-file="$CMDS" \
	</dev/null >"$TX_LOG" 2>&1 &
TX_PID=$!
track_pid "$TX_PID"
TP_OWN_PIDS="$TP_OWN_PIDS $TX_PID"

# rx_count LOG PORT: RX-packets of PORT in the log's last periodic block.
rx_count() {
	awk -v port="$2" '/NIC statistics for port/ { p = $(NF-1); next }
		/statistics/ { p = "" }
		p == port && /RX-packets:/ { v = $2 }
		END { print v + 0 }' "$1"
}
n=0
for _ in $(seq 1 300); do
	n=$(rx_count "$RX_LOG" 0)
	[ "$n" -ge "$WANT_RX" ] && break
	kill -0 "$TX_PID" 2>/dev/null || break
	kill -0 "$RX_PID" 2>/dev/null || break
	sleep 0.1
done
sleep 1.5 # anything beyond the expected count shows up now
kill -0 "$TX_PID" 2>/dev/null || { tail -n 30 "$TX_LOG" >&2; fail "sender testpmd died"; }
kill -0 "$RX_PID" 2>/dev/null || { tail -n 30 "$RX_LOG" >&2; fail "receiver testpmd died"; }
log "receiver counted $(rx_count "$RX_LOG" 0) packets (want $WANT_RX)"

tp_stop "$TX_PID" 15
tp_forget_pid "$TX_PID"
[ "$TP_RC" -eq 0 ] || { tail -n 30 "$TX_LOG" >&2; fail "sender testpmd exit status $TP_RC after SIGINT"; }
tp_stop "$RX_PID" 15
tp_forget_pid "$RX_PID"
[ "$TP_RC" -eq 0 ] || { tail -n 30 "$RX_LOG" >&2; fail "receiver testpmd exit status $TP_RC after SIGINT"; }

# final_stats LOG PORT: "RX-packets RX-dropped TX-packets TX-dropped" from
# the Forward statistics block testpmd prints on exit.
final_stats() {
	awk -v port="$2" '
		/Forward statistics for port/ { p = $6; next }
		/Accumulated forward statistics/ { p = "" }
		p == port && /RX-packets:/ { rx = $2; rxd = $4 }
		p == port && /TX-packets:/ { tx = $2; txd = $4; p = "" }
		END { print rx + 0, rxd + 0, tx + 0, txd + 0 }' "$1"
}
read -r _ _ s_tx s_txd <<<"$(final_stats "$TX_LOG" 1)"
read -r s_prx _ _ _ <<<"$(final_stats "$TX_LOG" 0)"
read -r r_rx r_rxd _ _ <<<"$(final_stats "$RX_LOG" 0)"
log "sender: pcap port read $s_prx frames, virtio port TX-packets=$s_tx TX-dropped=$s_txd"
log "receiver: virtio port RX-packets=$r_rx RX-dropped=$r_rxd"

# The offloads each side negotiated (the last new_device of each port).
feat() {
	sed -n "s/.*port $1 .*device started, features 0x\([0-9a-f]*\),.*/\1/p" "$BE_LOG" | tail -n 1
}
F0=$(feat 0)
F1=$(feat 1)
[ -n "$F0" ] && [ -n "$F1" ] || fail "no 'device started, features' lines for both ports in vhostd's log"
has() { [ $((0x$1 >> $2 & 1)) -eq 1 ]; }
# virtio-net bits: CSUM 0, GUEST_CSUM 1, GUEST_TSO4 7, GUEST_TSO6 8, HOST_TSO4 11, HOST_TSO6 12
for b in 0 11 12; do
	has "$F0" $b || fail "sender features 0x$F0 lack bit $b (CSUM 0, HOST_TSO4 11, HOST_TSO6 12)"
done
for b in 1 7 8; do
	if [ "$CASE" = offload ]; then
		has "$F1" $b || fail "receiver features 0x$F1 lack bit $b (GUEST_CSUM 1, GUEST_TSO4 7, GUEST_TSO6 8)"
	else
		has "$F1" $b && fail "receiver features 0x$F1 have bit $b, but it asked for no rx offloads"
	fi
done
log "features: sender 0x$F0, receiver 0x$F1"

# The received frames themselves.
mode=whole
[ "$CASE" = nooffload ] && mode=segmented
chk=$(python3 "$PCAP_TOOL" check $mode "$IN_PCAP" "$OUT_PCAP" --mss "$MSS" 2>"$VHD_TMP/check.err")
rc=$?
log "$chk"
[ $rc -eq 0 ] || {
	cat "$VHD_TMP/check.err" >&2
	fail "the received frames are not what was sent (above)"
}

# What the receiver's virtio PMD made of vhostd's virtio-net headers (its
# verbose dump of each received mbuf): offload: RTE_MBUF_F_RX_LRO (a GSO
# header) on every frame with more than MSS bytes of payload, the others a
# plain checksum request; RX_L4_CKSUM_NONE (NEEDS_CSUM) on all. nooffload: no
# header fields at all, so neither flag.
n_lro=$(grep -c '^  ol_flags:.*RTE_MBUF_F_RX_LRO' "$RX_LOG")
n_none=$(grep -c '^  ol_flags:.*RTE_MBUF_F_RX_L4_CKSUM_NONE' "$RX_LOG")
n_dump=$(grep -c '^  ol_flags:' "$RX_LOG")
log "receiver's mbufs: $n_dump dumped, RX_LRO on $n_lro, RX_L4_CKSUM_NONE on $n_none"
if [ "$CASE" = offload ]; then
	[ "$n_dump" -eq "$FRAMES" ] && [ "$n_lro" -eq "$OVER_MSS" ] && [ "$n_none" -eq "$FRAMES" ] ||
		fail "want $FRAMES mbufs, RX_LRO on $OVER_MSS, RX_L4_CKSUM_NONE on $FRAMES"
else
	[ "$n_dump" -eq "$SEGMENTS" ] && [ "$n_lro" -eq 0 ] && [ "$n_none" -eq 0 ] ||
		fail "want $SEGMENTS mbufs, no offload flags"
fi

# Counts on both ends.
[ "$s_prx" -eq "$FRAMES" ] || fail "the sender's pcap port read $s_prx frames, want $FRAMES"
[ "$s_tx" -eq "$FRAMES" ] && [ "$s_txd" -eq 0 ] ||
	fail "the sender's virtio port sent $s_tx frames (dropped $s_txd), want $FRAMES, none dropped"
[ "$r_rx" -eq "$WANT_RX" ] && [ "$r_rxd" -eq 0 ] ||
	fail "the receiver's virtio port received $r_rx (dropped $r_rxd), want $WANT_RX"
npcap=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' <<<"$chk")
[ "$npcap" -eq "$WANT_RX" ] || fail "the receiver's pcap has $npcap frames, want $WANT_RX"

tp_wait_new_stats "$BE_LOG" 2 5 || log "warning: no fresh vhostd stats lines after the frontends stopped"
kill -0 "$TP_BE_PID" 2>/dev/null || fail "vhostd died"
for p in 0 1; do
	line=$(tp_vhostd_stats_line "$BE_LOG" $p)
	for k in rx_pkts tx_pkts drops errors too_big no_mbuf; do
		v=$(tp_vhostd_stat "$BE_LOG" $p $k)
		case $v in '' | *[!0-9]*) fail "no $k in: $line" ;; esac
		eval "v${p}_$k=$v"
	done
	eval "e=\$v${p}_errors d=\$v${p}_drops t=\$v${p}_too_big"
	[ "$e" -eq 0 ] && [ "$d" -eq 0 ] && [ "$t" -eq 0 ] ||
		fail "vhostd port $p: errors=$e drops=$d too_big=$t, want 0: $line"
	log "vhostd: $line"
done
# shellcheck disable=SC2154 # set by the eval above
{
	[ "$v0_rx_pkts" -eq "$FRAMES" ] || fail "vhostd port 0 rx_pkts=$v0_rx_pkts, want $FRAMES"
	[ "$v1_rx_pkts" -eq 0 ] && [ "$v0_tx_pkts" -eq 0 ] ||
		fail "traffic the other way: port 1 rx_pkts=$v1_rx_pkts, port 0 tx_pkts=$v0_tx_pkts"
	# vhostd counts each segment it makes as a packet sent.
	[ "$v1_tx_pkts" -eq "$WANT_RX" ] || fail "vhostd port 1 tx_pkts=$v1_tx_pkts, want $WANT_RX"
}

tp_stop "$TP_BE_PID" 15
tp_forget_pid "$TP_BE_PID"
[ "$TP_RC" -eq 0 ] || { tail -n 30 "$BE_LOG" >&2; fail "vhostd exit status $TP_RC after SIGINT, want 0"; }
log "PASS ($CASE, --fwd $FWD, $FRAMES frames -> $WANT_RX received, $([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
