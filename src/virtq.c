/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtqueue's entry points (include/vhostd/virtq.h): set-up from the
 * negotiated features, and the bursts, which call the queue's ring layout
 * (virtq_common.h), picked once at init: neither layout tests for the other
 * per packet.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "vhostd/net_hdr.h"
#include "vhostd/virtq.h"
#include "virtq_common.h"

static const char *const desc_error_names[VHD_DESC_ERR_MAX] = {
	[VHD_DESC_ERR_AVAIL_IDX] = "avail_idx",
	[VHD_DESC_ERR_INDEX] = "desc_index",
	[VHD_DESC_ERR_CHAIN] = "chain_loop",
	[VHD_DESC_ERR_ADDR] = "desc_addr",
	[VHD_DESC_ERR_LEN] = "desc_len",
	[VHD_DESC_ERR_INDIRECT] = "indirect",
	[VHD_DESC_ERR_DIRECTION] = "direction",
};

const char *
vhd_desc_error_name(enum vhd_desc_error e)
{
	return (unsigned int)e < VHD_DESC_ERR_MAX ? desc_error_names[e] : "unknown";
}

int
vhd_virtq_init(struct vhd_virtq *vq, uint64_t virtio_features)
{
	const struct vhd_virtq_layout *layout = &vhd_split_layout;
	int rc;

	if (vq->mem == NULL)
		return -EINVAL;
	if (virtio_features & (1ULL << VIRTIO_F_RING_PACKED))
		layout = &vhd_packed_layout;
	vq->flags = 0;
	if (virtio_features & (1ULL << VIRTIO_NET_F_MRG_RXBUF))
		vq->flags |= VHD_VQ_F_MRG_RXBUF;
	if (virtio_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC))
		vq->flags |= VHD_VQ_F_INDIRECT;
	if (virtio_features & (1ULL << VIRTIO_F_VERSION_1))
		vq->flags |= VHD_VQ_F_VERSION_1;
	if (virtio_features & VHD_NET_OFFLOAD_FEATURES)
		vq->flags |= VHD_VQ_F_OFFLOAD;
	if (virtio_features & (1ULL << VIRTIO_RING_F_EVENT_IDX))
		vq->flags |= VHD_VQ_F_EVENT_IDX;
	vq->features = virtio_features;
	vq->hdr_len = vhd_net_hdr_len(virtio_features);
	vq->max_frame = VHD_MAX_FRAME_LEN;
	/* the hint may belong to another memory table */
	vq->mem_hint = 0;
	/* the layout's own set-up sees the flags; a refused queue is not polled */
	rc = layout->init(vq);
	if (rc < 0)
		return rc;
	vq->layout = layout;
	return 0;
}

void
vhd_virtq_set_mtu(struct vhd_virtq *vq, uint16_t mtu)
{
	vq->max_frame = mtu == 0 ? VHD_MAX_FRAME_LEN :
				   RTE_MIN((uint32_t)mtu + VHD_MTU_OVERHEAD, VHD_MAX_FRAME_LEN);
}

uint16_t
vhd_virtq_rx_burst(struct vhd_virtq *vq, struct rte_mempool *mp, struct rte_mbuf **pkts,
		   uint16_t count)
{
	return vq->layout->rx_burst(vq, mp, pkts, count);
}

uint16_t
vhd_virtq_tx_burst(struct vhd_virtq *vq, struct rte_mbuf **pkts, uint16_t count)
{
	return vq->layout->tx_burst(vq, pkts, count);
}

uint16_t
vhd_virtq_forward_burst(struct vhd_virtq *from, struct vhd_virtq *to, uint16_t count)
{
	return from->layout->forward_burst(from, to, count);
}

void
vhd_virtq_positions(const struct vhd_virtq *vq, uint16_t *avail_idx, uint16_t *used_idx)
{
	vq->layout->positions(vq, avail_idx, used_idx);
}

bool
vhd_virtq_can_forward(const struct vhd_virtq *from, const struct vhd_virtq *to)
{
	return from->layout == to->layout;
}
