/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "vhostd/log.h"
#include "vhostd/pool.h"

VHD_LOG_REGISTER(pool);

/* big enough to amortise the shared ring, small next to a 32-packet burst x ports */
#define POOL_CACHE_SIZE 256

static struct rte_mempool *pools[RTE_MAX_NUMA_NODES];

int
vhd_pools_create(unsigned int nb_mbufs)
{
	bool wanted[RTE_MAX_NUMA_NODES] = {false};
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned int lcore, socket;

	RTE_LCORE_FOREACH_WORKER(lcore)
		wanted[rte_lcore_to_socket_id(lcore)] = true;
	for (socket = 0; socket < RTE_MAX_NUMA_NODES; socket++) {
		if (!wanted[socket])
			continue;
		snprintf(name, sizeof(name), "vhd_mbuf_%u", socket);
		pools[socket] = rte_pktmbuf_pool_create(name, nb_mbufs, POOL_CACHE_SIZE, 0,
							RTE_MBUF_DEFAULT_BUF_SIZE, socket);
		if (pools[socket] == NULL) {
			VHD_LOG(ERR, "cannot create %u mbufs on socket %u: %s (give EAL more memory: -- -m)",
				nb_mbufs, socket, rte_strerror(rte_errno));
			vhd_pools_free();
			return -ENOMEM;
		}
	}
	return 0;
}

void
vhd_pools_free(void)
{
	unsigned int i;

	for (i = 0; i < RTE_MAX_NUMA_NODES; i++) {
		rte_mempool_free(pools[i]);
		pools[i] = NULL;
	}
}

struct rte_mempool *
vhd_pool_for_socket(int socket)
{
	unsigned int i;

	if (socket >= 0 && socket < RTE_MAX_NUMA_NODES && pools[socket] != NULL)
		return pools[socket];
	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (pools[i] != NULL)
			return pools[i];
	return NULL;
}

unsigned int
vhd_pools_in_use(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (pools[i] != NULL)
			n += rte_mempool_in_use_count(pools[i]);
	return n;
}

unsigned int
vhd_pools_cache_len(unsigned int lcore)
{
	unsigned int i, n = 0;

	for (i = 0; i < RTE_MAX_NUMA_NODES; i++) {
		struct rte_mempool_cache *c;

		if (pools[i] == NULL)
			continue;
		c = rte_mempool_default_cache(pools[i], lcore);
		if (c != NULL)
			n += __atomic_load_n(&c->len, __ATOMIC_RELAXED);
	}
	return n;
}
