/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-lcore pool counters and the counting free (pool.h); part of the datapath. */
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vhostd/pool.h"

struct vhd_pool_counts vhd_pool_counts[RTE_MAX_LCORE + 1];

/* as rte_pktmbuf_free_bulk(): segments go back to their pool this many at a time */
#define FREE_BATCH 64

void
vhd_mbuf_free_bulk(struct rte_mbuf **pkts, unsigned int n)
{
	void *pending[FREE_BATCH];
	struct rte_mempool *mp = NULL;
	unsigned int np = 0, i;
	uint64_t returned = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *next;

		while (m != NULL) {
			next = m->next;
			/* NULL while another reference holds it; resets next and nb_segs */
			m = rte_pktmbuf_prefree_seg(m);
			if (likely(m != NULL)) {
				if (unlikely(np == FREE_BATCH || (np > 0 && m->pool != mp))) {
					rte_mempool_put_bulk(mp, pending, np);
					returned += np;
					np = 0;
				}
				mp = m->pool;
				pending[np++] = m;
			}
			m = next;
		}
	}
	if (np > 0) {
		rte_mempool_put_bulk(mp, pending, np);
		returned += np;
	}
	if (returned > 0)
		VHD_POOL_COUNT(freed, returned);
}

void
vhd_pool_counts_read(unsigned int lcore, struct vhd_pool_counts *out)
{
	const struct vhd_pool_counts *c = &vhd_pool_counts[lcore];

	out->alloc = __atomic_load_n(&c->alloc, __ATOMIC_RELAXED);
	out->alloc_fail = __atomic_load_n(&c->alloc_fail, __ATOMIC_RELAXED);
	out->freed = __atomic_load_n(&c->freed, __ATOMIC_RELAXED);
}
