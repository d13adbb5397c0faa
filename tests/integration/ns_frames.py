#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Frames seen and sent on a network interface, for the uplink tests (no scapy).
Run it inside the network namespace that holds the interface.

  ns_frames.py sink IFACE STATUS [--pcap OUT.pcap] [--udp-port P]
      Until SIGTERM or SIGINT: counts the frames IFACE receives (in) and
      sends (out, whoever sends them), the IPv4 UDP frames to port P among
      those received (in_udp), and the datagrams a UDP socket bound to
      port P takes (udp: the kernel's IP and UDP checks passed; the socket
      also keeps the kernel from answering with port unreachable). Writes
      "in=N out=N in_udp=N udp=N" to STATUS every 0.1 s and at the end;
      with --pcap, every received frame to OUT.pcap.

  ns_frames.py send IFACE --dst MAC --count N
      N frames from IFACE's own MAC to MAC, EtherType 0x88b5 (local
      experimental), 60 bytes, numbered. Prints "sent=N".
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
ETHERTYPE_LOCAL = 0x88B5


def raw_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    return s


def write_status(path, counts):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join("%s=%d" % kv for kv in counts.items()) + "\n")
    os.replace(tmp, path)


def sink(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    raw = raw_socket(a.iface)
    # room for a burst of thousands of segments while Python catches up
    try:
        raw.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    except OSError:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    mreq = struct.pack("iHH8s", socket.if_nametoindex(a.iface), PACKET_MR_PROMISC, 0, b"")
    raw.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    socks = [raw]
    udp = None
    if a.udp_port:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        udp.bind(("0.0.0.0", a.udp_port))
        socks.append(udp)
    pcap = None
    if a.pcap:
        pcap = open(a.pcap, "wb")
        pcap.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    counts = {"in": 0, "out": 0, "in_udp": 0, "udp": 0}
    write_status(a.status, counts)
    last = time.monotonic()
    while not stop:
        try:
            ready, _, _ = select.select(socks, [], [], 0.05)
        except InterruptedError:
            continue
        for s in ready:
            while True:
                try:
                    if s is raw:
                        data, addr = raw.recvfrom(262144, socket.MSG_DONTWAIT)
                    else:
                        udp.recv(65536, socket.MSG_DONTWAIT)
                        counts["udp"] += 1
                        continue
                except (BlockingIOError, InterruptedError):
                    break
                if addr[2] == PACKET_OUTGOING:
                    counts["out"] += 1
                    continue
                counts["in"] += 1
                if (len(data) >= 42 and data[12:14] == b"\x08\x00" and data[23] == 17 and
                        struct.unpack("!H", data[14 + (data[14] & 15) * 4 + 2:][:2])[0] == a.udp_port):
                    counts["in_udp"] += 1
                if pcap:
                    t = time.time()
                    pcap.write(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(data), len(data)))
                    pcap.write(data)
        now = time.monotonic()
        if now - last >= 0.1:
            write_status(a.status, counts)
            last = now
    if pcap:
        pcap.close()
    write_status(a.status, counts)
    return 0


def send(a):
    s = raw_socket(a.iface)
    src = s.getsockname()[4]
    dst = bytes.fromhex(a.dst.replace(":", ""))
    for i in range(a.count):
        payload = b"vhostd-uplink" + struct.pack("!I", i)
        frame = dst + src + struct.pack("!H", ETHERTYPE_LOCAL) + payload
        s.send(frame.ljust(60, b"\0"))
    print("sent=%d" % a.count)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("sink")
    k.add_argument("iface")
    k.add_argument("status")
    k.add_argument("--pcap")
    k.add_argument("--udp-port", type=int, default=0)
    k.set_defaults(fn=sink)
    t = sub.add_parser("send")
    t.add_argument("iface")
    t.add_argument("--dst", required=True)
    t.add_argument("--count", type=int, required=True)
    t.set_defaults(fn=send)
    a = ap.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
