#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The socket file is the boundary between tenants and vhostd:
#   - a directory that someone else could rename entries in is refused
#     (owned by another user, or group/other-writable without the sticky bit);
#   - mode= and group= hold from the moment the socket exists: no chmod or
#     chown by path after listen() (which a link swapped in could redirect,
#     and before which connections were accepted under the process umask);
#   - in a sticky directory like /tmp another user cannot swap the socket.
. "$(dirname "$0")/../lib.sh"

VHOSTD=$(find_vhostd)
D=$VHD_TMP
need_cmd strace "apt-get install strace"
need_cmd setpriv "apt-get install util-linux"
[ "$(id -u)" -eq 0 ] || cannot_run "needs root (to act as another user)"
EAL="-- --no-huge -m 128 --no-pci --lcores=0@0,1@0 --file-prefix=vhd-perm$$"

expect_usage_error() {
	local want=$1 rc
	shift
	# a vhostd that accepts the path would run: 124 from timeout
	timeout 10 "$VHOSTD" "$@" >"$D/out" 2>"$D/err" && rc=0 || rc=$?
	[ "$rc" -eq 2 ] || fail "vhostd $*: exit $rc, want 2 ($(cat "$D/err"))"
	grep -qF -- "$want" "$D/err" || fail "vhostd $*: error '$(cat "$D/err")' does not name '$want'"
	log "ok: refused: $(cat "$D/err")"
}

mkdir -m 0770 "$D/groupw"
expect_usage_error "writable by its group without the sticky bit" --socket "$D/groupw/a.sock"
mkdir -m 0755 "$D/theirs"
chown nobody "$D/theirs"
expect_usage_error "belongs to uid $(id -u nobody)" --socket "$D/theirs/a.sock"

# mode and group from creation on: trace every permission change vhostd makes.
grp=$(getent group | awk -F: '$3 != 0 {print $1; exit}')
gid=$(getent group "$grp" | cut -d: -f3)
mkdir -m 1777 "$D/sticky"
S="$D/sticky/a.sock"
# a loose umask: a socket created before its mode is applied would be 0777
(umask 000; exec strace -f -qq -o "$D/strace.log" \
	-e trace=chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,bind \
	"$VHOSTD" --socket "$S,mode=0600,group=$grp" $EAL) >"$D/d.log" 2>&1 &
pid=$!
track_pid $pid
# watch the path from before it exists: every state it is ever seen in
python3 - "$S" >"$D/seen" <<'PY' &
import os, stat, sys, time
path, seen, end = sys.argv[1], set(), time.time() + 30
while time.time() < end and not os.path.exists(path + ".done"):
    try:
        st = os.lstat(path)
        seen.add((stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_gid))
    except FileNotFoundError:
        pass
for s in sorted(seen):
    print("%o %o %d" % s)
PY
watcher=$!
wait_for "vhostd: ready" "$D/d.log" 30 || { cat "$D/d.log"; fail "vhostd did not start"; }
touch "$S.done"
wait $watcher
log "states of $S seen while starting: $(tr '\n' ';' <"$D/seen")"
[ "$(cat "$D/seen")" = "140000 600 $gid" ] ||
	fail "socket seen as '$(tr '\n' ';' <"$D/seen")', want only mode 600 group $gid"
grep -q "bind(.*$S" "$D/strace.log" || fail "no bind of $S traced: $(head "$D/strace.log")"
if grep -E '(chmod|chown)' "$D/strace.log" | grep -qF "$S"; then
	fail "permissions changed by path after bind: $(grep -E 'chmod|chown' "$D/strace.log")"
fi
log "ok: $S created 0600 group $grp, no chmod/chown by path"

# another user cannot swap it in the sticky directory
ln -s /etc/shadow "$D/sticky/link"
chown -h nobody "$D/sticky/link"
if setpriv --reuid=nobody --regid=nogroup --clear-groups mv -f "$D/sticky/link" "$S" 2>/dev/null; then
	fail "another user replaced the socket in a sticky directory"
fi
[ -S "$S" ] || fail "socket is gone"
log "ok: another user cannot replace the socket"

# strace's child is vhostd: stop it, strace ends with its status
kill -TERM "$(pgrep -P $pid)"
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { cat "$D/d.log"; fail "exit $rc after SIGTERM"; }
log "PASS"
