/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transmit offloads done in software on an mbuf, for a destination that is
 * not a guest (an ethdev uplink whose NIC lacks them): the checksums and
 * the TCP segmentation a guest asked for in its virtio-net header, which
 * vhd_net_hdr_to_mbuf() turned into ol_flags (RTE_MBUF_F_TX_IP_CKSUM,
 * RTE_MBUF_F_TX_{TCP,UDP}_CKSUM, RTE_MBUF_F_TX_TCP_SEG with l2/l3/l4_len
 * and tso_segsz).
 *
 * An mbuf flooded to several ports is shared (one reference per port, see
 * lcore.c): it is never written, only copied (vhd_mbuf_private).
 *
 * Segmentation is vhostd's own (vhd_net_seg_headers): librte_gso of DPDK
 * 22.11 segments TCP over IPv4 only, and a guest sends TCP over IPv6 too.
 */
#ifndef VHOSTD_MBUF_OFFLOAD_H
#define VHOSTD_MBUF_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

/* The ol_flags of a transmit offload request this file can complete. */
#define VHD_MBUF_TX_OFFLOADS                                                              \
	(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)

/* True when another holder may read m (a flood): write only a copy. */
bool vhd_mbuf_is_shared(const struct rte_mbuf *m);

/*
 * m if nobody else holds it, else a copy of it (data, offload fields and
 * flags) from pool, and m's reference is dropped. NULL when pool is empty:
 * then m is still the caller's.
 */
struct rte_mbuf *vhd_mbuf_private(struct rte_mbuf *m, struct rte_mempool *pool);

/*
 * Completes the checksums m asks for (IPv4 header, TCP or UDP) in the
 * frame and clears every transmit offload flag: m then needs nothing from
 * a NIC. m is private (vhd_mbuf_private) and asks for no segmentation.
 */
void vhd_mbuf_csum_complete(struct rte_mbuf *m);

/*
 * The payload bytes per segment when TSO frame m goes out of a port of
 * MTU mtu: m's tso_segsz, or less when a segment would not fit in the MTU
 * (a guest with a larger MTU than the uplink). 0: even a segment with one
 * payload byte would not fit.
 */
uint16_t vhd_mbuf_seg_size(const struct rte_mbuf *m, uint16_t mtu);

/* How many segments TSO frame m becomes at seg_size payload bytes each. */
uint32_t vhd_mbuf_seg_count(const struct rte_mbuf *m, uint16_t seg_size);

/*
 * Software TCP segmentation: segments first .. first + n - 1 of TSO frame
 * m (seg_size from vhd_mbuf_seg_size) as new mbufs from pool, each a whole
 * frame with its own headers (IP length and id, TCP sequence and flags,
 * every checksum complete) and no offload flag but m's VLAN tag request
 * (RTE_MBUF_F_TX_VLAN and vlan_tci, for a trunk to tag). m is only read.
 * Returns how many were made: fewer than n when pool ran dry or the
 * frame's segments ended, 0 when m's headers cannot be segmented (longer
 * than VHD_NET_SEG_HDR_MAX).
 */
uint16_t vhd_mbuf_segment(const struct rte_mbuf *m, uint16_t seg_size, uint32_t first,
			  struct rte_mbuf **out, uint16_t n, struct rte_mempool *pool);

#endif /* VHOSTD_MBUF_OFFLOAD_H */
