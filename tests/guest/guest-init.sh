#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# /init of the busybox initramfs that tests/guest/two_guests.sh and
# tests/guest/guest_restart.sh boot twice.
# Not run on the host. Parameters come from the kernel command line:
#   vhd_role=a|b|isolated
#                 a pings b, then sends b a file of random data with nc;
#                 isolated pings its peer for vhd_mib seconds (once mode)
#                 and reports how many replies came: none is expected,
#                 the peer being in another VLAN (tests/guest/vlan_guests.sh)
#   vhd_mode=once|restart
#                 once (default): one ping and one transfer, then power off.
#                 restart: b receives files with nc, printing the size and
#                 sha256 of each; a pings b without end (ping -i 0.2, every
#                 reply a console line). Both obey commands that the host
#                 writes, one a line, into their second serial port
#                 (/dev/ttyS1):
#                   xfer N MIB  (a) send b MIB MiB of random data, round N
#                   arp MAC     a permanent neighbour entry: the peer is MAC
#                   quit        stop and power off
#   vhd_ip=ADDR   this guest's address (/24)
#   vhd_peer=ADDR the other guest's address
#   vhd_mib=N     size of the file in MiB (default 8)
#   vhd_port=N    TCP port of the transfer (default 5001)
#   vhd_watchdog=S power off after S seconds whatever happens (default 200)
#   vhd_mtu=N     set eth0's MTU to N before bringing it up, and fail unless
#                 /sys then says N (default: leave the driver's MTU)
#   vhd_conns=N   (once mode) the file goes over N parallel TCP connections,
#                 ports vhd_port to vhd_port+N-1, one slice each (default 1)
#   vhd_requeue=N (once mode) after the transfer: ethtool -L eth0 combined N,
#                 then ping the peer until it answers (VHD_REQUEUE_OK)
# Every guest prints eth0's MTU (VHD_MTU), its negotiated virtio features as
# the bit string of /sys/class/net/eth0/device/features, bit 0 first
# (VHD_FEATURES), and, when the initramfs has ethtool, the offloads that are
# on (VHD_OFFLOADS_ON, from ethtool -k).
# Everything the host looks for is one line on the console starting VHD_.

export PATH=/sbin:/usr/sbin:/bin:/usr/bin
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

say() { echo "$*"; }
die() {
	say "VHD_FAIL $*"
	say "VHD_DONE fail"
	poweroff -f
	sleep 10
}

role= ip= peer= mib=8 port=5001 watchdog=200 mode=once mtu= conns=1 requeue=
for kv in $(cat /proc/cmdline); do
	case $kv in
	vhd_role=*) role=${kv#*=} ;;
	vhd_ip=*) ip=${kv#*=} ;;
	vhd_peer=*) peer=${kv#*=} ;;
	vhd_mib=*) mib=${kv#*=} ;;
	vhd_port=*) port=${kv#*=} ;;
	vhd_watchdog=*) watchdog=${kv#*=} ;;
	vhd_mode=*) mode=${kv#*=} ;;
	vhd_mtu=*) mtu=${kv#*=} ;;
	vhd_conns=*) conns=${kv#*=} ;;
	vhd_requeue=*) requeue=${kv#*=} ;;
	esac
done
say "VHD_BOOTED role=$role mode=$mode ip=$ip peer=$peer uptime=$(cut -d' ' -f1 /proc/uptime)"
[ -n "$role" ] && [ -n "$ip" ] && [ -n "$peer" ] || die "missing vhd_role/vhd_ip/vhd_peer on the kernel command line"

# Never outlive the host's patience: a stuck guest powers itself off.
(sleep "$watchdog"; say "VHD_FAIL watchdog: ${watchdog}s passed"; poweroff -f) &

# Order matters: each module needs the ones before it (modules.dep).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
	failover net_failover virtio_net; do
	[ -f /lib/modules/$m.ko ] || continue # built into this kernel
	insmod /lib/modules/$m.ko || die "insmod $m failed"
done

i=0
while [ ! -e /sys/class/net/eth0 ]; do
	i=$((i + 1))
	[ $i -le 100 ] || die "no eth0 after loading virtio_net: $(ls /sys/class/net)"
	sleep 0.1
done
ip link set lo up
mtu0=$(cat /sys/class/net/eth0/mtu)
if [ -n "$mtu" ]; then
	ip link set eth0 mtu "$mtu" || die "ip link set eth0 mtu $mtu failed (driver's MTU $mtu0, max $(cat /sys/class/net/eth0/max_mtu 2>/dev/null))"
	[ "$(cat /sys/class/net/eth0/mtu)" = "$mtu" ] || die "eth0 mtu is $(cat /sys/class/net/eth0/mtu) after setting $mtu"
fi
say "VHD_MTU eth0 mtu=$(cat /sys/class/net/eth0/mtu) driver_mtu=$mtu0 wanted=${mtu:-default}"
say "VHD_FEATURES $(cat /sys/class/net/eth0/device/features 2>/dev/null || echo unknown)"
if [ -x /sbin/ethtool ]; then
	# ethtool -k prints "name: on" lines; list the names that are on, one line.
	say "VHD_OFFLOADS_ON $(/sbin/ethtool -k eth0 2>&1 | sed -n 's/^[[:space:]]*\([a-z0-9-]*\): on.*/\1/p' | tr '\n' ' ')"
	# ethtool -l: "Combined:" under the maximums, then under the current settings
	say "VHD_QUEUES $(/sbin/ethtool -l eth0 2>&1 | sed -n 's/^Combined:[[:space:]]*\([0-9]*\)/\1/p' | tr '\n' ' ')"
fi
ip addr add "$ip/24" dev eth0 || die "ip addr add $ip/24 failed"
ip link set eth0 up || die "ip link set eth0 up failed"
say "VHD_NET_UP eth0 $ip mac=$(cat /sys/class/net/eth0/address) uptime=$(cut -d' ' -f1 /proc/uptime)"

# make_file MIB: /tmp/send, MIB MiB of random data; prints its size and
# sha256 (also left in sent_size, sent_sha).
make_file() {
	head -c $(($1 * 1048576)) /dev/urandom >/tmp/send
	sent_size=$(wc -c </tmp/send)
	say "VHD_SIZE_SENT $sent_size"
	set -- $(sha256sum /tmp/send)
	sent_sha=$1
	say "VHD_SHA_SENT $sent_sha"
}

# send_file MIB: a fresh file (make_file) to $peer:$port with nc. Fails
# when nc cannot connect 30 times.
send_file() {
	make_file "$1"
	# busybox nc returns once the receiver has read everything and closed;
	# it fails only when the connection is refused (listener not up yet).
	# nc_start: uptime when the attempt that succeeded began, so that the
	# transfer time leaves out making the file and its sha256.
	i=0
	nc_start=$(cut -d' ' -f1 /proc/uptime)
	until nc -w 5 "$peer" "$port" </tmp/send; do
		i=$((i + 1))
		[ $i -le 30 ] || return 1
		sleep 1
		nc_start=$(cut -d' ' -f1 /proc/uptime)
	done
	nc_tries=$((i + 1))
}

# send_slices MIB N: as send_file, over N connections at once (ports
# port..port+N-1), slice i of the file on connection i.
send_slices() {
	n=$2
	make_file "$1"
	slice=$(((sent_size + n - 1) / n))
	nc_start=$(cut -d' ' -f1 /proc/uptime)
	i=0
	pids=
	while [ $i -lt $n ]; do
		(
			dd if=/tmp/send of=/tmp/slice.$i bs=$slice skip=$i count=1 2>/dev/null
			j=0
			until nc -w 5 "$peer" $((port + i)) </tmp/slice.$i; do
				j=$((j + 1))
				[ $j -le 30 ] || exit 1
				sleep 1
			done
		) &
		pids="$pids $!"
		i=$((i + 1))
	done
	ok=0
	for pid in $pids; do wait "$pid" || ok=1; done
	nc_tries=1
	return $ok
}

# requeue: ethtool -L to $requeue queue pairs, then the peer must still answer.
do_requeue() {
	/sbin/ethtool -L eth0 combined "$requeue" || die "ethtool -L eth0 combined $requeue failed"
	i=0
	until ping -c 1 -W 1 "$peer" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 60 ] || die "no ping reply from $peer after ethtool -L combined $requeue"
		sleep 0.2
	done
	say "VHD_REQUEUE_OK $(/sbin/ethtool -l eth0 | sed -n 's/^Combined:[[:space:]]*\([0-9]*\)/\1/p' | tr '\n' ' ')tries=$i"
	# the peer may still be pinging us
	sleep 5
}

# commands: the host's commands from /dev/ttyS1 until quit (restart mode)
commands() {
	while read -r cmd n arg <&3; do
		case $cmd in
		xfer)
			t0=$(cut -d' ' -f1 /proc/uptime)
			if send_file "$arg"; then
				say "VHD_XSENT n=$n size=$sent_size sha=$sent_sha start=$t0 end=$(cut -d' ' -f1 /proc/uptime)"
			else
				say "VHD_XSENT_FAIL n=$n nc $peer $port failed 30 times"
			fi
			;;
		arp)
			arp -i eth0 -s "$peer" "$n" || die "arp -s $peer $n failed"
			say "VHD_ARP_SET $peer $n"
			;;
		quit) return 0 ;;
		"") ;;
		*) say "VHD_BADCMD '$cmd'" ;;
		esac
	done
}

if [ "$mode" = restart ]; then
	[ -c /dev/ttyS1 ] || die "no /dev/ttyS1 for the host's commands"
	stty -F /dev/ttyS1 -echo -onlcr 2>/dev/null
	exec 3</dev/ttyS1
	case $role in
	b)
		# As in mode once, nc's stdin is a FIFO that never ends.
		mkfifo /tmp/hold
		(
			n=0
			while :; do
				say "VHD_LISTEN port=$port n=$n"
				if nc -l -p "$port" <>/tmp/hold >/tmp/recv; then
					set -- $(sha256sum /tmp/recv)
					say "VHD_XRECV n=$n size=$(wc -c </tmp/recv) sha=$1"
				else
					say "VHD_XRECV_ERR n=$n nc -l exited $?"
					sleep 1
				fi
				n=$((n + 1))
			done
		) &
		;;
	a)
		# Every reply is a console line "64 bytes from PEER: seq=N ...".
		ping -i 0.2 "$peer" &
		;;
	*)
		die "unknown vhd_role '$role'"
		;;
	esac
	say "VHD_CMD_READY"
	commands
	say "VHD_DONE ok uptime=$(cut -d' ' -f1 /proc/uptime)"
	poweroff -f
	sleep 10
fi

case $role in
isolated)
	# vhd_mib doubles as the seconds to try, so the kernel line stays short.
	ping -c $((mib * 5)) -i 0.2 -W 1 "$peer" >/tmp/ping.out 2>&1
	say "VHD_ISOLATED $(grep 'packets transmitted' /tmp/ping.out)"
	;;
b)
	# Receiver. nc's stdin is a FIFO opened read-write, so it never sees EOF:
	# busybox nc half-closes the connection when stdin ends, and the sender
	# would then stop before it has sent everything.
	mkfifo /tmp/hold
	say "VHD_LISTEN port=$port conns=$conns"
	if [ "$conns" -gt 1 ]; then
		i=0
		pids=
		while [ $i -lt "$conns" ]; do
			nc -l -p $((port + i)) <>/tmp/hold >/tmp/recv.$i &
			pids="$pids $!"
			i=$((i + 1))
		done
		for pid in $pids; do wait "$pid" || die "an nc -l exited $?"; done
		i=0
		: >/tmp/recv
		while [ $i -lt "$conns" ]; do cat /tmp/recv.$i >>/tmp/recv; i=$((i + 1)); done
	else
		nc -l -p "$port" <>/tmp/hold >/tmp/recv || die "nc -l exited $?"
	fi
	say "VHD_SIZE_RECV $(wc -c </tmp/recv)"
	set -- $(sha256sum /tmp/recv)
	say "VHD_SHA_RECV $1"
	;;
a)
	# The peer may still be booting: ping once a second until it answers.
	i=0
	until ping -c 1 -W 1 "$peer" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 120 ] || die "no ping reply from $peer after $i tries"
		[ $((i % 10)) -ne 0 ] || say "VHD_PING_WAIT no reply from $peer yet, $i tries"
		sleep 0.2
	done
	ping -c 3 -i 0.2 -W 2 "$peer" >/tmp/ping.out 2>&1 || { cat /tmp/ping.out; die "ping -c 3 $peer failed"; }
	say "VHD_PING_OK $(grep 'packets transmitted' /tmp/ping.out) retries=$i"

	t0=$(cut -d' ' -f1 /proc/uptime)
	if [ "$conns" -gt 1 ]; then
		send_slices "$mib" "$conns" || die "a slice's nc to $peer failed 31 times"
	else
		send_file "$mib" || die "nc $peer $port failed 31 times"
	fi
	t1=$(cut -d' ' -f1 /proc/uptime)
	say "VHD_SENT $((mib))MiB start=$nc_start end=$t1 prepared_from=$t0 nc_tries=$nc_tries"
	;;
*)
	die "unknown vhd_role '$role'"
	;;
esac

[ -z "$requeue" ] || do_requeue
say "VHD_DONE ok uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
sleep 10
