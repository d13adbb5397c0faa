#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VIRTIO_RING_F_EVENT_IDX with Linux guests: the two-guests transfer
# (two_guests.sh) runs with QEMU's event_idx=off, then with it on, on one
# ring layout. Both must deliver the file intact and negotiate what was
# asked (a guest that misses an interrupt it asked for stalls, and the run
# times out). The interrupts per packet of both runs are printed side by
# side: under TCG the guests' timing decides how many interrupts they ask
# for, so how the two compare is measured and reported
# (docs/performance.md), not asserted.
#
#   --ring R   split (default) or packed
#   VHD_MIB=16 size of each transfer
#
# The interrupts and packets are vhostd's own counters (stats line
# interrupts=, rx_pkts=, tx_pkts=, both ports).
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
RING=split
while [ $# -gt 0 ]; do
	case $1 in
	--ring) RING=${2:-}; shift ;;
	*) fail "unknown argument '$1' (want --ring split|packed)" ;;
	esac
	shift
done
case $RING in split | packed) ;; *) fail "--ring wants split or packed, not '$RING'" ;; esac
MIB=${VHD_MIB:-16}
REPORT=$VHD_TMP/report

for e in off on; do
	log "two guests, ring=$RING event_idx=$e"
	VHD_MIB=$MIB bash "$HERE/two_guests.sh" --ring "$RING" --event-idx "$e" --report "$REPORT" ||
		fail "two guests with ring=$RING event_idx=$e failed"
done

# ratio_of E: interrupts per packet of the run with event_idx=E, in 1e-6
ratio_of() {
	awk -v e="event_idx=$1" '$2 == e {
		split($3, i, "="); split($4, p, "=")
		if (p[2] > 0) printf "%d\n", i[2] * 1000000 / p[2]
	}' "$REPORT"
}
off=$(ratio_of off)
on=$(ratio_of on)
[ -n "$off" ] && [ -n "$on" ] || fail "no interrupt counts reported: $(cat "$REPORT")"
log "interrupts per packet: event_idx=off $(awk -v r="$off" 'BEGIN { printf "%.4f", r / 1e6 }')," \
	"event_idx=on $(awk -v r="$on" 'BEGIN { printf "%.4f", r / 1e6 }') (ring=$RING)"
log "PASS: ring=$RING, event_idx off and on, both transfers intact"
exit 0
