/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding decisions: fixed port pairs, or a MAC-learning switch. */
#include <errno.h>

#include <rte_ether.h>

#include "vhostd/fwd.h"
#include "vhostd/mac_table.h"
#include "vhostd/virtq.h"

static enum vhd_fwd_mode fwd_mode;
static struct vhd_mac_table *fwd_mac;

int
vhd_fwd_init(enum vhd_fwd_mode mode, struct vhd_mac_table *mac)
{
	if (mode == VHD_FWD_L2 && mac == NULL)
		return -EINVAL;
	fwd_mode = mode;
	fwd_mac = mac;
	return 0;
}

void
vhd_fwd_port_removed(uint16_t port)
{
	if (fwd_mac != NULL)
		vhd_mac_table_forget_port(fwd_mac, port);
}

int
vhd_fwd_fixed_peer(uint16_t port)
{
	return fwd_mode == VHD_FWD_PAIR ? port ^ 1 : -1;
}

static void
decide_l2(uint16_t src_port, struct rte_mbuf **pkts, uint16_t n, uint16_t *dst, uint32_t now)
{
	const struct rte_ether_addr *src_mac[VHD_BURST_MAX];
	const struct rte_ether_addr *dst_mac[VHD_BURST_MAX];
	int32_t known[VHD_BURST_MAX];
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);

		src_mac[i] = &eth->src_addr;
		dst_mac[i] = &eth->dst_addr;
	}
	vhd_mac_table_learn(fwd_mac, src_mac, n, src_port, now);
	vhd_mac_table_lookup(fwd_mac, dst_mac, n, known);
	for (i = 0; i < n; i++) {
		if (rte_is_multicast_ether_addr(dst_mac[i]) || known[i] == VHD_MAC_UNKNOWN ||
		    known[i] >= VHD_MAX_PORTS)
			dst[i] = VHD_FWD_FLOOD; /* broadcast is multicast too */
		else if (known[i] == src_port)
			dst[i] = VHD_FWD_DROP;
		else
			dst[i] = known[i];
	}
}

void
vhd_fwd_decide(uint16_t src_port, struct rte_mbuf **pkts, uint16_t n, uint16_t *dst, uint32_t now)
{
	uint16_t i;

	if (fwd_mode == VHD_FWD_PAIR) {
		for (i = 0; i < n; i++)
			dst[i] = src_port ^ 1;
		return;
	}
	/* the datapath hands out at most a burst at a time */
	while (n > 0) {
		uint16_t chunk = n > VHD_BURST_MAX ? VHD_BURST_MAX : n;

		decide_l2(src_port, pkts, chunk, dst, now);
		pkts += chunk;
		dst += chunk;
		n -= chunk;
	}
}
