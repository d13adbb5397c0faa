#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# control.sh: vhostd's control socket and vhostctl (docs/control.md).
#
# One vhostd (--fwd l2, two server ports a, b) with --control in a directory
# that does not exist yet. Checks:
#  - the directory is created 0700, the socket is 0600; a second vhostd on
#    the same --control is refused (exit 2, one line) while the first lives;
#  - vhostctl's exit codes: 0 done, 1 refused (one line naming the request),
#    2 usage, 3 no daemon;
#  - every bad request gets one clear error and changes nothing: after each,
#    `list --json` is byte for byte what it was and the daemon still answers.
#    Bad port strings, a port that exists, an unknown path, malformed JSON,
#    a non-object, missing / wrongly typed / unknown fields, an unknown
#    command, a line over 64 KiB (error, then the connection is closed), a
#    client that hangs up mid-request (not run), one that stalls mid-request
#    (others are served meanwhile; it is closed after 10 s), one that sends
#    many requests and never reads, 17 clients at once;
#  - add-port / del-port in server and client mode change `list` as they
#    should and remove the socket file;
#  - two Python vhost-user frontends (tests/hostile/vhu.py) send frames from
#    known MACs: `mac-table --json` shows each MAC on its port, `stats --json`
#    counts the frames; del-port of a connected port closes its frontend's
#    connection, forgets its MAC, and the daemon keeps answering;
#  - SIGTERM: vhostd exits 0 and removes the control socket.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

need_cmd python3 "apt-get install python3"
VHOSTD=$(find_vhostd)
VHOSTCTL=${VHOSTCTL:-$(dirname "$VHOSTD")/vhostctl}
[ -x "$VHOSTCTL" ] || fail "vhostctl not found next to $VHOSTD (set VHOSTCTL=...)"
HOSTILE_DIR=$(cd "$(dirname "$0")/../hostile" && pwd)
D=$VHD_TMP
CTL=$D/ctl/control.sock
PREFIX=vhd-ctl$$
EAL=(-- --no-huge -m 256 --no-pci --lcores=0@0,1@1 --file-prefix=$PREFIX)
LOG=$D/vhostd.log

ctl() { "$VHOSTCTL" --control "$CTL" --timeout 10 "$@"; }

# The raw client: one mode per check, see its docstring.
cat >"$D/raw.py" <<'PY'
"""raw.py CTL MODE [ARGS]: talks to the control socket without vhostctl.
lines        send stdin's lines at once, print one answer per non-blank line
long N       send N bytes of one line without its newline; print the answer
             and "EOF" when the daemon then closes the connection
hangup TEXT  send TEXT (no newline) and hang up
stall S      send half a request, print "stalled", wait up to S s for the
             daemon's answer; print it and "EOF" when it closes
noread N     send N stats requests, read nothing, print "sent", wait for stdin
clients N    open N connections and print what the last one gets at once
"""
import json, socket, sys, time

path, mode = sys.argv[1], sys.argv[2]


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def read_lines(s, n):
    buf = b''
    out = []
    while len(out) < n:
        try:
            d = s.recv(1 << 20)
        except ConnectionResetError:  # closed with some of our request unread
            d = b''
        if not d:
            out.append('EOF')
            break
        buf += d
        while b'\n' in buf and len(out) < n:
            line, buf = buf.split(b'\n', 1)
            out.append(line.decode())
    return out, buf


if mode == 'lines':
    data = sys.stdin.buffer.read()
    n = sum(1 for l in data.split(b'\n') if l.strip())
    s = conn()
    s.sendall(data)
    for l in read_lines(s, n)[0]:
        print(l)
elif mode == 'long':
    s = conn()
    try:
        s.sendall(b'{"cmd":"list","arg":"' + b'x' * int(sys.argv[3]))
    except (BrokenPipeError, ConnectionResetError):
        pass
    got, _ = read_lines(s, 2)
    for l in got:
        print(l)
elif mode == 'hangup':
    s = conn()
    s.sendall(sys.argv[3].encode())
    s.close()
elif mode == 'stall':
    s = conn()
    s.sendall(b'{"cmd":"li')
    print('stalled', flush=True)
    s.settimeout(float(sys.argv[3]))
    t0 = time.monotonic()
    got, _ = read_lines(s, 2)
    for l in got:
        print(l)
    print('after %.1f s' % (time.monotonic() - t0))
elif mode == 'noread':
    s = conn()
    s.setblocking(False)
    req = b'{"cmd":"stats"}\n' * int(sys.argv[3])
    off = 0
    while off < len(req):
        try:
            off += s.send(req[off:])
        except BlockingIOError:
            break  # the daemon stopped reading us: what we wanted
    print('sent %d bytes' % off, flush=True)
    sys.stdin.read()
elif mode == 'clients':
    socks = [conn() for _ in range(int(sys.argv[3]))]
    last = socks[-1]
    got, _ = read_lines(last, 1)
    print(got[0])
PY
raw() { python3 "$D/raw.py" "$CTL" "$@"; }

# ---- start-up: directory and socket modes
"$VHOSTD" --control "$CTL" --socket "$D/a.sock" --socket "$D/b.sock" --fwd l2 --stats 1 \
	"${EAL[@]}" </dev/null >"$LOG" 2>&1 &
PID=$!
track_pid $PID
wait_for "vhostd: ready" "$LOG" 30 || { cat "$LOG" >&2; fail "vhostd did not start"; }
[ -S "$CTL" ] || fail "no control socket at $CTL: $(ls -la "$D/ctl" 2>&1)"
[ "$(stat -c %a "$D/ctl")" = 700 ] || fail "control directory mode $(stat -c %a "$D/ctl"), want 700"
[ "$(stat -c %a "$CTL")" = 600 ] || fail "control socket mode $(stat -c %a "$CTL"), want 600"
log "ok: $CTL created, directory 0700, socket 0600"

# A second daemon on the same control socket: refused before it starts.
rc=0
timeout 20 "$VHOSTD" --control "$CTL" --socket "$D/z.sock" -- --no-huge -m 128 --no-pci \
	--lcores=0@0,1@0 --file-prefix=${PREFIX}z >"$D/second.out" 2>"$D/second.err" || rc=$?
[ "$rc" -eq 2 ] || fail "second vhostd on a live --control: exit $rc, want 2 ($(cat "$D/second.err"))"
[ "$(wc -l <"$D/second.err")" -eq 1 ] && grep -q -- "--control $CTL: already served by a live process" "$D/second.err" ||
	fail "second vhostd's error: $(cat "$D/second.err")"
[ ! -e "$D/z.sock" ] || fail "the refused vhostd created its port socket"
log "ok: a second vhostd on the same --control -> $(cat "$D/second.err")"

# ---- vhostctl exit codes
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" >"$D/out" 2>"$D/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "$*: exit $rc, want $want (stdout: $(cat "$D/out"); stderr: $(cat "$D/err"))"
}
expect_rc 0 ctl list
grep -q "$D/a.sock" "$D/out" || fail "vhostctl list does not show a.sock: $(cat "$D/out")"
expect_rc 3 "$VHOSTCTL" --control "$D/nothing-here.sock" list
grep -q "cannot reach vhostd at $D/nothing-here.sock" "$D/err" || fail "exit 3 message: $(cat "$D/err")"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/dead.sock"
expect_rc 3 "$VHOSTCTL" --control "$D/dead.sock" list
expect_rc 2 ctl frob
grep -q "'frob': unknown command" "$D/err" || fail "usage error message: $(cat "$D/err")"
expect_rc 2 ctl
expect_rc 2 ctl add-port
expect_rc 2 ctl list extra
expect_rc 2 ctl del-port a b
expect_rc 2 ctl --bogus list
expect_rc 2 ctl --timeout 0 list
expect_rc 0 "$VHOSTCTL" --help
log "ok: vhostctl exit codes 0, 2, 3"

# ---- the baseline every refused request must leave as it is
ctl list --json >"$D/base.json" || fail "list --json failed"
python3 - "$D/base.json" "$D/a.sock" "$D/b.sock" <<'PY' || fail "list --json: $(cat "$D/base.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["ok"] is True, a
ports = a["ports"]
assert [p["name"] for p in ports] == sys.argv[2:4], ports
for i, p in enumerate(ports):
    assert p["id"] == i and p["kind"] == "vhost" and p["state"] == "down", p
    assert p["client"] is False and p["queues"] == 1 and p["mtu"] == 0 and p["vlan"] == 0, p
    assert p["mode"] is None and p["gid"] is None and isinstance(p["lcore"], int), p
PY
unchanged() {
	local what=$1
	kill -0 $PID 2>/dev/null || { tail -n 20 "$LOG" >&2; fail "vhostd died after: $what"; }
	ctl list --json >"$D/now.json" || fail "list failed after: $what"
	cmp -s "$D/base.json" "$D/now.json" || {
		diff "$D/base.json" "$D/now.json" >&2
		fail "the port list changed after: $what"
	}
}

# expect_refused WANT ARGS...: vhostctl exits 1 with one line that holds WANT.
expect_refused() {
	local want=$1
	shift
	expect_rc 1 ctl "$@"
	[ "$(wc -l <"$D/err")" -eq 1 ] || fail "vhostctl $*: want one line on stderr, got: $(cat "$D/err")"
	grep -qF -- "$want" "$D/err" || fail "vhostctl $*: error '$(cat "$D/err")' does not say '$want'"
	unchanged "vhostctl $*"
	log "ok: vhostctl $* -> $(cat "$D/err")"
}

touch "$D/file"
mkdir -m 0777 "$D/open"
expect_refused "add-port $D/c.sock: bad queue count '0'" add-port "$D/c.sock,queues=0"
expect_refused "add-port $D/c.sock: bad mtu '9k'" add-port "$D/c.sock,mtu=9k"
expect_refused "add-port $D/c.sock: unknown option 'srv'" add-port "$D/c.sock,srv"
expect_refused "add-port $D/c.sock: mode= and group= need server mode" add-port "$D/c.sock,client,mode=0600"
expect_refused "add-port '': empty path" add-port ""
expect_refused "directory $D/nodir does not exist" add-port "$D/nodir/c.sock"
expect_refused "exists and is not a socket" add-port "$D/file"
expect_refused "writable by others without the sticky bit" add-port "$D/open/c.sock"
expect_refused "$D/a.sock: already a port" add-port "$D/a.sock"
expect_refused "$D/b.sock: already a port" add-port "$D/b.sock,client"
expect_refused "del-port $D/nope.sock: no such port" del-port "$D/nope.sock"
expect_refused "del-port $D/a.soc: no such port" del-port "$D/a.soc"
[ ! -e "$D/c.sock" ] && [ ! -e "$D/open/c.sock" ] || fail "a refused add-port left a socket file"

# ---- raw requests: one answer per line, in order, each naming the request
raw lines >"$D/answers" <<EOF
{"cmd":
[1,2]
"list"
{}
{"cmd":5}
{"cmd":"frob"}
{"cmd":"add-port"}
{"cmd":"add-port","arg":5}
{"cmd":"del-port","arg":null}
{"cmd":"list","arg":"x"}
{"cmd":"add-port","arg":"$D/c.sock","queues":2}
{"cmd":"list","cmd":"stats"}
{"cmd":"add-port","arg":"$D/c.sock,queues=9"}

{"cmd":"list"}
EOF
python3 - "$D/answers" "$D" <<'PY' || { cat "$D/answers" >&2; fail "raw request answers"; }
import json, sys
d = sys.argv[2]
want = [
    "request 1: invalid JSON at column",
    "request 2: an array, want an object",
    "request 3: a string, want an object",
    'request 4: no "cmd"',
    'request 5: "cmd" is a number, want a string',
    "request 6: unknown command 'frob' (want add-port, add-uplink, del-port, list, stats or mac-table)",
    'add-port: no "arg"',
    'add-port: "arg" is a number, want a string',
    'del-port: "arg" is null, want a string',
    'list: unknown field "arg"',
    'add-port: unknown field "queues"',
    "request 12: invalid JSON at column",
    "add-port %s/c.sock: bad queue count '9'" % d,
]
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == len(want) + 1, "%d answers for %d requests" % (len(lines), len(want) + 1)
for line, w in zip(lines, want):
    a = json.loads(line)
    assert a["ok"] is False and w in a["error"], (line, w)
    assert "\n" not in a["error"], line
last = json.loads(lines[-1])
assert last["ok"] is True and len(last["ports"]) == 2, lines[-1]
print("\n".join(lines), file=sys.stderr)
PY
unchanged "13 malformed raw requests"
log "ok: 13 malformed requests each answered with an error naming it, in order"

# ---- a line over 64 KiB: an error, then the connection is closed
raw long 70000 >"$D/long.out"
grep -q '"ok":false' "$D/long.out" && grep -q 'request 1: longer than 65536 bytes' "$D/long.out" &&
	[ "$(tail -n 1 "$D/long.out")" = EOF ] || fail "over-long line: $(cat "$D/long.out")"
unchanged "an over-long line"
log "ok: a 70000-byte line -> $(head -n 1 "$D/long.out") and EOF"

# ---- hanging up mid-request: the request is not run
raw hangup "{\"cmd\":\"add-port\",\"arg\":\"$D/h.sock\"}"
raw hangup "{\"cmd\":\"del-port\",\"arg\":\"$D/a.sock\""
sleep 0.3
[ ! -e "$D/h.sock" ] || fail "a request cut short by a hang-up was run (h.sock exists)"
unchanged "two clients that hung up mid-request"
grep -q "hung up in the middle of a request" "$LOG" || fail "vhostd did not log the hang-up"
log "ok: requests cut short by a hang-up were not run"

# ---- a stalled client and one that never reads do not hold anyone up
exec {NOREAD_FD}> >(raw noread 5000 >"$D/noread.out")
raw stall 15 >"$D/stall.out" &
STALL_PID=$!
wait_for stalled "$D/stall.out" 5 || fail "the stalling client did not start"
wait_for sent "$D/noread.out" 10 || fail "the non-reading client did not start"
t0=${EPOCHREALTIME//[!0-9]/}
for _ in 1 2 3 4 5; do unchanged "a stalled and a non-reading client"; done
t1=${EPOCHREALTIME//[!0-9]/}
[ $(((t1 - t0) / 5)) -lt 500000 ] || fail "list took $(((t1 - t0) / 5000)) ms on average while a client stalled"
log "ok: 5 lists took $(((t1 - t0) / 5000)) ms each while a client stalled mid-request and one never read ($(cat "$D/noread.out"))"
exec {NOREAD_FD}>&-
wait $STALL_PID || fail "stalling client: $(cat "$D/stall.out")"
grep -q 'request 1: incomplete for 10 s' "$D/stall.out" && grep -qx EOF "$D/stall.out" ||
	fail "stalled client: $(cat "$D/stall.out")"
log "ok: the stalled client was closed: $(tr '\n' ' ' <"$D/stall.out")"
unchanged "a stalled client closed"

# ---- 17 clients at once: the 17th is refused, the others still work
raw clients 17 >"$D/clients.out"
grep -q 'too many control clients (at most 16)' "$D/clients.out" || fail "17th client: $(cat "$D/clients.out")"
unchanged "17 clients"
log "ok: a 17th client -> $(cat "$D/clients.out")"

# ---- adds and removes that work
ctl add-port "$D/c.sock,queues=2,mtu=1500" >"$D/out" || fail "add-port c.sock: $(cat "$D/out")"
grep -qx "port 2" "$D/out" || fail "add-port c.sock printed '$(cat "$D/out")', want 'port 2'"
[ -S "$D/c.sock" ] || fail "add-port did not create $D/c.sock"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/srv.sock"
ctl add-port "$D/srv.sock,client" >/dev/null || fail "add-port srv.sock,client"
ctl --json list >"$D/four.json"
python3 - "$D/four.json" "$D" <<'PY' || fail "list after two adds: $(cat "$D/four.json")"
import json, sys
d = sys.argv[2]
ports = json.load(open(sys.argv[1]))["ports"]
assert [(p["id"], p["name"]) for p in ports] == [
    (0, d + "/a.sock"), (1, d + "/b.sock"), (2, d + "/c.sock"), (3, d + "/srv.sock")], ports
c, s = ports[2], ports[3]
assert c["queues"] == 2 and c["mtu"] == 1500 and c["client"] is False, c
assert s["client"] is True and s["state"] == "down", s
PY
expect_rc 1 ctl add-port "$D/c.sock"
grep -q "already a port" "$D/err" || fail "second add of c.sock: $(cat "$D/err")"
ctl del-port "$D/c.sock" >"$D/out" || fail "del-port c.sock"
grep -qx "port 2" "$D/out" || fail "del-port c.sock printed '$(cat "$D/out")'"
[ ! -e "$D/c.sock" ] || fail "del-port left $D/c.sock"
ctl del-port "$D/srv.sock" >/dev/null || fail "del-port srv.sock"
unchanged "add-port and del-port of c.sock and srv.sock"
expect_refused "del-port $D/c.sock: no such port" del-port "$D/c.sock"
log "ok: add-port (server, client) and del-port change the list and back"

# ---- traffic from known MACs: mac-table and stats
ctl --json stats >"$D/stats0.json" || fail "stats --json"
python3 - "$D/stats0.json" <<'PY' || fail "stats --json before traffic: $(cat "$D/stats0.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["ok"] is True and isinstance(a["mbufs_in_use"], int), a
assert len(a["ports"]) == 2, a
for p in a["ports"]:
    for k in ("rx_pkts", "rx_bytes", "tx_pkts", "tx_bytes", "drops", "too_big", "errors",
              "no_mbuf", "msg_refused", "mem_faults", "interrupt_stalls"):
        assert p[k] == 0, (k, p)
    assert isinstance(p["errors_by_kind"], dict) and len(p["errors_by_kind"]) > 5, p
    assert all(v == 0 for v in p["errors_by_kind"].values()), p
PY
ctl --json mac-table >"$D/mac0.json" || fail "mac-table --json"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a["ok"] is True and a["entries"] == [], a' \
	"$D/mac0.json" || fail "mac-table before traffic: $(cat "$D/mac0.json")"

python3 - "$HOSTILE_DIR" "$D" "$VHOSTCTL" "$CTL" <<'PY' || { tail -n 20 "$LOG" >&2; fail "traffic, mac-table, stats, del-port"; }
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import vhu
d, vhostctl, ctl = sys.argv[2], sys.argv[3], sys.argv[4]
N = 20


def ask(*args, rc=0):
    p = subprocess.run([vhostctl, "--control", ctl, "--json"] + list(args),
                       capture_output=True, text=True, timeout=15)
    assert p.returncode == rc, (args, p.returncode, p.stderr)
    return json.loads(p.stdout)


def wait(cond, what, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


a = vhu.Guest(d + "/a.sock", name="a").setup()
b = vhu.Guest(d + "/b.sock", name="b").setup()
wait(lambda: [p["state"] for p in ask("list")["ports"]] == ["up", "up"], "both ports up")
b.post_rx(0)
a.post_rx(0)
# a is MAC 02:00:00:00:00:0a, b is 02:00:00:00:00:0b
for i in range(N):
    assert a.transmit(vhu.make_frame(0x0a, i, 100))
    assert b.transmit(vhu.make_frame(0x0b, i, 200))
want = [{"mac": "02:00:00:00:00:0a", "port": 0, "name": d + "/a.sock"},
        {"mac": "02:00:00:00:00:0b", "port": 1, "name": d + "/b.sock"}]
ents = wait(lambda: (lambda e: e if len(e) == 2 else None)(ask("mac-table")["entries"]), "2 MACs")
for e, w in zip(ents, want):
    assert {k: e[k] for k in w} == w and 0 <= e["age"] <= 2, (ents, want)
print("mac-table:", ents, file=sys.stderr)
st = wait(lambda: (lambda s: s if all(p["rx_pkts"] == N for p in s["ports"]) else None)(ask("stats")),
          "rx_pkts == %d on both" % N)
pa, pb = st["ports"]
assert pa["rx_bytes"] == N * 100 and pb["rx_bytes"] == N * 200, st
assert pa["errors"] == 0 and pb["errors"] == 0, st
# what a sent went to b and back: b's MAC was learned from its frames
wait(lambda: (lambda s: s["ports"][0]["tx_pkts"] + s["ports"][1]["tx_pkts"] >= N)(ask("stats")),
     "frames delivered")
print("stats: a rx=%d tx=%d, b rx=%d tx=%d" % (pa["rx_pkts"], pa["tx_pkts"], pb["rx_pkts"],
                                                pb["tx_pkts"]), file=sys.stderr)

# an access port of VLAN 7: its MAC is learned in VLAN 7
r = ask("add-port", d + "/v.sock,vlan=7")
assert r == {"ok": True, "id": 2}, r
assert [p["vlan"] for p in ask("list")["ports"]] == [0, 0, 7]
v = vhu.Guest(d + "/v.sock", name="v").setup()
wait(lambda: ask("list")["ports"][2]["state"] == "up", "v up")
assert v.transmit(vhu.make_frame(0x0c, 0, 100))
ents = wait(lambda: (lambda e: e if len(e) == 3 else None)(ask("mac-table")["entries"]), "3 MACs")
assert {k: ents[2][k] for k in ("mac", "vlan", "port")} == {
    "mac": "02:00:00:00:00:0c", "vlan": 7, "port": 2}, ents
assert [e["vlan"] for e in ents[:2]] == [0, 0], ents
print("mac-table with VLAN 7:", ents[2], file=sys.stderr)
assert ask("del-port", d + "/v.sock") == {"ok": True, "id": 2}
v.close()

# del-port of a connected port: its frontend's connection closes, its MAC goes
r = ask("del-port", d + "/b.sock")
assert r == {"ok": True, "id": 1}, r
assert b.conn.is_closed(wait=3), "b's vhost-user connection still open after del-port"
ents = ask("mac-table")["entries"]
assert [e["mac"] for e in ents] == ["02:00:00:00:00:0a"], ents
ports = ask("list")["ports"]
assert [(p["name"], p["state"]) for p in ports] == [(d + "/a.sock", "up")], ports
# a still works: a frame from it is received
before = ask("stats")["ports"][0]["rx_pkts"]
assert a.transmit(vhu.make_frame(0x0a, N, 100))
wait(lambda: ask("stats")["ports"][0]["rx_pkts"] == before + 1, "a's frame after the del-port")
a.close()
b.close()
PY
[ ! -e "$D/b.sock" ] || fail "del-port of a connected port left $D/b.sock"
kill -0 $PID 2>/dev/null || fail "vhostd died"
log "ok: mac-table and stats show the frames of two frontends; del-port of a connected one closed it"

# ---- an uplink: net_null (a device that receives endless frames)
expect_rc 1 ctl add-uplink "net_bogus0"
grep -q "add-uplink net_bogus0: no bus or driver" "$D/err" || fail "add-uplink net_bogus0: $(cat "$D/err")"
expect_rc 1 ctl add-uplink ""
grep -q "add-uplink '': no device name" "$D/err" || fail "add-uplink '': $(cat "$D/err")"
ctl add-uplink net_null0 >"$D/out" || fail "add-uplink net_null0: $(cat "$D/out")"
ctl --json list >"$D/up.json"
python3 - "$D/up.json" <<'PY' || fail "list with an uplink: $(cat "$D/up.json")"
import json, sys
ports = json.load(open(sys.argv[1]))["ports"]
up = [p for p in ports if p["name"] == "net_null0"]
assert len(up) == 1 and up[0]["kind"] == "ethdev" and up[0]["state"] == "up", ports
PY
expect_rc 1 ctl add-uplink net_null0
grep -q "already a port" "$D/err" || fail "second add-uplink net_null0: $(cat "$D/err")"
ctl del-port net_null0 >/dev/null || fail "del-port net_null0"
[ "$(ctl list | grep -c net_null0)" -eq 0 ] || fail "net_null0 still listed after del-port"
log "ok: add-uplink net_null0 (kind ethdev, up), a bad driver refused, del-port"

# ---- exit: the control socket goes
kill -TERM $PID
rc=0
wait $PID || rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$LOG" >&2; fail "vhostd exit $rc after SIGTERM, want 0"; }
[ ! -e "$CTL" ] || fail "control socket left after exit"
[ ! -e "$D/a.sock" ] || fail "a.sock left after exit"
log "ok: SIGTERM: exit 0, control socket removed"

# ---- a pair-mode daemon (no port at all) has no MAC table; --control none
"$VHOSTD" --control "$D/pair.sock" --fwd pair "${EAL[@]}" </dev/null >"$D/pair.log" 2>&1 &
PID=$!
track_pid $PID
wait_for "vhostd: ready" "$D/pair.log" 30 || { cat "$D/pair.log" >&2; fail "pair-mode vhostd did not start"; }
expect_rc 1 "$VHOSTCTL" --control "$D/pair.sock" mac-table
grep -q "mac-table: no MAC table" "$D/err" || fail "mac-table in pair mode: $(cat "$D/err")"
log "ok: pair mode: mac-table -> $(cat "$D/err")"
expect_rc 0 "$VHOSTCTL" --control "$D/pair.sock" list
[ "$(wc -l <"$D/out")" -eq 1 ] || fail "a vhostd without ports lists: $(cat "$D/out")"
kill -TERM $PID
wait $PID || fail "pair-mode vhostd exit status $?"

"$VHOSTD" --control none "${EAL[@]}" </dev/null >"$D/none.log" 2>&1 &
PID=$!
track_pid $PID
wait_for "vhostd: ready" "$D/none.log" 30 || { cat "$D/none.log" >&2; fail "vhostd --control none did not start"; }
! grep -q "control socket" "$D/none.log" || fail "--control none: $(grep "control socket" "$D/none.log")"
kill -TERM $PID
wait $PID || fail "vhostd --control none: exit status $?"
log "ok: --control none starts no control socket"
log "PASS"
