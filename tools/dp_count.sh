#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per packet of the datapath, counted by callgrind (deterministic;
# this machine has no hardware counters). Builds tools/dp_bench in
# build-callgrind/ for a CPU valgrind can emulate (no AVX-512).
#   tools/dp_count.sh [PACKETS]      prints one line per ring, mode and frame size
# Rings: split, and packed (dp_bench -P: both rings VIRTIO_F_RING_PACKED).
# Modes: mbuf, direct (single copy), and both again with the offload features
# negotiated (mbuf+ofl, direct+ofl), as Linux guests and virtio-user do.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-100000}
b=build-callgrind
[ -f $b/build.ninja ] || meson setup $b -Dmarch=haswell >/dev/null
ninja -C $b tools/dp_bench >/dev/null
for ring in split packed; do
	for size in 64 1518; do
		for mode in mbuf direct mbuf+ofl direct+ofl; do
			flag=""
			[ $ring = packed ] && flag=-P
			case $mode in direct*) flag="$flag -d" ;; esac
			case $mode in *+ofl) flag="$flag -o" ;; esac
			out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=dp_burst \
				$b/tools/dp_bench -s $size -n "$packets" $flag 2>&1) || {
				printf '%s\n' "$out" >&2
				echo "dp_count: ring=$ring mode=$mode frame=$size: dp_bench failed" >&2
				exit 1
			}
			ir=$(printf '%s\n' "$out" | awk '/Collected :/ {print $4}')
			awk -v r=$ring -v m=$mode -v s=$size -v ir="$ir" -v n="$packets" \
				'BEGIN {printf "dp_count: ring=%s mode=%s frame=%d instructions/packet=%.1f\n", r, m, s, ir / n}'
		done
	done
done
