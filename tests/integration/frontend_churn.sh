#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# frontend_churn.sh: one frontend comes and goes 100 times while another
# keeps forwarding through the same vhostd.
#
# vhostd: 4 server sockets, --fwd pair (0<->1, 2<->3), --stats 1, and by
# default --single-copy off so that every packet goes through an mbuf and the
# mbuf accounting below means something (CHURN_SINGLE_COPY=on keeps vhostd's
# default guest-to-guest copy for the pair).
# A long-running dpdk-testpmd (io, --tx-first, --stats-period 1) forwards on
# ports 2,3 throughout. A second testpmd on ports 0,1 is started, forwards
# for CHURN_FWD_S (0.3 s), and is stopped with SIGINT, CHURN_CYCLES (100)
# times. Its stdin is a fifo that stays open, so it runs until the SIGINT
# and exits at once (with --stats-period it would finish a 1 s sleep first).
#
# After each disconnect (both destroy_device lines seen) vhostd is sampled at
# once through its telemetry socket ("/vhostd/ports", the same counters as
# the stats lines; waiting for the next 1 s stats line would cost 0.5 s a
# cycle on average) and its /proc: ports 0,1 down; mbufs_in_use back at its
# idle baseline (the value before any traffic; mempool caches count as
# free; a burst of ports 2,3 in flight must be gone when sampled again);
# ports 2,3 rx_pkts larger than at the previous check; errors=0; open fds,
# mappings and HugetlbPages (guest memory is mapped from hugepage files and
# RSS does not show it) back at their pre-churn values. vhostd's own stats
# lines are checked afterwards: errors=0 throughout, every line with ports
# 0,1 down at the baseline give or take what 2,3 have in flight (<= 64),
# ports 2,3 never stuck for MAX_STALL_S seconds, and the baseline exactly
# once every frontend is gone. RSS: the final value may exceed the value
# after the first 10 cycles by at most RSS_SLACK_KIB (8 MiB: allocator noise
# is well below that; a leak of one 4 KiB page per connection would already
# be 360 KiB over 90 cycles, anything per-packet or per-mapping far more).
# At the end the long-running frontend must have received > LR_MIN_RX per
# port and exited 0 on SIGINT, and vhostd must exit 0 on SIGINT.
#
# If the cycles do not fit in CHURN_BUDGET_S (default 180 s, the whole test
# must stay under 240 s) the loop stops early and says so; fewer than 20
# cycles is a failure.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"

CYCLES=${CHURN_CYCLES:-100}
FWD_S=${CHURN_FWD_S:-0.3}
BUDGET_S=${CHURN_BUDGET_S:-180}
SINGLE_COPY=${CHURN_SINGLE_COPY:-off}
RSS_SLACK_KIB=${CHURN_RSS_SLACK_KIB:-8192}
LR_MIN_RX=${CHURN_LR_MIN_RX:-100000}
MIN_CYCLES=$((CYCLES < 20 ? CYCLES : 20))
# A stats line is one sample: ports 2,3 may have a burst or two (32 each)
# in flight when it is taken. More than this is not in flight.
TRANSIENT_MAX=64
# Ports 2,3 must progress at every disconnect check; in vhostd's one-second
# stats they may stand still this many seconds in a row before it fails
# (seen: 2 s while other jobs saturated both CPUs).
MAX_STALL_S=${CHURN_MAX_STALL_S:-5}
# Churn frontend: small, so it starts fast (64 pages, 2048 mbufs).
CHURN_PAGES=64

[ "$TP_BACKEND" = vhostd ] || cannot_run "frontend_churn.sh needs BACKEND=vhostd"
tp_have_testpmd
need_cmd python3 "apt-get install python3" # reads vhostd's telemetry socket
VHOSTD=$(find_vhostd)
# three EAL processes: vhostd and the long-running frontend at 128 pages
# each, the churn frontend at 64
free=$(hugepages_free)
[ "${free:-0}" -ge $((2 * TP_PAGES_PER_PROC + CHURN_PAGES + 32)) ] || TP_NOHUGE=1
tp_choose_mem
if [ "$TP_HUGE" = 1 ]; then
	CH_MEM="--single-file-segments -m $((CHURN_PAGES * 2))"
else
	CH_MEM="--no-huge --single-file-segments -m 256 --iova-mode=va"
fi

for p in 0 1 2 3; do eval "S$p=\$VHD_TMP/p$p.sock"; done
BE_LOG=$VHD_TMP/vhostd.log
LR_LOG=$VHD_TMP/longrun.log
CH_LOG=$VHD_TMP/churn.log
CH_PREFIX=vhd-chfe$$
T_START=$SECONDS

BE_PREFIX=vhd-ch$$
tp_start_vhostd pair "$BE_PREFIX" "$BE_LOG" "$S0" "$S1" "$S2" "$S3" -- --single-copy "$SINGLE_COPY"
BE_PID=$TP_BE_PID

# proc_sample: vhostd's open fds, mappings, HugetlbPages (kB) and RSS (KiB,
# computed like its rss_kib: statm resident pages) as "F M H R".
proc_sample() {
	local f m h r
	f=$(find "/proc/$BE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	m=$(wc -l <"/proc/$BE_PID/maps")
	h=$(awk '/^HugetlbPages:/ { print $2 }' "/proc/$BE_PID/status")
	r=$(awk -v kib=$(($(getconf PAGESIZE) / 1024)) '{ print $2 * kib }' "/proc/$BE_PID/statm")
	echo "$f $m ${h:-0} $r"
}

# next_block FROM_LINE TIMEOUT_S: the first complete stats block after line
# FROM_LINE of vhostd's log, into BLOCK (fails the test on timeout).
next_block() { tp_wait_stats_block "$BE_LOG" "$1" 4 "$2" "$BE_PID"; }

check_errors() { tp_block_errors_zero "$BLOCK" 4 "$1"; }

# ---- idle baseline: before any traffic
next_block 0 10
IDLE_IN_USE=$(tp_kv "$BLOCK" in_use)
IDLE_RSS=$(tp_kv "$BLOCK" rss)
log "idle baseline: mbufs_in_use=$IDLE_IN_USE rss_kib=$IDLE_RSS (single-copy $SINGLE_COPY)"

# ---- the long-running frontend on ports 2,3
tp_start_frontend "$S2" "$S3" "vhd-chlr$$" "$LR_LOG"
LR_PID=$TP_FE_PID
tp_wait_log "Port statistics" "$LR_LOG" 30 "$LR_PID" || {
	tail -n 20 "$LR_LOG" >&2
	fail "the long-running frontend did not start forwarding"
}
# two blocks with traffic on 2,3; the second is the pre-churn reference
next_block "$(tp_lines "$BE_LOG")" 5
next_block "$(tp_lines "$BE_LOG")" 5
check_errors "before churn"
prev2=$(tp_kv "$BLOCK" p2_rx_pkts) prev3=$(tp_kv "$BLOCK" p3_rx_pkts)
[ "$prev2" -gt 0 ] && [ "$prev3" -gt 0 ] || fail "ports 2,3 do not forward: $BLOCK"
RUN_IN_USE=$(tp_kv "$BLOCK" in_use)
tp_tel_open "$BE_PREFIX"
[ -n "$(tp_tel_ports)" ] || fail "no answer from vhostd's telemetry socket /var/run/dpdk/$BE_PREFIX/dpdk_telemetry.v2"
read -r FD0 MAPS0 HUGE0 _ <<<"$(proc_sample)"
log "ports 2,3 forwarding (rx $prev2/$prev3): mbufs_in_use=$RUN_IN_USE;" \
	"vhostd fds=$FD0 maps=$MAPS0 HugetlbPages=${HUGE0}kB"

# ---- churn
CH_FIFO=$VHD_TMP/churn.stdin
mkfifo "$CH_FIFO" || fail "mkfifo"
exec {CH_FD}<>"$CH_FIFO" # never written: testpmd waits on it until SIGINT
T_CHURN=$SECONDS
CHURN_LINE=$(tp_lines "$BE_LOG")
done_cycles=0 in_use_max=0 in_use_list="" rss_list="" rss10="" rss_max=0
ch_rx_min="" bad_in_use=0 t_cycle_max=0 transient=0 transient_max=0
for c in $(seq 1 "$CYCLES"); do
	if [ $((SECONDS - T_START)) -ge "$BUDGET_S" ]; then
		log "time budget of ${BUDGET_S}s used up after $done_cycles cycles (LEAD: report this)"
		break
	fi
	t_c=${EPOCHREALTIME//[!0-9]/}
	tp_register_prefix "$CH_PREFIX"
	# empty the log first: the child truncates it only once it runs, and
	# the previous cycle's "Press enter to exit" must not count
	: >"$CH_LOG"
	# shellcheck disable=SC2086
	stdbuf -oL dpdk-testpmd --lcores=0@1,1@0 --file-prefix="$CH_PREFIX" --no-pci $CH_MEM \
		--vdev "net_virtio_user0,path=$S0,queues=1,mac=$TP_MAC0" \
		--vdev "net_virtio_user1,path=$S1,queues=1,mac=$TP_MAC1" \
		-- --forward-mode=io --nb-cores=1 --tx-first --total-num-mbufs=2048 \
		--eth-peer=0,$TP_MAC1 --eth-peer=1,$TP_MAC0 \
		<"$CH_FIFO" >"$CH_LOG" 2>&1 &
	CH_PID=$!
	track_pid "$CH_PID"
	TP_OWN_PIDS="$TP_OWN_PIDS $CH_PID"
	tp_wait_log "Press enter to exit" "$CH_LOG" 30 "$CH_PID" || {
		tail -n 20 "$CH_LOG" >&2
		fail "cycle $c: the churn frontend did not start forwarding"
	}
	t_fwd=${EPOCHREALTIME//[!0-9]/}
	sleep "$FWD_S"
	t_int=${EPOCHREALTIME//[!0-9]/}
	tp_stop "$CH_PID" 10
	tp_forget_pid "$CH_PID"
	[ "$TP_RC" -eq 0 ] || {
		tail -n 20 "$CH_LOG" >&2
		fail "cycle $c: churn frontend exit status $TP_RC after SIGINT, want 0"
	}
	tp_remove_prefix_files "$CH_PREFIX"
	tp_parse_forward_stats "$CH_LOG"
	[ "$TP_RX0" -gt 0 ] && [ "$TP_RX1" -gt 0 ] || {
		cp "$CH_LOG" "$VHD_TMP/churn-failed.log"
		grep -E 'new_device|destroy_device|stats: port=[01]' "$BE_LOG" | tail -n 8 >&2
		fail "cycle $c: the churn frontend received nothing (RX $TP_RX0/$TP_RX1)"
	}
	m=$((TP_RX0 < TP_RX1 ? TP_RX0 : TP_RX1))
	[ -z "$ch_rx_min" ] || [ "$m" -lt "$ch_rx_min" ] && ch_rx_min=$m

	# both devices gone: sample vhostd at once (telemetry, /proc)
	tp_wait_count "$BE_LOG" 'destroy_device: port 0 ' "$c" 10 "$BE_PID" &&
		tp_wait_count "$BE_LOG" 'destroy_device: port 1 ' "$c" 10 "$BE_PID" ||
		fail "cycle $c: vhostd did not log destroy_device for ports 0 and 1"
	t_gone=${EPOCHREALTIME//[!0-9]/}
	BLOCK=$(tp_tel_ports)
	[ -n "$BLOCK" ] || fail "cycle $c: no answer from vhostd's telemetry socket"
	read -r fd maps huge rss <<<"$(proc_sample)"
	t_blk=${EPOCHREALTIME//[!0-9]/}
	[ -n "${CHURN_TRACE:-}" ] && log "trace: start $(tp_ms $((t_fwd - t_c))) fwd $(tp_ms $((t_int - t_fwd)))" \
		"stop+destroy $(tp_ms $((t_gone - t_int))) sample $(tp_ms $((t_blk - t_gone)))"
	check_errors "cycle $c"
	[ "$(tp_kv "$BLOCK" p0_state)" = down ] && [ "$(tp_kv "$BLOCK" p1_state)" = down ] ||
		fail "cycle $c: ports 0,1 not down after the frontend left: $BLOCK"
	in_use=$(tp_kv "$BLOCK" in_use)
	r2=$(tp_kv "$BLOCK" p2_rx_pkts) r3=$(tp_kv "$BLOCK" p3_rx_pkts)
	[ "$r2" -gt "$prev2" ] && [ "$r3" -gt "$prev3" ] ||
		fail "cycle $c: ports 2,3 stopped forwarding (rx $prev2/$prev3 -> $r2/$r3)"
	prev2=$r2 prev3=$r3
	[ "$fd" = "$FD0" ] && [ "$maps" = "$MAPS0" ] && [ "$huge" = "$HUGE0" ] ||
		fail "cycle $c: vhostd fds/maps/HugetlbPages $fd/$maps/$huge, before churn $FD0/$MAPS0/$HUGE0"
	# ports 2,3 keep a burst (32) in flight now and then: a value above the
	# baseline must go away when sampled again; a leak would not
	if [ "$in_use" != "$IDLE_IN_USE" ]; then
		seen=$in_use
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			sleep 0.02
			in_use=$(tp_kv "$(tp_tel_ports)" in_use)
			[ "$in_use" = "$IDLE_IN_USE" ] && break
		done
		transient=$((transient + 1))
		[ "$seen" -gt "$transient_max" ] && transient_max=$seen
		log "cycle $c: mbufs_in_use=$seen right after the disconnect, then $in_use (idle baseline $IDLE_IN_USE)"
		[ "$in_use" = "$IDLE_IN_USE" ] || bad_in_use=$((bad_in_use + 1))
	fi
	[ "$in_use" -gt "$in_use_max" ] && in_use_max=$in_use
	in_use_list="$in_use_list $in_use"
	rss_list="$rss_list $rss"
	[ "$rss" -gt "$rss_max" ] && rss_max=$rss
	[ "$c" -le 10 ] && rss10=$rss
	done_cycles=$c
	dt=$((${EPOCHREALTIME//[!0-9]/} - t_c))
	[ "$dt" -gt "$t_cycle_max" ] && t_cycle_max=$dt
	[ $((c % 10)) -eq 0 ] &&
		log "cycle $c/$CYCLES: churn RX $TP_RX0/$TP_RX1, mbufs_in_use=$in_use rss_kib=$rss" \
			"fds=$fd, ports 2,3 rx $r2/$r3, $(((SECONDS - T_CHURN) * 1000 / c)) ms/cycle"
done
exec {CH_FD}>&-
churn_s=$((SECONDS - T_CHURN))
tp_tel_close

# ---- the long-running frontend, then vhostd
kill -0 "$LR_PID" 2>/dev/null || fail "the long-running frontend died"
LR_STOP_LINE=$(tp_lines "$BE_LOG")
tp_stop "$LR_PID" 15
tp_forget_pid "$LR_PID"
[ "$TP_RC" -eq 0 ] || fail "long-running frontend exit status $TP_RC after SIGINT, want 0"
tp_parse_forward_stats "$LR_LOG"
log "long-running frontend: RX $TP_RX0/$TP_RX1, TX $TP_TX0/$TP_TX1"
[ "$TP_RX0" -gt "$LR_MIN_RX" ] && [ "$TP_RX1" -gt "$LR_MIN_RX" ] ||
	fail "long-running frontend received $TP_RX0/$TP_RX1, want > $LR_MIN_RX each"
next_block "$(tp_lines "$BE_LOG")" 5
check_errors "end"
END_IN_USE=$(tp_kv "$BLOCK" in_use)
for p in 0 1 2 3; do log "vhostd final: port $p $(tp_vhostd_stats_line "$BE_LOG" $p | cut -d' ' -f4-)"; done
tp_stop "$BE_PID" 15
tp_forget_pid "$BE_PID"
[ "$TP_RC" -eq 0 ] || {
	tail -n 20 "$BE_LOG" >&2
	fail "vhostd exit status $TP_RC after SIGINT, want 0"
}

# ---- vhostd's own stats lines over the churn (one block a second): every
# block with ports 0,1 down shows the idle mbufs_in_use, none shows errors,
# and ports 2,3 rx_pkts grow from each block to the next while the
# long-running frontend runs.
blocks=0 down_blocks=0 block_in_use=0 block_in_use_max=0 stalls=0 stall_run=0 stall_max=0
b_rss_list="" b_rss_max=0 b_prev2="" b_prev3=""
while read -r bl b_in b_rss s0 s1 _ _ _ _ x2 x3 berr; do
	[ "$bl" -le "$LR_STOP_LINE" ] || break
	blocks=$((blocks + 1))
	[ "$berr" = 0 ] || fail "vhostd stats block at log line $bl: errors=$berr"
	if [ "$s0" = down ] && [ "$s1" = down ]; then
		down_blocks=$((down_blocks + 1))
		if [ "$b_in" != "$IDLE_IN_USE" ]; then
			block_in_use=$((block_in_use + 1))
			[ "$b_in" -gt "$block_in_use_max" ] && block_in_use_max=$b_in
		fi
	fi
	if [ -n "$b_prev2" ] && { [ "$x2" -le "$b_prev2" ] || [ "$x3" -le "$b_prev3" ]; }; then
		stalls=$((stalls + 1)) stall_run=$((stall_run + 1))
		[ "$stall_run" -gt "$stall_max" ] && stall_max=$stall_run
		log "stats block at line $bl: ports 2,3 rx $b_prev2/$b_prev3 -> $x2/$x3 (no progress in 1 s)"
	else
		stall_run=0
	fi
	b_prev2=$x2 b_prev3=$x3
	b_rss_list="$b_rss_list $b_rss"
	[ "$b_rss" -gt "$b_rss_max" ] && b_rss_max=$b_rss
done < <(tp_stats_blocks "$BE_LOG" "$CHURN_LINE" 4)

# ---- verdict
log "cycles done: $done_cycles of $CYCLES in ${churn_s}s" \
	"($((churn_s * 1000 / (done_cycles > 0 ? done_cycles : 1))) ms/cycle, slowest $(tp_ms $t_cycle_max) ms);" \
	"churn frontend RX per port per cycle >= $ch_rx_min"
log "mbufs_in_use: idle baseline $IDLE_IN_USE, with ports 2,3 running $RUN_IN_USE;" \
	"right after each disconnect (telemetry): $transient samples above baseline (max $transient_max)," \
	"each back to baseline when sampled again, $bad_in_use not; vhostd's stats lines with" \
	"ports 0,1 down: $block_in_use of $down_blocks above baseline (max $block_in_use_max);" \
	"at the end, all ports idle: $END_IN_USE"
log "mbufs_in_use after each disconnect:$in_use_list"
log "rss_kib after each disconnect (/proc statm):$rss_list"
log "rss_kib from vhostd's stats lines (1/s):$b_rss_list"
first=${rss_list# }
first=${first%% *}
log "rss_kib: idle $IDLE_RSS, first $first, after 10 cycles ${rss10:-?}, last $rss, max $rss_max" \
	"(stats lines: max $b_rss_max); fds/maps/HugetlbPages back to $FD0/$MAPS0/${HUGE0}kB after every disconnect"
log "ports 2,3: rx grew at every disconnect and in $((blocks - 1 - stalls)) of $((blocks - 1)) one-second stats intervals"
[ "$done_cycles" -ge "$MIN_CYCLES" ] || fail "only $done_cycles cycles fit in ${BUDGET_S}s, want >= $MIN_CYCLES"
[ "$rss" -le $((rss10 + RSS_SLACK_KIB)) ] ||
	fail "RSS grew from $rss10 KiB (cycle $((done_cycles < 10 ? done_cycles : 10))) to $rss KiB," \
		"more than $RSS_SLACK_KIB KiB"
[ "$bad_in_use" -eq 0 ] || fail "mbufs_in_use did not return to $IDLE_IN_USE after $bad_in_use disconnects"
[ "$END_IN_USE" = "$IDLE_IN_USE" ] || fail "mbufs_in_use=$END_IN_USE with every port idle, baseline $IDLE_IN_USE"
[ "$block_in_use_max" -le "$TRANSIENT_MAX" ] ||
	fail "a stats line with ports 0,1 down shows mbufs_in_use=$block_in_use_max, more than $TRANSIENT_MAX in flight"
[ "$stall_max" -lt "$MAX_STALL_S" ] ||
	fail "ports 2,3 made no progress for $stall_max consecutive seconds (limit $MAX_STALL_S)"
[ "$done_cycles" -eq "$CYCLES" ] || log "WARNING: only $done_cycles of $CYCLES cycles fit in the budget"
log "PASS ($done_cycles churn cycles, $((SECONDS - T_START)) s, single-copy $SINGLE_COPY," \
	"$([ "$TP_HUGE" = 1 ] && echo hugepages || echo no-huge))"
