/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Steering into a multi-queue port: which of its enabled transmit queues (a
 * guest's receive queues) a packet goes to. By a hash of the packet's flow,
 * so that one flow always takes one queue (never reordered) and flows
 * spread over the guest's queues, and so over its vCPUs.
 */
#ifndef VHOSTD_STEER_H
#define VHOSTD_STEER_H

#include <stdint.h>

#include <rte_mbuf.h>

/*
 * A hash of the packet's flow: IPv4 or IPv6 addresses and protocol, and
 * TCP/UDP/SCTP ports unless it is a fragment; the two MAC addresses and
 * EtherType for anything else. rte_net_get_ptype() finds the headers,
 * rte_hash_crc() mixes them.
 */
uint32_t vhd_flow_hash(const struct rte_mbuf *m);

/* One of the n queues (n >= 1) for m; the only one without hashing when n is 1. */
static inline uint16_t
vhd_steer(const uint16_t *queues, uint16_t n, const struct rte_mbuf *m)
{
	if (likely(n <= 1))
		return queues[0];
	return queues[vhd_flow_hash(m) % n];
}

#endif /* VHOSTD_STEER_H */
