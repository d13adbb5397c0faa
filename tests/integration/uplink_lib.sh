# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Helpers for the uplink tests (uplink_testpmd.sh, tests/guest/uplink_guest.sh):
# a network namespace of the test's own with one end of a veth pair, whose
# other end stays here for vhostd's net_af_packet uplink.
# Source it after tests/lib.sh; do not run it.
#
#   host end  UL_HOST   up, no address, IPv6 off: it sends nothing of its
#                       own, so all vhostd receives on it comes from the
#                       namespace
#   ns end    UL_PEER   in UL_NS, with the given MAC and address (a private
#                       range, only inside the namespace), transmit checksum
#                       offload off (the kernel would leave a partial
#                       checksum, which net_af_packet cannot flag to vhostd),
#                       GRO off, IPv6 off unless asked for

UL_NS="" UL_HOST="" UL_PEER=""
UL_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
UL_FRAMES=$UL_HERE/ns_frames.py

# ul_need_netns: root, ip, ethtool, python3 and a namespace that can be
# made; cannot_run otherwise.
ul_need_netns() {
	[ "$(id -u)" -eq 0 ] || cannot_run "network namespaces and veth pairs need root"
	need_cmd ip "apt-get install iproute2"
	need_cmd ethtool "apt-get install ethtool"
	need_cmd python3 "apt-get install python3"
	ip netns add "vhdprobe$$" 2>/dev/null || cannot_run "cannot create a network namespace (ip netns add)"
	ip netns del "vhdprobe$$"
}

# ul_setup MAC ADDR/PREFIX [ipv6]: the namespace and the veth pair, named
# after this shell's pid (interface names have at most 15 bytes).
ul_setup() {
	local mac=$1 addr=$2 v6=${3:-}
	UL_NS=vhduplink$$
	UL_HOST=vhu$$h
	UL_PEER=vhu$$n
	ip netns add "$UL_NS" || fail "ip netns add $UL_NS"
	ip link add "$UL_HOST" type veth peer name "$UL_PEER" netns "$UL_NS" ||
		fail "ip link add $UL_HOST type veth peer name $UL_PEER netns $UL_NS"
	sysctl -qw "net.ipv6.conf.$UL_HOST.disable_ipv6=1" || fail "cannot turn IPv6 off on $UL_HOST"
	ip link set "$UL_HOST" up || fail "ip link set $UL_HOST up"
	if [ "$v6" != ipv6 ]; then
		ip netns exec "$UL_NS" sysctl -qw "net.ipv6.conf.$UL_PEER.disable_ipv6=1" ||
			fail "cannot turn IPv6 off on $UL_PEER"
	fi
	ip -n "$UL_NS" link set "$UL_PEER" address "$mac" || fail "cannot set $UL_PEER's MAC"
	ip -n "$UL_NS" addr add "$addr" dev "$UL_PEER" || fail "ip addr add $addr dev $UL_PEER"
	ip netns exec "$UL_NS" ethtool -K "$UL_PEER" tx off gro off >/dev/null 2>&1 ||
		fail "ethtool -K $UL_PEER tx off gro off (in $UL_NS)"
	ip -n "$UL_NS" link set lo up
	ip -n "$UL_NS" link set "$UL_PEER" up || fail "ip link set $UL_PEER up"
	log "namespace $UL_NS: $UL_PEER $mac $addr (tx checksum offload off); host end $UL_HOST"
}

# ul_cleanup: the namespace goes, and both veth ends with it. After vhostd
# has let go of UL_HOST.
ul_cleanup() {
	[ -n "$UL_NS" ] || return 0
	ip netns pids "$UL_NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$UL_NS" 2>/dev/null
	ip link del "$UL_HOST" 2>/dev/null
	UL_NS=""
	return 0
}

# ul_sink_start STATUS [ns_frames.py sink options...]: counts frames on
# UL_PEER (see ns_frames.py); sets UL_SINK_PID once STATUS exists.
ul_sink_start() {
	local status=$1 _
	shift
	rm -f "$status"
	ip netns exec "$UL_NS" python3 "$UL_FRAMES" sink "$UL_PEER" "$status" "$@" &
	UL_SINK_PID=$!
	track_pid "$UL_SINK_PID"
	for _ in $(seq 1 100); do
		[ -s "$status" ] && return 0
		kill -0 "$UL_SINK_PID" 2>/dev/null || fail "ns_frames.py sink exited at start"
		sleep 0.05
	done
	fail "ns_frames.py sink did not start within 5 s"
}

# ul_sink_stop: stops the sink; its last counts stay in its STATUS file.
ul_sink_stop() {
	kill -TERM "$UL_SINK_PID" 2>/dev/null
	wait "$UL_SINK_PID" 2>/dev/null
}

# ul_count STATUS KEY: KEY's count in a sink's STATUS file (0 if none yet).
ul_count() {
	local v
	v=$(tr ' ' '\n' <"$1" 2>/dev/null | sed -n "s/^$2=//p")
	echo "${v:-0}"
}

# ul_wait_count STATUS KEY N TIMEOUT_S: until KEY's count is at least N.
ul_wait_count() {
	local _
	for _ in $(seq 1 $(($4 * 20))); do
		[ "$(ul_count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}
