#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# uplink_cli.sh: --uplink DEVARGS on the command line (issue 10).
#
# Bad devargs are bad input: exit 2 and exactly one line of vhostd's own
# naming --uplink, whether the command line shows it (empty, too long, a
# device name over 63 bytes, given twice) or only the probe once EAL runs
# (a driver nobody knows, arguments the driver refuses, a PCI address
# with vhostd's default --no-pci). With root, an uplink on lo starts with
# vhostd's default EAL options (the PMD is loaded from DPDK's plugin
# directory without -d), shows link=up in its stats line and goes on
# SIGINT with exit 0.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

VHOSTD=$(find_vhostd)
D=$VHD_TMP

# expect_bad NAME PATTERN ARGS...: exit 2, one "vhostd: --uplink" line
# matching PATTERN (grep -E) and no other error line.
expect_bad() {
	local name=$1 pat=$2 rc lines
	shift 2
	rc=0
	timeout 60 "$VHOSTD" --control none "$@" </dev/null >"$D/out" 2>"$D/err" || rc=$?
	[ "$rc" -eq 2 ] || { cat "$D/err" >&2; fail "$name: exit $rc, want 2"; }
	# vhostd's error lines name an option ("vhostd: --..."); its log lines a function
	lines=$(grep -c '^vhostd: --' "$D/err")
	[ "$lines" -eq 1 ] || { cat "$D/err" >&2; fail "$name: $lines error lines on stderr, want 1"; }
	grep -qE -- "^vhostd: --uplink $pat" "$D/err" || {
		cat "$D/err" >&2
		fail "$name: no line 'vhostd: --uplink $pat'"
	}
	log "ok: $name -> $(grep '^vhostd: --' "$D/err")"
}

"$VHOSTD" --help | grep -q -- "--uplink DEVARGS" || fail "--help does not describe --uplink DEVARGS"

# Seen on the command line, before EAL.
expect_bad "empty devargs" "'': no device name" --uplink ''
expect_bad "no device name" "',iface=lo': no device name" --uplink ',iface=lo'
long=$(printf 'net_af_packet0,iface=lo,x=%05000d' 0)
expect_bad "devargs of 5026 bytes" "net_af_packet0\.\.\.: devargs longer than 4095 bytes" --uplink "$long"
name=net_af_packet$(printf '%060d' 0)
expect_bad "a device name of 73 bytes" "$name,iface=lo: device name longer than 63 bytes" \
	--uplink "$name,iface=lo"
expect_bad "given twice" "net_af_packet0,iface=lo: given twice" \
	--uplink net_af_packet0,iface=lo --uplink net_af_packet0,iface=lo

# Seen when the device is probed, with EAL running (vhostd's defaults).
expect_bad "unknown driver" "net_nosuch0,iface=lo: no bus or driver knows the device name" \
	--uplink net_nosuch0,iface=lo
expect_bad "an interface that does not exist" \
	"net_af_packet0,iface=vhdnosuch$$: the driver refused it" --uplink "net_af_packet0,iface=vhdnosuch$$"
expect_bad "a PCI address under --no-pci" "0000:00:1f.7: no such device: PCI is off" \
	--uplink 0000:00:1f.7
expect_bad "a socket given as well" "net_nosuch0: no bus or driver" \
	--socket "$D/a.sock" --uplink net_nosuch0
[ -e "$D/a.sock" ] && fail "vhostd left $D/a.sock behind after the bad --uplink"

# A good one, with the defaults a user gets.
if [ "$(id -u)" -ne 0 ]; then
	cannot_run "an uplink on lo needs root (net_af_packet opens a packet socket)"
fi
"$VHOSTD" --control none --uplink net_af_packet0,iface=lo --stats 1 </dev/null >"$D/good.log" 2>&1 &
pid=$!
track_pid "$pid"
wait_for "stats: port=0 " "$D/good.log" 30 || { tail -n 20 "$D/good.log" >&2; fail "no stats line for the uplink within 30 s"; }
line=$(grep -m1 "^stats: port=0 " "$D/good.log")
echo "$line" | grep -q "path=net_af_packet0,iface=lo state=up .* link=up" ||
	fail "want the uplink up with link=up: $line"
grep -q "port 0: uplink net_af_packet0,iface=lo: ethdev port 0 (net_af_packet)" "$D/good.log" ||
	fail "no line about the uplink's ethdev port: $(grep -m3 uplink "$D/good.log")"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 "$D/good.log" >&2; fail "vhostd exit $rc after SIGINT, want 0"; }
log "ok: $line"
log "PASS"
