#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of tests/fuzz/fuzz_virtq.c, and checks it.

    tests/fuzz/make_seeds.py [--out tests/fuzz/corpus]
    tests/fuzz/make_seeds.py --check build-fuzz/tests/fuzz/fuzz_virtq

Each seed is a guest in the target's input format (see the comment at the top
of fuzz_virtq.c): the well-formed cases of the unit tests (a plain chain, a
header split over descriptors, an indirect table, mergeable receive buffers, a
buffer straddling two regions, ...) and every malformed chain of
tests/unit/test_virtq_hostile.c, each followed by a good packet or buffer.
--check runs the target on every seed with FUZZ_VIRTQ_DEBUG=1 and compares
each burst's result (returned, consumed, error counters) with what the seed
was built to do, so a seed that stops reaching its case is noticed. Forward
seeds use the peer queue (a second queue in the same guest memory).

packed_* seeds are the same guests on the packed ring layout (both queues;
tests/unit/test_virtq_packed_hostile.c's cases as packed_bad_*); there
"consumed" counts the used descriptors (buffers completed).
"""
import argparse
import os
import re
import struct
import subprocess
import sys

# header byte 0
F_MRG, F_INDIRECT, F_V1, F_RINGS_IN_GUEST, F_CALLFD = 1, 2, 4, 8, 16
# offload features (offload_sets[] of fuzz_virtq.c): bits 5-7 of the main
# queue's feature byte, bits 3-5 of the peer's
OFF_LINUX, OFF_TX_ONLY, OFF_RX_ONLY, OFF_CSUM, OFF_V4, OFF_V6, OFF_NO_GCSUM = range(1, 8)
def OFFLOAD(n): return n << 5
def PEER_OFFLOAD(n): return n << 3
# mbuf offload kinds (bits 2-4 of its segments byte) and MSS choices (bits 13-15 of its length)
M_TCP4, M_UDP4, M_TCP6, M_UDP6, M_TSO4, M_TSO6, M_TSO4_OPTS = range(1, 8)
MSS = [1448, 1, 7, 100, 536, 1000, 1460, 4000]
# virtio-net header
NEEDS_CSUM, DATA_VALID = 1, 2
GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_ECN = 1, 3, 4, 0x80
# descriptor flags
NEXT, WRITE, INDIRECT = 1, 2, 4
NO_INTERRUPT = 1
# packed ring (peer feature byte bits 6 and 7, both queues)
P_PACKED, P_EVENT_IDX = 0x40, 0x80
P_AVAIL, P_USED = 1 << 7, 1 << 15
EV_ENABLE, EV_DISABLE, EV_DESC = 0, 1, 2
# ops
def RX(n): return 0x00 | n
def TX(n): return 0x40 | n
def POST(n): return 0x80 | n
def FWD(n, peer_to_main=False):
    assert n % 3 == 0 and n // 3 < 16
    return 0xa0 | (0x10 if peer_to_main else 0) | n // 3
MISC_TOGGLE_NO_INTR = 0xc1
def MISC_HINT(h): return 0xc2 | (h << 2)
MISC_STARVE = 0xe0

HDR_LEN = 96
MAX_REGIONS, MAX_OPS, MAX_MBUFS = 4, 8, 8
U64 = (1 << 64) - 1

# Default layout: four regions, R1 and R2 back to back (straddling), gaps elsewhere.
LOW = [  # (gap before, size); region 0 at gpa0
    (0, 0x2000),
    (0x7000, 0x2000),
    (0, 0x2000),
    (0x40000000, 0x1000),
]
LOW_GPA0 = 0x10000
# The same, with the last region ending one byte below 2^64 (the highest a
# region may end: vhd_mem_table_check refuses an end that wraps to 0).
HIGH_GPA0 = (1 << 64) - (1 << 32)
HIGH = [(0, 0x2000), (0x7000, 0x2000), (0, 0x2000), None]  # R3 placed below


class Ring:
    """One virtqueue's driver side: descriptor table and avail ring."""

    packed = False

    def __init__(self, features, qsize, start, used_start):
        self.features = features
        self.qsize = qsize
        self.start = start & 0xFFFF
        self.used_start = self.start if used_start is None else used_start & 0xFFFF
        self.desc = [(0, 0, 0, 0)] * qsize
        self.next_desc = 0
        self.avail_flags = 0
        self.avail_idx = self.start
        self.avail_ring = [0] * qsize

    @property
    def hdr_len(self):
        return 12 if self.features & (F_MRG | F_V1) else 10

    def bytes(self):
        out = b"".join(struct.pack("<QIHH", *d) for d in self.desc)
        out += struct.pack("<HH", self.avail_flags, self.avail_idx)
        out += struct.pack("<%dH" % self.qsize, *self.avail_ring)
        return out + struct.pack("<H", 0)


class PackedRing:
    """One packed virtqueue's driver side: the descriptor ring and its event area."""

    packed = True

    def __init__(self, features, qsize, base):
        assert 1 <= qsize <= 256
        self.features = features
        self.qsize = qsize
        self.start = base & 0xFFFF
        self.slot = base & 0x7FFF
        self.wrap = bool(base & 0x8000)
        assert self.slot < qsize
        # every slot looks used in the lap before the start, as a ring that ran there
        self.desc = [(0, 0, 0, (P_AVAIL | P_USED) if (self.wrap if i < self.slot
                                                      else not self.wrap) else 0)
                     for i in range(qsize)]
        self.next_id = 0
        self.inflight = 0
        self.event = (EV_ENABLE, 0)

    @property
    def hdr_len(self):
        return 12 if self.features & (F_MRG | F_V1) else 10

    def post(self, descs, buf_id=None):
        """One buffer: descs (addr, len, flags) in consecutive slots, flags as given
        (NEXT too), each marked available in its lap; returns its id."""
        if buf_id is None:
            buf_id = self.next_id
            self.next_id = (self.next_id + 1) % self.qsize
        assert self.inflight + len(descs) <= self.qsize
        self.inflight += len(descs)
        for a, l, f in descs:
            self.desc[self.slot] = (a & U64, l & 0xFFFFFFFF, buf_id & 0xFFFF,
                                    f | (P_AVAIL if self.wrap else P_USED))
            self.slot += 1
            if self.slot == self.qsize:
                self.slot, self.wrap = 0, not self.wrap
        return buf_id

    def set_bits(self, slot, bits):
        a, l, i, f = self.desc[slot]
        self.desc[slot] = (a, l, i, (f & ~(P_AVAIL | P_USED)) | bits)

    def hide_last(self, n):
        """The last n slots posted look used in their own lap (not available); the
        target's POST op makes them available again."""
        slot, wrap = self.slot, self.wrap
        for _ in range(n):
            if slot == 0:
                slot, wrap = self.qsize, not wrap
            slot -= 1
            self.set_bits(slot, (P_AVAIL | P_USED) if wrap else 0)

    def bytes(self):
        out = b"".join(struct.pack("<QIHH", *d) for d in self.desc)
        return out + struct.pack("<HH", *self.event)


class Guest:
    def __init__(self, features=F_V1 | F_INDIRECT | F_CALLFD, qsize=16, start=0,
                 used_start=None, layout=None, gpa0=LOW_GPA0, high=False, fill=0xEE,
                 peer_features=F_V1 | F_INDIRECT, peer_qsize=2, peer_start=0,
                 packed=False, event_idx=False):
        self.features = features
        self.packed = packed
        self.event_idx = event_idx
        if packed:
            # start: the vring base (slot, wrap counter in bit 15); fresh: slot 0, wrap 1
            self.main = PackedRing(features, qsize, start or 0x8000)
            self.peer = PackedRing(peer_features, peer_qsize, peer_start or 0x8000)
        else:
            self.main = Ring(features, qsize, start, used_start)
            self.peer = Ring(peer_features, peer_qsize, peer_start, None)
        self.q = self.main  # the ring the helpers below work on
        self.fill = fill
        if high:
            gpa0 = HIGH_GPA0
            layout = list(HIGH[:3])
            r2_end = gpa0 + 0x2000 + 0x7000 + 0x2000 + 0x2000
            size3 = 0x1000
            layout.append(((U64 - size3) - r2_end, size3))
        self.layout = layout or LOW
        self.gpa0 = gpa0
        self.gpa = []
        g = gpa0
        for i, (gap, size) in enumerate(self.layout):
            if i > 0:
                g = self.gpa[-1] + self.layout[i - 1][1] + gap
            self.gpa.append(g)
        self.mem = [bytearray([fill]) * size for _, size in self.layout]
        self.lo = [None] * len(self.layout)  # written part of each region
        self.hi = [0] * len(self.layout)
        self.brk = [0] * len(self.layout)
        self.mbufs = []
        self.ops = []
        self.expect = []  # per rx/tx op: dict of what debug_op must print

    # the current ring (main unless use(peer))
    def use(self, ring):
        self.q = ring
        return self

    qsize = property(lambda self: self.q.qsize)
    desc = property(lambda self: self.q.desc)
    avail_idx = property(lambda self: self.q.avail_idx,
                         lambda self, v: setattr(self.q, "avail_idx", v))

    @property
    def hdr_len(self):
        return self.q.hdr_len

    def region_gpa(self, r):
        return self.gpa[r]

    def end(self, r):
        return self.gpa[r] + self.layout[r][1]

    # guest memory
    def alloc(self, r, length, align=16):
        off = self.brk[r]
        if off + length > self.layout[r][1]:
            raise ValueError("region %d full" % r)
        self.brk[r] = (off + length + align - 1) // align * align
        return self.gpa[r] + off

    def write(self, gpa, data):
        for i, b in enumerate(data):
            a = gpa + i
            for r in range(len(self.layout)):
                if self.gpa[r] <= a < self.end(r):
                    self.mem[r][a - self.gpa[r]] = b
                    off = a - self.gpa[r]
                    self.lo[r] = off if self.lo[r] is None else min(self.lo[r], off)
                    self.hi[r] = max(self.hi[r], off + 1)
                    break
            else:
                raise ValueError("gpa %#x in no region" % a)

    # rings
    def desc_alloc(self):
        d = self.q.next_desc % self.q.qsize
        self.q.next_desc += 1
        return d

    def set_desc(self, i, addr, length, flags, nxt=0):
        self.q.desc[i] = (addr & U64, length & 0xFFFFFFFF, flags, nxt & 0xFFFF)

    def one_desc(self, addr, length, flags, nxt=0):
        d = self.desc_alloc()
        self.set_desc(d, addr, length, flags, nxt)
        return d

    def chain(self, bufs, flags):
        if self.q.packed:  # a buffer to post(): its descriptors
            return [(a, l, flags | (NEXT if k + 1 < len(bufs) else 0))
                    for k, (a, l) in enumerate(bufs)]
        ids = [self.desc_alloc() for _ in bufs]
        for k, (addr, length) in enumerate(bufs):
            last = k + 1 == len(bufs)
            self.set_desc(ids[k], addr, length, flags | (0 if last else NEXT),
                          0 if last else ids[k + 1])
        return ids[0]

    def table(self, r, entries, offset=0):
        """An indirect table of (addr, len, flags, next) in region r; returns its gpa."""
        gpa = self.alloc(r, 16 * len(entries) + offset) + offset
        self.write(gpa, b"".join(struct.pack("<QIHH", a & U64, l, f, n)
                                 for a, l, f, n in entries))
        return gpa

    def indirect(self, bufs, flags, r=0):
        if self.q.packed:
            return [(self.ptable(r, [(a, l, flags) for a, l in bufs]), 16 * len(bufs),
                     INDIRECT)]
        t = [(a, l, flags | (NEXT if k + 1 < len(bufs) else 0), k + 1 if k + 1 < len(bufs) else 0)
             for k, (a, l) in enumerate(bufs)]
        return self.one_desc(self.table(r, t), 16 * len(t), INDIRECT)

    def ptable(self, r, entries, offset=0):
        """A packed indirect table of (addr, len, flags) in region r; returns its gpa."""
        gpa = self.alloc(r, 16 * len(entries) + offset) + offset
        self.write(gpa, b"".join(struct.pack("<QIHH", a & U64, l & 0xFFFFFFFF, 0, f)
                                 for a, l, f in entries))
        return gpa

    def post(self, head):
        q = self.q
        if q.packed:
            return q.post(head)
        q.avail_ring[q.avail_idx % q.qsize] = head & 0xFFFF
        q.avail_idx = (q.avail_idx + 1) & 0xFFFF

    # packets
    def tx_pkt(self, frame_len, lens=None, r=0, indirect=False, seed=1, gpas=None,
               hdr=None, frame=None):
        """A packet the guest transmits (vhostd rx): header + frame cut into lens."""
        if frame is not None:
            frame_len = len(frame)
        else:
            frame = bytes((seed * 7 + i) & 0xFF for i in range(frame_len))
        total = self.hdr_len + frame_len
        pkt = (hdr or b"").ljust(self.hdr_len, b"\0")[:self.hdr_len] + frame
        lens = lens or [total]
        assert sum(lens) == total
        bufs, off = [], 0
        for k, l in enumerate(lens):
            gpa = gpas[k] if gpas else self.alloc(r, l)
            self.write(gpa, pkt[off:off + l])
            bufs.append((gpa, l))
            off += l
        head = self.indirect(bufs, 0, r) if indirect else self.chain(bufs, 0)
        return self.post(head)

    def rx_buf(self, length, r=0, gpa=None):
        """A buffer the guest posts to receive into (vhostd tx)."""
        gpa = self.alloc(r, length) if gpa is None else gpa
        head = self.chain([(gpa, length)], WRITE)
        return self.post(head)

    def mbuf(self, length, segs=1, empty_first=False, offload=0, mss=1448):
        assert 1 <= segs <= 4 or segs == 65
        assert length <= 0x1FFF and 0 <= offload < 8
        b = 0x40 if segs == 65 else segs - 1
        self.mbufs.append((length | MSS.index(mss) << 13,
                           b | (0x80 if empty_first else 0) | offload << 2))

    def op(self, op, to=None, **expect):
        self.ops.append(op)
        if op < 0x80:
            expect["op"] = "rx" if op < 0x40 else "tx"
            self.expect.append(expect)
        elif 0xa0 <= op < 0xc0:
            expect["op"] = "fwd"
            self.expect.append(expect)
            to = dict(to or {})
            to["op"] = "to"
            self.expect.append(to)

    def bytes(self):
        assert 1 <= len(self.layout) <= MAX_REGIONS and len(self.ops) <= MAX_OPS
        assert len(self.mbufs) <= MAX_MBUFS

        def log2(n):
            k = n.bit_length() - 1
            assert n == 1 << k and 1 <= k <= 8
            return k - 1
        m, p = self.main, self.peer
        if self.packed:
            def log2(n):  # packed: the size byte is size - 1
                assert 1 <= n <= 256
                return n - 1
        out = struct.pack("<BBHHBBQ", self.features, log2(m.qsize), m.start,
                          m.start if self.packed else m.used_start,
                          len(self.layout) - 1, self.fill, self.gpa0)
        for i in range(MAX_REGIONS):
            if i < len(self.layout):
                gap, size = self.layout[i]
                lo = self.lo[i] or 0
                out += struct.pack("<IHHH", gap, size - 1, lo, self.hi[i] - lo)
            else:
                out += struct.pack("<IHHH", 0, 0, 0, 0)
        pf = p.features | (P_PACKED if self.packed else 0) | (P_EVENT_IDX if self.event_idx else 0)
        out += struct.pack("<BBHH", pf, log2(p.qsize), p.start,
                           p.start if self.packed else p.used_start)
        out += struct.pack("<BB", len(self.mbufs), max(len(self.ops), 1) - 1)
        out += bytes(self.ops + [0] * (MAX_OPS - len(self.ops)))
        for i in range(MAX_MBUFS):
            l, s = self.mbufs[i] if i < len(self.mbufs) else (0, 0)
            out += struct.pack("<HB", l, s)
        assert len(out) == HDR_LEN
        out += m.bytes() + p.bytes()
        for i in range(len(self.layout)):
            out += bytes(self.mem[i][self.lo[i] or 0:self.hi[i]])
        return out


SEEDS = {}


def seed(fn):
    SEEDS[fn.__name__] = fn
    return fn


# ---------------------------------------------------------------- well formed

@seed
def rx_one_desc():
    g = Guest()
    g.tx_pkt(64)
    g.op(RX(32), ret=1, consumed=1, errs={})
    return g


@seed
def rx_legacy_header():
    g = Guest(features=F_INDIRECT)  # no VERSION_1, no MRG: 10-byte header
    g.tx_pkt(60)
    g.tx_pkt(1500, lens=[10, 1500])
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def rx_header_split():
    g = Guest()
    g.tx_pkt(64, lens=[12, 64])            # header alone
    g.tx_pkt(64, lens=[5, 7, 30, 34])      # header over two descriptors
    g.tx_pkt(64, lens=[20, 56])            # header and part of the frame
    g.op(RX(32), ret=3, consumed=3, errs={})
    return g


@seed
def rx_indirect():
    g = Guest()
    g.tx_pkt(100, lens=[12, 50, 50], indirect=True, r=1)
    g.tx_pkt(64)
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def rx_straddle():
    g = Guest()
    # one descriptor across the R1/R2 boundary (back to back guest-physically)
    g.tx_pkt(200, gpas=[g.end(1) - 100])
    g.op(RX(32), ret=1, consumed=1, errs={})
    return g


@seed
def rx_bursts_wrap_idx():
    g = Guest(start=0xFFFD, qsize=8)
    for i in range(6):
        g.tx_pkt(60 + i, seed=i)
    g.op(RX(4), ret=4, consumed=4, errs={})
    g.op(RX(4), ret=2, consumed=2, errs={})
    g.op(RX(4), ret=0, consumed=0, errs={})
    return g


@seed
def rx_full_ring_256():
    g = Guest(qsize=256)
    for i in range(40):
        g.tx_pkt(14 + i, seed=i)
    g.op(RX(63), ret=32, consumed=32, errs={})
    g.op(RX(63), ret=8, consumed=8, errs={})
    return g


@seed
def rx_ring_2_post_more():
    g = Guest(qsize=2)
    g.tx_pkt(64)
    g.tx_pkt(64)
    g.avail_idx = (g.avail_idx - 1) & 0xFFFF  # the guest publishes one ...
    g.op(RX(32), ret=1, consumed=1, errs={})
    g.op(POST(1))                            # ... then the other
    g.op(RX(32), ret=1, consumed=1, errs={})
    return g


@seed
def rx_rings_in_guest():
    g = Guest(features=F_V1 | F_INDIRECT | F_RINGS_IN_GUEST)
    g.brk[0] = 0x800  # past the rings at the start of region 0
    g.tx_pkt(64)
    g.tx_pkt(64, indirect=True, lens=[12, 64])
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def rx_starved_then_ok():
    g = Guest()
    g.tx_pkt(64)
    g.op(MISC_STARVE)
    g.op(RX(32), ret=0, consumed=0, no_mbuf=1, errs={})
    g.op(RX(32), ret=1, consumed=1, errs={})
    return g


@seed
def rx_stale_hint_no_interrupt():
    g = Guest()
    g.tx_pkt(64, r=3)
    g.tx_pkt(64, r=2)
    g.op(MISC_HINT(7))
    g.op(MISC_TOGGLE_NO_INTR)
    g.op(RX(1), ret=1, consumed=1, errs={})
    g.op(MISC_HINT(3))
    g.op(RX(1), ret=1, consumed=1, errs={})
    return g


@seed
def rx_high_region():
    g = Guest(high=True)
    g.tx_pkt(64, r=3)
    g.tx_pkt(64, gpas=[g.end(3) - 76])  # ends on the last byte below 2^64
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def rx_region_at_zero_one_region():
    g = Guest(layout=[(0, 0x4000)], gpa0=0)
    g.tx_pkt(64)
    g.tx_pkt(64, gpas=[0])
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def tx_one_buffer():
    g = Guest()
    g.rx_buf(256)
    g.rx_buf(2048, r=1)
    g.mbuf(100)
    g.mbuf(1500, segs=2)
    g.op(TX(2), ret=2, consumed=2, errs={})
    return g


@seed
def tx_legacy_header():
    g = Guest(features=0)
    g.rx_buf(1600)
    g.mbuf(1514)
    g.op(TX(1), ret=1, consumed=1, errs={})
    return g


@seed
def tx_mergeable():
    g = Guest(features=F_V1 | F_MRG | F_INDIRECT)
    for _ in range(6):
        g.rx_buf(512)
    g.mbuf(1500, segs=3)
    g.mbuf(60, segs=2, empty_first=True)
    g.mbuf(1100)
    # 3 + 1 buffers; the last packet needs 3, finds 2 and gives them back
    g.op(TX(3), ret=2, consumed=4, no_room=1, errs={})
    return g


@seed
def tx_mergeable_legacy_post_more():
    g = Guest(features=F_MRG)
    g.rx_buf(1000)
    g.rx_buf(1000)
    g.rx_buf(1000)
    g.avail_idx = (g.avail_idx - 2) & 0xFFFF
    g.mbuf(2500, segs=2)
    g.op(TX(1), ret=0, consumed=0, no_room=1, errs={})  # the chains go back
    g.op(POST(2))
    g.op(TX(1), ret=1, consumed=3, errs={})
    return g


@seed
def tx_indirect():
    g = Guest()
    g.post(g.indirect([(g.alloc(1, 12), 12), (g.alloc(1, 400), 400), (g.alloc(2, 400), 400)],
                      WRITE, r=0))
    g.mbuf(700, segs=4)
    g.op(TX(1), ret=1, consumed=1, errs={})
    return g


@seed
def tx_straddle():
    g = Guest(features=F_V1 | F_MRG)
    g.rx_buf(600, gpa=g.end(1) - 300)
    g.rx_buf(600, r=2, gpa=g.region_gpa(2) + 0x400)
    g.mbuf(1000, segs=2)
    g.op(TX(1), ret=1, consumed=2, errs={})
    return g


@seed
def tx_rings_in_guest_rx_too():
    g = Guest(features=F_V1 | F_MRG | F_INDIRECT | F_RINGS_IN_GUEST)
    g.brk[0] = 0x800
    g.rx_buf(256)
    g.tx_pkt(64)
    g.rx_buf(256)
    g.mbuf(200)
    g.mbuf(200)
    g.op(TX(2), ret=1, consumed=2, errs={"direction": 1})
    return g


@seed
def tx_mbuf_65_segments():
    g = Guest()
    g.rx_buf(256)
    g.rx_buf(256)
    g.mbuf(200, segs=65)  # more pieces than the datapath tracks: too big
    g.mbuf(100)
    g.op(TX(2), ret=1, consumed=1, errs={"too_big": 1})
    return g


@seed
def tx_no_buffers():
    g = Guest()
    g.mbuf(64)
    g.op(TX(1), ret=0, consumed=0, no_room=1, errs={})
    g.op(RX(8), ret=0, consumed=0, errs={})
    return g


@seed
def tx_high_region_mergeable():
    g = Guest(features=F_V1 | F_MRG, high=True)
    g.rx_buf(200, gpa=g.end(3) - 200)
    g.rx_buf(200, r=0)
    g.mbuf(300)
    g.op(TX(1), ret=1, consumed=2, errs={})
    return g


@seed
def tx_too_many_pieces_mergeable():
    # 112 one-byte chains: the packet needs more than TX_HEADS_MAX (64) buffers;
    # too big, and the chains stay for the next packet
    g = Guest(features=F_V1 | F_MRG, qsize=128)
    for _ in range(120):
        g.rx_buf(1)
    g.mbuf(100)
    g.mbuf(20)
    g.op(TX(2), ret=1, consumed=32, errs={"too_big": 1})
    return g


@seed
def tx_too_many_pieces_indirect():
    # 200 pieces of 8 bytes hold 1530 bytes, but more than TX_IOV_MAX (128)
    g = Guest(features=F_V1 | F_INDIRECT)
    g.post(g.indirect([(g.alloc(1, 8, align=8), 8) for _ in range(200)], WRITE, r=0))
    g.mbuf(1518)
    g.mbuf(600)
    g.op(TX(2), ret=1, consumed=1, errs={"too_big": 1})
    return g


# Jumbo frames: regions of 16 KiB (the most the input format gives).
BIG = [(0, 0x4000), (0x7000, 0x4000), (0, 0x4000), (0x40000000, 0x4000)]


@seed
def rx_jumbo_straddle():
    g = Guest(layout=BIG)
    g.tx_pkt(9000, lens=[12 + 3000, 6000], gpas=[g.end(1) - 1000, g.alloc(3, 6000)])
    g.tx_pkt(64)
    g.tx_pkt(16000, r=2)
    g.op(RX(32), ret=3, consumed=3, errs={})
    return g


@seed
def rx_over_64k():
    # legal descriptors, 5 x 16 KiB of the same memory: a frame over 65535 bytes
    g = Guest(layout=BIG)
    g.post(g.chain([(g.region_gpa(1), 0x4000)] * 5, 0))
    g.tx_pkt(64)
    g.op(RX(32), ret=1, consumed=2, errs={"too_big": 1})
    return g


@seed
def tx_jumbo_mergeable():
    g = Guest(features=F_V1 | F_MRG, layout=BIG)
    for k in range(5):
        g.rx_buf(2048, r=k % 4)
    g.mbuf(8000, segs=4)
    g.op(TX(1), ret=1, consumed=4, errs={})
    return g


@seed
def tx_chain_too_small():
    # without MRG_RXBUF a chain too small is too big for the guest, and stays
    g = Guest()
    g.post(g.chain([(g.alloc(0, 500), 500), (g.alloc(0, 300), 300)], WRITE))
    g.mbuf(1000)
    g.mbuf(700, segs=2)
    g.op(TX(2), ret=1, consumed=1, errs={"too_big": 1})
    return g


@seed
def fwd_jumbo():
    g = Guest(layout=BIG, peer_qsize=4)
    g.tx_pkt(9000, lens=[12, 9000], r=1)
    g.tx_pkt(12000, r=2)
    g.use(g.peer)
    g.rx_buf(9012, r=0)
    g.rx_buf(4000, r=3)
    g.use(g.main)
    g.op(FWD(3), ret=2, consumed=2, errs={},
         to=dict(ret=1, consumed=1, errs={"too_big": 1}))
    return g


@seed
def mixed_rx_tx():
    g = Guest(features=F_V1 | F_MRG | F_INDIRECT | F_CALLFD)
    g.tx_pkt(64)
    g.tx_pkt(300, lens=[12, 150, 150], r=1)
    g.mbuf(64)
    g.op(RX(1), ret=1, consumed=1, errs={})
    g.op(RX(32), ret=1, consumed=1, errs={})
    g.op(TX(1), ret=0, consumed=0, no_room=1, errs={})
    return g


@seed
def avail_idx_jump():
    for_rx = Guest(start=100)
    for_rx.tx_pkt(64)
    for_rx.avail_idx = (100 + 17) & 0xFFFF
    for_rx.mbuf(64)
    for_rx.op(RX(32), ret=0, consumed=0, errs={"avail_idx": 1})
    for_rx.op(TX(1), ret=0, consumed=0, errs={"avail_idx": 1})
    return for_rx


@seed
def avail_idx_behind():
    g = Guest(start=0)
    g.tx_pkt(64)
    g.avail_idx = 0xFFFF
    g.op(RX(32), ret=0, consumed=0, errs={"avail_idx": 1})
    g.op(POST(2))  # back to 1: now legal
    g.op(RX(32), ret=1, consumed=1, errs={})
    return g


@seed
def last_used_differs():
    # after a reconnect the positions come from the frontend; used trails avail here
    g = Guest(start=0x1234, used_start=0x1230)
    g.tx_pkt(64)
    g.op(RX(32), ret=1, consumed=1, errs={})
    return g


# ---------------------------------------------------------------- forward
# vhd_virtq_forward_burst between the main queue and the peer queue.

@seed
def fwd_basic():
    g = Guest(peer_qsize=16)
    g.tx_pkt(64)
    g.tx_pkt(64, lens=[5, 7, 30, 34], r=1)
    g.tx_pkt(1500, lens=[12, 700, 800], indirect=True, r=2)
    g.use(g.peer)
    for _ in range(3):
        g.rx_buf(2048, r=0)
    g.use(g.main)
    g.op(FWD(3), ret=3, consumed=3, errs={}, to=dict(ret=3, consumed=3, errs={}))
    g.op(FWD(3), ret=0, consumed=0, errs={}, to=dict(ret=0, consumed=0, errs={}))
    return g


@seed
def fwd_peer_to_main_mergeable():
    g = Guest(features=F_V1 | F_MRG | F_CALLFD, peer_qsize=16)
    for _ in range(8):
        g.rx_buf(512, r=1)
    g.use(g.peer)
    g.tx_pkt(1500, r=2)
    g.tx_pkt(1500, lens=[100, 1412], r=2)
    g.use(g.main)
    g.op(FWD(3, peer_to_main=True), ret=2, consumed=2, errs={},
         to=dict(ret=2, consumed=6, errs={}))
    return g


@seed
def fwd_legacy_source():
    g = Guest(features=0, peer_features=F_V1 | F_MRG, peer_qsize=8)
    g.tx_pkt(100)          # 10-byte header
    g.tx_pkt(100, lens=[4, 6, 100])
    g.use(g.peer)
    g.rx_buf(64)
    g.rx_buf(64)
    g.rx_buf(64)
    g.rx_buf(64)
    g.use(g.main)
    g.op(FWD(3), ret=2, consumed=2, errs={}, to=dict(ret=2, consumed=4, errs={}))
    return g


@seed
def fwd_no_room():
    g = Guest(peer_qsize=16)
    for i in range(3):
        g.tx_pkt(64, seed=i)
    g.use(g.peer).rx_buf(256)
    g.use(g.main)
    g.op(FWD(6), ret=3, consumed=3, errs={}, to=dict(ret=1, consumed=1, no_room=2, errs={}))
    return g


@seed
def fwd_bad_chains_both_sides():
    g = Guest(peer_features=F_V1 | F_MRG | F_INDIRECT, peer_qsize=4)
    g.post(b_loop_a_b_a(g, 0))
    g.tx_pkt(64)
    g.tx_pkt(80)
    g.use(g.peer)
    g.post(b_wrong_dir_head(g, WRITE))
    g.rx_buf(256)
    g.use(g.main)
    g.op(FWD(3), ret=2, consumed=3, errs={"chain_loop": 1},
         to=dict(ret=1, consumed=2, errs={"direction": 1}))
    return g


@seed
def fwd_dest_avail_broken():
    g = Guest(peer_start=7, peer_qsize=16)
    g.tx_pkt(64)
    g.use(g.peer)
    g.rx_buf(256)
    g.avail_idx = (7 + 40) & 0xFFFF
    g.use(g.main)
    g.op(FWD(3), ret=1, consumed=1, errs={},
         to=dict(ret=0, consumed=0, no_room=1, errs={"avail_idx": 1}))
    return g


@seed
def fwd_source_avail_broken():
    g = Guest(peer_qsize=16)
    g.tx_pkt(64)
    g.avail_idx = 0x8000
    g.use(g.peer).rx_buf(256)
    g.use(g.main)
    g.op(FWD(3), ret=0, consumed=0, errs={"avail_idx": 1}, to=dict(ret=0, consumed=0, errs={}))
    return g


@seed
def fwd_burst_cap_rings_in_guest():
    g = Guest(features=F_V1 | F_INDIRECT | F_RINGS_IN_GUEST, qsize=64, peer_qsize=64)
    g.brk[0] = 0x800
    for i in range(40):
        g.tx_pkt(14 + i, seed=i, r=0 if i < 20 else 1)
    g.use(g.peer)
    for _ in range(40):
        g.rx_buf(80, r=2)
    g.use(g.main)
    g.op(FWD(45), ret=32, consumed=32, errs={}, to=dict(ret=32, consumed=32, errs={}))
    g.op(FWD(45), ret=8, consumed=8, errs={}, to=dict(ret=8, consumed=8, errs={}))
    return g


@seed
def fwd_straddle_high():
    g = Guest(high=True, features=F_V1 | F_MRG | F_INDIRECT, peer_qsize=4)
    g.tx_pkt(200, gpas=[g.end(1) - 100])
    g.tx_pkt(64, gpas=[g.end(3) - 76])
    g.tx_pkt(12 + 2048, r=0)  # a frame longer than one mbuf: fine, but no room left
    g.use(g.peer)
    g.rx_buf(300, gpa=g.end(3) - 300)
    g.rx_buf(300, gpa=g.end(1) - 150)
    g.use(g.main)
    g.op(FWD(3), ret=3, consumed=3, errs={},
         to=dict(ret=2, consumed=2, no_room=1, errs={}))
    g.op(RX(8), ret=0, consumed=0, errs={})
    return g


# ---------------------------------------------------------------- offloads

def frame(kind, payload, seed=1):
    """Ethernet + IPv4/IPv6 + TCP/UDP + payload ("tcp4", "udp4", "tcp6", "udp6", "raw")."""
    data = bytes((seed * 13 + i * 7) & 0xFF for i in range(payload))
    eth = bytes(range(2, 8)) + bytes(range(0x12, 0x18))
    if kind == "raw":
        return eth + b"\x88\xb5" + data
    v6, tcp = kind.endswith("6"), kind.startswith("tcp")
    doff = 4 if kind == "tcp4_doff4" else 5
    l4 = (struct.pack(">HHIIBBHHH", 1234, 80, 0xFFFFF000, 0, doff << 4, 0x18, 65535, 0, 0)
          if tcp else struct.pack(">HHHH", 1234, 53, 8 + payload, 0))
    proto = 6 if tcp else 17
    if v6:
        ip = struct.pack(">IHBB", 6 << 28, len(l4) + payload, proto, 64) + bytes(range(16)) + \
            bytes(range(0x80, 0x90))
        return eth + b"\x86\xdd" + ip + l4 + data
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4) + payload, 0x1234, 0, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return eth + b"\x08\x00" + ip + l4 + data


def vhdr(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def csum_req(kind):
    l3 = 40 if kind.endswith("6") else 20
    return vhdr(NEEDS_CSUM, csum_start=14 + l3, csum_offset=16 if kind.startswith("tcp") else 6)


def tso_req(v6, mss):
    l3 = 40 if v6 else 20
    return vhdr(NEEDS_CSUM, GSO_TCPV6 if v6 else GSO_TCPV4, 14 + l3 + 20, mss, 14 + l3, 16)


HOST = OFFLOAD(OFF_TX_ONLY)
LINUX = F_V1 | F_INDIRECT | F_CALLFD | OFFLOAD(OFF_LINUX)


@seed
def rx_offload_requests():
    g = Guest(features=LINUX)
    g.tx_pkt(0, frame=frame("tcp4", 300), hdr=csum_req("tcp4"))
    g.tx_pkt(0, frame=frame("udp6", 200), hdr=csum_req("udp6"), r=1)
    g.tx_pkt(0, frame=frame("tcp4", 2000), hdr=tso_req(False, 536), r=2)
    # the header split 1 + 11 bytes: every field in the second piece
    g.tx_pkt(0, frame=frame("tcp6", 1500), hdr=tso_req(True, 1000), lens=[1, 11, 1574], r=1)
    g.tx_pkt(0, frame=frame("tcp4", 100), hdr=vhdr(DATA_VALID), lens=[1, 11, 154], r=0)
    g.op(RX(32), ret=5, consumed=5, errs={})
    return g


@seed
def rx_offload_header_ignored():
    g = Guest()  # no offloads: whatever the header says means nothing
    g.tx_pkt(0, frame=frame("tcp4", 300), hdr=b"\xff" * 10)
    g.tx_pkt(0, frame=frame("tcp4", 300), hdr=b"\xff" * 10, lens=[1, 11, 354])
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


def h_tso_non_ip(n):
    return vhdr(NEEDS_CSUM, GSO_TCPV4, 54, 20, 14, 0)


# name, error kind, features, frame kind, header for a frame of n bytes, rx only
HOSTILE_HDR = [
    ("gso_size_0", "hdr_gso_size", HOST, "tcp4", lambda n: tso_req(False, 0), False),
    ("gso_size_over_frame", "hdr_gso_size", HOST, "tcp4", lambda n: tso_req(False, n + 1), False),
    ("hdr_len_beyond_frame", "hdr_len", HOST, "tcp4",
     lambda n: vhdr(NEEDS_CSUM, GSO_TCPV4, n + 1, 536, 34, 16), False),
    ("csum_start_beyond_frame", "hdr_csum", HOST, "tcp4", lambda n: vhdr(NEEDS_CSUM, 0, 0, 0, n, 0),
     False),
    ("csum_offset_beyond_frame", "hdr_csum", HOST, "tcp4",
     lambda n: vhdr(NEEDS_CSUM, 0, 0, 0, 34, n), False),
    ("csum_field_half_outside", "hdr_csum", HOST, "tcp4",
     lambda n: vhdr(NEEDS_CSUM, 0, 0, 0, n - 1, 0), False),
    ("csum_ffff", "hdr_csum", HOST, "tcp4", lambda n: vhdr(NEEDS_CSUM, 0, 0, 0, 0xFFFF, 0xFFFF),
     False),
    ("gso_type_unknown", "hdr_gso_type", HOST, "tcp4",
     lambda n: vhdr(NEEDS_CSUM, 0x7F, 54, 536, 34, 16), False),
    ("gso_type_udp", "hdr_gso_type", HOST, "udp4", lambda n: vhdr(NEEDS_CSUM, GSO_UDP, 42, 536, 34, 6),
     False),
    ("tso6_not_negotiated", "hdr_gso_type", OFFLOAD(OFF_V4), "tcp6", lambda n: tso_req(True, 536),
     False),
    ("ecn_not_negotiated", "hdr_ecn", HOST, "tcp4",
     lambda n: vhdr(NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 54, 536, 34, 16), False),
    ("unknown_flag_bits", "hdr_flags", HOST, "tcp4", lambda n: vhdr(NEEDS_CSUM | 4, 0, 0, 0, 34, 16),
     False),
    ("needs_csum_without_csum", "hdr_flags", OFFLOAD(OFF_RX_ONLY), "tcp4",
     lambda n: csum_req("tcp4"), False),
    ("gso_without_needs_csum", "hdr_flags", HOST, "tcp4",
     lambda n: vhdr(0, GSO_TCPV4, 54, 536, 34, 16), False),
    ("tso_on_udp", "hdr_not_l4", HOST, "udp4", lambda n: tso_req(False, 536), True),
    ("tso_on_non_ip", "hdr_not_l4", HOST, "raw", h_tso_non_ip, True),
    ("tso4_on_ipv6", "hdr_not_l4", HOST, "tcp6", lambda n: tso_req(False, 536), True),
    ("tso_csum_not_tcp_csum", "hdr_csum", HOST, "tcp4",
     lambda n: vhdr(NEEDS_CSUM, GSO_TCPV4, 54, 536, 34, 10), True),
    # found by the fuzzer: a TCP data offset of 4 (16-byte header)
    ("tso_tcp_data_off_4", "hdr_not_l4", HOST, "tcp4_doff4", lambda n: tso_req(False, 536), True),
]


def hostile_hdr(name, err, offload, kind, make, mode, split):
    g = Guest(features=F_V1 | F_INDIRECT | F_CALLFD | offload,
              peer_features=F_V1 | PEER_OFFLOAD(OFF_RX_ONLY), peer_qsize=4)
    f = frame(kind, 1000)
    g.tx_pkt(0, frame=f, hdr=make(len(f)), lens=[1, 11, len(f)] if split else None, r=1)
    g.tx_pkt(0, frame=frame("tcp4", 100))
    if mode == "rx":
        g.op(RX(32), ret=1, consumed=2, errs={err: 1})
    else:
        g.use(g.peer)
        g.rx_buf(2048, r=2)
        g.use(g.main)
        g.op(FWD(3), ret=1, consumed=2, errs={err: 1}, to=dict(ret=1, consumed=1, errs={}))
    return g


@seed
def fwd_offload_headers():
    g = Guest(features=LINUX, peer_features=F_V1 | PEER_OFFLOAD(OFF_LINUX), peer_qsize=4)
    g.tx_pkt(0, frame=frame("udp6", 500), hdr=vhdr(NEEDS_CSUM | DATA_VALID, 0, 0, 0, 54, 6))
    g.tx_pkt(0, frame=frame("tcp4", 3000), hdr=tso_req(False, 1000), lens=[1, 11, 3054], r=1)
    g.use(g.peer)
    g.rx_buf(1024, r=2)
    g.rx_buf(4096, r=1)
    g.use(g.main)
    g.op(FWD(3), ret=2, consumed=2, errs={}, to=dict(ret=2, consumed=2, errs={}))
    return g


@seed
def tx_offload_csum_software():
    g = Guest()  # no GUEST_CSUM: vhostd completes each checksum
    for k in range(4):
        g.rx_buf(1024, r=k % 3)
        g.mbuf(300 + k, segs=1 + k, offload=M_TCP4 + k)
    g.op(TX(4), ret=4, consumed=4, errs={})
    return g


@seed
def tx_offload_csum_passed_on():
    g = Guest(features=F_V1 | F_MRG | OFFLOAD(OFF_RX_ONLY))
    for k in range(8):
        g.rx_buf(60, r=k % 3)  # the checksum field lands across buffers
    g.mbuf(90, segs=2, offload=M_TCP4)
    g.mbuf(100, segs=3, empty_first=True, offload=M_UDP6)
    g.op(TX(2), ret=2, consumed=4, errs={})
    return g


@seed
def tx_tso_segments():
    g = Guest(features=F_V1 | F_INDIRECT | OFFLOAD(OFF_CSUM))  # GUEST_CSUM, no GUEST_TSO
    for _ in range(4):
        g.rx_buf(1600, r=0)
    g.mbuf(4000, segs=2, offload=M_TSO4, mss=1000)  # 3946 bytes of payload: 4 segments
    g.op(TX(1), ret=1, consumed=4, errs={})
    return g


@seed
def tx_tso6_segments_mergeable():
    g = Guest(features=F_V1 | F_MRG)
    for k in range(5):
        g.rx_buf(1600, r=k % 2)
    g.mbuf(6000, segs=3, empty_first=True, offload=M_TSO6, mss=1460)  # 5926: 5 segments
    g.op(TX(1), ret=1, consumed=5, errs={})
    return g


@seed
def tx_tso_segments_no_room():
    g = Guest(features=F_V1 | OFFLOAD(OFF_V6))  # TSO6 only: a v4 frame is cut
    g.rx_buf(1600, r=0)
    g.rx_buf(1600, r=1)
    g.mbuf(4000, segs=2, offload=M_TSO4_OPTS, mss=1000)  # 3942: 4 segments, 2 fit
    g.mbuf(100)
    g.op(TX(2), ret=1, consumed=2, no_room=3, errs={})
    return g


@seed
def tx_tso_mss_1():
    g = Guest(qsize=16)
    for _ in range(8):
        g.rx_buf(128, r=0)
    g.mbuf(100, offload=M_TSO4, mss=1)  # 46 one-byte segments, 8 fit
    g.op(TX(1), ret=1, consumed=8, no_room=38, errs={})
    return g


@seed
def tx_tso_passthrough():
    g = Guest(features=F_V1 | OFFLOAD(OFF_LINUX))
    g.rx_buf(4200, r=1)
    g.mbuf(4100, segs=3, offload=M_TSO6, mss=1000)
    g.op(TX(1), ret=1, consumed=1, errs={})
    return g



# ---------------------------------------------------------------- malformed
# Each builds one bad chain of direction d (0 = guest transmit, WRITE = guest
# receive) and returns its head; a good packet or buffer is posted behind it.

def b_head_out_of_range(g, d): return g.qsize + 3
def b_head_ffff(g, d): return 0xFFFF
def b_next_out_of_range(g, d): return g.one_desc(g.alloc(0, 64), 64, d | NEXT, g.qsize)


def b_next_ffff(g, d):
    d1 = g.desc_alloc()
    d0 = g.one_desc(g.alloc(0, 16), 16, d | NEXT, d1)
    g.set_desc(d1, g.alloc(0, 16), 16, d | NEXT, 0xFFFF)
    return d0


def b_self_loop(g, d):
    i = g.desc_alloc()
    g.set_desc(i, g.alloc(0, 16), 16, d | NEXT, i)
    return i


def b_loop_a_b_a(g, d):
    a, b = g.desc_alloc(), g.desc_alloc()
    g.set_desc(a, g.alloc(0, 16), 16, d | NEXT, b)
    g.set_desc(b, g.alloc(1, 16), 16, d | NEXT, a)
    return a


def b_chain_longer_than_ring(g, d):
    ids = [g.desc_alloc() for _ in range(g.qsize - 1)]
    for k, i in enumerate(ids):
        g.set_desc(i, g.alloc(0, 16), 16, d | NEXT, ids[(k + 1) % len(ids)])
    return ids[0]


def b_indirect_loop(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 1 if k == 3 else k + 1) for k in range(4)]
    return g.one_desc(g.table(0, t), 64, INDIRECT)


def b_gap_low(g, d): return g.one_desc(0x1000, 64, d)
def b_gpa_zero(g, d): return g.one_desc(0, 64, d)
def b_gap_between(g, d): return g.one_desc(g.end(0) + 0x1000, 1500, d)


def b_gap_second_desc(g, d):
    d1 = g.desc_alloc()
    d0 = g.one_desc(g.alloc(0, 16), 16, d | NEXT, d1)
    g.set_desc(d1, g.end(2) + 0x1000, 64, d)
    return d0


def b_above_last_region(g, d): return g.one_desc(g.end(3) + 0x1000, 64, d)
def b_wrap_from_region(g, d): return g.one_desc(g.region_gpa(3) + 0x100, 0xFFFFFFFF, d)
def b_wrap_top(g, d): return g.one_desc(U64 - 15, 64, d)
def b_past_end_last_region(g, d): return g.one_desc(g.end(3) - 64, 512, d)
def b_past_end_r0(g, d): return g.one_desc(g.end(0) - 8, 64, d)
def b_past_end_r2_into_gap(g, d): return g.one_desc(g.end(2) - 20, 100, d)
def b_zero_len_head(g, d): return g.one_desc(g.alloc(0, 64), 0, d)


def b_zero_len_middle(g, d):
    d2, d1 = g.desc_alloc(), g.desc_alloc()
    d0 = g.one_desc(g.alloc(0, 16), 16, d | NEXT, d1)
    g.set_desc(d1, g.alloc(0, 16), 0, d | NEXT, d2)
    g.set_desc(d2, g.alloc(0, 64), 64, d)
    return d0


def b_zero_len_indirect_entry(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 1), (g.alloc(1, 64), 0, d, 0)]
    return g.one_desc(g.table(0, t), 32, INDIRECT)


def good_table(g, d):
    return g.table(0, [(g.alloc(1, 16), 16, d | NEXT, 1), (g.alloc(1, 64), 64, d, 0)])


def b_indirect_len_24(g, d): return g.one_desc(good_table(g, d), 24, INDIRECT)
def b_indirect_len_0(g, d): return g.one_desc(good_table(g, d), 0, INDIRECT)
def b_indirect_len_huge(g, d): return g.one_desc(good_table(g, d), 16 * (32768 + 1), INDIRECT)


def b_nested_indirect_first(g, d):
    return g.one_desc(g.table(0, [(good_table(g, d), 32, INDIRECT, 0)]), 16, INDIRECT)


def b_nested_indirect_second(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 1), (good_table(g, d), 32, INDIRECT, 0)]
    return g.one_desc(g.table(0, t), 32, INDIRECT)


def b_indirect_plain(g, d): return g.one_desc(good_table(g, d), 32, INDIRECT)


def b_indirect_with_next(g, d):
    d1 = g.desc_alloc()
    d0 = g.one_desc(good_table(g, d), 32, INDIRECT | NEXT, d1)
    g.set_desc(d1, g.alloc(0, 64), 64, d)
    return d0


def b_indirect_not_head(g, d):
    d1 = g.desc_alloc()
    d0 = g.one_desc(g.alloc(0, 16), 16, d | NEXT, d1)
    g.set_desc(d1, good_table(g, d), 32, INDIRECT)
    return d0


def b_indirect_table_in_gap(g, d): return g.one_desc(g.end(0) + 0x1000, 32, INDIRECT)


def b_indirect_table_straddles(g, d):
    t = [(g.alloc(0, 16), 16, d | NEXT, 1), (g.alloc(0, 64), 64, d, 0)]
    gpa = g.region_gpa(2) - 16
    g.write(gpa, b"".join(struct.pack("<QIHH", *e) for e in t))
    return g.one_desc(gpa, 32, INDIRECT)


def b_indirect_table_past_end(g, d):
    gpa = g.end(3) - 16
    g.write(gpa, struct.pack("<QIHH", g.alloc(0, 64), 64, d, 0))
    return g.one_desc(gpa, 64, INDIRECT)


def b_indirect_table_misaligned(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 1), (g.alloc(1, 64), 64, d, 0)]
    return g.one_desc(g.table(0, t, offset=4), 32, INDIRECT)


def b_indirect_table_wraps(g, d): return g.one_desc(U64 - 31, 64, INDIRECT)


def b_indirect_next_out_of_range(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 2), (g.alloc(1, 64), 64, d, 0)]
    return g.one_desc(g.table(0, t), 32, INDIRECT)


def b_indirect_entry_in_gap(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 1), (g.end(2) + 0x1000, 64, d, 0)]
    return g.one_desc(g.table(0, t), 32, INDIRECT)


def b_wrong_dir_head(g, d): return g.one_desc(g.alloc(0, 1500), 1500, d ^ WRITE)


def b_wrong_dir_second(g, d):
    d1 = g.desc_alloc()
    d0 = g.one_desc(g.alloc(0, 16), 16, d | NEXT, d1)
    g.set_desc(d1, g.alloc(0, 1500), 1500, d ^ WRITE)
    return d0


def b_wrong_dir_indirect(g, d):
    t = [(g.alloc(1, 16), 16, d | NEXT, 1), (g.alloc(1, 1500), 1500, d ^ WRITE, 0)]
    return g.one_desc(g.table(0, t), 32, INDIRECT)


def b_rx_frame_13(g, d): return g.one_desc(g.alloc(0, 25), 25, d)
def b_rx_header_only(g, d): return g.one_desc(g.alloc(0, 12), 12, d)


def b_rx_header_short(g, d):
    d1 = g.desc_alloc()
    d0 = g.one_desc(g.alloc(0, 5), 5, d | NEXT, d1)
    g.set_desc(d1, g.alloc(0, 3), 3, d)
    return d0


# legal chains of a frame over 65535 bytes (descriptors may share memory)
def b_rx_too_long(g, d):
    return g.chain([(g.region_gpa(1), 0x2000)] * 9, d)


def b_rx_too_long_chain(g, d):
    return g.chain([(g.alloc(0, 12), 12)] + [(g.region_gpa(1), 0x2000)] * 8, d)


ALL, RXO, TXO = ("rx", "tx", "txm"), ("rx",), ("tx",)
HOSTILE = [
    # name, error counter, modes, high layout, no INDIRECT_DESC, builder
    ("head_out_of_range", "desc_index", ALL, False, False, b_head_out_of_range),
    ("head_ffff", "desc_index", ALL, False, False, b_head_ffff),
    ("next_out_of_range", "desc_index", ALL, False, False, b_next_out_of_range),
    ("next_ffff", "desc_index", ALL, False, False, b_next_ffff),
    ("self_loop", "chain_loop", ALL, False, False, b_self_loop),
    ("loop_a_b_a", "chain_loop", ALL, False, False, b_loop_a_b_a),
    ("chain_longer_than_ring", "chain_loop", ALL, False, False, b_chain_longer_than_ring),
    ("indirect_loop", "chain_loop", ALL, False, False, b_indirect_loop),
    ("addr_gap_low", "desc_addr", ALL, False, False, b_gap_low),
    ("addr_zero", "desc_addr", ALL, False, False, b_gpa_zero),
    ("addr_gap_between", "desc_addr", ALL, False, False, b_gap_between),
    ("addr_gap_second_desc", "desc_addr", ALL, False, False, b_gap_second_desc),
    ("addr_above_last_region", "desc_addr", ALL, False, False, b_above_last_region),
    ("addr_len_wraps_from_region", "desc_addr", ALL, True, False, b_wrap_from_region),
    ("addr_len_wraps_at_top", "desc_addr", ALL, True, False, b_wrap_top),
    ("past_end_of_last_region", "desc_addr", ALL, True, False, b_past_end_last_region),
    ("past_end_of_r0", "desc_addr", ALL, False, False, b_past_end_r0),
    ("past_end_of_r2_into_gap", "desc_addr", ALL, False, False, b_past_end_r2_into_gap),
    ("zero_len_head", "desc_len", ALL, False, False, b_zero_len_head),
    ("zero_len_middle", "desc_len", ALL, False, False, b_zero_len_middle),
    ("zero_len_indirect_entry", "desc_len", ALL, False, False, b_zero_len_indirect_entry),
    ("indirect_len_24", "indirect", ALL, False, False, b_indirect_len_24),
    ("indirect_len_0", "indirect", ALL, False, False, b_indirect_len_0),
    ("indirect_len_huge", "indirect", ALL, False, False, b_indirect_len_huge),
    ("nested_indirect_first", "indirect", ALL, False, False, b_nested_indirect_first),
    ("nested_indirect_second", "indirect", ALL, False, False, b_nested_indirect_second),
    ("indirect_not_negotiated", "indirect", ALL, False, True, b_indirect_plain),
    ("indirect_with_next", "indirect", ALL, False, False, b_indirect_with_next),
    ("indirect_not_head", "indirect", ALL, False, False, b_indirect_not_head),
    ("indirect_table_in_gap", "desc_addr", ALL, False, False, b_indirect_table_in_gap),
    ("indirect_table_straddles", "desc_addr", ALL, False, False, b_indirect_table_straddles),
    ("indirect_table_past_end", "desc_addr", ALL, True, False, b_indirect_table_past_end),
    ("indirect_table_wraps", "desc_addr", ALL, False, False, b_indirect_table_wraps),
    ("indirect_table_misaligned", "indirect", ALL, False, False, b_indirect_table_misaligned),
    ("indirect_next_out_of_range", "desc_index", ALL, False, False,
     b_indirect_next_out_of_range),
    ("indirect_entry_in_gap", "desc_addr", ALL, False, False, b_indirect_entry_in_gap),
    ("wrong_direction_head", "direction", ALL, False, False, b_wrong_dir_head),
    ("wrong_direction_second", "direction", ALL, False, False, b_wrong_dir_second),
    ("wrong_direction_indirect", "direction", ALL, False, False, b_wrong_dir_indirect),
    ("frame_13_bytes", "desc_len", RXO, False, False, b_rx_frame_13),
    ("header_only", "desc_len", RXO, False, False, b_rx_header_only),
    ("header_incomplete", "desc_len", RXO, False, False, b_rx_header_short),
    ("longer_than_64k", "too_big", RXO, False, False, b_rx_too_long),
    ("longer_than_64k_chain", "too_big", RXO, False, False, b_rx_too_long_chain),
]

TX_BAD_PKT_LEN, TX_GOOD_PKT_LEN = 1000, 200


def hostile(name, err, mode, high, no_indirect, build):
    features = F_V1 | (0 if no_indirect else F_INDIRECT) | (F_MRG if mode == "txm" else 0)
    # vary the interrupt path and the rings' place over the cases
    features |= F_CALLFD if len(name) % 2 else 0
    features |= F_RINGS_IN_GUEST if len(name) % 3 == 0 else 0
    g = Guest(features=features, high=high)
    if features & F_RINGS_IN_GUEST:
        g.brk[0] = 0x800
    if mode == "rx":
        g.post(build(g, 0))
        g.tx_pkt(64)
        g.op(RX(32), ret=1, consumed=2, errs={err: 1})
    else:
        g.post(build(g, WRITE))
        g.rx_buf(2048 if mode == "tx" else 256)
        g.mbuf(TX_BAD_PKT_LEN)
        g.mbuf(TX_GOOD_PKT_LEN, segs=2)
        g.op(TX(2), ret=1, consumed=2, errs={err: 1})
    return g


# ---------------------------------------------------------------- packed ring
# The same kinds of guests on the packed layout (VIRTIO_F_RING_PACKED): both
# queues packed; "consumed" counts buffers completed.

@seed
def packed_rx_one_desc():
    g = Guest(packed=True)
    g.tx_pkt(64)
    g.tx_pkt(1500, lens=[12, 700, 800], r=1)
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def packed_rx_chains_wrap_odd_size():
    # 5 slots from slot 3 of the second lap: the first chain wraps the ring's end
    g = Guest(packed=True, qsize=5, start=3)
    g.tx_pkt(64, lens=[5, 7, 30, 34])
    g.tx_pkt(60)
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def packed_rx_indirect_header_split():
    g = Guest(packed=True)
    g.tx_pkt(100, lens=[12, 50, 50], indirect=True, r=1)
    g.tx_pkt(64, lens=[1, 11, 64])
    g.tx_pkt(64, lens=[20, 56], r=2)
    g.op(RX(32), ret=3, consumed=3, errs={})
    return g


@seed
def packed_rx_legacy_header_size_1():
    g = Guest(packed=True, features=F_INDIRECT, qsize=1)
    g.tx_pkt(60)
    g.op(RX(32), ret=1, consumed=1, errs={})
    g.op(RX(32), ret=0, consumed=0, errs={})
    return g


@seed
def packed_rx_size_255():
    g = Guest(packed=True, qsize=255, start=250 | 0x8000)
    for i in range(40):
        g.tx_pkt(14 + i, seed=i)
    g.op(RX(63), ret=32, consumed=32, errs={})
    g.op(RX(63), ret=8, consumed=8, errs={})
    return g


@seed
def packed_rx_post_more_starved():
    g = Guest(packed=True, qsize=4)
    for i in range(3):
        g.tx_pkt(64, seed=i)
    g.q.hide_last(2)                        # the guest publishes one ...
    g.op(MISC_STARVE)
    g.op(RX(32), ret=0, consumed=0, no_mbuf=1, errs={})
    g.op(RX(32), ret=1, consumed=1, errs={})
    g.op(POST(2))                           # ... then the others
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def packed_rx_head_wrong_lap():
    g = Guest(packed=True)
    g.tx_pkt(64)
    g.tx_pkt(64)
    g.q.set_bits(0, P_USED)                 # available in the lap before: not now
    g.op(RX(32), ret=0, consumed=0, errs={})
    g.op(POST(1))
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def packed_rx_buffer_ids_any():
    g = Guest(packed=True)
    for i, buf_id in enumerate((16, 0x7FFF, 0xFFFF)):
        gpa = g.alloc(0, 76)
        g.write(gpa, bytes(12) + bytes(range(64)))
        g.q.post([(gpa, 76, 0)], buf_id=buf_id)
    g.op(RX(32), ret=3, consumed=3, errs={})
    return g


@seed
def packed_rx_rings_in_guest_event_idx():
    g = Guest(packed=True, event_idx=True,
              features=F_V1 | F_INDIRECT | F_RINGS_IN_GUEST | F_CALLFD)
    g.brk[0] = 0x800
    g.main.event = (EV_DESC, 1 | 0x8000)    # interrupt once slot 1 is used
    g.tx_pkt(64)
    g.tx_pkt(64, indirect=True, lens=[12, 64])
    g.tx_pkt(64)
    g.op(RX(1), ret=1, consumed=1, errs={})
    g.op(MISC_TOGGLE_NO_INTR)
    g.op(RX(32), ret=2, consumed=2, errs={})
    return g


@seed
def packed_tx_one_buffer():
    g = Guest(packed=True)
    g.rx_buf(256)
    g.rx_buf(2048, r=1)
    g.mbuf(100)
    g.mbuf(1500, segs=2)
    g.op(TX(2), ret=2, consumed=2, errs={})
    return g


@seed
def packed_tx_mergeable():
    g = Guest(packed=True, features=F_V1 | F_MRG | F_INDIRECT, qsize=7, start=5)
    for _ in range(6):
        g.rx_buf(512)
    g.mbuf(1500, segs=3)
    g.mbuf(60, segs=2, empty_first=True)
    g.mbuf(1100)
    # 3 + 1 buffers; the last packet needs 3, finds 2 and gives them back
    g.op(TX(3), ret=2, consumed=4, no_room=1, errs={})
    return g


@seed
def packed_tx_laps():
    # a ring of 2 reused for three laps: the wrap counters flip each time
    g = Guest(packed=True, features=F_V1 | F_CALLFD, qsize=2)
    g.rx_buf(112)
    g.rx_buf(112, r=1)
    g.mbuf(100)
    g.mbuf(100, segs=3)
    g.op(TX(2), ret=2, consumed=2, errs={})
    g.op(POST(2))
    g.op(TX(2), ret=2, consumed=2, errs={})
    g.op(POST(2))
    g.op(TX(2), ret=2, consumed=2, errs={})
    return g


@seed
def packed_tx_indirect_legacy():
    g = Guest(packed=True, features=F_INDIRECT)
    g.post(g.indirect([(g.alloc(1, 10), 10), (g.alloc(1, 400), 400), (g.alloc(2, 400), 400)],
                      WRITE, r=0))
    g.mbuf(700, segs=4)
    g.op(TX(1), ret=1, consumed=1, errs={})
    return g


@seed
def packed_tx_offloads():
    # a guest that takes no offloads: TSO cut into 3 segments, the checksum done here
    g = Guest(packed=True, features=F_V1 | F_MRG | OFFLOAD(OFF_TX_ONLY))
    for r in range(6):
        g.rx_buf(1600, r=r % 3)
    g.mbuf(3000, segs=2, offload=M_TSO4, mss=1000)
    g.mbuf(200, offload=M_UDP6)
    g.op(TX(2), ret=2, consumed=4, errs={})
    return g


@seed
def packed_fwd_basic():
    g = Guest(packed=True, peer_qsize=16)
    g.tx_pkt(64)
    g.tx_pkt(64, lens=[5, 7, 30, 34], r=1)
    g.tx_pkt(1500, lens=[12, 700, 800], indirect=True, r=2)
    g.use(g.peer)
    for _ in range(3):
        g.rx_buf(2048, r=0)
    g.use(g.main)
    g.op(FWD(3), ret=3, consumed=3, errs={}, to=dict(ret=3, consumed=3, errs={}))
    g.op(FWD(3), ret=0, consumed=0, errs={}, to=dict(ret=0, consumed=0, errs={}))
    return g


@seed
def packed_fwd_peer_to_main_mergeable_no_room():
    g = Guest(packed=True, features=F_V1 | F_MRG | F_CALLFD, peer_qsize=9, peer_start=7)
    g.use(g.peer)
    for i in range(3):
        g.tx_pkt(700, seed=i, lens=[12, 300, 400])
    g.use(g.main)
    g.rx_buf(512)
    g.rx_buf(512)
    g.op(FWD(6, peer_to_main=True), ret=3, consumed=3, errs={},
         to=dict(ret=1, consumed=2, no_room=2, errs={}))
    return g


@seed
def packed_fwd_bad_chains_both_sides():
    g = Guest(packed=True, peer_qsize=16)
    g.post([(0x1000, 64, 0)])
    g.tx_pkt(64)
    g.tx_pkt(1000)
    g.use(g.peer)
    g.post([(g.alloc(0, 16), 16, WRITE | NEXT), (g.end(2) + 0x1000, 2048, WRITE)])
    g.rx_buf(2048)
    g.use(g.main)
    g.op(FWD(3), ret=2, consumed=3, errs={"desc_addr": 1},
         to=dict(ret=1, consumed=2, errs={"desc_addr": 1}))
    return g



@seed
def packed_fwd_offload_headers():
    g = Guest(packed=True, features=LINUX, peer_features=F_V1 | PEER_OFFLOAD(OFF_LINUX),
              peer_qsize=4)
    g.tx_pkt(0, frame=frame("udp6", 500), hdr=vhdr(NEEDS_CSUM | DATA_VALID, 0, 0, 0, 54, 6))
    g.tx_pkt(0, frame=frame("tcp4", 3000), hdr=tso_req(False, 1000), lens=[1, 11, 3054], r=1)
    g.use(g.peer)
    g.rx_buf(1024, r=2)
    g.rx_buf(4096, r=1)
    g.use(g.main)
    g.op(FWD(3), ret=2, consumed=2, errs={}, to=dict(ret=2, consumed=2, errs={}))
    return g


@seed
def packed_tx_too_many_pieces_mergeable():
    # 120 one-byte buffers: the first packet needs more than TX_HEADS_MAX (64);
    # too big, and they stay for the next packet
    g = Guest(packed=True, features=F_V1 | F_MRG, qsize=128)
    for _ in range(120):
        g.rx_buf(1)
    g.mbuf(100)
    g.mbuf(20)
    g.op(TX(2), ret=1, consumed=32, errs={"too_big": 1})
    return g


@seed
def packed_tx_too_many_pieces_indirect():
    # 200 pieces of 8 bytes hold 1530 bytes, but more than TX_IOV_MAX (128)
    g = Guest(packed=True, features=F_V1 | F_INDIRECT)
    g.post(g.indirect([(g.alloc(1, 8, align=8), 8) for _ in range(200)], WRITE, r=0))
    g.mbuf(1518)
    g.mbuf(600)
    g.op(TX(2), ret=1, consumed=1, errs={"too_big": 1})
    return g

# Packed twins of the malformed buffers (tests/unit/test_virtq_packed_hostile.c):
# each posts one bad buffer of direction d.

def P(g, *descs): return g.post(list(descs))
def pk_good_table(g, d): return g.ptable(0, [(g.alloc(1, 16), 16, d), (g.alloc(1, 64), 64, d)])


def pb_chain_longer_than_ring(g, d):
    return P(g, *[(g.alloc(0, 16), 16, d | NEXT)] * g.qsize)


def pb_indirect_table_straddles(g, d):
    gpa = g.region_gpa(2) - 16
    g.write(gpa, b"".join(struct.pack("<QIHH", a, l, 0, d)
                          for a, l in ((g.alloc(0, 16), 16), (g.alloc(0, 64), 64))))
    return P(g, (gpa, 32, INDIRECT))


def pb_indirect_table_past_end(g, d):
    gpa = g.end(3) - 16
    g.write(gpa, struct.pack("<QIHH", g.alloc(0, 64), 64, 0, d))
    return P(g, (gpa, 64, INDIRECT))


PK_HOSTILE = [
    ("chain_longer_than_ring", "chain_loop", ALL, False, False, pb_chain_longer_than_ring),
    ("addr_gap_low", "desc_addr", ALL, False, False, lambda g, d: P(g, (0x1000, 64, d))),
    ("addr_zero", "desc_addr", ALL, False, False, lambda g, d: P(g, (0, 64, d))),
    ("addr_gap_between", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (g.end(0) + 0x1000, 1500, d))),
    ("addr_gap_second_desc", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (g.alloc(0, 16), 16, d | NEXT), (g.end(2) + 0x1000, 64, d))),
    ("addr_above_last_region", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (g.end(3) + 0x1000, 64, d))),
    ("addr_len_wraps_from_region", "desc_addr", ALL, True, False,
     lambda g, d: P(g, (g.region_gpa(3) + 0x100, 0xFFFFFFFF, d))),
    ("addr_len_wraps_at_top", "desc_addr", ALL, True, False, lambda g, d: P(g, (U64 - 15, 64, d))),
    ("past_end_of_last_region", "desc_addr", ALL, True, False,
     lambda g, d: P(g, (g.end(3) - 64, 512, d))),
    ("past_end_of_r0", "desc_addr", ALL, False, False, lambda g, d: P(g, (g.end(0) - 8, 64, d))),
    ("past_end_of_r2_into_gap", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (g.end(2) - 20, 100, d))),
    ("zero_len_head", "desc_len", ALL, False, False, lambda g, d: P(g, (g.alloc(0, 64), 0, d))),
    ("zero_len_middle", "desc_len", ALL, False, False,
     lambda g, d: P(g, (g.alloc(0, 16), 16, d | NEXT), (g.alloc(0, 16), 0, d | NEXT),
                    (g.alloc(0, 64), 64, d))),
    ("zero_len_indirect_entry", "desc_len", ALL, False, False,
     lambda g, d: P(g, (g.ptable(0, [(g.alloc(1, 16), 16, d), (g.alloc(1, 64), 0, d)]), 32,
                        INDIRECT))),
    ("indirect_len_24", "indirect", ALL, False, False,
     lambda g, d: P(g, (pk_good_table(g, d), 24, INDIRECT))),
    ("indirect_len_0", "indirect", ALL, False, False,
     lambda g, d: P(g, (pk_good_table(g, d), 0, INDIRECT))),
    ("indirect_len_huge", "indirect", ALL, False, False,
     lambda g, d: P(g, (pk_good_table(g, d), 16 * (32768 + 1), INDIRECT))),
    ("nested_indirect_first", "indirect", ALL, False, False,
     lambda g, d: P(g, (g.ptable(0, [(pk_good_table(g, d), 32, INDIRECT)]), 16, INDIRECT))),
    ("nested_indirect_second", "indirect", ALL, False, False,
     lambda g, d: P(g, (g.ptable(0, [(g.alloc(1, 16), 16, d),
                                     (pk_good_table(g, d), 32, INDIRECT)]), 32, INDIRECT))),
    ("indirect_not_negotiated", "indirect", ALL, False, True,
     lambda g, d: P(g, (pk_good_table(g, d), 32, INDIRECT))),
    ("indirect_with_next", "indirect", ALL, False, False,
     lambda g, d: P(g, (pk_good_table(g, d), 32, INDIRECT | NEXT), (g.alloc(0, 64), 64, d))),
    ("indirect_not_head", "indirect", ALL, False, False,
     lambda g, d: P(g, (g.alloc(0, 16), 16, d | NEXT), (pk_good_table(g, d), 32, INDIRECT))),
    ("indirect_table_in_gap", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (g.end(0) + 0x1000, 32, INDIRECT))),
    ("indirect_table_straddles", "desc_addr", ALL, False, False, pb_indirect_table_straddles),
    ("indirect_table_past_end", "desc_addr", ALL, True, False, pb_indirect_table_past_end),
    ("indirect_table_wraps", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (U64 - 31, 64, INDIRECT))),
    ("indirect_table_misaligned", "indirect", ALL, False, False,
     lambda g, d: P(g, (g.ptable(0, [(g.alloc(1, 16), 16, d), (g.alloc(1, 64), 64, d)],
                                 offset=4), 32, INDIRECT))),
    ("indirect_entry_in_gap", "desc_addr", ALL, False, False,
     lambda g, d: P(g, (g.ptable(0, [(g.alloc(1, 16), 16, d), (g.end(2) + 0x1000, 64, d)]), 32,
                        INDIRECT))),
    ("wrong_direction_head", "direction", ALL, False, False,
     lambda g, d: P(g, (g.alloc(0, 1500), 1500, d ^ WRITE))),
    ("wrong_direction_second", "direction", ALL, False, False,
     lambda g, d: P(g, (g.alloc(0, 16), 16, d | NEXT), (g.alloc(0, 1500), 1500, d ^ WRITE))),
    ("wrong_direction_indirect", "direction", ALL, False, False,
     lambda g, d: P(g, (g.ptable(0, [(g.alloc(1, 16), 16, d), (g.alloc(1, 1500), 1500, d ^ WRITE)]),
                        32, INDIRECT))),
    ("frame_13_bytes", "desc_len", RXO, False, False, lambda g, d: P(g, (g.alloc(0, 25), 25, d))),
    ("header_only", "desc_len", RXO, False, False, lambda g, d: P(g, (g.alloc(0, 12), 12, d))),
    ("header_incomplete", "desc_len", RXO, False, False,
     lambda g, d: P(g, (g.alloc(0, 5), 5, d | NEXT), (g.alloc(0, 3), 3, d))),
    ("longer_than_64k", "too_big", RXO, False, False,
     lambda g, d: P(g, *[(g.region_gpa(1), 0x2000, d | NEXT)] * 8 + [(g.region_gpa(1), 0x2000, d)])),
    ("longer_than_64k_chain", "too_big", RXO, False, False,
     lambda g, d: P(g, *[(g.alloc(0, 12), 12, d | NEXT)] + [(g.region_gpa(1), 0x2000, d | NEXT)] * 7
                    + [(g.region_gpa(1), 0x2000, d)])),
]


def packed_hostile(name, err, mode, high, no_indirect, build):
    features = F_V1 | (0 if no_indirect else F_INDIRECT) | (F_MRG if mode == "txm" else 0)
    features |= F_CALLFD if len(name) % 2 else 0
    features |= F_RINGS_IN_GUEST if len(name) % 3 == 0 else 0
    # every other case on 13 slots from the last one, so its chains wrap the ring's end
    odd = len(name) % 4 < 2
    g = Guest(packed=True, features=features, high=high, qsize=13 if odd else 16,
              start=12 if odd else 0x8000)
    if features & F_RINGS_IN_GUEST:
        g.brk[0] = 0x800
    build(g, 0 if mode == "rx" else WRITE)
    full = g.q.inflight == g.qsize  # no room for the good one behind
    if mode == "rx":
        if not full:
            g.tx_pkt(64)
        g.op(RX(32), ret=0 if full else 1, consumed=1 if full else 2, errs={err: 1})
    else:
        if not full:
            g.rx_buf(2048 if mode == "tx" else 256)
        g.mbuf(TX_BAD_PKT_LEN)
        g.mbuf(TX_GOOD_PKT_LEN, segs=2)
        g.op(TX(2), ret=0 if full else 1, consumed=1 if full else 2, errs={err: 1},
             no_room=1 if full else 0)
    return g


def all_seeds():
    out = {}
    for name, fn in SEEDS.items():
        out["ok_" + name] = fn()
    for name, err, modes, high, no_ind, build in HOSTILE:
        for mode in modes:
            out["bad_%s_%s" % (mode, name)] = hostile(name, err, mode, high, no_ind, build)
    for name, err, modes, high, no_ind, build in PK_HOSTILE:
        for mode in modes:
            out["packed_bad_%s_%s" % (mode, name)] = \
                packed_hostile(name, err, mode, high, no_ind, build)
    for name, err, offload, kind, make, rx_only in HOSTILE_HDR:
        for mode in ("rx",) if rx_only else ("rx", "fwd"):
            for split in (False, True):
                out["bad_hdr_%s_%s%s" % (mode, name, "_split" if split else "")] = \
                    hostile_hdr(name, err, offload, kind, make, mode, split)
    return out


LINE = re.compile(r"^op (rx|tx|fwd|to) ret=(\d+) consumed=(\d+) no_room=(\d+) no_mbuf=(\d+) errs=(.*)$")


def check(binary, seeds, outdir):
    env = dict(os.environ, FUZZ_VIRTQ_DEBUG="1")
    bad = 0
    for name, g in seeds.items():
        path = os.path.join(outdir, name)
        p = subprocess.run([binary, path], env=env, capture_output=True, text=True)
        got = []
        for line in p.stderr.splitlines():
            m = LINE.match(line)
            if m:
                errs = dict((k, int(v)) for k, v in
                            (e.split(":") for e in m.group(6).split(",") if e))
                got.append({"op": m.group(1), "ret": int(m.group(2)),
                            "consumed": int(m.group(3)), "no_room": int(m.group(4)),
                            "no_mbuf": int(m.group(5)), "errs": errs})
        ok = p.returncode == 0 and len(got) == len(g.expect)
        for want, have in zip(g.expect, got):
            for k, v in want.items():
                if have.get(k) != v:
                    ok = False
        if not ok:
            bad += 1
            print("MISMATCH %s (rc %d)\n  want %s\n  got  %s" % (name, p.returncode, g.expect, got))
            if p.returncode != 0:
                print(p.stderr[-2000:])
    print("%d seeds checked, %d mismatches" % (len(seeds), bad))
    return bad == 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "corpus"))
    ap.add_argument("--check", metavar="FUZZ_VIRTQ", help="run the target on every seed")
    args = ap.parse_args()
    seeds = all_seeds()
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for name, g in seeds.items():
        data = g.bytes()
        total += len(data)
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
    print("%d seeds, %d bytes in %s" % (len(seeds), total, args.out))
    # inputs added by hand (crash_*: a finding's reproducer) are kept; anything
    # else here was not written by this script (a fuzzer run on this directory?)
    other = [f for f in os.listdir(args.out) if f not in seeds and not f.startswith("crash_")]
    if other:
        print("warning: %d files in %s not written by %s, e.g. %s"
              % (len(other), args.out, os.path.basename(__file__), other[0]))
    if args.check and not check(args.check, seeds, args.out):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
