# SPDX-License-Identifier: BSD-3-Clause
"""A small vhost-user frontend for hostile tests of vhostd (Python stdlib only).

Conn speaks the vhost-user protocol (QEMU docs/interop/vhost-user.rst) over a
unix socket and also sends any raw message: arbitrary request, flags, size
field, payload, fds, cut short. Guest owns a memfd as guest memory, lays out
split virtqueues in it and plays a virtio-net guest (VIRTIO 1.0, 12-byte
header). Names follow the guest's view here only where they must: vring 0 is
the guest's receive queue (vhostd's tx), vring 1 its transmit queue (vhostd's
rx). Daemon starts and watches one vhostd process and parses its stats lines.
"""
import errno
import mmap
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time

# requests
# virtio features this driver does not implement: VIRTIO_RING_F_EVENT_IDX,
# VIRTIO_F_RING_PACKED
DRIVER_LACKS = (1 << 29) | (1 << 34)

GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
RESET_OWNER = 4
SET_MEM_TABLE = 5
SET_LOG_BASE = 6
SET_LOG_FD = 7
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
GET_VRING_BASE = 11
SET_VRING_KICK = 12
SET_VRING_CALL = 13
SET_VRING_ERR = 14
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
GET_QUEUE_NUM = 17
SET_VRING_ENABLE = 18
SEND_RARP = 19
NET_SET_MTU = 20
SET_SLAVE_REQ_FD = 21
IOTLB_MSG = 22
GET_CONFIG = 24
SET_CONFIG = 25
POSTCOPY_ADVISE = 28
GET_INFLIGHT_FD = 31
SET_INFLIGHT_FD = 32
SET_STATUS = 39
GET_STATUS = 40

# header flags
F_VERSION = 0x1
F_REPLY = 0x4
F_NEED_REPLY = 0x8

# virtio feature bits
F_MRG_RXBUF = 15
F_MQ = 22
F_ANY_LAYOUT = 27
F_INDIRECT_DESC = 28
F_PROTOCOL_FEATURES = 30
F_VERSION_1 = 32
# protocol feature bits
PF_MQ = 0
PF_REPLY_ACK = 3

VRING_NOFD = 1 << 8
VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4
VRING_AVAIL_F_NO_INTERRUPT = 1
VRING_USED_F_NO_NOTIFY = 1

HDR = struct.Struct('<III')
NET_HDR_LEN = 12
MAX_REGIONS = 8


class Closed(Exception):
    """vhostd closed the connection (or it was never open)."""


class Conn:
    """One vhost-user connection; every send can be made hostile."""

    def __init__(self, path, timeout=5.0):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.protocol_features = 0
        self.log = []  # (direction, request, flags, size, payload hex, nfds)

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    # --- raw ---
    def send_raw(self, request, payload=b'', flags=F_VERSION, size=None, fds=(), cut=None,
                 extra=b''):
        """Header + payload (+extra); size overrides the size field, cut sends
        only the first cut bytes."""
        if size is None:
            size = len(payload)
        data = HDR.pack(request & 0xffffffff, flags & 0xffffffff, size & 0xffffffff)
        data += payload + extra
        if cut is not None:
            data = data[:cut]
        self.log.append(('>', request, flags, size, payload[:64].hex(), len(fds)))
        if self.sock is None:
            raise Closed('not connected')
        try:
            if fds:
                # the fds ride with the header: librte_vhost reads it in one recvmsg
                n = socket.send_fds(self.sock, [data or b'\0'], list(fds))
                if 0 < n < len(data):
                    self.sock.sendall(data[n:])
            elif data:
                self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))

    def recv_msg(self, timeout=None):
        """One message from vhostd: (request, flags, payload, fds)."""
        t = self.timeout if timeout is None else timeout
        hdr, fds = self._recv_exact(HDR.size, t, want_fds=True)
        req, flags, size = HDR.unpack(hdr)
        payload = b''
        if size:
            payload, _ = self._recv_exact(size, t)
        self.log.append(('<', req, flags, size, payload[:64].hex(), len(fds)))
        return req, flags, payload, fds

    def _recv_exact(self, n, timeout, want_fds=False):
        if self.sock is None:
            raise Closed('not connected')
        buf = b''
        fds = []
        end = time.monotonic() + timeout
        while len(buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f'{self.path}: no reply within {timeout}s')
            self.sock.settimeout(left)
            try:
                if want_fds and not buf:
                    part, got, _, _ = socket.recv_fds(self.sock, n, 8)
                    fds += got
                else:
                    part = self.sock.recv(n - len(buf))
            except socket.timeout:
                raise TimeoutError(f'{self.path}: no reply within {timeout}s')
            except ConnectionResetError as e:
                raise Closed(str(e))
            if not part:
                raise Closed(f'{self.path}: closed by vhostd')
            buf += part
        self.sock.settimeout(self.timeout)
        return buf, fds

    def is_closed(self, wait=1.0):
        """True when vhostd closed the connection within wait seconds."""
        if self.sock is None:
            return True
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            return False
        self.sock.settimeout(0)
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        return data == b''

    def unsolicited(self):
        """Bytes waiting that nobody asked for (b'' if none); None if closed."""
        if self.sock is None:
            return None
        r, _, _ = select.select([self.sock], [], [], 0)
        if not r:
            return b''
        self.sock.settimeout(0)
        try:
            data = self.sock.recv(4096, socket.MSG_PEEK)
        except BlockingIOError:
            return b''
        except OSError:
            return None
        finally:
            self.sock.settimeout(self.timeout)
        return None if data == b'' else data

    # --- protocol ---
    def request(self, request, payload=b'', fds=(), reply=False, ack=None, timeout=None):
        """Sends a message; returns the reply payload for requests with a
        reply, True/False for a REPLY_ACK (ack=None: ask when negotiated)."""
        if ack is None:
            ack = bool(self.protocol_features & (1 << PF_REPLY_ACK)) and not reply
        flags = F_VERSION | (F_NEED_REPLY if ack else 0)
        self.send_raw(request, payload, flags=flags, fds=fds)
        if reply or ack:
            req, rflags, data, _ = self.recv_msg(timeout)
            if req != request or not rflags & F_REPLY:
                raise Closed(f'bad reply: request {req} flags {rflags:#x} to {request}')
            if ack:
                return len(data) >= 8 and struct.unpack_from('<Q', data)[0] == 0
            return data
        return None

    def u64(self, request, value, **kw):
        return self.request(request, struct.pack('<Q', value), **kw)

    def get_features(self):
        return struct.unpack('<Q', self.request(GET_FEATURES, reply=True))[0]

    def set_features(self, f, **kw):
        return self.u64(SET_FEATURES, f, **kw)

    def set_owner(self, **kw):
        return self.request(SET_OWNER, **kw)

    def get_protocol_features(self):
        return struct.unpack('<Q', self.request(GET_PROTOCOL_FEATURES, reply=True))[0]

    def set_protocol_features(self, f):
        self.u64(SET_PROTOCOL_FEATURES, f, ack=False)
        self.protocol_features = f

    def get_queue_num(self):
        return struct.unpack('<Q', self.request(GET_QUEUE_NUM, reply=True))[0]

    @staticmethod
    def mem_payload(regions, nregions=None):
        """regions: (gpa, size, uaddr, mmap_offset) tuples."""
        n = len(regions) if nregions is None else nregions
        p = struct.pack('<II', n & 0xffffffff, 0)
        for r in regions:
            p += struct.pack('<QQQQ', *[v & (2**64 - 1) for v in r])
        return p + b'\0' * (32 * max(0, MAX_REGIONS - len(regions)))

    def set_mem_table(self, regions, fds, nregions=None, **kw):
        return self.request(SET_MEM_TABLE, self.mem_payload(regions, nregions), fds=fds, **kw)

    def vring_state(self, request, idx, num, **kw):
        return self.request(request, struct.pack('<II', idx & 0xffffffff, num & 0xffffffff), **kw)

    def set_vring_num(self, idx, num, **kw):
        return self.vring_state(SET_VRING_NUM, idx, num, **kw)

    def set_vring_base(self, idx, num, **kw):
        return self.vring_state(SET_VRING_BASE, idx, num, **kw)

    def set_vring_enable(self, idx, on, **kw):
        return self.vring_state(SET_VRING_ENABLE, idx, 1 if on else 0, **kw)

    def get_vring_base(self, idx, timeout=None):
        data = self.vring_state(GET_VRING_BASE, idx, 0, reply=True, timeout=timeout)
        return struct.unpack_from('<II', data)[1]

    def set_vring_addr(self, idx, desc, used, avail, flags=0, log=0, **kw):
        p = struct.pack('<IIQQQQ', idx & 0xffffffff, flags, desc & (2**64 - 1),
                        used & (2**64 - 1), avail & (2**64 - 1), log)
        return self.request(SET_VRING_ADDR, p, **kw)

    def set_vring_fd(self, request, idx, fd, **kw):
        if fd is None:
            return self.u64(request, idx | VRING_NOFD, **kw)
        return self.u64(request, idx, fds=(fd,), **kw)

    def set_vring_kick(self, idx, fd, **kw):
        return self.set_vring_fd(SET_VRING_KICK, idx, fd, **kw)

    def set_vring_call(self, idx, fd, **kw):
        return self.set_vring_fd(SET_VRING_CALL, idx, fd, **kw)

    def negotiate(self, features=None, protocol=None):
        """GET_FEATURES, SET_OWNER, protocol features (REPLY_ACK, MQ), SET_FEATURES."""
        offered = self.get_features()
        self.set_owner()
        # by default all that is offered and this driver implements: split
        # rings without event index (vhostd offers the packed ring and
        # EVENT_IDX too, which a driver that ignored them would break)
        want = offered & ~DRIVER_LACKS if features is None else features
        if offered & (1 << F_PROTOCOL_FEATURES):
            pf = self.get_protocol_features()
            mine = (1 << PF_REPLY_ACK) | (1 << PF_MQ) if protocol is None else protocol
            self.set_protocol_features(pf & mine)
        self.set_features(want)
        self.features = want
        return offered


def eventfd(nonblock=True):
    return os.eventfd(0, os.EFD_CLOEXEC | (os.EFD_NONBLOCK if nonblock else 0))


def eventfd_read(fd):
    """Reads (and resets) an eventfd's counter without blocking; 0 when
    nothing was written. Leaves the fd nonblocking."""
    os.set_blocking(fd, False)
    try:
        return struct.unpack('<Q', os.read(fd, 8))[0]
    except BlockingIOError:
        return 0


class Vring:
    """A split virtqueue in guest memory; descriptor i owns buffer i."""

    def __init__(self, g, idx, size, off, buf_off, buf_len):
        self.g, self.idx, self.size = g, idx, size
        self.desc = off
        self.avail = off + 16 * size
        self.used = (self.avail + 6 + 2 * size + 4095) & ~4095
        self.end = self.used + 6 + 8 * size
        self.buf_off, self.buf_len = buf_off, buf_len
        self.free = list(range(size))
        self.avail_idx = 0
        self.last_used = 0
        self.kickfd = eventfd()
        self.callfd = eventfd()

    def buf(self, i):
        return self.buf_off + i * self.buf_len

    def clear(self):
        self.g.mem[self.desc:self.end] = b'\0' * (self.end - self.desc)

    def put_desc(self, i, gpa, length, flags, nxt=0):
        struct.pack_into('<QIHH', self.g.mem, self.desc + 16 * i, gpa, length, flags, nxt)

    def make_avail(self, heads):
        m16 = self.g.m16
        for h in heads:
            m16[(self.avail + 4 + 2 * (self.avail_idx % self.size)) // 2] = h
            self.avail_idx = (self.avail_idx + 1) & 0xffff
        # the index last: vhostd reads it with acquire, x86 keeps store order.
        # One 16-bit store: struct.pack_into writes byte by byte, and a torn
        # index (0x00ff -> 0x0000 -> 0x0100) looks like a jump backwards.
        m16[(self.avail + 2) // 2] = self.avail_idx

    def set_avail_flags(self, flags):
        self.g.m16[self.avail // 2] = flags

    def used_idx(self):
        return self.g.m16[(self.used + 2) // 2]

    def used_flags(self):
        return self.g.m16[self.used // 2]

    def take_used(self):
        """New used entries: [(id, len)]."""
        out = []
        end = self.used_idx()
        while self.last_used != end:
            s = self.last_used % self.size
            out.append(struct.unpack_from('<II', self.g.mem, self.used + 4 + 8 * s))
            self.last_used = (self.last_used + 1) & 0xffff
        return out


class Guest:
    """Guest memory (one memfd, one region by default) and the virtio-net
    driver side of the rings."""

    GPA = 0x40000000          # guest-physical base of region 0
    UADDR = 0x7e5500000000    # the frontend's "virtual" address of region 0

    def __init__(self, path, queues=1, qsize=256, mem_size=4 << 20, buf_len=2048, name='g',
                 timeout=5.0, connect=True):
        self.path, self.queues, self.qsize, self.name = path, queues, qsize, name
        self.mem_size, self.buf_len = mem_size, buf_len
        self.memfd = os.memfd_create(f'vhu-{name}', os.MFD_CLOEXEC)
        os.ftruncate(self.memfd, mem_size)
        self.mem = mmap.mmap(self.memfd, mem_size, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE)
        # ring indexes are read and written as whole 16-bit words
        self.m16 = memoryview(self.mem).cast('H')
        self.vrings = []
        off = 0
        rings_total = 2 * queues
        ring_bytes = 16 * qsize + 4096 + 6 + 8 * qsize
        ring_area = ((ring_bytes + 8191) // 4096 * 4096) * rings_total
        buf_base = ring_area
        per_ring_bufs = (mem_size - buf_base) // rings_total // buf_len
        if per_ring_bufs < qsize:
            raise ValueError('guest memory too small for the rings')
        for i in range(rings_total):
            v = Vring(self, i, qsize, off, buf_base + i * qsize * buf_len, buf_len)
            off = (v.end + 4095) & ~4095
            self.vrings.append(v)
        self.conn = Conn(path, timeout) if connect else None
        self.seq = 0
        self.features = 0

    # guest memory no ring or buffer uses: filled with a pattern that
    # vhostd must never change (a stray write from any port shows up here)
    def buffers_end(self):
        return self.vrings[-1].buf(self.qsize)

    def _canary(self):
        a = self.buffers_end()
        n = self.mem_size - a
        base = bytes(0xa5 ^ k for k in range(256))
        return a, (base * (n // 256 + 1))[:n]

    def fill_canary(self):
        a, pat = self._canary()
        self.mem[a:self.mem_size] = pat

    def canary_intact(self):
        a, pat = self._canary()
        return self.mem[a:self.mem_size] == pat

    # addresses of an offset in guest memory
    def gpa(self, off):
        return self.GPA + off

    def uaddr(self, off):
        return self.UADDR + off

    def region(self, size=None, offset=0):
        return (self.GPA, self.mem_size if size is None else size, self.UADDR, offset)

    def close(self):
        if self.conn:
            self.conn.close()
        for v in self.vrings:
            for fd in (v.kickfd, v.callfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        try:
            self.m16.release()
            self.mem.close()
        except (ValueError, BufferError):
            pass
        try:
            os.close(self.memfd)
        except OSError:
            pass

    def reconnect(self):
        if self.conn:
            self.conn.close()
        self.conn = Conn(self.path, self.conn.timeout if self.conn else 5.0)
        for v in self.vrings:
            v.free = list(range(v.size))
            v.avail_idx = v.last_used = 0
            v.clear()

    # --- setup ---
    def setup_vring(self, i, enable=True, base=0, num=None):
        c, v = self.conn, self.vrings[i]
        v.clear()
        v.avail_idx = v.last_used = base
        v.free = list(range(v.size))
        c.set_vring_num(i, v.size if num is None else num)
        c.set_vring_base(i, base)
        c.set_vring_addr(i, self.uaddr(v.desc), self.uaddr(v.used), self.uaddr(v.avail))
        c.set_vring_kick(i, v.kickfd)
        c.set_vring_call(i, v.callfd)
        if enable and self.features & (1 << F_PROTOCOL_FEATURES):
            c.set_vring_enable(i, True)

    def sync(self, timeout=None):
        """A round trip: librte_vhost handles messages (and calls new_device
        after the one that made the device ready) in order, on one thread."""
        self.conn.request(GET_FEATURES, reply=True, timeout=timeout)

    def setup(self, nvrings=None, features=None, enable=True, mem=True, sync=True):
        """The whole start of a device, as QEMU does it; with sync, returns
        once vhostd has handled the start."""
        c = self.conn
        offered = c.negotiate(features)
        self.features = c.features
        self.offered = offered
        if mem:
            ok = c.set_mem_table([self.region()], [self.memfd])
            if ok is False:
                raise Closed('SET_MEM_TABLE refused')
        n = 2 * self.queues if nvrings is None else nvrings
        # enable only once every vring exists, as QEMU does: librte_vhost
        # starts the device when all vrings it knows of are ready
        for i in range(n):
            self.setup_vring(i, enable=False)
        if enable:
            self.enable(range(n))
            if sync:
                self.sync()
        return self

    def enable(self, vrings, on=True):
        if self.features & (1 << F_PROTOCOL_FEATURES):
            for i in vrings:
                self.conn.set_vring_enable(i, on)

    # --- guest datapath ---
    def post_rx(self, vring=0, n=None):
        """Gives vhostd receive buffers (one writable descriptor each)."""
        v = self.vrings[vring]
        n = len(v.free) if n is None else min(n, len(v.free))
        heads = [v.free.pop() for _ in range(n)]
        for h in heads:
            v.put_desc(h, self.gpa(v.buf(h)), v.buf_len, VRING_DESC_F_WRITE)
        v.make_avail(heads)
        return n

    def transmit(self, frame, vring=1, hdr=b'\0' * NET_HDR_LEN):
        """One frame (header + frame in one descriptor); False when no descriptor."""
        v = self.vrings[vring]
        self.reclaim(vring)
        if not v.free:
            return False
        h = v.free.pop()
        data = hdr + frame
        if len(data) > v.buf_len:
            raise ValueError('frame too long')
        b = v.buf(h)
        self.mem[b:b + len(data)] = data
        v.put_desc(h, self.gpa(b), len(data), 0)
        v.make_avail([h])
        return True

    def reclaim(self, vring=1):
        v = self.vrings[vring]
        for i, _ in v.take_used():
            if i < v.size:
                v.free.append(i)

    def receive(self, vring=0, repost=True):
        """Frames vhostd put into our receive buffers (header stripped)."""
        v = self.vrings[vring]
        out = []
        for i, ln in v.take_used():
            if i >= v.size:
                out.append(None)
                continue
            b = v.buf(i)
            out.append(bytes(self.mem[b + NET_HDR_LEN:b + ln]) if ln >= NET_HDR_LEN else b'')
            v.free.append(i)
        if repost and out:
            self.post_rx(vring)
        return out


# --- frames with a sequence number, checkable end to end ---
MAGIC = b'VHUT'


def make_frame(src_id, seq, length=None):
    if length is None:
        length = 60 + (seq * 37) % 1400
    dst = bytes([2, 0, 0, 0, 0, (src_id ^ 1) & 0xff])
    src = bytes([2, 0, 0, 0, 0, src_id & 0xff])
    head = dst + src + b'\x88\xb5' + MAGIC + struct.pack('<II', src_id, seq)
    fill = bytes((seq + k) & 0xff for k in range(length - len(head)))
    return head + fill


def parse_frame(f):
    """(src_id, seq) of an intact frame, else None."""
    if f is None or len(f) < 26 or f[14:18] != MAGIC:
        return None
    src_id, seq = struct.unpack_from('<II', f, 18)
    if f != make_frame(src_id, seq, len(f)):
        return None
    return src_id, seq


def forward_check(a, b, n=64, src_id=0, timeout=3.0, max_gap=None):
    """a transmits n numbered frames, b must receive every one intact.
    Returns (ok, reason, worst_gap_s)."""
    b.post_rx(0)
    sent, got, bad, first_bad = 0, set(), 0, None
    start = last = time.monotonic()
    gap = 0.0
    end = start + timeout
    while time.monotonic() < end:
        while sent < n and a.transmit(make_frame(src_id, a.seq + sent)):
            sent += 1
        frames = b.receive(0)
        now = time.monotonic()
        if frames:
            gap = max(gap, now - last)
            last = now
        for f in frames:
            p = parse_frame(f)
            if p is None or p[0] != src_id:
                bad += 1
                if first_bad is None:
                    first_bad = (f'{len(f) if f is not None else None} bytes '
                                 f'{(f or b"")[:32].hex()}')
            else:
                got.add(p[1])
        if len(got) >= n:
            break
        time.sleep(0.0005 if frames else 0.002)
    gap = max(gap, time.monotonic() - last) if len(got) < n else gap
    want = set(range(a.seq, a.seq + n))
    a.seq += n
    a.reclaim(1)
    if bad:
        return False, f'{bad} corrupt frames ({a.name}->{b.name}), first: {first_bad}', gap
    if not want <= got:
        return False, f'{len(want - got)}/{n} frames lost ({a.name}->{b.name}, sent {sent})', gap
    return True, '', gap


# --- the daemon ---
STATS_RE = re.compile(r'^stats: port=(\d+) (.*)$')


class Daemon:
    def __init__(self, binary, sockets, workdir, fwd='pair', stats=1, extra=()):
        self.binary, self.sockets, self.workdir = binary, sockets, workdir
        self.args = [binary, '--fwd', fwd, '--stats', str(stats)]
        for s in sockets:
            self.args += ['--socket', s]
        self.args += list(extra)
        self.logpath = os.path.join(workdir, 'vhostd.log')
        self.proc = None
        self.log_start = 0

    def start(self, timeout=30):
        self.logf = open(self.logpath, 'ab')
        self.log_start = self.logf.tell()
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if 'vhostd: ready' in self.log():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f'vhostd exited {self.proc.returncode} at start:\n'
                                   + self.log()[-2000:])
            time.sleep(0.05)
        raise RuntimeError('vhostd not ready after %ds:\n%s' % (timeout, self.log()[-2000:]))

    def log(self):
        try:
            with open(self.logpath, 'rb') as f:
                f.seek(self.log_start)
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        """'alive', or how it died."""
        if self.proc is None:
            return 'not started'
        rc = self.proc.poll()
        if rc is None:
            return 'alive'
        if rc < 0:
            try:
                return 'killed by ' + signal.Signals(-rc).name
            except ValueError:
                return f'killed by signal {-rc}'
        return f'exited {rc}'

    def stats(self):
        """Latest stats line of each port: {port: {key: value}}."""
        out = {}
        for line in self.log().splitlines():
            m = STATS_RE.match(line)
            if m:
                d = {'port': int(m.group(1))}
                for kv in m.group(2).split():
                    k, _, v = kv.partition('=')
                    d[k] = int(v) if v.isdigit() else v
                out[d['port']] = d
        return out

    def stats_lines(self):
        return self.log().count('stats: port=')

    def next_stats(self, timeout=3.0):
        """Waits for a stats block printed after now; returns it."""
        n = self.stats_lines()
        nports = len(self.sockets)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.stats_lines() >= n + nports:
                return self.stats()
            if not self.alive():
                break
            time.sleep(0.1)
        return self.stats()

    def wait_state(self, port, states, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.next_stats(2.0).get(port, {})
            if st.get('state') in states:
                return st
            if not self.alive():
                break
        return self.stats().get(port, {})

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        self.logf.close()


def wait_until(pred, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def fd_kind(fd):
    """For logs: what an fd number refers to."""
    try:
        return os.readlink(f'/proc/self/fd/{fd}')
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
