#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Large TCP segments for testpmd_offload.sh and their checks (no scapy).

  offload_pcap.py gen OUT.pcap --frames N --mss M
      N Ethernet frames, IPv4 and IPv6 in turn, TCP with and without
      options, payloads from one byte under the MSS up to 65160 bytes (a
      Linux 64 KiB TSO segment), correct checksums. Frame i is flow i: TCP
      source port 10000 + i. Prints the frame count, the number of segments
      they make at MSS M, how many have more than M payload bytes, and
      their TCP payload bytes.

  offload_pcap.py check whole|segmented SENT.pcap RECV.pcap --mss M
      whole      every sent frame arrives once, whole, with the same bytes
                 (IPv4 header checksum valid; the TCP checksum either
                 complete or the partial pseudo-header sum a virtio
                 NEEDS_CSUM frame carries, including the L4 length)
      segmented  every received frame is at most the headers + M bytes of
                 payload, has a valid IPv4 header checksum and a complete,
                 valid TCP checksum, consistent IP lengths; the segments of
                 each sent frame are exactly ceil(len / M), cover its
                 payload byte for byte, carry consecutive sequence numbers,
                 PSH/FIN only on the last one, its other headers unchanged.
      Prints one summary line; exit status 1 with the reasons on a mismatch.
"""
import argparse
import random
import struct
import sys

ETH_SRC = bytes.fromhex("02000000" "0a00")
ETH_DST = bytes.fromhex("02000000" "0b00")


def csum16(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def phdr_sum(v6, src, dst, l4len):
    if v6:
        return csum16(src + dst + struct.pack("!IxxxB", l4len, 6))
    return csum16(src + dst + struct.pack("!xBH", 6, l4len))


def payload_of(i, n):
    rnd = random.Random(1000 + i)
    return bytes(rnd.getrandbits(8) for _ in range(n)) if n < 4096 else rnd.randbytes(n)


def build(i, mss):
    v6 = i % 2 == 1
    sizes = [65160, 1448 * 17 + 5, mss - 1, 65160, 30001, 2 * mss, 1, 40000]
    plen = sizes[(i // 2) % len(sizes)]
    opts = b""
    if (i // 4) % 2 == 1:  # NOP NOP timestamp
        opts = b"\x01\x01\x08\x0a" + struct.pack("!II", 0x1000 + i, 0x2000 + i)
    flags = 0x18  # PSH ACK
    if i % 5 == 4:
        flags |= 0x01  # FIN
    payload = payload_of(i, plen)
    thl = 20 + len(opts)
    seq = 0x10000000 + i * 0x01000000
    tcp = struct.pack("!HHIIBBHHH", 10000 + i, 80, seq, 0x55, (thl // 4) << 4, flags, 65535, 0, 0) + opts
    if v6:
        src = bytes.fromhex("fd000000000000000000000000000001")
        dst = bytes.fromhex("fd000000000000000000000000000002")
        l3 = struct.pack("!IHBB", 0x60000000, thl + plen, 6, 64) + src + dst
        etype = 0x86DD
    else:
        src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
        l3 = struct.pack("!BBHHHBBH", 0x45, 0, 20 + thl + plen, 0x100 * i, 0x4000, 64, 6, 0) + src + dst
        l3 = l3[:10] + struct.pack("!H", 0xFFFF - csum16(l3)) + l3[12:]
        etype = 0x0800
    c = 0xFFFF - csum16(tcp + payload, phdr_sum(v6, src, dst, thl + plen))
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    return ETH_DST + ETH_SRC + struct.pack("!H", etype) + l3 + tcp + payload


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit("%s: no pcap header (%d bytes)" % (path, len(data)))
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise SystemExit("%s: not a pcap file" % path)
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append((data[off:off + caplen], wirelen))
        off += caplen
    return out


class Pkt:
    """Parsed Ethernet/IP/TCP frame (raises ValueError on anything else)."""

    def __init__(self, fr):
        self.fr = fr
        etype = struct.unpack("!H", fr[12:14])[0]
        if etype == 0x0800:
            self.v6 = False
            ihl = (fr[14] & 15) * 4
            self.l3 = fr[14:14 + ihl]
            self.iplen = struct.unpack("!H", fr[16:18])[0]
            if 14 + self.iplen != len(fr):
                raise ValueError("IPv4 total length %d for a %d-byte frame" % (self.iplen, len(fr)))
            self.ipid = struct.unpack("!H", fr[18:20])[0]
            self.src, self.dst = fr[26:30], fr[30:34]
            if fr[23] != 6:
                raise ValueError("IPv4 protocol %d" % fr[23])
            self.ip_ok = csum16(self.l3) == 0xFFFF
            l4 = 14 + ihl
        elif etype == 0x86DD:
            self.v6 = True
            self.l3 = fr[14:54]
            plen = struct.unpack("!H", fr[18:20])[0]
            if 54 + plen != len(fr):
                raise ValueError("IPv6 payload length %d for a %d-byte frame" % (plen, len(fr)))
            if fr[20] != 6:
                raise ValueError("IPv6 next header %d" % fr[20])
            self.src, self.dst = fr[22:38], fr[38:54]
            self.ip_ok = True
            self.ipid = None
            l4 = 54
        else:
            raise ValueError("ethertype 0x%04x" % etype)
        self.l4 = l4
        self.sport, self.dport, self.seq, self.ack, doff, self.flags = struct.unpack("!HHIIBB", fr[l4:l4 + 14])
        self.thl = (doff >> 4) * 4
        self.cksum = struct.unpack("!H", fr[l4 + 16:l4 + 18])[0]
        self.hdrs = l4 + self.thl
        self.payload = fr[self.hdrs:]
        l4len = len(fr) - l4
        self.phdr = phdr_sum(self.v6, self.src, self.dst, l4len)
        self.tcp_ok = csum16(fr[l4:], self.phdr) == 0xFFFF
        # virtio NEEDS_CSUM: the field holds the folded pseudo-header sum
        self.tcp_partial = self.cksum == self.phdr


def gen(a):
    frames = [build(i, a.mss) for i in range(a.frames)]
    write_pcap(a.out, frames)
    segs = sum(max(1, -(-len(Pkt(f).payload) // a.mss)) for f in frames)
    pay = sum(len(Pkt(f).payload) for f in frames)
    over = sum(1 for f in frames if len(Pkt(f).payload) > a.mss)
    print("frames=%d segments=%d over_mss=%d payload_bytes=%d frame_bytes=%d max_frame=%d" %
          (len(frames), segs, over, pay, sum(len(f) for f in frames), max(len(f) for f in frames)))


def check(a):
    sent = {}
    for fr, _ in read_pcap(a.sent):
        p = Pkt(fr)
        sent[p.sport] = p
    errs = []
    got = {}
    full = partial = 0
    for n, (fr, wire) in enumerate(read_pcap(a.recv)):
        if len(fr) != wire:
            errs.append("received frame %d: captured %d of %d bytes" % (n, len(fr), wire))
            continue
        try:
            p = Pkt(fr)
        except ValueError as e:
            errs.append("received frame %d: %s" % (n, e))
            continue
        if p.sport not in sent:
            errs.append("received frame %d: unknown flow %d" % (n, p.sport))
            continue
        if not p.ip_ok:
            errs.append("flow %d frame %d: bad IPv4 header checksum" % (p.sport, n))
        if p.tcp_ok:
            full += 1
        elif a.mode == "whole" and p.tcp_partial:
            partial += 1
        else:
            errs.append("flow %d frame %d (%d bytes): bad TCP checksum 0x%04x" % (p.sport, n, len(fr), p.cksum))
        got.setdefault(p.sport, []).append(p)

    nseg = 0
    for sport, s in sorted(sent.items()):
        segs = got.get(sport, [])
        if a.mode == "whole":
            if len(segs) != 1:
                errs.append("flow %d: %d copies received, want 1 whole frame" % (sport, len(segs)))
                continue
            r = segs[0]
            if len(r.fr) != len(s.fr):
                errs.append("flow %d: %d bytes received, sent %d" % (sport, len(r.fr), len(s.fr)))
                continue
            lo, hi = s.l4 + 16, s.l4 + 18  # TCP checksum: complete or partial, checked above
            ipc = (24, 26) if not s.v6 else (0, 0)
            a_ = bytearray(r.fr)
            b_ = bytearray(s.fr)
            for x, y in ((lo, hi), ipc):
                a_[x:y] = b_[x:y]
            a_[0:12] = b_[0:12]  # testpmd's csum engine writes the MACs
            if a_ != b_:
                errs.append("flow %d: bytes differ from what was sent" % sport)
            nseg += 1
            continue
        want = max(1, -(-len(s.payload) // a.mss))
        if len(segs) != want:
            errs.append("flow %d: %d segments, want %d (payload %d, mss %d)" %
                        (sport, len(segs), want, len(s.payload), a.mss))
            continue
        segs.sort(key=lambda p: (p.seq - s.seq) & 0xFFFFFFFF)
        data = b""
        for k, r in enumerate(segs):
            last = k == want - 1
            if len(r.payload) > a.mss or (not last and len(r.payload) != a.mss):
                errs.append("flow %d seg %d: payload %d bytes (mss %d)" % (sport, k, len(r.payload), a.mss))
            if (r.seq - s.seq) & 0xFFFFFFFF != len(data):
                errs.append("flow %d seg %d: seq off by %d" % (sport, k, ((r.seq - s.seq) & 0xFFFFFFFF) - len(data)))
            fl = s.flags if last else s.flags & ~0x09  # FIN, PSH on the last only
            if r.flags != fl:
                errs.append("flow %d seg %d: flags 0x%02x, want 0x%02x" % (sport, k, r.flags, fl))
            if r.fr[s.l4 + 18:r.hdrs] != s.fr[s.l4 + 18:s.hdrs] or r.fr[s.l4:s.l4 + 4] != s.fr[s.l4:s.l4 + 4] \
                    or r.ack != s.ack or r.thl != s.thl:
                errs.append("flow %d seg %d: TCP header differs" % (sport, k))
            if not s.v6 and r.ipid != (s.ipid + k) & 0xFFFF:
                errs.append("flow %d seg %d: IPv4 id 0x%04x, want 0x%04x" % (sport, k, r.ipid, (s.ipid + k) & 0xFFFF))
            if r.src != s.src or r.dst != s.dst:
                errs.append("flow %d seg %d: addresses differ" % (sport, k))
            data += r.payload
        if data != s.payload:
            errs.append("flow %d: reassembled payload differs (%d of %d bytes)" % (sport, len(data), len(s.payload)))
        nseg += len(segs)
    extra = sum(len(v) for k, v in got.items()) - nseg
    if extra > 0:
        errs.append("%d received frames beyond the expected ones" % extra)
    rx = sum(len(v) for v in got.values())
    pay = sum(len(p.payload) for v in got.values() for p in v)
    maxlen = max((len(p.fr) for v in got.values() for p in v), default=0)
    print("check %s: sent=%d received=%d max_frame=%d payload_bytes=%d tcp_csum_complete=%d "
          "tcp_csum_partial=%d errors=%d" % (a.mode, len(sent), rx, maxlen, pay, full, partial, len(errs)))
    for e in errs[:20]:
        print("  " + e, file=sys.stderr)
    return 1 if errs else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out")
    g.add_argument("--frames", type=int, default=32)
    g.add_argument("--mss", type=int, default=1448)
    c = sub.add_parser("check")
    c.add_argument("mode", choices=["whole", "segmented"])
    c.add_argument("sent")
    c.add_argument("recv")
    c.add_argument("--mss", type=int, default=1448)
    a = ap.parse_args()
    if a.cmd == "gen":
        gen(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
