/* SPDX-License-Identifier: BSD-3-Clause */
/* Seconds on the monotonic clock, for timeouts and periods (no DPDK needed). */
#ifndef VHOSTD_CLOCK_H
#define VHOSTD_CLOCK_H

#include <time.h>

static inline double
vhd_now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* VHOSTD_CLOCK_H */
