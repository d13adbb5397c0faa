#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Command-line contract: bad input exits 2 with one line naming the flag;
# --help/--version exit 0; SIGTERM removes the socket files vhostd created.
. "$(dirname "$0")/../lib.sh"

VHOSTD=$(find_vhostd)
D=$VHD_TMP

# expect_usage_error WANT_IN_MESSAGE ARGS...: exit 2, exactly one line on stderr.
expect_usage_error() {
	local want=$1 rc lines
	shift
	"$VHOSTD" "$@" >"$D/out" 2>"$D/err" && rc=0 || rc=$?
	[ "$rc" -eq 2 ] || fail "vhostd $*: exit $rc, want 2 ($(cat "$D/err"))"
	lines=$(wc -l <"$D/err")
	[ "$lines" -eq 1 ] || fail "vhostd $*: $lines lines on stderr, want 1: $(cat "$D/err")"
	grep -qF -- "$want" "$D/err" || fail "vhostd $*: error '$(cat "$D/err")' does not name '$want'"
	log "ok: vhostd $* -> $(cat "$D/err")"
}

expect_usage_error "--bogus" --bogus
expect_usage_error "--socket" --socket
expect_usage_error "duplicate socket path" --socket "$D/a.sock" --socket "$D/a.sock"
expect_usage_error "bad queue count" --socket "$D/a.sock,queues=0"
expect_usage_error "bad queue count" --socket "$D/a.sock,queues=99"
expect_usage_error "bad queue count" --socket "$D/a.sock,queues=x"
expect_usage_error "bad mtu" --socket "$D/a.sock,mtu=67"
expect_usage_error "bad mtu" --socket "$D/a.sock,mtu=65536"
expect_usage_error "bad mtu" --socket "$D/a.sock,mtu=9k"
expect_usage_error "unknown option 'srv'" --socket "$D/a.sock,srv"
expect_usage_error "bad vlan '0'" --socket "$D/a.sock,vlan=0"
expect_usage_error "bad vlan '4095'" --socket "$D/a.sock,vlan=4095"
expect_usage_error "vlan= needs --fwd l2" --fwd pair --socket "$D/a.sock,vlan=10" --socket "$D/b.sock"
expect_usage_error "--fwd 'hub'" --fwd hub --socket "$D/a.sock"
expect_usage_error "--stats 'x'" --stats x --socket "$D/a.sock"
expect_usage_error "unexpected argument" --socket "$D/a.sock" stray
expect_usage_error "does not exist" --socket "$D/nodir/a.sock"
long=$(printf 'x%.0s' $(seq 1 120))
expect_usage_error "path longer" --socket "$D/$long"

expect_usage_error "bad mode '999'" --socket "$D/a.sock,mode=999"
expect_usage_error "unknown group 'no-such-group-x'" --socket "$D/a.sock,group=no-such-group-x"
expect_usage_error "need server mode" --socket "$D/a.sock,client,mode=0660"
expect_usage_error "--single-copy 'maybe'" --single-copy maybe --socket "$D/a.sock"

touch "$D/file"
expect_usage_error "exists and is not a socket" --socket "$D/file"
mkdir -m 0777 "$D/open"
expect_usage_error "writable by others without the sticky bit" --socket "$D/open/a.sock"

"$VHOSTD" --help | grep -q -- "--socket PATH" || fail "--help does not describe --socket"
"$VHOSTD" --version | grep -q "^vhostd " || fail "--version"

# A stale socket (its server is gone) is replaced; a live one is refused.
python3 - "$D/stale.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])
PY
[ -S "$D/stale.sock" ] || fail "could not make a stale socket"
EAL="-- --no-huge -m 128 --no-pci --lcores=0@0,1@0 --file-prefix=vhd-cli$$"
"$VHOSTD" --socket "$D/stale.sock" --socket "$D/live.sock" $EAL >"$D/d.log" 2>&1 &
pid=$!
track_pid $pid
wait_for "vhostd: ready" "$D/d.log" 30 || { cat "$D/d.log"; fail "vhostd did not start"; }
grep -q "removed stale socket" "$D/d.log" || fail "stale socket not reported as removed"
[ -S "$D/stale.sock" ] && [ -S "$D/live.sock" ] || fail "socket files missing while running"

expect_usage_error "already served by a live process" --socket "$D/live.sock"

kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { cat "$D/d.log"; fail "vhostd exit $rc after SIGTERM, want 0"; }
[ ! -e "$D/stale.sock" ] && [ ! -e "$D/live.sock" ] || fail "socket files left after SIGTERM"
# mode= and group= set the socket file's permissions and group.
grp=$(getent group | awk -F: '$3 != 0 {print $1; exit}')
"$VHOSTD" --socket "$D/perm.sock,mode=0640,group=$grp" $EAL >"$D/perm.log" 2>&1 &
pid=$!
track_pid $pid
wait_for "vhostd: ready" "$D/perm.log" 30 || { cat "$D/perm.log"; fail "mode/group: did not start"; }
got=$(stat -c '%a %G' "$D/perm.sock")
[ "$got" = "640 $grp" ] || fail "mode=0640,group=$grp gave '$got'"
kill -TERM $pid; wait $pid || fail "mode/group: bad exit"
log "ok: mode=0640,group=$grp -> $got"

# 64 ports on one command line: all served, all removed at exit.
mkdir "$D/many"
args=()
for i in $(seq 0 63); do args+=(--socket "$D/many/p$i.sock"); done
"$VHOSTD" "${args[@]}" --fwd pair $EAL >"$D/many.log" 2>&1 &
pid=$!
track_pid $pid
wait_for "vhostd: ready: 64 ports" "$D/many.log" 60 || { tail -20 "$D/many.log"; fail "64 ports did not start"; }
n=$(find "$D/many" -type s | wc -l)
[ "$n" -eq 64 ] || fail "$n socket files for 64 ports"
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { tail -20 "$D/many.log"; fail "64 ports: exit $rc after SIGTERM"; }
n=$(find "$D/many" -type s | wc -l)
[ "$n" -eq 0 ] || fail "64 ports: $n socket files left"
log "ok: 64 ports served and removed"

log "PASS"
