#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seeded random vhost-user message sequences against vhostd.

One vhostd (pair mode: good0 <-> good1, h2 <-> h3 with queues=2). Each
connection to h2 or h3 plays a random mix of legal setup steps and mutated
messages: random request numbers, size fields, flags, vring indexes,
addresses, region tables, fds of the wrong kind, memfds shrunk after
SET_MEM_TABLE, truncated messages and disconnects mid-message. After each
connection: vhostd must be alive and the good pair must forward both ways
with nothing unsolicited on the good sockets.

Usage: fuzz_frontend.py [--seconds N] [--seed S] [--out DIR]
  --seed S replays exactly the connections of a run (each connection's RNG
  is seeded with S and its number). Exit 0 no finding, 1 finding (the seed
  and the message log of the failing connection are saved under --out,
  default the current directory), 77 cannot run (1 under CI=true).
"""
import argparse
import fcntl
import os
import random
import shutil
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhu  # noqa: E402
from vhu import Closed, Conn, Guest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VHOSTD = os.environ.get('VHOSTD') or os.path.join(HERE, '..', '..', 'build', 'src', 'vhostd')
CI = os.environ.get('CI') == 'true'

REQUESTS = list(range(0, 42)) + [100, 0xff, 0x7fffffff, 0xffffffff]
LEGAL_FLAGS = (vhu.F_VERSION, vhu.F_VERSION | vhu.F_NEED_REPLY)


def cannot_run(why):
    print('*' * 60)
    print('CANNOT RUN: ' + why)
    print('*' * 60, flush=True)
    sys.exit(1 if CI else 77)


class Player:
    """One fuzzed connection; every action appends to self.trace."""

    def __init__(self, rng, path, queues, tmpdir):
        self.rng, self.path, self.queues, self.tmpdir = rng, path, queues, tmpdir
        self.trace = []
        self.fds = []
        qsize = rng.choice((2, 16, 64, 256))
        need = 2 * queues * qsize * 2048 + (256 << 10)
        mem = max(rng.choice((1, 2, 4)) << 20, 1 << need.bit_length())
        self.g = Guest(path, queues=queues, qsize=qsize, mem_size=mem, name='fz', timeout=2)
        self.c = self.g.conn

    # fds of every kind a frontend can pass
    def some_fd(self):
        r = self.rng
        k = r.randrange(9)
        if k <= 2:
            fd, kind = vhu.eventfd(r.random() < 0.5), 'eventfd'
        elif k == 3:
            rd, wr = os.pipe()
            self.fds.append(rd)
            fd, kind = wr, 'pipe'
        elif k == 4:
            a, b = socket.socketpair()
            self.fds.append(os.dup(b.fileno()))
            b.close()
            fd, kind = os.dup(a.fileno()), 'socket'
            a.close()
        elif k == 5:
            fd, kind = os.open(os.path.join(self.tmpdir, 'reg'), os.O_RDWR | os.O_CREAT, 0o600), 'file'
        elif k == 6:
            fd, kind = os.open('/dev/null', os.O_RDWR), 'devnull'
        elif k == 7:
            fd = vhu.eventfd(False)
            os.write(fd, struct.pack('<Q', 0xfffffffffffffffe))
            kind = 'saturated-eventfd'
        else:
            fd = os.memfd_create('fz', os.MFD_CLOEXEC)
            os.ftruncate(fd, r.choice((0, 4096, 1 << 20)))
            kind = 'memfd'
        self.fds.append(fd)
        return fd, kind

    def log(self, what):
        self.trace.append(what)

    def rand_u64(self):
        r = self.rng
        return r.choice((0, 1, 0xfff, 0x1000, self.g.GPA, self.g.UADDR, 2**63, 2**64 - 1,
                         2**64 - 4096, r.getrandbits(64), r.getrandbits(32),
                         self.g.UADDR + r.randrange(self.g.mem_size)))

    def rand_index(self):
        return self.rng.choice((0, 1, 2, 3, 2 * self.queues - 1, 2 * self.queues, 15, 16,
                                255, 256, 0xffff, 0xffffffff, self.rng.getrandbits(32)))

    def rand_regions(self):
        r, g = self.rng, self.g
        n = r.choice((0, 1, 1, 2, 3, 8, 9))
        regs = []
        for _ in range(min(n, 8)):
            if r.random() < 0.5:
                regs.append(g.region())
            else:
                regs.append((self.rand_u64(), r.choice((0, 4096, g.mem_size, 2 * g.mem_size,
                                                       2**64 - 1, r.getrandbits(40))),
                             self.rand_u64(), r.choice((0, 0, 4096, 1 << 62, r.getrandbits(64)))))
        return regs, n

    # --- actions ---
    def legal_setup(self):
        g = self.g
        nvr = self.rng.choice((2, 2, 2 * self.queues))
        self.log(f'legal setup of {nvr} vrings')
        g.setup(nvrings=min(nvr, len(g.vrings)))

    def mutated(self):
        r, c = self.rng, self.c
        k = r.randrange(12)
        flags = r.choice(LEGAL_FLAGS) if r.random() < 0.8 else r.getrandbits(32)
        if k == 0:  # random request, random payload
            req = r.choice(REQUESTS)
            payload = r.randbytes(r.choice((0, 4, 8, 12, 40, 264, 300)))
            self.log(f'raw req={req} flags={flags:#x} len={len(payload)}')
            c.send_raw(req, payload, flags=flags)
        elif k == 1:  # size field lies
            req = r.choice(REQUESTS)
            payload = r.randbytes(r.choice((0, 8, 40)))
            size = r.choice((0, 1, 7, 9, 264, 265, 4096, 0xffffffff))
            self.log(f'raw req={req} size={size} len={len(payload)}')
            c.send_raw(req, payload, flags=flags, size=size)
        elif k == 2:  # truncated: then the connection ends
            req = r.choice(REQUESTS)
            payload = r.randbytes(40)
            cut = r.randrange(1, 12 + len(payload))
            self.log(f'truncated req={req} cut={cut}, then close')
            c.send_raw(req, payload, flags=flags, cut=cut)
            raise Closed('truncated')
        elif k == 3:  # vring state messages with odd indexes/values
            req = r.choice((vhu.SET_VRING_NUM, vhu.SET_VRING_BASE, vhu.SET_VRING_ENABLE,
                            vhu.GET_VRING_BASE))
            idx, num = self.rand_index(), r.choice((0, 1, 3, 255, 256, 1024, 32768, 32769,
                                                     0xffff, r.getrandbits(32)))
            self.log(f'vring_state req={req} idx={idx} num={num}')
            c.send_raw(req, struct.pack('<II', idx & 0xffffffff, num & 0xffffffff), flags=flags)
        elif k == 4:  # vring addresses
            idx = self.rand_index() if r.random() < 0.3 else r.randrange(2 * self.queues)
            a = [self.rand_u64() for _ in range(3)]
            self.log(f'vring_addr idx={idx} desc={a[0]:#x} used={a[1]:#x} avail={a[2]:#x}')
            c.send_raw(vhu.SET_VRING_ADDR, struct.pack('<IIQQQQ', idx & 0xffffffff,
                                                       r.choice((0, 1, r.getrandbits(32))),
                                                       *a, 0), flags=flags)
        elif k == 5:  # kick/call/err with fds of any kind
            req = r.choice((vhu.SET_VRING_KICK, vhu.SET_VRING_CALL, vhu.SET_VRING_ERR))
            idx = r.randrange(2 * self.queues) if r.random() < 0.7 else r.getrandbits(8)
            nofd = r.random() < 0.15
            fds = []
            kinds = []
            for _ in range(r.choice((0, 1, 1, 1, 2)) if not nofd else r.choice((0, 1))):
                fd, kind = self.some_fd()
                fds.append(fd)
                kinds.append(kind)
            self.log(f'vring_fd req={req} idx={idx} nofd={nofd} fds={kinds}')
            c.send_raw(req, struct.pack('<Q', idx | (vhu.VRING_NOFD if nofd else 0)),
                       flags=flags, fds=fds)
        elif k == 6:  # memory tables
            regs, n = self.rand_regions()
            nfd = r.choice((len(regs), len(regs), max(0, len(regs) - 1), len(regs) + 1))
            fds, kinds = [], []
            for i in range(min(nfd, 8)):
                if r.random() < 0.7:
                    fds.append(self.g.memfd)
                    kinds.append('guest-memfd')
                else:
                    fd, kind = self.some_fd()
                    fds.append(fd)
                    kinds.append(kind)
            self.log(f'mem_table n={n} regions={[tuple(hex(v) for v in x) for x in regs]} '
                     f'fds={kinds}')
            c.send_raw(vhu.SET_MEM_TABLE, Conn.mem_payload(regs, n), flags=flags, fds=fds)
        elif k == 7:  # features
            f = r.choice((0, 2**64 - 1, r.getrandbits(64), (1 << 32) | (1 << 30),
                          (1 << 32) | (1 << 29), (1 << 34) | (1 << 32)))
            req = r.choice((vhu.SET_FEATURES, vhu.SET_PROTOCOL_FEATURES))
            self.log(f'features req={req} {f:#x}')
            c.send_raw(req, struct.pack('<Q', f), flags=flags)
        elif k == 8:  # shrink guest memory under vhostd
            size = r.choice((0, 4096, 64 << 10))
            self.log(f'ftruncate guest memfd to {size}')
            os.ftruncate(self.g.memfd, size)
            self.g.shrunk = True
        elif k == 9:  # guest traffic (never touching memory we shrank)
            if getattr(self.g, 'shrunk', False):
                self.log('traffic skipped (memory shrunk)')
                return
            self.log('guest posts buffers and transmits 8 frames')
            self.g.post_rx(0)
            for s in range(8):
                self.g.transmit(vhu.make_frame(2, s))
        elif k == 10:  # random descriptors pointing anywhere
            if getattr(self.g, 'shrunk', False):
                return
            v = self.g.vrings[r.randrange(2)]
            heads = []
            for _ in range(r.randrange(1, 8)):
                i = r.randrange(v.size)
                v.put_desc(i, self.rand_u64(), r.choice((0, 1, 14, 1500, 0xffffffff)),
                           r.randrange(8), r.randrange(v.size + 2))
                heads.append(i if r.random() < 0.9 else r.getrandbits(16))
            self.log(f'random descriptors on vring {v.idx}: heads {heads}')
            v.make_avail(heads)
        else:  # replies are read when asked for; else drain whatever came
            self.log('drain replies')
            self.c.sock.settimeout(0.05)
            try:
                while self.c.sock.recv(4096):
                    pass
            except (socket.timeout, BlockingIOError):
                pass
            self.c.sock.settimeout(self.c.timeout)

    def play(self, steps):
        r = self.rng
        try:
            if r.random() < 0.7:
                self.legal_setup()
            for _ in range(steps):
                if r.random() < 0.1:
                    self.legal_setup()
                else:
                    self.mutated()
                if r.random() < 0.3:
                    time.sleep(0.002)
                if self.c.is_closed(0):
                    self.log('vhostd closed the connection')
                    break
        except (Closed, TimeoutError, BrokenPipeError, ConnectionResetError) as e:
            self.log(f'connection ends: {type(e).__name__}: {e}')
        except OSError as e:
            self.log(f'connection ends: OSError {e}')

    def close(self):
        self.g.close()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass


class Rig:
    def __init__(self, workdir):
        self.dir = workdir
        self.path = {n: os.path.join(workdir, f'{n}.sock') for n in ('good0', 'good1', 'h2', 'h3')}
        self.d = vhu.Daemon(VHOSTD, [self.path['good0'], self.path['good1'], self.path['h2'],
                                     self.path['h3'] + ',queues=2'], workdir)
        self.goods = []

    def start(self):
        self.d.start()
        self.goods = [Guest(self.path['good0'], name='good0'),
                      Guest(self.path['good1'], name='good1')]
        for g in self.goods:
            g.setup()

    def check(self):
        """None, or what went wrong."""
        if not self.d.alive():
            return f'vhostd {self.d.status()}'
        for g in self.goods:
            u = g.conn.unsolicited()
            if u is None:
                return f'{g.name}: connection closed by vhostd'
            if u:
                return f'{g.name}: {len(u)} unsolicited bytes {u[:16].hex()}'
            for v in g.vrings:
                if vhu.eventfd_read(v.kickfd):
                    return f'{g.name}: kickfd of vring {v.idx} written'
        g0, g1 = self.goods
        for a, b, sid in ((g0, g1, 0), (g1, g0, 1)):
            ok, why, _ = vhu.forward_check(a, b, 16, sid, timeout=3)
            if not ok:
                return 'good pair: ' + why
        if not self.d.alive():
            return f'vhostd {self.d.status()}'
        return None

    def stop(self):
        for g in self.goods:
            g.close()
        self.d.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=float, default=30)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--out', default=os.getcwd())
    ap.add_argument('--max-connections', type=int, default=0)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), 'little')
    if not os.access(VHOSTD, os.X_OK):
        cannot_run(f'vhostd binary {VHOSTD} not found (set VHOSTD=...)')
    workdir = tempfile.mkdtemp(prefix='vhostd-fuzz.')
    os.chmod(workdir, 0o700)
    rig = Rig(workdir)
    print(f'fuzz_frontend: vhostd {VHOSTD}, seed {seed}, {a.seconds:.0f} s', flush=True)
    try:
        try:
            rig.start()
        except RuntimeError as e:
            cannot_run(str(e))
        why = rig.check()
        if why:
            cannot_run('the good pair does not work before fuzzing: ' + why)
        end = time.monotonic() + a.seconds
        conns = msgs = 0
        finding = None
        while time.monotonic() < end and (not a.max_connections or conns < a.max_connections):
            rng = random.Random(f'{seed}/{conns}')
            sock = rng.choice(('h2', 'h3'))
            player = None
            try:
                player = Player(rng, rig.path[sock], 2 if sock == 'h3' else 1, workdir)
                player.play(rng.randrange(1, 40))
            except (Closed, OSError) as e:
                if player is None:
                    # vhostd may still hold the previous connection for a moment
                    time.sleep(0.05)
            finally:
                if player is not None:
                    msgs += sum(1 for e in player.c.log if e[0] == '>')
                    player.close()
            conns += 1
            why = rig.check()
            if why:
                finding = (conns - 1, sock, why, player.trace if player else [])
                break
        print(f'fuzz_frontend: {conns} connections, {msgs} messages, '
              f'{time.monotonic() - end + a.seconds:.0f} s', flush=True)
        if finding:
            n, sock, why, trace = finding
            os.makedirs(a.out, exist_ok=True)
            out = os.path.join(a.out, f'fuzz_frontend-finding-{seed}-{n}.log')
            with open(out, 'w') as f:
                f.write(f'# replay: {sys.argv[0]} --seed {seed} --max-connections {n + 1}\n')
                f.write(f'# connection {n} to {sock}: {why}\n')
                for t in trace:
                    f.write(t + '\n')
                f.write('# vhostd log tail\n')
                f.write('\n'.join(rig.d.log().splitlines()[-40:]) + '\n')
            print(f'fuzz_frontend: FINDING in connection {n} ({sock}): {why}')
            print(f'fuzz_frontend: seed {seed}, sequence saved to {out}')
            for t in trace[-15:]:
                print('  ' + t)
            return 1
        print('fuzz_frontend: findings: none')
        return 0
    finally:
        rig.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
