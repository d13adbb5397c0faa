#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per packet of the datapath, counted by callgrind (deterministic;
# this machine has no hardware counters). Builds tools/dp_bench in
# build-callgrind/ for a CPU valgrind can emulate (no AVX-512).
#   tools/dp_count.sh [PACKETS]      prints one line per mode and frame size
# Modes: mbuf, direct (single copy), and both again with the offload features
# negotiated (mbuf+ofl, direct+ofl), as Linux guests and virtio-user do.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-100000}
b=build-callgrind
[ -f $b/build.ninja ] || meson setup $b -Dmarch=haswell >/dev/null
ninja -C $b tools/dp_bench >/dev/null
for size in 64 1518; do
	for mode in mbuf direct mbuf+ofl direct+ofl; do
		flag=""
		case $mode in direct*) flag=-d ;; esac
		case $mode in *+ofl) flag="$flag -o" ;; esac
		ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=dp_burst \
			$b/tools/dp_bench -s $size -n "$packets" $flag 2>&1 |
			awk '/Collected :/ {print $4}')
		awk -v m=$mode -v s=$size -v ir="$ir" -v n="$packets" \
			'BEGIN {printf "dp_count: mode=%s frame=%d instructions/packet=%.1f\n", m, s, ir / n}'
	done
done
