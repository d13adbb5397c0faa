/* SPDX-License-Identifier: BSD-3-Clause */
/* The virtio-net header: what is not on the per-packet path (see net_hdr.h). */
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "vhostd/net_hdr.h"

uint16_t
vhd_net_hdr_len(uint64_t virtio_features)
{
	/* virtio 1.0 always carries num_buffers; legacy only with MRG_RXBUF */
	if (virtio_features & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_F_VERSION_1)))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}
