#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Prepares a Debian 12 machine for vhostd: packages, hugepages, build.
# Idempotent; run as root (or with sudo). Used by README.md and .ci/run.
set -euo pipefail

cd "$(dirname "$0")/.."

PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config
	dpdk dpdk-dev libdpdk-dev libnuma-dev libcmocka-dev libjansson-dev
	# tests: a real frontend (dpdk-testpmd is in 'dpdk'), real guests
	qemu-system-x86 linux-image-amd64 busybox-static cpio python3
	# tests: uplinks into a network namespace (veth, tx checksum offload off)
	iproute2 ethtool
	# tests: socket permissions traced, another user played
	strace util-linux
	# fuzzing and sanitizers
	clang libclang-rt-14-dev
	# benchmarks
	valgrind gnuplot-nox
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 1024 x 2 MiB hugepages: vhostd, a testpmd frontend and the benchmark reference.
want=${VHOSTD_HUGEPAGES:-1024}
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -lt "$want" ]; then
	echo "$want" | as_root tee /proc/sys/vm/nr_hugepages >/dev/null
fi
as_root mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || as_root mount -t hugetlbfs nodev /dev/hugepages
echo "setup: hugepages total=$(cat /proc/sys/vm/nr_hugepages) free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)"

[ -d build ] || meson setup build
ninja -C build
echo "setup: built build/src/vhostd"
