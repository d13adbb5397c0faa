#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Telemetry at the port limit: with 256 ports, /vhostd/ports lists every
# port's state (the last port used to be dropped, and the counters of 256
# ports never fit telemetry's 16 KiB answer), /vhostd/port,255 and
# /vhostd/daemon answer, bad parameters are refused, and 300 queries leave
# vhostd's memory where it was (each one used to leak).
. "$(dirname "$0")/../lib.sh"

VHOSTD=$(find_vhostd)
D=$VHD_TMP
need_cmd python3 "apt-get install python3"
PREFIX=vhd-tel$$
mkdir "$D/p"
args=()
for i in $(seq 0 255); do args+=(--socket "$D/p/p$i.sock"); done
"$VHOSTD" "${args[@]}" -- --no-huge -m 256 --no-pci --lcores=0@0,1@0 --file-prefix=$PREFIX \
	>"$D/d.log" 2>&1 &
pid=$!
track_pid $pid
wait_for "vhostd: ready: 256 ports" "$D/d.log" 60 || { tail "$D/d.log"; fail "256 ports did not start"; }

python3 - "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" "$pid" <<'PY' || fail "telemetry check failed"
import json, socket, sys

def rss_kib(pid):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(65536)

def ask(cmd):
    s.send(cmd.encode())
    return json.loads(s.recv(1 << 22).decode())[cmd.split(",")[0]]

ports = ask("/vhostd/ports")
assert len(ports) == 256, "%d ports listed, want 256" % len(ports)
assert ports["port255"] == "down", ports["port255"]
one = ask("/vhostd/port,255")
assert one["path"].endswith("/p255.sock"), one
for key in ("msg_refused", "mem_faults", "interrupt_stalls"):
    assert key in one, key
daemon = ask("/vhostd/daemon")
assert daemon["ports"] == 256 and "mbufs_in_use" in daemon, daemon
for bad in ("/vhostd/port,256", "/vhostd/port,x", "/vhostd/port"):
    assert ask(bad) is None, "%s answered" % bad
for _ in range(20):  # warm up allocator caches
    ask("/vhostd/ports")
before = rss_kib(sys.argv[2])
for _ in range(300):
    ask("/vhostd/ports")
grown = rss_kib(sys.argv[2]) - before
print("[telemetry_ports] 256 ports listed; RSS grew %d KiB over 300 queries" % grown)
assert grown < 2048, "RSS grew by %d KiB over 300 queries" % grown
PY
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { tail "$D/d.log"; fail "exit $rc after SIGTERM"; }
log "PASS"
