# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Helpers shared by the QEMU guest tests (two_guests.sh, guest_restart.sh):
# prerequisites, the busybox initramfs with the virtio-net modules, QEMU
# launch, process waiting and log dumping.
# Source it after tests/lib.sh, with HERE (this directory) and D (a scratch
# directory) set; do not run it. The guest /init is guest-init.sh.

# Set by the caller before use:
#   GL_NET_OPTS      appended to gl_qemu's -device virtio-net-pci (",host_mtu=9000")
#   GL_WITH_ETHTOOL  1: gl_build_initramfs adds the host's ethtool and its
#                    libraries, when there is one, for guest-init.sh's ethtool -k
GL_NET_OPTS=${GL_NET_OPTS:-}
#   GL_NETDEV_OPTS   appended to -netdev vhost-user (",queues=4")
#   GL_SMP           the guests' vCPUs (default 1)
GL_NETDEV_OPTS=${GL_NETDEV_OPTS:-}
GL_SMP=${GL_SMP:-1}
GL_WITH_ETHTOOL=${GL_WITH_ETHTOOL:-0}

GL_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"

# gl_check_prereqs [APPLET...]: QEMU, cpio, gzip and a static busybox with
# the applets guest-init.sh uses (plus any named); cannot_run otherwise.
gl_check_prereqs() {
	local a
	need_cmd qemu-system-x86_64 "apt-get install qemu-system-x86"
	need_cmd cpio "apt-get install cpio"
	need_cmd gzip "apt-get install gzip"
	[ -x /bin/busybox ] || cannot_run "/bin/busybox not found (install: apt-get install busybox-static)"
	if command -v ldd >/dev/null 2>&1 && ! ldd /bin/busybox 2>&1 | grep -q "not a dynamic"; then
		cannot_run "/bin/busybox is not static (install: apt-get install busybox-static)"
	fi
	for a in nc ping sha256sum insmod ip head mkfifo poweroff "$@"; do
		/bin/busybox --list | grep -qx "$a" || cannot_run "/bin/busybox has no '$a' applet (install: busybox-static)"
	done
	[ -r "$HERE/guest-init.sh" ] || fail "$HERE/guest-init.sh missing"
}

# A kernel whose modules directory has virtio_net (as a module or built in).
gl_kernel_has_virtio_net() {
	local md=/lib/modules/$1
	[ -d "$md" ] || return 1
	[ -n "$(find "$md" -name 'virtio_net.ko*' -print -quit)" ] && return 0
	grep -q '/virtio_net\.ko$' "$md/modules.builtin" 2>/dev/null
}

# gl_find_kernel: sets KERNEL (VHD_KERNEL or the newest /boot/vmlinuz-* with
# virtio_net modules) and KVER; cannot_run without one.
gl_find_kernel() {
	local k
	KERNEL=${VHD_KERNEL:-}
	if [ -z "$KERNEL" ]; then
		for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -rV); do
			if gl_kernel_has_virtio_net "${k#/boot/vmlinuz-}"; then
				KERNEL=$k
				break
			fi
		done
	fi
	[ -n "$KERNEL" ] || cannot_run "no /boot/vmlinuz-* with matching /lib/modules/<ver>/ holding virtio_net (install: apt-get install linux-image-amd64)"
	[ -r "$KERNEL" ] || cannot_run "$KERNEL is not readable"
	KVER=${KERNEL#*/vmlinuz-}
	gl_kernel_has_virtio_net "$KVER" || cannot_run "no virtio_net in /lib/modules/$KVER for $KERNEL"
}

# gl_build_initramfs OUT: busybox, the virtio-net modules (uncompressed, so
# busybox insmod needs no decompressor) and guest-init.sh as /init.
gl_build_initramfs() {
	local out=$1 root=$D/initramfs m f
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$HERE/guest-init.sh" "$root/init"
	chmod 0755 "$root/init"
	# The kernel opens /dev/console before /init runs; init re-opens it
	# from devtmpfs anyway, so a failing mknod (not root) is harmless.
	mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true
	for m in $GL_MODULES; do
		f=$(find "/lib/modules/$KVER" -name "$m.ko" -o -name "$m.ko.*" | head -n 1)
		case $f in
		"")
			grep -q "/$m\.ko$" "/lib/modules/$KVER/modules.builtin" 2>/dev/null ||
				cannot_run "module $m not found for kernel $KVER (install: linux-image-$KVER)"
			continue ;;
		*.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
		*) fail "unknown module format: $f" ;;
		esac || fail "could not unpack $f"
	done
	[ "$GL_WITH_ETHTOOL" = 1 ] && gl_add_ethtool "$root"
	(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out" ||
		fail "cpio/gzip of the initramfs failed"
}

# gl_add_ethtool ROOT: the host's ethtool as ROOT/sbin/ethtool with the shared
# libraries ldd names, at their own paths. Without ethtool (or ldd) the guest
# simply prints no VHD_OFFLOADS_ON line.
gl_add_ethtool() {
	local root=$1 e lib
	e=$(command -v ethtool 2>/dev/null || ls /usr/sbin/ethtool /sbin/ethtool 2>/dev/null | head -n 1)
	[ -n "$e" ] && [ -x "$e" ] && command -v ldd >/dev/null 2>&1 || {
		log "note: no ethtool on the host (apt-get install ethtool): the guests print no ethtool -k"
		return 0
	}
	mkdir -p "$root/sbin"
	cp "$e" "$root/sbin/ethtool" || fail "could not copy $e into the initramfs"
	for lib in $(ldd "$e" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib" || fail "could not copy $lib (for ethtool) into the initramfs"
	done
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# wait_exit PID TIMEOUT_S: wait for PID (a child) to exit; its status in WAIT_RC.
# shellcheck disable=SC2034 # WAIT_RC is for the caller
WAIT_RC=""
wait_exit() {
	local _
	for _ in $(seq 1 $(($2 * 10))); do
		alive "$1" || break
		sleep 0.1
	done
	alive "$1" && return 1
	wait "$1" 2>/dev/null
	# shellcheck disable=SC2034
	WAIT_RC=$?
	return 0
}

# show FILE: a log without carriage returns and terminal escapes, indented
show() { tr -d '\r' <"$1" | sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/^/    /' >&2; }

# gl_dump_tail N FILE...: the last N lines of each file, or that it is empty
gl_dump_tail() {
	local n=$1 f
	shift
	for f in "$@"; do
		[ -s "$f" ] || { log "--- $(basename "$f"): empty or missing"; continue; }
		log "--- last $n lines of $(basename "$f"):"
		tail -n "$n" "$f" >"$D/show" && show "$D/show"
	done
}

# gl_qemu NAME MAC CHARDEV APPEND [QEMU ARG...]: boots a TCG guest in the
# background with one virtio-net-pci (MAC) on a vhost-user netdev whose
# chardev options are CHARDEV ("path=SOCK", "path=SOCK,server=on,wait=off",
# "path=SOCK,reconnect=1"); APPEND goes on the kernel command line;
# GL_NET_OPTS is appended to the device's options.
# Serial console in $D/NAME.serial, QEMU's own messages in $D/NAME.qemu.log;
# the PID goes to QEMU_<NAME> (upper case) and to lib.sh's cleanup.
gl_qemu() {
	local name=$1 mac=$2 chardev=$3 append=$4 pid
	shift 4
	qemu-system-x86_64 -accel tcg -smp "$GL_SMP" -m 512 -nographic -no-reboot \
		-monitor none -serial "file:$D/$name.serial" "$@" \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 quiet $append" \
		-object memory-backend-memfd,id=mem,size=512M,share=on \
		-machine pc,memory-backend=mem \
		-chardev "socket,id=c0,$chardev" \
		-netdev "vhost-user,id=n0,chardev=c0$GL_NETDEV_OPTS" \
		-device "virtio-net-pci,netdev=n0,romfile=,vectors=0,mac=$mac$GL_NET_OPTS" \
		</dev/null >"$D/$name.qemu.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	eval "QEMU_$(echo "$name" | tr a-z A-Z)=$pid"
}

# marker NAME PATTERN: the last line of NAME's console matching PATTERN
marker() { grep -a -o -E -- "$2" "$D/$1.serial" 2>/dev/null | tail -n 1; }
