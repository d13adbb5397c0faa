#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VLAN isolation with real guests and a real uplink.
#
# vhostd --fwd l2 with three vhost ports and one uplink:
#   a  vlan=10  10.10.0.1   pings b, then sends b 8 MiB (sha256 compared)
#   b  vlan=10  10.10.0.2   receives
#   c  vlan=20  10.10.0.3   pings a for a few seconds: no reply may come
#   --uplink net_af_packet0,iface=<veth host end>: a trunk
# All three guests share one subnet, so only the VLANs keep c from a and b.
# In a network namespace this test creates, the veth's other end counts
# every frame by source MAC and VLAN tag (vlan_capture.py): a's and b's
# floods must arrive tagged 10, c's tagged 20, and none of them untagged or
# with the other VLAN's tag. vhostd must exit cleanly with no tagged frame
# dropped from c's port (the guests send untagged).
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${VHD_GUEST_TIMEOUT:-300}
MIB=8
ISOLATED_S=15
D=$VHD_TMP
T0=$SECONDS
NS=vhdvlan$$
VETH_H=vvh$$
VETH_N=vvn$$
MAC_A=52:54:00:10:00:01
MAC_B=52:54:00:10:00:02
MAC_C=52:54:00:20:00:03

progress() { log "[$((SECONDS - T0))s] $*"; }

# shellcheck source=tests/guest/guest_lib.sh
. "$HERE/guest_lib.sh"

gl_check_prereqs
need_cmd ip "apt-get install iproute2"
need_cmd python3 "apt-get install python3"
[ "$(id -u)" = 0 ] || cannot_run "creating a network namespace needs root"
VHOSTD=$(find_vhostd)
gl_find_kernel

VHOSTD_PID="" CAPTURE_PID=""
QEMU_A="" QEMU_B="" QEMU_C=""

vhd_cleanup_hook() {
	local p
	for p in $QEMU_A $QEMU_B $QEMU_C; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	if alive "$VHOSTD_PID"; then
		kill -INT "$VHOSTD_PID" 2>/dev/null
		wait_exit "$VHOSTD_PID" 10 || kill -KILL "$VHOSTD_PID" 2>/dev/null
	fi
	alive "$CAPTURE_PID" && kill -KILL "$CAPTURE_PID" 2>/dev/null
	ip link del "$VETH_H" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	return 0
}

dump_logs() { gl_dump_tail 30 "$D"/a.serial "$D"/b.serial "$D"/c.serial "$D"/vhostd.log; }
die() { dump_logs; fail "$*"; }

# ---------------------------------------------------------------- the namespace
ip netns add "$NS" || cannot_run "ip netns add failed (no network namespaces here?)"
ip link add "$VETH_H" type veth peer name "$VETH_N" || cannot_run "cannot create a veth pair"
ip link set "$VETH_N" netns "$NS"
ip link set "$VETH_H" up
ip netns exec "$NS" ip link set "$VETH_N" up
ip netns exec "$NS" python3 "$HERE/vlan_capture.py" "$VETH_N" "$D/capture.json" &
CAPTURE_PID=$!
track_pid "$CAPTURE_PID"
wait_for ready "$D/capture.json.ready" 10 || die "the capture in the namespace did not start"

# ---------------------------------------------------------------- vhostd
if [ "$(hugepages_free)" -ge 256 ] 2>/dev/null; then mem="-m 256"; else mem="--no-huge -m 256"; fi
# shellcheck disable=SC2086
"$VHOSTD" --fwd l2 --stats 1 --control none \
	--socket "$D/a.sock,vlan=10" --socket "$D/b.sock,vlan=10" --socket "$D/c.sock,vlan=20" \
	--uplink "net_af_packet0,iface=$VETH_H" \
	-- --lcores=0@0,1@1 --no-pci --in-memory --file-prefix=vhdvlan$$ $mem >"$D/vhostd.log" 2>&1 &
VHOSTD_PID=$!
track_pid "$VHOSTD_PID"
wait_for "vhostd: ready" "$D/vhostd.log" 30 || die "vhostd never said 'vhostd: ready'"
progress "vhostd up: a,b in VLAN 10, c in VLAN 20, uplink $VETH_H (namespace $NS)"

# ---------------------------------------------------------------- guests
INITRD=$D/initrd.gz
gl_build_initramfs "$INITRD"
gl_qemu b "$MAC_B" "path=$D/b.sock" "vhd_role=b vhd_ip=10.10.0.2 vhd_peer=10.10.0.1 vhd_watchdog=$TIMEOUT"
gl_qemu a "$MAC_A" "path=$D/a.sock" "vhd_role=a vhd_ip=10.10.0.1 vhd_peer=10.10.0.2 vhd_mib=$MIB vhd_watchdog=$TIMEOUT"
gl_qemu c "$MAC_C" "path=$D/c.sock" "vhd_role=isolated vhd_ip=10.10.0.3 vhd_peer=10.10.0.1 vhd_mib=$ISOLATED_S vhd_watchdog=$TIMEOUT"
progress "booting guests a, b, c"

deadline=$((T0 + TIMEOUT))
for g in a b c; do
	until [ -n "$(marker $g 'VHD_DONE.*')" ]; do
		m=$(marker $g 'VHD_FAIL.*')
		[ -z "$m" ] || die "guest $g reported: $(echo "$m" | tr -d '\r')"
		alive "$VHOSTD_PID" || die "vhostd exited during the test"
		[ "$SECONDS" -lt "$deadline" ] || die "timed out after ${TIMEOUT}s waiting for guest $g"
		sleep 0.5
	done
	progress "guest $g done: $(marker $g 'VHD_(PING_OK|SHA_RECV|ISOLATED).*' | tr -d '\r')"
done

# ---------------------------------------------------------------- inside VLAN 10
sha_sent=$(marker a 'VHD_SHA_SENT [0-9a-f]{64}' | cut -d' ' -f2)
sha_recv=$(marker b 'VHD_SHA_RECV [0-9a-f]{64}' | cut -d' ' -f2)
[ -n "$sha_sent" ] && [ "$sha_sent" = "$sha_recv" ] ||
	die "VLAN 10: a sent sha256 '${sha_sent}', b received '${sha_recv}'"
progress "VLAN 10: a pinged b and sent it ${MIB} MiB intact (sha256 $sha_sent)"

# ---------------------------------------------------------------- across VLANs
iso=$(marker c 'VHD_ISOLATED.*' | tr -d '\r')
[ -n "$iso" ] || die "guest c printed no VHD_ISOLATED line"
received=$(echo "$iso" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
transmitted=$(echo "$iso" | sed -n 's/.* \([0-9]*\) packets transmitted.*/\1/p')
[ -n "$received" ] || die "cannot read guest c's ping summary: $iso"
[ "$received" = 0 ] || die "VLAN 20 reached VLAN 10: guest c got $received replies from a: $iso"
progress "VLAN 20: guest c got no reply from a ($transmitted pings): $iso"

# ---------------------------------------------------------------- on the uplink
kill -TERM "$CAPTURE_PID"
wait_exit "$CAPTURE_PID" 10 || die "the capture did not stop"
[ -s "$D/capture.json" ] || die "the capture wrote nothing"
log "    captured in $NS on $VETH_N: $(cat "$D/capture.json")"
python3 - "$D/capture.json" "$MAC_A" "$MAC_B" "$MAC_C" <<'PY' || die "wrong tags on the uplink (above)"
import json, sys
counts = json.load(open(sys.argv[1]))
want = {sys.argv[2]: "10", sys.argv[3]: "10", sys.argv[4]: "20"}
bad = []
for mac, vlan in want.items():
    seen = counts.get(mac, {})
    if seen.get(vlan, 0) == 0:
        bad.append(f"{mac}: no frame tagged {vlan} (saw {seen})")
    for other, n in seen.items():
        if other != vlan:
            bad.append(f"{mac}: {n} frames {'untagged' if other == 'untagged' else 'tagged ' + other}")
for b in bad:
    print("    " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
progress "uplink: a and b's frames tagged 10, c's tagged 20, nothing else from them"

# ---------------------------------------------------------------- vhostd's view
kill -INT "$VHOSTD_PID"
wait_exit "$VHOSTD_PID" 20 || die "vhostd did not exit on SIGINT"
wait "$VHOSTD_PID"
rc=$?
[ "$rc" = 0 ] || die "vhostd exited $rc"
for p in 0 1 2 3; do
	line=$(grep -a "stats: port=$p " "$D/vhostd.log" | tail -n 1)
	[ -n "$line" ] || die "no final stats line for port $p"
	log "    $line"
done
c_line=$(grep -a "stats: port=2 " "$D/vhostd.log" | tail -n 1)
echo "$c_line" | grep -q " vlan_drops=0" || die "guest c's port dropped tagged frames: $c_line"
progress "passed"
