#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# contrib/systemd stays usable:
#   - vhostd.service passes `systemd-analyze verify` (ExecStart pointed at
#     the built binary) without a word about the unit;
#   - its hugepage step, run on a stand-in for /proc/sys/vm/nr_hugepages,
#     only ever raises the count and refuses a count that is not a number;
#   - vhostd.conf reads the same to systemd and to a shell (no $, quotes or
#     backslashes that one of them would treat differently);
#   - vhostd starts with the example VHOSTD_OPTS (socket paths moved to a
#     temporary directory), its server sockets get the mode and group the
#     config asks for, and SIGTERM makes it remove them and exit 0.
. "$(dirname "$0")/../lib.sh"

VHOSTD=$(realpath "$(find_vhostd)")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$SRC/contrib/systemd/vhostd.service
CONF=$SRC/contrib/systemd/vhostd.conf
D=$VHD_TMP
[ -f "$UNIT" ] || fail "$UNIT missing"
[ -f "$CONF" ] || fail "$CONF missing"
need_cmd systemd-analyze "apt-get install systemd"

# --- the unit, as systemd reads it --------------------------------------
mkdir "$D/unit"
sed "s#^ExecStart=/usr/local/bin/vhostd #ExecStart=$VHOSTD #" "$UNIT" >"$D/unit/vhostd.service"
grep -q "^ExecStart=$VHOSTD \$VHOSTD_OPTS -- \$VHOSTD_EAL_OPTS\$" "$D/unit/vhostd.service" ||
	fail "no 'ExecStart=/usr/local/bin/vhostd \$VHOSTD_OPTS -- \$VHOSTD_EAL_OPTS' line in $UNIT"
rc=0
(cd "$D/unit" && SYSTEMD_COLORS=0 systemd-analyze verify ./vhostd.service) >"$D/verify.out" 2>&1 || rc=$?
# other units' complaints (a broken unit elsewhere on this host) are not ours
if grep -v "vhostd" "$D/verify.out" >"$D/verify.noise"; then
	log "systemd-analyze verify, about other units (ignored):"
	sed 's/^/    /' "$D/verify.noise" >&2
fi
if grep "vhostd" "$D/verify.out" >"$D/verify.ours" || [ "$rc" -ne 0 ]; then
	cat "$D/verify.out" >&2
	fail "systemd-analyze verify vhostd.service: exit $rc, $(wc -l <"$D/verify.ours") lines about the unit"
fi
log "ok: systemd-analyze verify: nothing to say about vhostd.service"
# verify looks at ExecStart= only: every other command must exist here too
grep -E '^Exec[A-Za-z]*=' "$D/unit/vhostd.service" | sed -E 's/^[^=]*=[-@:+!]*//; s/ .*//' |
	while read -r cmd; do
		case "$cmd" in /*) ;; *) fail "vhostd.service: command '$cmd' is not an absolute path" ;; esac
		[ -x "$cmd" ] || fail "vhostd.service: command $cmd not found"
	done || exit 1

# --- the hugepage ExecStartPre ------------------------------------------
# The script as systemd hands it to /bin/sh: continuation lines joined,
# $$ unescaped, the outer single quotes gone.
awk '/^ExecStartPre=\/bin\/sh -c /{on=1}
     on { l = l $0; if (l ~ /\\$/) { sub(/\\$/, " ", l) } else { print l; exit } }' "$UNIT" |
	sed -e "s/^ExecStartPre=\/bin\/sh -c '//" -e "s/'\$//" -e 's/\$\$/$/g' \
		-e "s#/proc/sys/vm/nr_hugepages#$D/nr_hugepages#g" >"$D/hugepages.sh"
grep -q "$D/nr_hugepages" "$D/hugepages.sh" || fail "no hugepage ExecStartPre in $UNIT"
grep -q '/proc/sys' "$D/hugepages.sh" && fail "hugepage step touches /proc/sys beyond nr_hugepages"
sh -n "$D/hugepages.sh" || fail "hugepage step: shell syntax error"
# hugepages CASE_NAME HAVE WANT(or -) RC_WANT NR_WANT
hugepages() {
	local rc=0
	echo "$2" >"$D/nr_hugepages"
	if [ "$3" = - ]; then
		(unset VHOSTD_HUGEPAGES; sh "$D/hugepages.sh") 2>"$D/hp.err" || rc=$?
	else
		VHOSTD_HUGEPAGES=$3 sh "$D/hugepages.sh" 2>"$D/hp.err" || rc=$?
	fi
	[ "$rc" -eq "$4" ] || fail "hugepages, $1: exit $rc, want $4 ($(cat "$D/hp.err"))"
	[ "$(cat "$D/nr_hugepages")" = "$5" ] ||
		fail "hugepages, $1: nr_hugepages $(cat "$D/nr_hugepages"), want $5"
}
hugepages "unset" 100 - 0 100
hugepages "empty" 100 "" 0 100
hugepages "raise" 100 300 0 300
hugepages "never lower" 300 100 0 300
hugepages "not a number" 100 12x 1 100
grep -q "not a number" "$D/hp.err" || fail "hugepages, not a number: no error ($(cat "$D/hp.err"))"
log "ok: hugepage step raises, never lowers, refuses '12x'"

# --- the config, read by systemd and by a shell alike -------------------
awk -v f="$CONF" '
	{ q = gsub(/"/, "\"") }
	!inq && (/^[ \t]*#/ || /^[ \t]*$/) { next }
	inq && /^[ \t]*#/ { printf "%s:%d: a comment inside a quoted value\n", f, NR; bad = 1 }
	/[$\\`'"'"']/ { printf "%s:%d: $, backslash, backquote or single quote\n", f, NR; bad = 1 }
	!inq && !/^[A-Z_][A-Z0-9_]*=/ { printf "%s:%d: not NAME=value\n", f, NR; bad = 1 }
	q % 2 { inq = !inq }
	END { if (inq) { printf "%s: unterminated quote\n", f; bad = 1 } exit bad }' "$CONF" ||
	fail "vhostd.conf would not read the same to systemd and to a shell"

# --- vhostd with the example options ------------------------------------
grp=kvm
if ! getent group kvm >/dev/null; then
	grp=$(id -gn)
	log "no group kvm here: group=kvm becomes group=$grp"
fi
mkdir "$D/sockets"
chgrp "$grp" "$D/sockets"
chmod 1770 "$D/sockets" # as vhostd.service makes /run/vhostd-sockets
# Read the config as a shell does, in a subshell: VHOSTD_OPTS with the
# socket paths moved here, one word a line.
(
	. "$CONF" || exit 1
	[ -n "${VHOSTD_OPTS:-}" ] || fail "vhostd.conf: no VHOSTD_OPTS"
	[ -n "${VHOSTD_EAL_OPTS+set}" ] || fail "vhostd.conf: no VHOSTD_EAL_OPTS"
	[ -z "$VHOSTD_EAL_OPTS" ] || log "VHOSTD_EAL_OPTS='$VHOSTD_EAL_OPTS' replaced by this test's"
	case "${VHOSTD_HUGEPAGES-}" in *[!0-9]*) fail "vhostd.conf: VHOSTD_HUGEPAGES='$VHOSTD_HUGEPAGES' is not a number" ;; esac
	# an uplink needs a host interface this test cannot count on; client
	# ports stay: vhostd starts without their frontend and keeps trying
	printf '%s\n' $VHOSTD_OPTS |
		awk 'drop { drop = 0; next } $0 == "--uplink" { drop = 1; next } /^--uplink=/ { next } { print }' |
		sed -e "s#^/run/vhostd-sockets/#$D/sockets/#" -e "s#,group=kvm\(,\|\$\)#,group=$grp\1#"
) >"$D/opts" || fail "vhostd.conf: cannot be read by a shell"
grep -q -e '^/run/' "$D/opts" && fail "vhostd.conf: a socket outside /run/vhostd-sockets: $(grep -e '^/run/' "$D/opts")"
# server-mode ports: PATH,OPTIONS after --socket, without client
awk 'prev == "--socket" && $0 !~ /,client(,|$)/ { print } { prev = $0 }' "$D/opts" >"$D/servers"
[ -s "$D/servers" ] || fail "vhostd.conf: no server-mode --socket"

# EAL: no hugepages needed, both lcores on CPU 0, our own prefix
# shellcheck disable=SC2046
"$VHOSTD" $(cat "$D/opts") --control "$D/c.sock" -- --no-huge -m 256 --no-pci \
	--lcores=0@0,1@0 --file-prefix=vhd-contrib$$ >"$D/vhostd.log" 2>&1 &
pid=$!
track_pid $pid
for _ in $(seq 300); do
	grep -q "vhostd: ready" "$D/vhostd.log" && break
	kill -0 $pid 2>/dev/null || break # refused its options: no point waiting
	sleep 0.1
done
grep -q "vhostd: ready" "$D/vhostd.log" || {
	cat "$D/vhostd.log" >&2
	fail "vhostd with vhostd.conf's VHOSTD_OPTS did not start: $(tr '\n' ' ' <"$D/opts")"
}
log "ok: $(grep 'vhostd: ready' "$D/vhostd.log")"

# the server sockets exist with the config's mode and group
while IFS= read -r port; do
	s=${port%%,*}
	[ -S "$s" ] || fail "$s: no socket"
	got=$(stat -c '0%a %G' "$s")
	mode=$(printf '%s\n' "$port" | grep -o ',mode=0[0-7]*' | cut -d= -f2)
	group=$(printf '%s\n' "$port" | grep -o ',group=[^,]*' | cut -d= -f2)
	[ -z "$mode" ] || [ "${got% *}" = "$mode" ] || fail "$s: mode ${got% *}, want $mode"
	[ -z "$group" ] || [ "${got#* }" = "$group" ] || fail "$s: group ${got#* }, want $group"
	log "ok: $(basename "$s"): $got"
done <"$D/servers"
[ -S "$D/c.sock" ] || fail "no control socket"

kill -TERM $pid
rc=0
wait $pid || rc=$?
[ "$rc" -eq 0 ] || { tail -20 "$D/vhostd.log" >&2; fail "vhostd exited $rc on SIGTERM, want 0"; }
for s in $(cut -d, -f1 "$D/servers") "$D/c.sock"; do
	[ -e "$s" ] && fail "$s still there after SIGTERM"
done
log "ok: SIGTERM: exit 0, sockets removed"
log "PASS"
