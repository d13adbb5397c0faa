/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header in front of every frame in a guest's buffers: the one
 * place that knows its size and content.
 *
 * Today no offload is negotiated, so the header of a frame vhostd receives
 * from a guest is skipped unread, and the header of a frame vhostd sends to
 * a guest carries only num_buffers. Mapping the header to mbuf ol_flags and
 * back (checksum, TSO) belongs here, next to vhd_net_hdr_write() and
 * vhd_net_hdr_skip().
 *
 * The inline functions run once per packet on the datapath.
 */
#ifndef VHOSTD_NET_HDR_H
#define VHOSTD_NET_HDR_H

#include <stdint.h>
#include <string.h>

#include <linux/virtio_net.h>

#include <rte_common.h>

/* virtio 1.0, and legacy with MRG_RXBUF: nearly every guest. */
#define VHD_NET_HDR_LEN_MODERN ((uint16_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))

/* The header's size for the negotiated features: 12 or 10 bytes. */
uint16_t vhd_net_hdr_len(uint64_t virtio_features);

/*
 * The header of a frame vhostd sends to a guest, spread over num_buffers
 * receive buffers. The caller copies its first hdr_len bytes: a legacy
 * guest's 10-byte header has no num_buffers.
 */
static __rte_always_inline void
vhd_net_hdr_write(struct virtio_net_hdr_mrg_rxbuf *hdr, uint16_t num_buffers)
{
	/* no offloads: no checksum to complete, no segmentation */
	memset(hdr, 0, sizeof(*hdr));
	hdr->num_buffers = num_buffers;
}

/*
 * Skips the header of a frame vhostd receives from a guest, which may span
 * buffers: of the next len bytes, returns how many still belong to the
 * header; *hdr_left counts what is left of it.
 */
static __rte_always_inline uint32_t
vhd_net_hdr_skip(uint32_t *hdr_left, uint64_t len)
{
	/* no offloads: the header carries nothing we need */
	uint32_t n = RTE_MIN(len, (uint64_t)*hdr_left);

	*hdr_left -= n;
	return n;
}

#endif /* VHOSTD_NET_HDR_H */
