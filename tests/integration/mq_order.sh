#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# mq_order.sh MODE (pair | l2)
#
# Multiqueue flow order (issue 11): two vhostd ports with queues=2, vhostd in
# --fwd MODE, and one DPDK frontend (tests/integration/mq_frontend.c, built
# here with pkg-config libdpdk) with two virtio-user ports of 2 rx + 2 tx
# queues each. The frontend sends 16 UDP flows from port 0 to port 1, flow
# f always on tx queue f % 2, with a sequence number per flow, then the same
# from port 1 to port 0, paced so that nothing needs to drop (see the
# frontend's comment). In l2 mode the frames are unicast between the ports'
# MACs (the frontend's warm-up makes vhostd learn them).
#
# Checks, each way: received == sent, lost 0, reordered 0, no gap, no flow
# seen on two receive queues (steering by flow keeps a flow on one queue),
# nothing corrupt or stray (stalls only warn); both receive queues
# of the receiving port got frames of at least 2 flows each; vhostd's last
# stats lines show both queues of the sending port receiving (q0_rx, q1_rx
# > 0) and both queues of the receiving port transmitting (q0_tx, q1_tx > 0),
# and errors=0.
#
# Pinning: vhostd --lcores=0@0,1@1 (MQ_VHOSTD_LCORES overrides, e.g.
# 0@0,1@1,2@0 for two workers), the frontend's one lcore on CPU 0.
# Knobs: MQ_SECONDS (per direction, default 3), MQ_FLOWS (16), TP_NOHUGE=1,
# TP_KEEP_LOGS=DIR (see testpmd_lib.sh).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

MODE=${1:-}
case $MODE in
pair | l2) ;;
*) fail "usage: $0 pair|l2" ;;
esac
VHD_TEST_NAME="mq_order.sh $MODE"

SECS=${MQ_SECONDS:-3}
FLOWS=${MQ_FLOWS:-16}
LCORES=${MQ_VHOSTD_LCORES:-0@0,1@1}
SRC=$(dirname "$0")/mq_frontend.c

need_cmd cc "apt-get install gcc"
need_cmd pkg-config "apt-get install pkg-config"
pkg-config --exists libdpdk || cannot_run "pkg-config finds no libdpdk (apt-get install libdpdk-dev)"
[ -r "$SRC" ] || fail "$SRC not found"
VHOSTD=$(find_vhostd)
tp_choose_mem

FE=$VHD_TMP/mq_frontend
# shellcheck disable=SC2046 # pkg-config's words are wanted
cc -O2 -Wall -o "$FE" "$SRC" $(pkg-config --cflags --libs libdpdk) >"$VHD_TMP/cc.log" 2>&1 || {
	cat "$VHD_TMP/cc.log" >&2
	fail "cannot build $SRC"
}

S0=$VHD_TMP/p0.sock
S1=$VHD_TMP/p1.sock
BE_LOG=$VHD_TMP/backend.log
FE_LOG=$VHD_TMP/frontend.log
BE_PREFIX=vhd-mq$$
FE_PREFIX=vhd-mqfe$$

# vhostd with both sockets at queues=2 and no control socket (another
# vhostd's default control socket must not be in the way).
tp_register_prefix "$BE_PREFIX"
# shellcheck disable=SC2086 # word splitting of the memory args is wanted
"$VHOSTD" --socket "$S0,queues=2" --socket "$S1,queues=2" --fwd "$MODE" --stats 1 \
	--control none -- --lcores="$LCORES" --file-prefix="$BE_PREFIX" --no-pci $TP_BE_MEM \
	</dev/null >"$BE_LOG" 2>&1 &
TP_BE_PID=$!
track_pid "$TP_BE_PID"
TP_OWN_PIDS="$TP_OWN_PIDS $TP_BE_PID"
tp_wait_log "vhostd: ready" "$BE_LOG" 30 "$TP_BE_PID" || {
	tail -n 30 "$BE_LOG" >&2
	kill -0 "$TP_BE_PID" 2>/dev/null || fail "vhostd exited during start-up (log above)"
	fail "vhostd did not print 'vhostd: ready' within 30 s"
}
for s in "$S0" "$S1"; do
	wait_for_socket "$s" 30 || fail "vhostd did not create $s within 30 s"
done
log "vhostd (pid $TP_BE_PID, --fwd $MODE, lcores $LCORES) serves $S0 and $S1 with queues=2"

# The frontend, in the foreground; timeout as a backstop only.
tp_register_prefix "$FE_PREFIX"
fe_rc=0
# shellcheck disable=SC2086
timeout -s INT -k 10 $((2 * SECS + 60)) "$FE" --lcores=0@0 --file-prefix="$FE_PREFIX" --no-pci \
	$TP_FE_MEM \
	--vdev "net_virtio_user0,path=$S0,queues=2,mac=$TP_MAC0" \
	--vdev "net_virtio_user1,path=$S1,queues=2,mac=$TP_MAC1" \
	-- --flows "$FLOWS" --seconds "$SECS" --reverse </dev/null >"$FE_LOG" 2>&1 || fe_rc=$?
tp_remove_prefix_files "$FE_PREFIX"
grep '^mq_frontend:' "$FE_LOG" >&2
[ "$fe_rc" -eq 0 ] || {
	tail -n 30 "$FE_LOG" >&2
	fail "mq_frontend exit status $fe_rc (3: warm-up never crossed every queue; 124: hung)"
}

# Take vhostd's counters after the frontend is gone, then stop it.
tp_wait_new_stats "$BE_LOG" 2 5 || log "warning: no fresh vhostd stats lines after the frontend stopped"
kill -0 "$TP_BE_PID" 2>/dev/null || {
	tail -n 30 "$BE_LOG" >&2
	fail "vhostd died during the test"
}
tp_stop "$TP_BE_PID" 10
tp_forget_pid "$TP_BE_PID"
[ "$TP_RC" -eq 0 ] || log "warning: vhostd exit status $TP_RC after SIGINT"

# kv LINE KEY: KEY's value among the KEY=VALUE words of LINE.
kv() {
	local w
	for w in $1; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return; }
	done
}

problems=""
problem() {
	log "FAIL: $*"
	problems="$problems
  $*"
}

# check_dir DIR: the frontend's result line for DIR (0to1 or 1to0).
check_dir() {
	local dir=$1 line sent recv k v
	line=$(grep "^mq_frontend: result dir=$dir " "$FE_LOG" | tail -n 1)
	[ -n "$line" ] || { problem "$dir: no result line from mq_frontend"; return; }
	sent=$(kv "$line" sent)
	recv=$(kv "$line" received)
	case "$sent$recv" in '' | *[!0-9]*) problem "$dir: cannot parse: $line"; return ;; esac
	[ "$sent" -gt 0 ] || problem "$dir: nothing was sent"
	[ "$recv" -eq "$sent" ] || problem "$dir: received=$recv, sent=$sent"
	for k in lost extra reordered gaps split_flows corrupt other_rx_q0 other_rx_q1 foreign; do
		v=$(kv "$line" $k)
		[ "$v" = 0 ] || problem "$dir: $k=$v, want 0"
	done
	# a stall (1 s without progress) only upsets the pacing; loss fails above
	v=$(kv "$line" stalls)
	[ "$v" = 0 ] || log "warning: $dir: stalls=$v (frames late by over 1 s; a busy machine?)"
	for k in tx_q0 tx_q1 rx_q0 rx_q1; do
		v=$(kv "$line" $k)
		[ "${v:-0}" -gt 0 ] 2>/dev/null || problem "$dir: $k=$v, want > 0"
	done
	for k in flows_q0 flows_q1; do
		v=$(kv "$line" $k)
		[ "${v:-0}" -ge 2 ] 2>/dev/null || problem "$dir: $k=$v, want >= 2 flows on each receive queue"
	done
}
check_dir 0to1
check_dir 1to0

# check_queues PORT: both queues of PORT received and transmitted (each port
# sent in one direction and received in the other), errors=0.
check_queues() {
	local port=$1 line k v
	line=$(tp_vhostd_stats_line "$BE_LOG" "$port")
	[ -n "$line" ] || { problem "vhostd printed no stats line for port $port"; return; }
	log "vhostd: $line"
	for k in q0_rx q1_rx q0_tx q1_tx; do
		v=$(kv "$line" $k)
		[ "${v:-0}" -gt 0 ] 2>/dev/null || problem "vhostd port $port: $k=$v, want > 0"
	done
	v=$(kv "$line" errors)
	[ "$v" = 0 ] || problem "vhostd port $port: errors=$v, want 0"
}
check_queues 0
check_queues 1

[ -z "$problems" ] || {
	grep -E '^stats: (daemon|lcore)' "$BE_LOG" | tail -n 3 >&2
	fail "multiqueue flow order ($MODE):$problems"
}
log "PASS: $FLOWS flows each way over 2 queues, in order, nothing lost ($MODE)"
exit 0
