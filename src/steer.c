/* SPDX-License-Identifier: BSD-3-Clause */
/* Flow hashing for steering (steer.h). */
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_net.h>

#include "vhostd/steer.h"

/* What identifies a flow, gathered in one buffer and hashed once. */
struct flow_key {
	uint8_t addrs[32]; /* source and destination: 2 x 4 (IPv4) or 2 x 16 (IPv6) */
	uint32_t ports;    /* source and destination port, 0 for a fragment or other L4 */
	uint8_t proto;
};

uint32_t
vhd_flow_hash(const struct rte_mbuf *m)
{
	struct rte_net_hdr_lens hl = {0};
	struct flow_key key = {0};
	uint32_t ptype, l3, l4, l4type, alen = 0;
	const void *p;
	uint8_t buf[40];

	ptype = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
						  RTE_PTYPE_L4_MASK);
	l3 = hl.l2_len;
	l4 = hl.l2_len + hl.l3_len;
	if (RTE_ETH_IS_IPV4_HDR(ptype)) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_read(m, l3, sizeof(*ip), buf);

		if (ip != NULL) {
			memcpy(key.addrs, &ip->src_addr, 8);
			key.proto = ip->next_proto_id;
			alen = 8;
		}
	} else if (RTE_ETH_IS_IPV6_HDR(ptype)) {
		const struct rte_ipv6_hdr *ip = rte_pktmbuf_read(m, l3, sizeof(*ip), buf);

		if (ip != NULL) {
			memcpy(key.addrs, ip->src_addr, 32);
			key.proto = ip->proto;
			alen = 32;
		}
	}
	if (alen == 0) {
		/* not IP: the two MACs and the EtherType */
		p = rte_pktmbuf_read(m, 0, RTE_ETHER_HDR_LEN, buf);
		if (p == NULL)
			return 0;
		return rte_hash_crc(p, RTE_ETHER_HDR_LEN, 0);
	}
	l4type = ptype & RTE_PTYPE_L4_MASK;
	if (l4type == RTE_PTYPE_L4_TCP || l4type == RTE_PTYPE_L4_UDP ||
	    l4type == RTE_PTYPE_L4_SCTP) {
		/* a fragment's ports are in its first fragment only: leave them out */
		p = rte_pktmbuf_read(m, l4, sizeof(key.ports), buf);
		if (p != NULL)
			memcpy(&key.ports, p, sizeof(key.ports));
	}
	return rte_hash_crc(&key, sizeof(key), 0);
}
