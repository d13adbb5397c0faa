#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# mem_table_change.sh: the frontend's memory table changes while its device
# runs, and vhostd keeps forwarding.
#
# A virtio-user frontend re-sends VHOST_USER_SET_MEM_TABLE whenever its EAL
# memory grows (it pauses the vrings with SET_VRING_ENABLE 0, sends the new
# table, enables them again); librte_vhost fires neither destroy_device nor
# new_device for it. testpmd with dynamic memory (hugepages, no -m) grows
# right after its ports start: the device starts with a 2 MB table and the
# mbuf pool only arrives in later tables.
#
# vhostd: 4 server sockets, --fwd pair, --stats 1. Frontend: an interactive
# dpdk-testpmd, hugepages without -m, ports 0,1 on sockets 0,1, flowgen
# forwarding (it makes new packets all the time; an io/--tx-first loop dies
# for good when the in-flight packets are dropped while the frontend has its
# vrings disabled, with DPDK's own vhost backend as well).
#
# Phase A (start-up): vhostd's log must show, for ports 0 and 1, a
# SET_MEM_TABLE after "device started" with no destroy_device between, and
# the region growing. Then "start": vhostd's counters must grow both ways on
# both ports, errors=0 (the mbufs live in memory that only the later tables
# map, so this works only if vhostd switched tables).
# Phase B (while forwarding): "port attach" of more virtio-user ports with
# large rings (sockets 2,3, queue_size=8192) makes EAL allocate more
# hugepage memory: the running ports 0,1 get another SET_MEM_TABLE while
# packets flow. vhostd's counters for ports 0,1 must keep growing across it
# (last stats block before it < first after < second after), errors=0.
# Order is proven by line order in vhostd's log (one stdout stream, flushed
# per message). Finally testpmd quits and vhostd must exit 0 on SIGINT.
#
# Needs free hugepages (memory growth does not exist with --no-huge).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

# hugepages the frontend needs: ~52 MB at start-up, a few MB more in phase B
FE_PAGES=64

[ "$TP_BACKEND" = vhostd ] || cannot_run "mem_table_change.sh needs BACKEND=vhostd"
tp_have_testpmd
VHOSTD=$(find_vhostd)
free=$(hugepages_free)
[ "${free:-0}" -ge $((FE_PAGES + 32)) ] ||
	cannot_run "need $((FE_PAGES + 32)) free hugepages for a frontend whose memory can grow, have ${free:-0}"
# vhostd on hugepages only when there is room for both
[ "$free" -ge $((TP_PAGES_PER_PROC + FE_PAGES + 32)) ] || TP_NOHUGE=1
tp_choose_mem

for p in 0 1 2 3; do eval "S$p=\$VHD_TMP/p$p.sock"; done
BE_LOG=$VHD_TMP/vhostd.log
FE_LOG=$VHD_TMP/frontend.log
T_START=$SECONDS

tp_start_vhostd pair "vhd-mt$$" "$BE_LOG" "$S0" "$S1" "$S2" "$S3"
BE_PID=$TP_BE_PID

# shellcheck disable=SC2086
tp_ia_start "vhd-mtfe$$" "$FE_LOG" --lcores=0@1,1@0 --no-pci --single-file-segments \
	--vdev "net_virtio_user0,path=$S0,queues=1,mac=$TP_MAC0" \
	--vdev "net_virtio_user1,path=$S1,queues=1,mac=$TP_MAC1" \
	-- -i --forward-mode=flowgen --nb-cores=1 --total-num-mbufs=16384 \
	--eth-peer=0,$TP_MAC1 --eth-peer=1,$TP_MAC0
tp_ia_wait_prompt 60 || {
	tail -n 20 "$FE_LOG" >&2
	fail "the frontend testpmd did not reach its prompt"
}
tp_wait_count "$BE_LOG" 'new_device: port [01] .*device started' 2 10 "$BE_PID" ||
	fail "vhostd did not start devices for ports 0 and 1"
log "frontend testpmd (pid $TP_IA_PID, dynamic hugepage memory) is up on ports 0,1"

# mem_events PATH FROM_LINE: "LINE:SIZE" for each SET_MEM_TABLE on PATH after
# FROM_LINE (SIZE: the region size logged after it, or "unchanged"), until a
# destroy_device for that path.
mem_events() {
	awk -v path="($1)" -v from="$2" '
		NR <= from { next }
		index($0, path) == 0 { next }
		/destroy_device: port/ { exit }
		/read message VHOST_USER_SET_MEM_TABLE/ { if (n) print n ":" sz; n = NR; sz = "?"; next }
		n && /guest memory region size:/ && sz == "?" { sz = $NF }
		n && /memory regions not changed/ { sz = "unchanged" }
		END { if (n) print n ":" sz }' "$BE_LOG"
}
# first_line PATTERN: line number of the first line matching PATTERN.
first_line() { grep -n -m 1 -E -- "$1" "$BE_LOG" | cut -d: -f1; }

# ---- phase A: SET_MEM_TABLE after "device started", at start-up
for p in 0 1; do
	eval "S=\$S$p"
	started=$(first_line "new_device: port $p .*device started")
	first_tbl=$(awk -v path="($S)" -v end="$started" 'NR < end && index($0, path) &&
		/guest memory region size:/ { sz = $NF } END { print sz }' "$BE_LOG")
	ev=$(mem_events "$S" "$started")
	[ -n "$ev" ] || {
		grep -nE "SET_MEM_TABLE|device started|destroy_device" "$BE_LOG" | grep -F "$S" >&2
		fail "port $p: no SET_MEM_TABLE after 'device started' (line $started) during start-up"
	}
	log "port $p: device started at log line $started with a $first_tbl table;" \
		"then SET_MEM_TABLE at line:size $(echo $ev), no destroy_device between"
	eval "A_LAST$p=\$(echo \"\$ev\" | tail -n 1 | cut -d: -f1)"
done

# stats_after LINE: the first complete stats block after LINE (waits).
stats_after() { tp_wait_stats_block "$BE_LOG" "$1" 4 5 "$BE_PID"; }
# counters: "RX0 TX0 RX1 TX1" of BLOCK; errors must be 0
counters() {
	tp_block_errors_zero "$BLOCK" 4
	echo "$(tp_kv "$BLOCK" p0_rx_pkts) $(tp_kv "$BLOCK" p0_tx_pkts)" \
		"$(tp_kv "$BLOCK" p1_rx_pkts) $(tp_kv "$BLOCK" p1_tx_pkts)"
}
# grew "A B C D" "E F G H": every counter strictly larger
grew() {
	local a b i
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	for i in 0 1 2 3; do [ "${b[$i]}" -gt "${a[$i]}" ] || return 1; done
}

tp_ia_cmd_ok "start"
L=$(tp_lines "$BE_LOG")
stats_after "$L"
c1=$(counters)
stats_after "$(tp_kv "$BLOCK" line)"
c2=$(counters)
c2_line=$(tp_kv "$BLOCK" line)
[ "$(tp_kv "$BLOCK" p0_state)" = up ] && [ "$(tp_kv "$BLOCK" p1_state)" = up ] || fail "ports 0,1 not up: $BLOCK"
grew "$c1" "$c2" || fail "phase A: vhostd counters (rx0 tx0 rx1 tx1) did not grow: $c1 -> $c2"
log "phase A ok: forwarding with the grown table, vhostd rx0 tx0 rx1 tx1 $c1 -> $c2 (lines > $A_LAST0/$A_LAST1)"

# ---- phase B: grow the frontend's memory while packets flow
B_FROM=$c2_line
grown=""
for x in 2 3; do
	eval "S=\$S$x"
	tp_ia_cmd_ok "port attach net_virtio_user$x,path=$S,queues=1,queue_size=8192" 30
	grep -q "Port $x is attached" "$FE_LOG" || log "warning: 'port attach' of $S did not report success"
	e0=$(mem_events "$S0" "$B_FROM") e1=$(mem_events "$S1" "$B_FROM")
	if [ -n "$e0" ] && [ -n "$e1" ]; then
		grown=$x
		break
	fi
done
[ -n "$grown" ] || {
	grep -nE "SET_MEM_TABLE|region size" "$BE_LOG" | tail -n 12 >&2
	fail "phase B: two 'port attach' with 8192-entry rings did not make the frontend re-send its memory table"
}
b0=$(echo "$e0" | head -n 1 | cut -d: -f1) b1=$(echo "$e1" | head -n 1 | cut -d: -f1)
log "phase B: after 'port attach' of port(s) 2..$grown, SET_MEM_TABLE while running at line:size" \
	"port 0: $(echo $e0), port 1: $(echo $e1)"
# the last stats block before the first of these messages, and two after the last
first_msg=$((b0 < b1 ? b0 : b1))
last_msg=$(echo "$e0 $e1" | tr ' ' '\n' | cut -d: -f1 | sort -n | tail -n 1)
before=$(tp_stats_blocks "$BE_LOG" 0 4 | awk -v m="$first_msg" '$1 < m { l = $1 } END { print l }')
[ -n "$before" ] || fail "no stats block before line $first_msg"
BLOCK=$(tp_stats_block "$BE_LOG" $((before - 1)) 4)
cb=$(counters)
stats_after "$last_msg"
ca1=$(counters) l1=$(tp_kv "$BLOCK" line)
stats_after "$l1"
ca2=$(counters) l2=$(tp_kv "$BLOCK" line)
[ "$(tp_kv "$BLOCK" p0_state)" = up ] && [ "$(tp_kv "$BLOCK" p1_state)" = up ] || fail "ports 0,1 not up: $BLOCK"
grew "$cb" "$ca1" && grew "$ca1" "$ca2" || {
	grep -E '^stats: port=[01]' "$BE_LOG" | tail -n 6 >&2
	fail "phase B: vhostd rx0 tx0 rx1 tx1 line $before: $cb, line $l1: $ca1, line $l2: $ca2 (must grow)"
}
log "phase B ok: vhostd rx0 tx0 rx1 tx1 at line $before: $cb; SET_MEM_TABLE at lines $first_msg-$last_msg;" \
	"line $l1: $ca1; line $l2: $ca2"
attached=$(tp_count "$BE_LOG" 'new_device: port [23] .*device started')
log "ports attached during the run and started in vhostd: $attached"

# ---- end: the frontend quits, vhostd exits 0
tp_ia_cmd_ok "stop" 30
tp_ia_cmd_ok "show port stats all"
log "frontend RX port0=$(tp_ia_rx 0) port1=$(tp_ia_rx 1)"
tp_ia_quit 20
[ "$TP_RC" -eq 0 ] || log "warning: frontend testpmd exit status $TP_RC after 'quit'"
tp_wait_count "$BE_LOG" 'destroy_device: port 1 ' 1 10 "$BE_PID" || log "warning: no destroy_device for port 1"
tp_stop "$BE_PID" 15
tp_forget_pid "$BE_PID"
[ "$TP_RC" -eq 0 ] || {
	tail -n 20 "$BE_LOG" >&2
	fail "vhostd exit status $TP_RC after SIGINT, want 0"
}
for p in 0 1; do
	[ "$(tp_vhostd_stat "$BE_LOG" $p errors)" = 0 ] || fail "final: $(tp_vhostd_stats_line "$BE_LOG" $p)"
	log "vhostd final: port $p $(tp_vhostd_stats_line "$BE_LOG" $p | cut -d' ' -f4-)"
done
log "PASS (memory table changed after device start and again while forwarding; $((SECONDS - T_START)) s)"
