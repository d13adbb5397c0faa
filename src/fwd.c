/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding decisions: fixed port pairs, or a MAC-learning switch with
 * VLANs. A packet's VLAN comes from the port it arrived on: an access
 * port's vlan= (0, the default VLAN, without one), or on a trunk the tag
 * its kind stripped on receive. The switch learns and looks up per VLAN
 * and floods only to ports of that VLAN, so VLANs never reach each other.
 * The VLAN travels in the mbuf (vlan_tci, RTE_MBUF_F_TX_VLAN when not the
 * default) for trunks to tag on transmit.
 */
#include <errno.h>
#include <string.h>

#include <rte_ether.h>

#include "vhostd/fwd.h"
#include "vhostd/mac_table.h"
#include "vhostd/virtq.h"

static enum vhd_fwd_mode fwd_mode;
static struct vhd_mac_table *fwd_mac;

/* tagged frames from ports that are no trunk, per port slot */
static uint64_t vlan_drops[VHD_MAX_PORTS];

/* Each port slot's VLAN membership, set when a port is added. */
static struct {
	uint16_t vlan; /* an access port's VLAN; 0: the default VLAN */
	bool trunk;    /* carries every VLAN, tagged (uplinks) */
} port_vlans[VHD_MAX_PORTS];

/* A frame whose own header says it is tagged: 802.1Q or 802.1ad. */
static inline bool
frame_is_tagged(const struct rte_ether_hdr *eth)
{
	return eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
	       eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_QINQ);
}

int
vhd_fwd_init(enum vhd_fwd_mode mode, struct vhd_mac_table *mac)
{
	if (mode == VHD_FWD_L2 && mac == NULL)
		return -EINVAL;
	fwd_mode = mode;
	fwd_mac = mac;
	/* every slot in the default VLAN until a port says otherwise */
	memset(port_vlans, 0, sizeof(port_vlans));
	memset(vlan_drops, 0, sizeof(vlan_drops));
	return 0;
}

int
vhd_fwd_port_added(uint16_t port, uint16_t vlan, bool trunk)
{
	/* pairs are patched whatever the VLAN: it would isolate nothing */
	if (vlan != 0 && fwd_mode != VHD_FWD_L2)
		return -ENOTSUP;
	port_vlans[port].vlan = vlan;
	port_vlans[port].trunk = trunk;
	__atomic_store_n(&vlan_drops[port], 0, __ATOMIC_RELAXED);
	return 0;
}

void
vhd_fwd_port_removed(uint16_t port)
{
	if (fwd_mac != NULL)
		vhd_mac_table_forget_port(fwd_mac, port);
}

bool
vhd_fwd_port_in_vlan(uint16_t port, uint16_t vlan)
{
	return port_vlans[port].trunk || port_vlans[port].vlan == vlan;
}

uint64_t
vhd_fwd_vlan_drops(uint16_t port)
{
	return __atomic_load_n(&vlan_drops[port], __ATOMIC_RELAXED);
}

int
vhd_fwd_fixed_peer(uint16_t port)
{
	return fwd_mode == VHD_FWD_PAIR ? port ^ 1 : -1;
}

/*
 * The packet's VLAN, kept in the mbuf; -1 for a tagged frame from a port
 * that is no trunk: a guest must not pick its VLAN by tagging.
 */
static inline int
packet_vlan(uint16_t src_port, struct rte_mbuf *m, const struct rte_ether_hdr *eth)
{
	uint16_t vlan;

	if (port_vlans[src_port].trunk)
		vlan = (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) ?
			       m->vlan_tci & RTE_VLAN_ID_MASK : 0;
	else if (unlikely(frame_is_tagged(eth)))
		return -1;
	else
		vlan = port_vlans[src_port].vlan;
	m->vlan_tci = vlan;
	if (vlan != 0)
		m->ol_flags |= RTE_MBUF_F_TX_VLAN;
	else
		m->ol_flags &= ~RTE_MBUF_F_TX_VLAN;
	return vlan;
}

static void
decide_l2(uint16_t src_port, struct rte_mbuf **pkts, uint16_t n, uint16_t *dst, uint32_t now)
{
	struct vhd_mac_key src_key[VHD_BURST_MAX], dst_key[VHD_BURST_MAX];
	const struct vhd_mac_key *src_ref[VHD_BURST_MAX], *dst_ref[VHD_BURST_MAX];
	uint16_t idx[VHD_BURST_MAX]; /* packet of each key */
	int32_t known[VHD_BURST_MAX];
	uint16_t i, k, nkeys = 0;

	for (i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		int vlan = packet_vlan(src_port, pkts[i], eth);

		if (unlikely(vlan < 0)) {
			dst[i] = VHD_FWD_DROP;
			__atomic_fetch_add(&vlan_drops[src_port], 1, __ATOMIC_RELAXED);
			continue;
		}
		src_key[nkeys].vlan = vlan;
		src_key[nkeys].mac = eth->src_addr;
		dst_key[nkeys].vlan = vlan;
		dst_key[nkeys].mac = eth->dst_addr;
		src_ref[nkeys] = &src_key[nkeys];
		dst_ref[nkeys] = &dst_key[nkeys];
		idx[nkeys++] = i;
	}
	vhd_mac_table_learn(fwd_mac, src_ref, nkeys, src_port, now);
	vhd_mac_table_lookup(fwd_mac, dst_ref, nkeys, known);
	for (k = 0; k < nkeys; k++) {
		i = idx[k];
		if (rte_is_multicast_ether_addr(&dst_key[k].mac) || known[k] == VHD_MAC_UNKNOWN ||
		    known[k] >= VHD_MAX_PORTS)
			dst[i] = VHD_FWD_FLOOD; /* broadcast is multicast too */
		else if (known[k] == src_port)
			dst[i] = VHD_FWD_DROP;
		else
			dst[i] = known[k];
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
