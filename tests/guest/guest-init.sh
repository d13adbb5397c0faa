#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# /init of the busybox initramfs that tests/guest/two_guests.sh boots twice.
# Not run on the host. Parameters come from the kernel command line:
#   vhd_role=a|b  a pings b, then sends b a file of random data with nc
#   vhd_ip=ADDR   this guest's address (/24)
#   vhd_peer=ADDR the other guest's address
#   vhd_mib=N     size of the file in MiB (default 8)
#   vhd_port=N    TCP port of the transfer (default 5001)
#   vhd_watchdog=S power off after S seconds whatever happens (default 200)
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

role= ip= peer= mib=8 port=5001 watchdog=200
for kv in $(cat /proc/cmdline); do
	case $kv in
	vhd_role=*) role=${kv#*=} ;;
	vhd_ip=*) ip=${kv#*=} ;;
	vhd_peer=*) peer=${kv#*=} ;;
	vhd_mib=*) mib=${kv#*=} ;;
	vhd_port=*) port=${kv#*=} ;;
	vhd_watchdog=*) watchdog=${kv#*=} ;;
	esac
done
say "VHD_BOOTED role=$role ip=$ip peer=$peer uptime=$(cut -d' ' -f1 /proc/uptime)"
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
ip addr add "$ip/24" dev eth0 || die "ip addr add $ip/24 failed"
ip link set eth0 up || die "ip link set eth0 up failed"
say "VHD_NET_UP eth0 $ip mac=$(cat /sys/class/net/eth0/address) uptime=$(cut -d' ' -f1 /proc/uptime)"

case $role in
b)
	# Receiver. nc's stdin is a FIFO opened read-write, so it never sees EOF:
	# busybox nc half-closes the connection when stdin ends, and the sender
	# would then stop before it has sent everything.
	mkfifo /tmp/hold
	say "VHD_LISTEN port=$port"
	nc -l -p "$port" <>/tmp/hold >/tmp/recv || die "nc -l exited $?"
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

	head -c $((mib * 1048576)) /dev/urandom >/tmp/send
	say "VHD_SIZE_SENT $(wc -c </tmp/send)"
	set -- $(sha256sum /tmp/send)
	say "VHD_SHA_SENT $1"
	# busybox nc returns once the receiver has read everything and closed;
	# it fails only when the connection is refused (listener not up yet).
	i=0
	t0=$(cut -d' ' -f1 /proc/uptime)
	until nc -w 5 "$peer" "$port" </tmp/send; do
		i=$((i + 1))
		[ $i -le 30 ] || die "nc $peer $port failed $i times"
		sleep 1
	done
	say "VHD_SENT $((mib))MiB start=$t0 end=$(cut -d' ' -f1 /proc/uptime)"
	;;
*)
	die "unknown vhd_role '$role'"
	;;
esac

say "VHD_DONE ok uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
sleep 10
