#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Counts frames on an interface by (source MAC, VLAN tag) until SIGTERM.

Run inside the test's network namespace on the uplink's far end. The
kernel takes a received frame's 802.1Q tag off before a packet socket sees
it and reports it in PACKET_AUXDATA, so the tag is read from there. Prints
one JSON object on exit: {"src MAC": {"VLAN or untagged": count}}.
"""
import json
import signal
import socket
import struct
import sys

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
ETH_P_ALL = 0x0003


def main():
    iface = sys.argv[1]
    out = sys.argv[2]
    counts = {}
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    # the host waits for this file before it starts the guests
    with open(out + ".ready", "w") as f:
        f.write("ready\n")
    while not stop:
        try:
            data, anc, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(64))
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if addr[2] == socket.PACKET_OUTGOING or len(data) < 14:
            continue
        src = ":".join("%02x" % b for b in data[6:12])
        vlan = "untagged"
        for level, kind, cdata in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(cdata) >= 20:
                # struct tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid
                status, _l, _sl, _mac, _net, tci = struct.unpack("IIIHHH", cdata[:18])
                if status & TP_STATUS_VLAN_VALID:
                    vlan = str(tci & 0xFFF)
        # a tag the kernel left in the frame (e.g. a second tag)
        if vlan == "untagged" and data[12:14] == b"\x81\x00":
            vlan = str(struct.unpack("!H", data[14:16])[0] & 0xFFF)
        counts.setdefault(src, {}).setdefault(vlan, 0)
        counts[src][vlan] += 1
    with open(out, "w") as f:
        json.dump(counts, f)


if __name__ == "__main__":
    main()
