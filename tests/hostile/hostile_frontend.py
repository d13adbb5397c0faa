#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hostile vhost-user frontends against vhostd.

Each case starts a fresh vhostd in pair mode with four ports on its one
forwarding lcore: good0 <-> good1 (well-behaved guests) and h2 <-> h3 (h3 with
queues=2), where the case's hostile frontend plays. After every case:
  (a) vhostd is alive;
  (b) good0 -> good1 and good1 -> good0 each deliver N numbered frames intact;
  (c) no unsolicited byte on the good frontends' vhost-user sockets, nothing
      written to their kick eventfds, and the unused tail of their guest
      memory (a canary pattern) unchanged;
  (d) the case's own expectation.

Usage: hostile_frontend.py [--list] [--keep] [CASE...]
  env VHOSTD (default /work/main/build/src/vhostd), CI=true: a case that
  cannot run fails instead of skipping.
Exit 0 all passed, 1 a case failed, 77 nothing could run.
"""
import errno
import fcntl
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhu  # noqa: E402
from vhu import Closed, Guest, Conn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VHOSTD = os.environ.get('VHOSTD') or os.path.join(HERE, '..', '..', 'build', 'src', 'vhostd')
CI = os.environ.get('CI') == 'true'
CASE_TIMEOUT = 60
PAIR_FRAMES = 64
# frame source ids: good0=0, good1=1, h2=2, h3=3 (make_frame sends to id^1)
GOOD0, GOOD1, H2, H3 = 0, 1, 2, 3


class Fail(Exception):
    pass


class CannotRun(Exception):
    pass


def say(msg):
    print(msg, flush=True)


def log(msg):
    print('  ' + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Assertions on the stats fields being added now (state=faulted, msg_refused,
# mem_faults, interrupt_stalls): all here, so they are easy to adjust.

def stat_field(st, key):
    if key not in st:
        raise Fail(f'stats line of port {st.get("port")} has no {key}= field')
    return st[key]


def assert_port_faulted(env, port):
    """A port whose guest memory faulted: state=faulted and mem_faults >= 1."""
    st = env.d.wait_state(port, ('faulted',), timeout=4)
    if st.get('state') != 'faulted':
        raise Fail(f'port {port} state={st.get("state")}, want faulted')
    if stat_field(st, 'mem_faults') < 1:
        raise Fail(f'port {port} mem_faults={st["mem_faults"]}, want >= 1')


def assert_interrupt_stalls(env, port):
    """A callfd that would block was skipped and counted."""
    st = env.d.next_stats().get(port, {})
    if stat_field(st, 'interrupt_stalls') < 1:
        raise Fail(f'port {port} interrupt_stalls={st["interrupt_stalls"]}, want >= 1')


def note_msg_refused(env, port):
    """msg_refused and the 'refused REQUEST' log lines are reported, not asserted."""
    st = env.d.stats().get(port, {})
    n = st.get('msg_refused', 'n/a')
    lines = [ln.strip() for ln in env.d.log().splitlines() if 'refused ' in ln][-3:]
    return f'msg_refused={n}' + (f' log: {" | ".join(lines)}' if lines else '')


def assert_port_state(env, port, states, timeout=4):
    st = env.d.wait_state(port, states, timeout=timeout)
    if st.get('state') not in states:
        raise Fail(f'port {port} state={st.get("state")}, want {"|".join(states)}')
    return st


# ---------------------------------------------------------------------------

class Env:
    """One vhostd with good0, good1, h2, h3(queues=2) and the good pair up."""

    def __init__(self, keep=False):
        self.dir = tempfile.mkdtemp(prefix='vhostd-hostile.')
        os.chmod(self.dir, 0o700)
        self.keep = keep
        self.path = {n: os.path.join(self.dir, f'{n}.sock') for n in ('good0', 'good1', 'h2', 'h3')}
        self.d = vhu.Daemon(VHOSTD, [self.path['good0'], self.path['good1'], self.path['h2'],
                                     self.path['h3'] + ',queues=2'], self.dir)
        self.guests = []
        self.fds = []
        self.threads = []
        self.stop = threading.Event()
        self.goods = []
        self.notes = []

    def start(self):
        try:
            self.d.start()
        except RuntimeError as e:
            raise CannotRun(str(e))
        g0 = self.guest('good0', name='good0')
        g1 = self.guest('good1', name='good1')
        for g in (g0, g1):
            g.setup()
            g.fill_canary()
        self.goods = [g0, g1]
        g0.seq = g1.seq = 0
        ok, why = self.pair_ok()
        if not ok:
            raise CannotRun('the good pair does not forward before the case: ' + why)

    def guest(self, sock, name=None, probe=True, **kw):
        """A new frontend on sock. vhostd refuses a second connection while
        it still holds the previous one, which it may for a moment after that
        one closed: with probe, retry until a GET_FEATURES round trip works."""
        end = time.monotonic() + 3
        while True:
            g = Guest(self.path[sock], name=name or sock, **kw)
            self.guests.append(g)
            if not probe:
                return g
            try:
                g.conn.request(vhu.GET_FEATURES, reply=True, timeout=2)
                return g
            except (Closed, TimeoutError):
                if time.monotonic() > end:
                    raise
                g.close()
                time.sleep(0.05)

    def conn(self, sock, timeout=5.0):
        c = Conn(self.path[sock], timeout)
        self.guests.append(c)
        return c

    def keep_fd(self, fd):
        self.fds.append(fd)
        return fd

    def thread(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)
        return t

    def pair_ok(self, n=PAIR_FRAMES):
        g0, g1 = self.goods
        ok, why, _ = vhu.forward_check(g0, g1, n, GOOD0)
        if ok:
            ok, why, _ = vhu.forward_check(g1, g0, n, GOOD1)
        return ok, why

    def common_checks(self):
        """(a), (b), (c): a list of failures."""
        errs = []
        if not self.d.alive():
            return [f'vhostd {self.d.status()}']
        for g in self.goods:
            u = g.conn.unsolicited()
            if u is None:
                errs.append(f'{g.name}: vhost-user connection closed by vhostd')
            elif u:
                errs.append(f'{g.name}: {len(u)} unsolicited bytes on its socket: {u[:16].hex()}')
            for v in g.vrings:
                if vhu.eventfd_read(v.kickfd):
                    errs.append(f'{g.name}: vhostd wrote to kickfd of vring {v.idx}')
            if not g.canary_intact():
                errs.append(f'{g.name}: guest memory outside rings and buffers was written')
        ok, why = self.pair_ok()
        if not ok:
            errs.append('good pair: ' + why)
        if not self.d.alive():
            errs.append(f'vhostd {self.d.status()}')
        return errs

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(3)
        self.d.stop()
        for g in self.guests:
            g.close()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def refusal(fn, *args, **kw):
    """Runs one request that ought to be refused: 'nack', 'closed', 'accepted'
    (or 'no-reply' when no ack was asked for and the connection stays)."""
    try:
        r = fn(*args, **kw)
    except Closed:
        return 'closed'
    except TimeoutError:
        return 'timeout'
    if r is False:
        return 'nack'
    return 'accepted'


def pump(env, src, dst, src_id, stop, vring_tx=1):
    """Background traffic src -> dst until stop; dst reposts its buffers."""
    while not stop.is_set() and not env.stop.is_set():
        try:
            dst.receive(0)
            dst.post_rx(0)
            for _ in range(16):
                if not src.transmit(vhu.make_frame(src_id, src.seq), vring=vring_tx):
                    break
                src.seq += 1
        except (ValueError, OSError, IndexError):
            return
        time.sleep(0.002)


def pair_gap_monitor(env, stop, result, n=16):
    """Runs the good pair continuously; result['gap'] is the worst time
    between two successful round trips, result['fail'] the first failure."""
    last = time.monotonic()
    result.setdefault('gap', 0.0)
    while not stop.is_set():
        g0, g1 = env.goods
        ok, why, _ = vhu.forward_check(g0, g1, n, GOOD0, timeout=2.5)
        if ok:
            ok, why, _ = vhu.forward_check(g1, g0, n, GOOD1, timeout=2.5)
        now = time.monotonic()
        if ok:
            result['gap'] = max(result['gap'], now - last)
            last = now
        else:
            result['gap'] = max(result['gap'], now - last)
            result.setdefault('fail', why)
    result['gap'] = max(result['gap'], 0.0)


def saturate_eventfd(fd):
    """Counter at 0xfffffffffffffffe: one more write of 1 blocks, as the
    fd is left blocking (before any traffic, so vhostd's first write blocks)."""
    vhu.eventfd_read(fd)
    os.write(fd, struct.pack('<Q', 0xfffffffffffffffe))
    os.set_blocking(fd, True)


def keep_clearing_nonblock(env, fd, stop):
    """vhostd may set O_NONBLOCK on its copy (same open file): clear it again."""
    while not stop.is_set() and not env.stop.is_set():
        try:
            fl = fcntl.fcntl(fd, fcntl.F_GETFL)
            if fl & os.O_NONBLOCK:
                fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
        except OSError:
            return
        time.sleep(0.0002)


# ---------------------------------------------------------------------------
# The defect cases (found with a hand-written frontend in vhostd at a1537d7).
# Each docstring ends with what the case did against a1537d7
# (VHOSTD=/tmp/vhostd-old/build/src/vhostd); the message-level cases below all
# passed there except wrong_fd_kinds.

def vring_num_grown_after_start(env):
    """1. SET_VRING_NUM 32768 on a running device whose rings fit in its
    region only at the old size; then SET_VRING_BASE 30000 so used entries
    land ~240 KiB past a 128 KiB region, and traffic to that port.
    a1537d7: FAILED: the grown vring was polled (used idx moved, used entries
    written ~240 KiB past the 128 KiB region); no crash in that run.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2', qsize=16, mem_size=128 << 10)
    h.setup()
    ok, why, _ = vhu.forward_check(p, h, 8, H3)
    if not ok:
        raise Fail('hostile port did not work before the change: ' + why)
    c = h.conn
    res = [refusal(c.set_vring_num, r, 32768) for r in (0, 1)]
    if 'closed' not in res:
        res += [refusal(c.set_vring_base, r, 30000) for r in (0, 1)]
    used_before = [h.vrings[r].used_idx() for r in (0, 1)]
    if res[0] == 'accepted' or res[1] == 'accepted':
        # the guest plays along with the new size: avail slots 30000.. are
        # still inside its memory, used slot 30000 is not
        for r in (0, 1):
            v = h.vrings[r]
            v.size, v.avail_idx = 32768, 30000
            v.free = list(range(16))
        h.post_rx(0, 4)
        for k in range(4):
            hdr_frame = b'\0' * vhu.NET_HDR_LEN + vhu.make_frame(H2, 1000 + k)
            v = h.vrings[1]
            i = v.free.pop()
            h.mem[v.buf(i):v.buf(i) + len(hdr_frame)] = hdr_frame
            v.put_desc(i, h.gpa(v.buf(i)), len(hdr_frame), 0)
            v.make_avail([i])
    for k in range(32):
        p.transmit(vhu.make_frame(H3, 5000 + k))
    time.sleep(1.5)
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()} after traffic on a grown vring (SET_VRING_NUM {res})')
    moved = [h.vrings[r].used_idx() != used_before[r] for r in (0, 1)]
    if any(moved) and ('accepted' in res[:2]):
        raise Fail(f'vhostd polled a vring of 32768 entries that does not fit its region '
                   f'(used idx moved on vrings {[r for r in (0, 1) if moved[r]]})')
    env.notes.append(f'SET_VRING_NUM/BASE: {res}')


def mem_table_fails_after_free(env):
    """2. A running device gets SET_MEM_TABLE with NEED_REPLY whose region fd
    cannot be mmapped (a pipe): librte_vhost frees the old table first and
    leaves none. Then SET_VRING_NUM/BASE/ADDR. Expected: nack, vhostd alive,
    port down until a good table, then it forwards again.
    a1537d7: FAILED: SIGSEGV (rte_vhost_get_mem_table on the freed table in
    post_msg of SET_VRING_NUM), already with the pipe variant.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2')
    h.setup()
    ok, why, _ = vhu.forward_check(h, p, 8, H2)
    if not ok:
        raise Fail('hostile port did not work before: ' + why)
    rd, wr = os.pipe()
    env.keep_fd(rd), env.keep_fd(wr)
    big = env.keep_fd(os.memfd_create('big-offset', os.MFD_CLOEXEC))
    os.ftruncate(big, 4096)
    # tables that differ from the current one (librte_vhost skips an
    # unchanged table without mapping it) and cannot be mapped: a pipe as
    # region fd, a memfd at mmap_offset 2^62
    # ... and two that look like good files of the right size but cannot be
    # mapped writable: a memfd sealed against writes, a file opened read-only
    sealed = env.keep_fd(os.memfd_create('sealed', os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING))
    os.ftruncate(sealed, h.mem_size)
    fcntl.fcntl(sealed, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE)
    ro_path = os.path.join(env.dir, 'ro-mem')
    with open(ro_path, 'wb') as f:
        f.truncate(h.mem_size)
    ro = env.keep_fd(os.open(ro_path, os.O_RDONLY))
    bad = (([(h.GPA, h.mem_size, h.UADDR + (1 << 30), 0)], [rd]),
           ([(h.GPA, h.mem_size, h.UADDR + (2 << 30), 1 << 62)], [big]),
           ([(h.GPA, h.mem_size, h.UADDR + (3 << 30), 0)], [sealed]),
           ([(h.GPA, h.mem_size, h.UADDR + (4 << 30), 0)], [ro]))
    refused_before = env.d.log().count('refused SET_MEM_TABLE')
    for regs, fds in bad:
        r = refusal(h.conn.set_mem_table, regs, fds)
        if r == 'closed':
            raise Fail('vhostd closed the connection instead of a nack')
        if r != 'nack':
            raise Fail(f'SET_MEM_TABLE with an unmappable region: {r}, want nack')
    v = h.vrings[0]
    after = [refusal(h.conn.set_vring_num, 0, v.size), refusal(h.conn.set_vring_base, 0, 0),
             refusal(h.conn.set_vring_addr, 0, h.uaddr(v.desc), h.uaddr(v.used),
                     h.uaddr(v.avail))]
    time.sleep(0.3)
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()} after vring messages with no memory table '
                   f'(replies {after})')
    by_vhostd = env.d.log().count('refused SET_MEM_TABLE') - refused_before
    if by_vhostd < len(bad):
        # the library dropped the old table: nothing left to poll
        assert_port_state(env, H2, ('down',))
    else:
        # vhostd refused them all before librte_vhost touched the old table
        env.notes.append('vhostd refused every table itself (old table kept)')
    # a good table brings the port back
    if refusal(h.conn.set_mem_table, [h.region()], [h.memfd]) != 'accepted':
        raise Fail('a good SET_MEM_TABLE after the failed one was refused')
    for i in (0, 1):
        h.setup_vring(i, enable=False)
    h.enable((0, 1))
    assert_port_state(env, H2, ('up',))
    h.seq = 100
    ok, why, _ = vhu.forward_check(h, p, 16, H2)
    if ok:
        ok, why, _ = vhu.forward_check(p, h, 16, H3)
    if not ok:
        raise Fail('port does not forward after a good SET_MEM_TABLE: ' + why)
    env.notes.append(f'after the failed table: {after}; ' + note_msg_refused(env, H2))


def stale_callfd_after_replace(env):
    """3. On h3 (queues=2) vrings 2/3 are configured but never enabled; a
    refresh makes vhostd read vring 3's callfd A, then SET_VRING_CALL
    replaces it with B (librte_vhost closes A silently). A new connection
    to h2 gets A's old fd number in vhostd. Expected: that connection never
    gets the 8-byte interrupt, and A gets no write after it was replaced.
    a1537d7: FAILED: the new h2 connection received 64 stray bytes (eight
    8-byte interrupts written to the reused fd number).
    """
    x = env.guest('h3', name='h3', queues=2)
    x.setup(nvrings=2)
    assert_port_state(env, H3, ('up',))
    for i in (2, 3):
        x.setup_vring(i, enable=False)
    v3 = x.vrings[3]
    # a message in vhostd's pre/post list after CALL: re-read vring 3 (with A)
    x.conn.set_vring_base(3, 0)
    time.sleep(0.2)
    old_a = v3.callfd
    b = env.keep_fd(vhu.eventfd())
    x.conn.set_vring_call(3, b)
    v3.callfd = b
    env.keep_fd(old_a)
    vhu.eventfd_read(old_a)
    # the victim: its accepted socket reuses the lowest free fd number
    victim = env.conn('h2')
    time.sleep(0.3)
    for k in range(8):
        x.transmit(vhu.make_frame(H3, 700 + k), vring=3)
        x.transmit(vhu.make_frame(H3, 800 + k), vring=1)
        time.sleep(0.05)
    time.sleep(0.5)
    stray = victim.unsolicited()
    if stray:
        raise Fail(f'another connection received {len(stray)} unsolicited bytes '
                   f'{stray[:16].hex()} (a stale callfd number)')
    if stray is None:
        raise Fail('the new connection on h2 was closed by vhostd')
    if vhu.eventfd_read(old_a):
        raise Fail('vhostd wrote to the callfd after it was replaced')
    # the victim still speaks vhost-user
    try:
        victim.request(vhu.GET_FEATURES, reply=True)
    except (Closed, TimeoutError) as e:
        raise Fail(f'the new connection does not work: {e}')


def pipe_callfd(env):
    """4(i). vring 0's callfd is a full pipe nobody reads. Expected: refused
    (nack or connection closed), or at least never written; nothing blocks.
    a1537d7: FAILED: pipe accepted; the lcore blocked in write(), the good
    pair lost every frame.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2')
    rd, wr = os.pipe()
    env.keep_fd(rd), env.keep_fd(wr)
    os.set_blocking(wr, False)
    try:
        while True:
            os.write(wr, b'x' * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(wr, True)
    h.conn.negotiate()
    h.features = h.conn.features
    h.conn.set_mem_table([h.region()], [h.memfd])
    h.vrings[0].callfd, pipe_fd = wr, h.vrings[0].callfd
    env.keep_fd(pipe_fd)
    outcome = 'accepted'
    try:
        for i in (0, 1):
            c, v = h.conn, h.vrings[i]
            c.set_vring_num(i, v.size)
            c.set_vring_base(i, 0)
            c.set_vring_addr(i, h.uaddr(v.desc), h.uaddr(v.used), h.uaddr(v.avail))
            c.set_vring_kick(i, v.kickfd)
            r = refusal(c.set_vring_call, i, v.callfd)
            if r != 'accepted':
                outcome = r
                break
        else:
            h.enable((0, 1))
    except Closed:
        outcome = 'closed'
    res = {}
    stop = threading.Event()
    env.thread(pair_gap_monitor, env, stop, res)
    if outcome == 'accepted':
        env.thread(pump, env, p, h, H3, stop)
    time.sleep(3)
    stop.set()
    time.sleep(0.5)
    if res.get('gap', 0) > 1.0 or 'fail' in res:
        raise Fail(f'good pair stalled {res.get("gap", 0):.1f}s with a pipe as callfd '
                   f'({outcome}) {res.get("fail", "")}')
    if outcome == 'accepted':
        st = env.d.stats().get(H2, {})
        if st.get('state') == 'up':
            raise Fail('a pipe was accepted as callfd and the port runs')
        env.notes.append(f'pipe accepted by the library, port {st.get("state")}')
    else:
        env.notes.append(f'pipe callfd: {outcome}')


def blocking_saturated_callfd(env):
    """4(ii). h2's callfds are eventfds at 0xfffffffffffffffe whose
    O_NONBLOCK the frontend keeps clearing, while traffic flows to and from
    h2. Expected: the good pair never stalls > 1 s; interrupt_stalls counts.
    a1537d7: FAILED: the lcore blocked in write(); good pair lost every frame.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2')
    h.setup()
    stop = threading.Event()
    for v in h.vrings:
        saturate_eventfd(v.callfd)
        env.thread(keep_clearing_nonblock, env, v.callfd, stop)
    res = {}
    env.thread(pair_gap_monitor, env, stop, res)
    env.thread(pump, env, p, h, H3, stop)
    env.thread(pump, env, h, p, H2, stop)
    time.sleep(4)
    stop.set()
    time.sleep(0.3)
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()}')
    if res.get('gap', 0) > 1.0 or 'fail' in res:
        raise Fail(f'good pair stalled {res.get("gap", 0):.1f}s while a guest\'s callfd blocked '
                   f'{res.get("fail", "")}')
    for v in h.vrings:
        vhu.eventfd_read(v.callfd)  # let go of a blocked writer, if any
    assert_interrupt_stalls(env, H2)


def slow_handover_then_disconnect(env):
    """5. h2's callfds as in 4(ii), and h2 transmits, so an lcore that writes
    interrupts blindly blocks; meanwhile h3 connects, starts a device and
    disconnects, again and again for 6 s (a start may wait out vhostd's
    hand-over timeout); then h2's counters drain and h2 disconnects.
    Expected: vhostd alive, no segfault.
    a1537d7: FAILED: SIGSEGV (the lcore attached the snapshot of the start
    that had timed out, whose memory was unmapped when h3 left).
    """
    h = env.guest('h2', name='h2')
    h.setup()
    stop = threading.Event()
    for v in h.vrings:
        saturate_eventfd(v.callfd)
        env.thread(keep_clearing_nonblock, env, v.callfd, stop)
    for k in range(4):
        h.transmit(vhu.make_frame(H2, k))
    time.sleep(0.5)
    # rounds for 6 s; one round may wait out a hand-over timeout (at a1537d7
    # "5 s" of usleep(50) steps, over 10 s here) while h3 stays connected
    end = time.monotonic() + 6
    rounds, errs = 0, []
    slow = False
    while time.monotonic() < end and not slow:
        t = time.monotonic()
        g = Guest(env.path['h3'], name='h3', timeout=20)
        try:
            g.setup(sync=False)
            g.post_rx(0)
            # answered only once new_device for h3 returned (librte_vhost
            # handles all sockets in one thread); asked on good0, since any
            # message on h3 would retry new_device
            env.goods[0].conn.request(vhu.GET_FEATURES, reply=True, timeout=20)
        except (Closed, TimeoutError, OSError) as e:
            errs.append(f'{type(e).__name__}')
        finally:
            g.close()
        rounds += 1
        # a start that waited out the hand-over: h3 is gone now, so let
        # the lcore go on before any other start (it finds what it was sent)
        slow = time.monotonic() - t > 4
    time.sleep(0.5)
    stop.set()
    time.sleep(0.1)
    for v in h.vrings:
        vhu.eventfd_read(v.callfd)  # the lcore, if it was stuck, runs again
    time.sleep(1)
    h.conn.close()
    time.sleep(1.5)
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()} after slow hand-overs ({rounds} h3 rounds, '
                   f'{len(errs)} failed)')
    env.notes.append(f'{rounds} h3 connect/disconnect rounds, {len(errs)} failed to set up')


def memfd_shrunk(env):
    """7. h2 shrinks its memfd to 64 KiB after SET_MEM_TABLE, then transmits a
    descriptor and posts receive buffers in the removed part. Expected: no
    SIGBUS kill; h2 state=faulted and mem_faults >= 1; a reconnect works.
    a1537d7: FAILED: vhostd killed by SIGBUS.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2')
    h.setup()
    ok, why, _ = vhu.forward_check(h, p, 8, H2)
    if not ok:
        raise Fail('hostile port did not work before: ' + why)
    os.ftruncate(h.memfd, 64 << 10)  # rings stay, all buffers are gone
    gone = h.gpa(1 << 20)
    v = h.vrings[1]
    i = v.free.pop()
    v.put_desc(i, gone, 200, 0)
    v.make_avail([i])
    v0 = h.vrings[0]
    heads = [v0.free.pop() for _ in range(min(8, len(v0.free)))]
    for k, hd in enumerate(heads):
        v0.put_desc(hd, gone + 4096 * (k + 1), 2048, vhu.VRING_DESC_F_WRITE)
    v0.make_avail(heads)
    for k in range(8):
        p.transmit(vhu.make_frame(H3, 900 + k))
    time.sleep(1)
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()} after a guest shrank its memory')
    assert_port_faulted(env, H2)
    # what the partner got meanwhile: a frame read from the faulted memory
    # would be garbage (reported, not asserted)
    leaked = [f for f in p.receive(0) if vhu.parse_frame(f) is None]
    if leaked:
        env.notes.append(f'finding: partner received {len(leaked)} frame(s) from faulted memory '
                         f'({len(leaked[0] or b"")} bytes, {(leaked[0] or b"")[:8].hex()}...)')
    # the same frontend comes back with fresh memory
    h.conn.close()
    h2 = env.guest('h2', name='h2b')
    h2.setup()
    assert_port_state(env, H2, ('up',))
    ok, why, _ = vhu.forward_check(h2, p, 16, H2)
    if ok:
        ok, why, _ = vhu.forward_check(p, h2, 16, H3)
    if not ok:
        raise Fail('reconnected frontend does not forward: ' + why)


def second_connection(env):
    """8. A second frontend connects to h2 while the first is connected.
    Expected: vhostd closes the second; the first keeps forwarding.
    a1537d7: FAILED: the second connection was served (it set up a device) and
    the first one stopped forwarding.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2')
    h.setup()
    second = env.guest('h2', name='h2-second', probe=False)
    closed = second.conn.is_closed(1.0)
    how = 'closed at once'
    if not closed:
        try:
            second.setup()
            time.sleep(0.5)
            how = 'accepted: it set up a whole device'
        except (Closed, TimeoutError) as e:
            how = f'closed during setup ({e})'
            closed = True
        second.conn.close()
    time.sleep(0.5)
    ok, why, _ = vhu.forward_check(h, p, 16, H2)
    if ok:
        ok, why, _ = vhu.forward_check(p, h, 16, H3)
    if not closed:
        raise Fail(f'second connection {how}' + ('' if ok else f'; first one broken: {why}'))
    if not ok:
        raise Fail(f'first connection broken after a second one ({how}): {why}')
    env.notes.append(how)


# ---------------------------------------------------------------------------
# Message-level cases: expectation (a)-(c), and the hostile port works or is down.

def hostile_port_sane(env, port, g=None, partner=None):
    """The hostile port is up and forwards, or it is not up: never half."""
    st = env.d.next_stats().get(port, {})
    if st.get('state') == 'up' and g is not None and partner is not None:
        try:
            ok, why, _ = vhu.forward_check(partner, g, 8, partner_id(partner))
        except (ValueError, IndexError) as e:
            ok, why = False, str(e)
        if not ok:
            env.notes.append(f'port {port} up but not forwarding to its guest: {why}')
    return st.get('state')


def partner_id(g):
    return H3 if g.path.endswith('h3.sock') else H2


def started(env, sock='h2', partner_sock='h3', **kw):
    pq = 1
    p = env.guest(partner_sock, name='p' + partner_sock[-1], queues=pq)
    p.setup()
    h = env.guest(sock, name=sock, **kw)
    h.setup()
    return h, p


def vring_addr_outside_memory(env):
    """SET_VRING_ADDR outside every region, half outside, and three rings
    on the same address, on a running device."""
    h, p = started(env)
    c, v = h.conn, h.vrings[0]
    out = []
    end = h.uaddr(h.mem_size)
    for desc, used, avail in ((0x1000, 0x2000, 0x3000),
                              (end - 8, h.uaddr(v.used), h.uaddr(v.avail)),
                              (h.uaddr(v.desc), end - 4, h.uaddr(v.avail)),
                              (2**64 - 16, 2**64 - 8, 2**64 - 4),
                              (h.uaddr(v.desc),) * 3):
        out.append(refusal(c.set_vring_addr, 0, desc, used, avail))
        if out[-1] == 'closed':
            break
        p.transmit(vhu.make_frame(H3, 40 + len(out)))
        time.sleep(0.1)
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


def vring_base_beyond_ring(env):
    """SET_VRING_BASE 0xffff, 5000 and 257 on a 256-entry ring while running."""
    h, p = started(env)
    out = []
    for base in (0xffff, 5000, 257, 0x10000, 0xffffffff):
        for r in (0, 1):
            out.append(refusal(h.conn.set_vring_base, r, base))
        for k in range(4):
            p.transmit(vhu.make_frame(H3, 60 + k))
            h.transmit(vhu.make_frame(H2, 60 + k))
        time.sleep(0.1)
    env.notes.append(f'h2 {hostile_port_sane(env, H2)}')


def regions_overlap_or_wrap(env):
    """Memory tables with overlapping GPAs, the same memfd twice, a region
    wrapping past 2^64 (GPA and userspace address), one ending at 2^64."""
    h, p = started(env)
    G, U, S, fd = h.GPA, h.UADDR, h.mem_size, h.memfd
    tables = [
        [(G, S, U, 0), (G + 4096, S, U + S, 0)],
        [(G, S, U, 0), (G, S, U, 0)],
        [(2**64 - 4096, S, U, 0)],
        [(G, S, 2**64 - 4096, 0)],
        [(2**64 - S, S, U, 0)],
        [(G, S, U, 0), (G + S, S, U, 0)],
    ]
    out = []
    for t in tables:
        out.append(refusal(h.conn.set_mem_table, t, [fd] * len(t)))
        if out[-1] == 'closed':
            h.conn.close()
            h = env.guest('h2', name='h2')
            h.setup()
        p.transmit(vhu.make_frame(H3, 70))
        time.sleep(0.15)
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


def too_many_regions(env):
    """SET_MEM_TABLE with nregions 9 and 255 (8 fds), and 9 fds."""
    h, p = started(env)
    out = []
    regs = [(h.GPA + k * (1 << 30), 4096, h.UADDR + k * (1 << 30), 0) for k in range(8)]
    for n in (9, 255):
        out.append(refusal(h.conn.set_mem_table, regs, [h.memfd] * 8, nregions=n))
        if out[-1] == 'closed':
            h = env.guest('h2', name='h2')
            h.setup()
    # nine fds on a table of 8 regions: the kernel or the library must drop one
    try:
        h.conn.set_mem_table(regs, [h.memfd] * 9)
        out.append('sent 9 fds')
    except (Closed, OSError, TimeoutError) as e:
        out.append(f'9 fds: {type(e).__name__}')
    time.sleep(0.3)
    env.notes.append(str(out))


def fd_count_mismatch(env):
    """nregions 2 with one fd, nregions 1 with two fds, nregions 1 with none,
    and a vring kick with NOFD set but an fd attached."""
    h, p = started(env)
    out = []
    r0 = h.region()
    r1 = (h.GPA + (1 << 32), 4096, h.UADDR + (1 << 32), 0)
    for regs, fds in (([r0, r1], [h.memfd]), ([r0], [h.memfd, h.memfd]), ([r0], [])):
        out.append(refusal(h.conn.set_mem_table, regs, fds))
        if out[-1] == 'closed':
            h = env.guest('h2', name='h2')
            h.setup()
    ev = env.keep_fd(vhu.eventfd())
    try:
        h.conn.send_raw(vhu.SET_VRING_KICK, struct.pack('<Q', 0 | vhu.VRING_NOFD),
                        flags=vhu.F_VERSION | vhu.F_NEED_REPLY, fds=(ev,))
        out.append('kick NOFD+fd: ' + str(h.conn.recv_msg(2)[2][:8].hex()))
    except (Closed, TimeoutError) as e:
        out.append(f'kick NOFD+fd: {type(e).__name__}')
    env.notes.append(str(out))


def vring_index_out_of_range(env):
    """Vring indexes at and beyond what is offered: 2..15 on a one-pair port
    (a full setup of vrings 0..5), 255, 256, 0xffff, 0xffffffff."""
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2', queues=3)  # 6 vrings on a port offering 1 pair
    out = []
    try:
        h.setup()
        out.append('6 vrings: set up')
    except Closed as e:
        out.append(f'6 vrings: closed ({e})')
        h = env.guest('h2', name='h2')
        h.setup()
    ev = env.keep_fd(vhu.eventfd())
    for idx in (255, 256, 0xffff, 0xffffffff):
        for req, num in ((vhu.SET_VRING_NUM, 256), (vhu.SET_VRING_BASE, 1),
                         (vhu.SET_VRING_ENABLE, 1), (vhu.SET_VRING_CALL, None)):
            if num is None:
                out.append(refusal(h.conn.set_vring_call, idx & 0xff, ev))
            else:
                out.append(refusal(h.conn.vring_state, req, idx, num))
            if out[-1] == 'closed':
                h.conn.close()
                h = env.guest('h2', name='h2')
                h.setup()
    env.notes.append(f'{out[:3]}... h2 {hostile_port_sane(env, H2)}')


def get_vring_base_never_started(env):
    """GET_VRING_BASE before any memory table, on an unconfigured vring of a
    running device, and twice in a row on a running vring."""
    c = env.conn('h2')
    out = []
    try:
        c.get_features()
        c.set_owner()
        out.append(c.get_vring_base(0, timeout=2))
        out.append(c.get_vring_base(1, timeout=2))
    except (Closed, TimeoutError) as e:
        out.append(type(e).__name__)
    c.close()
    h, p = started(env)
    for idx in (1, 5, 0, 0):
        try:
            out.append(h.conn.get_vring_base(idx, timeout=2))
        except (Closed, TimeoutError) as e:
            out.append(type(e).__name__)
            break
    p.transmit(vhu.make_frame(H3, 1))
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


def connection_flood(env):
    """300 connections to h2 and h3 (120 held open at once, some with half a
    header), then a normal frontend on h2/h3."""
    held = []
    n = 0
    for k in range(300):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(env.path['h2' if k % 2 else 'h3'])
            if k % 3 == 0:
                s.send(b'\x01\0\0')
            held.append(s)
            n += 1
        except OSError:
            pass
        if len(held) > 120:
            held.pop(0).close()
    for s in held:
        s.close()
    time.sleep(1)
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()} after {n} connections')
    h, p = started(env)
    ok, why, _ = vhu.forward_check(h, p, 16, H2)
    if not ok:
        raise Fail('a normal frontend after the flood does not forward: ' + why)
    env.notes.append(f'{n} connections')


def vanish_mid_message(env):
    """Frontends that close after half a header, after a header announcing a
    payload, after half a SET_MEM_TABLE payload (with fds), after a header with
    fds; each on a fresh connection, the last while a device runs."""
    out = []
    pl = Conn.mem_payload([(0x40000000, 4096, 0x7e0000000000, 0)])
    ev = env.keep_fd(vhu.eventfd())
    mfd = env.keep_fd(os.memfd_create('vanish', os.MFD_CLOEXEC))
    os.ftruncate(mfd, 4096)
    for req, payload, fds, cut in ((vhu.GET_FEATURES, b'', (), 6),
                                   (vhu.SET_FEATURES, struct.pack('<Q', 1 << 32), (), 12),
                                   (vhu.SET_MEM_TABLE, pl, (mfd,), 12 + len(pl) // 2),
                                   (vhu.SET_VRING_CALL, struct.pack('<Q', 0), (ev,), 12),
                                   (vhu.SET_VRING_ADDR, b'\0' * 40, (), 30)):
        c = Conn(env.path['h2'])
        try:
            c.get_features()
            c.set_owner()
            c.send_raw(req, payload, fds=fds, cut=cut)
        except (Closed, TimeoutError) as e:
            out.append(type(e).__name__)
        c.close()
        time.sleep(0.1)
    h, p = started(env)
    h.conn.send_raw(vhu.SET_MEM_TABLE, Conn.mem_payload([h.region()]), fds=(h.memfd,), cut=100)
    h.conn.close()
    time.sleep(0.5)
    h, p2 = env.guest('h2', name='h2b'), p
    h.setup()
    ok, why, _ = vhu.forward_check(h, p, 8, H2)
    if not ok:
        raise Fail('h2 does not work after frontends vanished mid-message: ' + why)


def size_field_lies(env):
    """Size fields: 0xffffffff, 4096, 300 (more than any payload), 200 with
    8 bytes sent and the connection kept open 1 s, 0 for a request that needs
    a payload, and extra bytes behind the payload."""
    out = []
    cases = ((vhu.SET_FEATURES, struct.pack('<Q', 1 << 32), 0xffffffff, False),
             (vhu.SET_FEATURES, struct.pack('<Q', 1 << 32), 4096, False),
             (vhu.SET_MEM_TABLE, b'\0' * 8, 300, False),
             (vhu.SET_VRING_NUM, struct.pack('<II', 0, 256), 200, True),
             (vhu.SET_VRING_ADDR, b'', 0, False),
             (vhu.SET_VRING_NUM, struct.pack('<II', 0, 256) + b'\xff' * 64, 8, False))
    for req, payload, size, hold in cases:
        c = Conn(env.path['h2'], timeout=3)
        try:
            c.negotiate()
            c.send_raw(req, payload, size=size, flags=vhu.F_VERSION | vhu.F_NEED_REPLY)
            if hold:
                time.sleep(1)
            out.append('closed' if c.is_closed(1) else 'open')
        except (Closed, TimeoutError) as e:
            out.append(type(e).__name__)
        c.close()
    h, p = started(env)
    ok, why, _ = vhu.forward_check(h, p, 8, H2)
    if not ok:
        raise Fail('h2 does not work after lying size fields: ' + why)
    env.notes.append(str(out))


def unknown_requests(env):
    """Request numbers 0, 23, 33-38, 41, 100, 0xffffffff, with and without
    NEED_REPLY, with version bits 0, 2 and 3, and with REPLY set; on a running
    device."""
    h, p = started(env)
    out = []
    for req in (0, 23, 33, 34, 35, 36, 37, 38, 41, 100, 0x7fffffff, 0xffffffff):
        for flags in (vhu.F_VERSION, vhu.F_VERSION | vhu.F_NEED_REPLY, 0, 3,
                      vhu.F_VERSION | vhu.F_REPLY):
            try:
                h.conn.send_raw(req, struct.pack('<Q', 0), flags=flags)
                if flags & vhu.F_NEED_REPLY:
                    h.conn.recv_msg(1)
                    out.append('reply')
                elif h.conn.is_closed(0.05):
                    raise Closed('closed')
            except (Closed, TimeoutError) as e:
                out.append(type(e).__name__)
                h.conn.close()
                h = env.guest('h2', name='h2')
                h.setup()
    env.notes.append(f'{len(out)} reconnects/replies, h2 {hostile_port_sane(env, H2)}')


def unoffered_features(env):
    """SET_FEATURES with every bit, with EVENT_IDX and the packed ring (both
    offered, but this driver's rings stay split ones), without VERSION_1 and
    zero, on a running device and before any."""
    out = []
    for f in (2**64 - 1, (1 << 29) | (1 << 32), (1 << 34) | (1 << 32), 0, 1 << 30):
        c = Conn(env.path['h2'], timeout=3)
        try:
            c.get_features()
            c.set_owner()
            out.append(refusal(c.set_features, f, ack=True))
        except (Closed, TimeoutError) as e:
            out.append(type(e).__name__)
        c.close()
    h, p = started(env)
    for f in (2**64 - 1, (1 << 34) | (1 << 32), 1 << 32):
        out.append(refusal(h.conn.set_features, f))
        if out[-1] == 'closed':
            h = env.guest('h2', name='h2')
            h.setup()
        p.transmit(vhu.make_frame(H3, 1))
        time.sleep(0.1)
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


def zero_size_region(env):
    """A memory table with a zero-size region (alone and next to a good one)."""
    h, p = started(env)
    out = []
    for regs in ([(h.GPA, 0, h.UADDR, 0)],
                 [h.region(), (h.GPA + (1 << 32), 0, h.UADDR + (1 << 32), 0)]):
        out.append(refusal(h.conn.set_mem_table, regs, [h.memfd] * len(regs)))
        if out[-1] == 'closed':
            h = env.guest('h2', name='h2')
            h.setup()
        p.transmit(vhu.make_frame(H3, 1))
        time.sleep(0.2)
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


def wrong_fd_kinds(env):
    """Kick and call fds that are a socket, a regular file, /dev/null and the
    vhost-user socket itself. Expected also: the regular file and the socket
    never receive a byte from vhostd.
    a1537d7: FAILED: 48 bytes written into the regular file, 64 into the socket.
    """
    p = env.guest('h3', name='p3')
    p.setup()
    h = env.guest('h2', name='h2')
    path = os.path.join(env.dir, 'callfile')
    f = env.keep_fd(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    sa, sb = socket.socketpair()
    env.guests.append(sa), env.guests.append(sb)
    devnull = env.keep_fd(os.open('/dev/null', os.O_RDWR))
    out = []
    for kick, call in ((sa.fileno(), f), (f, sa.fileno()), (devnull, devnull),
                       (h.conn.fileno(), h.conn.fileno())):
        h.vrings[0].kickfd, h.vrings[0].callfd = kick, call
        try:
            h.setup()
            h.post_rx(0)
            out.append('set up')
            for k in range(8):
                p.transmit(vhu.make_frame(H3, 90 + k))
                h.transmit(vhu.make_frame(H2, 90 + k))
            time.sleep(0.4)
        except (Closed, TimeoutError) as e:
            out.append(type(e).__name__)
        h.vrings[0].kickfd = h.vrings[0].callfd = -1
        h.conn.close()
        h = env.guest('h2', name='h2')
    if not env.d.alive():
        raise Fail(f'vhostd {env.d.status()}')
    size = os.path.getsize(path)
    sb.setblocking(False)
    try:
        got = sb.recv(4096)
    except BlockingIOError:
        got = b''
    if size or got:
        raise Fail(f'vhostd wrote {size} bytes into a regular file and {len(got)} bytes into a '
                   f'socket given as kick/call fds')
    env.notes.append(str(out))


def rings_outside_new_table(env):
    """A running device gets a new memory table that no longer covers its
    rings (region moved to another GPA/userspace address), then one covering
    only the rings, not the buffers."""
    h, p = started(env)
    out = [refusal(h.conn.set_mem_table, [(h.GPA + (1 << 40), h.mem_size, h.UADDR + (1 << 40), 0)],
                   [h.memfd])]
    p.transmit(vhu.make_frame(H3, 1))
    time.sleep(0.3)
    out.append(refusal(h.conn.set_mem_table, [h.region(size=32 << 10)], [h.memfd]))
    for k in range(8):
        p.transmit(vhu.make_frame(H3, 2 + k))
        h.transmit(vhu.make_frame(H2, 2 + k))
    time.sleep(0.3)
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


def odd_requests_with_fds(env):
    """SET_LOG_BASE/SET_LOG_FD/SET_SLAVE_REQ_FD/SET_INFLIGHT_FD/SET_VRING_ERR
    with fds of the wrong kind or none, GET_INFLIGHT_FD, POSTCOPY_ADVISE and
    RESET_OWNER on a running device: none was negotiated."""
    h, p = started(env)
    ev = env.keep_fd(vhu.eventfd())
    rd, wr = os.pipe()
    env.keep_fd(rd), env.keep_fd(wr)
    out = []
    msgs = ((vhu.SET_LOG_BASE, struct.pack('<QQ', 4096, 0), (ev,)),
            (vhu.SET_LOG_FD, b'', (rd,)),
            (vhu.SET_SLAVE_REQ_FD, b'', (wr,)),
            (vhu.SET_VRING_ERR, struct.pack('<Q', 0), (rd,)),
            (vhu.GET_INFLIGHT_FD, struct.pack('<QHH', 0, 1, 256) + b'\0' * 12, ()),
            (vhu.SET_INFLIGHT_FD, struct.pack('<QQHH', 1 << 20, 0, 1, 256) + b'\0' * 4, (ev,)),
            (vhu.POSTCOPY_ADVISE, b'', ()),
            (vhu.NET_SET_MTU, struct.pack('<Q', 0xffffffff), ()),
            (vhu.SEND_RARP, b'\xff' * 8, ()),
            (vhu.SET_CONFIG, b'\0' * 12, ()),
            (vhu.SET_STATUS, struct.pack('<Q', 0xff), ()),
            (vhu.RESET_OWNER, b'', ()))
    for req, payload, fds in msgs:
        try:
            h.conn.send_raw(req, payload, flags=vhu.F_VERSION | vhu.F_NEED_REPLY, fds=fds)
            _, _, data, rfds = h.conn.recv_msg(2)
            for fd in rfds:
                os.close(fd)
            out.append(f'{req}:reply')
        except (Closed, TimeoutError) as e:
            out.append(f'{req}:{type(e).__name__}')
            h.conn.close()
            h = env.guest('h2', name='h2')
            h.setup()
        p.transmit(vhu.make_frame(H3, req))
        time.sleep(0.05)
    env.notes.append(f'{out}, h2 {hostile_port_sane(env, H2)}')


CASES = [
    vring_num_grown_after_start,
    mem_table_fails_after_free,
    stale_callfd_after_replace,
    pipe_callfd,
    blocking_saturated_callfd,
    slow_handover_then_disconnect,
    memfd_shrunk,
    second_connection,
    vring_addr_outside_memory,
    vring_base_beyond_ring,
    regions_overlap_or_wrap,
    too_many_regions,
    fd_count_mismatch,
    vring_index_out_of_range,
    get_vring_base_never_started,
    connection_flood,
    vanish_mid_message,
    size_field_lies,
    unknown_requests,
    unoffered_features,
    zero_size_region,
    wrong_fd_kinds,
    rings_outside_new_table,
    odd_requests_with_fds,
]


class CaseTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise CaseTimeout(f'case took longer than {CASE_TIMEOUT}s')


def run_case(fn, keep):
    env = Env(keep=keep)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(CASE_TIMEOUT)
    result, reason = 'PASS', ''
    try:
        env.start()
        try:
            fn(env)
        except Fail as e:
            result, reason = 'FAIL', str(e)
        except (Closed, TimeoutError, OSError, CaseTimeout) as e:
            # an unexpected refusal or silence from vhostd where the case
            # needed an answer: a dead daemon explains it best
            result = 'FAIL'
            where = [f'{fr.name}:{fr.lineno}' for fr in traceback.extract_tb(e.__traceback__)
                     if fr.filename == __file__][-1:]
            reason = (f'vhostd {env.d.status()}' if not env.d.alive()
                      else f'{type(e).__name__}: {e} (at {" ".join(where)})')
        signal.alarm(CASE_TIMEOUT)
        if env.d.alive() or result == 'PASS':
            errs = env.common_checks()
            if errs:
                result = 'FAIL'
                reason = '; '.join(([reason] if reason else []) + errs)
    except CannotRun:
        raise
    except CaseTimeout as e:
        result, reason = 'FAIL', f'{e} (vhostd {env.d.status()})'
    except Exception as e:  # a bug in the case itself must not pass
        result, reason = 'FAIL', f'test error: {type(e).__name__}: {e}'
        traceback.print_exc()
    finally:
        signal.alarm(0)
        if result == 'FAIL':
            for ln in env.d.log().splitlines()[-12:]:
                log('vhostd| ' + ln)
            if keep:
                log('kept ' + env.dir)
        try:
            env.close()
        except Exception:
            traceback.print_exc()
    if result == 'PASS' and env.notes:
        reason = '; '.join(env.notes)
    return result, reason


def cannot_run(why):
    say('*' * 60)
    say('CANNOT RUN: ' + why)
    say('*' * 60)
    if CI:
        say('CI=true: a test that cannot run fails the run')
        sys.exit(1)
    sys.exit(77)


def main():
    args = sys.argv[1:]
    keep = '--keep' in args
    args = [a for a in args if a != '--keep']
    if '--list' in args:
        for fn in CASES:
            say(f'{fn.__name__}: {(fn.__doc__ or "").strip().splitlines()[0]}')
        return 0
    chosen = [fn for fn in CASES if not args or fn.__name__ in args]
    unknown = set(args) - {fn.__name__ for fn in CASES}
    if unknown:
        say(f'unknown case(s): {" ".join(sorted(unknown))}')
        return 2
    if not os.access(VHOSTD, os.X_OK):
        cannot_run(f'vhostd binary {VHOSTD} not found (set VHOSTD=...)')
    if not hasattr(os, 'memfd_create') or not hasattr(os, 'eventfd'):
        cannot_run('Python without os.memfd_create/os.eventfd (need 3.10+ on Linux)')
    say(f'vhostd: {VHOSTD}')
    passed = failed = 0
    t0 = time.monotonic()
    for fn in chosen:
        t = time.monotonic()
        try:
            result, reason = run_case(fn, keep)
        except CannotRun as e:
            cannot_run(f'case {fn.__name__}: {e}')
        say(f'case {fn.__name__}: {result}{" " + reason if reason else ""} '
            f'({time.monotonic() - t:.1f}s)')
        if result == 'PASS':
            passed += 1
        else:
            failed += 1
    say(f'hostile_frontend: {passed} passed, {failed} failed ({time.monotonic() - t0:.0f}s)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
