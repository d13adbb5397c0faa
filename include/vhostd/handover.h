/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hand-over of a port between the control plane and its polling lcore,
 * as a numbered request that exactly one side ends:
 *   - the control plane posts request n (handover_pending = n) and sends it;
 *   - the lcore claims it (pending n -> 0) and applies it, then completes it
 *     (handover_done = n); a request it cannot claim is stale and skipped;
 *   - a control plane that gives up cancels it (pending n -> 0). If the
 *     lcore claimed it first, the cancel fails and the caller must wait for
 *     done: the lcore is applying it right now.
 * So a request that timed out is never applied later, and a snapshot is
 * always owned by exactly one side.
 */
#ifndef VHOSTD_HANDOVER_H
#define VHOSTD_HANDOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "vhostd/port.h"

/* Control plane, with the port's registry lock held: numbers a new request. */
static inline uint32_t
vhd_handover_post(struct vhd_port *p)
{
	uint32_t n = ++p->handover_next;

	if (n == 0) /* 0 means "nothing pending" */
		n = ++p->handover_next;
	__atomic_store_n(&p->handover_pending, n, __ATOMIC_RELEASE);
	return n;
}

/* Lcore: true if request n is still wanted and now ours to apply. */
static inline bool
vhd_handover_claim(struct vhd_port *p, uint32_t n)
{
	uint32_t expect = n;

	return __atomic_compare_exchange_n(&p->handover_pending, &expect, 0, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Lcore: request n is applied. */
static inline void
vhd_handover_complete(struct vhd_port *p, uint32_t n)
{
	__atomic_store_n(&p->handover_done, n, __ATOMIC_RELEASE);
}

/* Control plane: true if request n was withdrawn before the lcore claimed it. */
static inline bool
vhd_handover_cancel(struct vhd_port *p, uint32_t n)
{
	return vhd_handover_claim(p, n);
}

static inline bool
vhd_handover_is_done(const struct vhd_port *p, uint32_t n)
{
	return __atomic_load_n(&p->handover_done, __ATOMIC_ACQUIRE) == n;
}

#endif /* VHOSTD_HANDOVER_H */
