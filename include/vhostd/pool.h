/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet buffers: one rte_mempool per NUMA node that has a forwarding lcore. */
#ifndef VHOSTD_POOL_H
#define VHOSTD_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/* Creates the pools, each with nb_mbufs mbufs and a per-lcore cache. */
int vhd_pools_create(unsigned int nb_mbufs);
void vhd_pools_free(void);

/* The pool on socket, or any pool if that node has none. */
struct rte_mempool *vhd_pool_for_socket(int socket);

/* mbufs currently out of all pools (allocated and not yet freed). */
unsigned int vhd_pools_in_use(void);

/* mbufs in lcore's caches, over all pools (read racily, for the stats). */
unsigned int vhd_pools_cache_len(unsigned int lcore);

/*
 * Pool statistics, counted per lcore by the datapath itself: every mbuf
 * (segment) that vhostd takes from a pool, or that an uplink's PMD hands it
 * on receive, counts in alloc on the lcore that got it; every one it frees,
 * or hands to an uplink's PMD to send, counts in freed on the lcore that let
 * it go. alloc - freed over all lcores is what vhostd's lcores hold (in
 * out buffers and inbound rings); one lcore's share is negative when it
 * frees what another allocated. The pools' in-use count minus that sum is
 * what the PMDs hold. One cache line per lcore, written only by that lcore
 * (plain relaxed stores); threads with no lcore id share the last slot,
 * counted with atomics.
 */
struct vhd_pool_counts {
	uint64_t alloc;
	uint64_t alloc_fail; /* allocation calls that got nothing */
	uint64_t freed;
} __rte_cache_aligned;

#define VHD_POOL_SLOT_OTHER RTE_MAX_LCORE
extern struct vhd_pool_counts vhd_pool_counts[RTE_MAX_LCORE + 1];

#define VHD_POOL_COUNT(field, n)                                                            \
	do {                                                                                \
		unsigned int lc_ = rte_lcore_id();                                          \
		if (likely(lc_ < RTE_MAX_LCORE))                                            \
			__atomic_store_n(&vhd_pool_counts[lc_].field,                       \
					 vhd_pool_counts[lc_].field + (n), __ATOMIC_RELAXED);\
		else                                                                        \
			__atomic_fetch_add(&vhd_pool_counts[VHD_POOL_SLOT_OTHER].field, (n),\
					   __ATOMIC_RELAXED);                               \
	} while (0)

/* lcore's counts (VHD_POOL_SLOT_OTHER: threads with no lcore id). */
void vhd_pool_counts_read(unsigned int lcore, struct vhd_pool_counts *out);

static inline int
vhd_mbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **pkts, unsigned int n)
{
	int rc = rte_pktmbuf_alloc_bulk(mp, pkts, n);

	if (likely(rc == 0))
		VHD_POOL_COUNT(alloc, n);
	else
		VHD_POOL_COUNT(alloc_fail, 1);
	return rc;
}

static inline struct rte_mbuf *
vhd_mbuf_alloc(struct rte_mempool *mp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	if (likely(m != NULL))
		VHD_POOL_COUNT(alloc, 1);
	else
		VHD_POOL_COUNT(alloc_fail, 1);
	return m;
}

/*
 * rte_pktmbuf_free_bulk() that counts the segments it returns to their
 * pools (a segment another reference still holds is not returned). NULL
 * entries are skipped.
 */
void vhd_mbuf_free_bulk(struct rte_mbuf **pkts, unsigned int n);

static inline void
vhd_mbuf_free(struct rte_mbuf *m)
{
	vhd_mbuf_free_bulk(&m, 1);
}

/* Segments of n packets that entered (alloc) or left (freed) vhostd through a PMD. */
static inline void
vhd_pool_count_pmd(struct rte_mbuf **pkts, unsigned int n, bool in)
{
	uint64_t segs = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		segs += pkts[i]->nb_segs;
	if (in)
		VHD_POOL_COUNT(alloc, segs);
	else
		VHD_POOL_COUNT(freed, segs);
}

#endif /* VHOSTD_POOL_H */
