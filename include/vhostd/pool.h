/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet buffers: one rte_mempool per NUMA node that has a forwarding lcore. */
#ifndef VHOSTD_POOL_H
#define VHOSTD_POOL_H

#include <rte_mempool.h>

/* Creates the pools, each with nb_mbufs mbufs and a per-lcore cache. */
int vhd_pools_create(unsigned int nb_mbufs);
void vhd_pools_free(void);

/* The pool on socket, or any pool if that node has none. */
struct rte_mempool *vhd_pool_for_socket(int socket);

/* mbufs currently out of all pools (allocated and not yet freed). */
unsigned int vhd_pools_in_use(void);

#endif /* VHOSTD_POOL_H */
