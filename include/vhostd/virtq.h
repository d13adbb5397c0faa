/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue datapath: moves packets between one guest virtqueue and mbufs.
 * Each queue has one ring layout, picked from the negotiated features when
 * it is set up (vhd_virtq_init): the split ring (virtq_split.c) or, with
 * VIRTIO_F_RING_PACKED, the packed ring (virtq_packed.c).
 *
 * Point of view (used everywhere in vhostd): rx and tx are the daemon's view.
 *   - vhd_virtq_rx_burst() receives what the guest transmitted (the guest's TX
 *     queue, odd vring index) into mbufs;
 *   - vhd_virtq_tx_burst() transmits mbufs into the guest's RX queue (even
 *     vring index).
 *
 * A virtqueue is owned by exactly one lcore; nothing here locks, logs or makes
 * a system call except the interrupt write to the guest's callfd (non-blocking;
 * should a frontend make it block, the lcore watchdog interrupts it).
 */
#ifndef VHOSTD_VIRTQ_H
#define VHOSTD_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vhostd/guest_mem.h"
#include "vhostd/net_hdr.h"

#define VHD_BURST_MAX 32
/* The largest ring the virtio spec allows (split or packed). */
#define VHD_VIRTQ_SIZE_MAX 32768
/*
 * The largest frame forwarded, without the virtio-net header: an IP packet's
 * 65535 bytes is the most any peer sends (a bigger frame is dropped as
 * too_big, not malformed). Frames over one mbuf's data room take a chain.
 */
#define VHD_MAX_FRAME_LEN 65535u
/*
 * A frame to a port with an MTU may carry the Ethernet header and one VLAN
 * tag on top of it: vhostd switches on MACs and leaves tags alone, and a
 * guest takes a tagged frame of its full MTU.
 */
#define VHD_MTU_OVERHEAD (14u + 4u)

/* Why a descriptor chain was refused; each has its own counter. */
enum vhd_desc_error {
	VHD_DESC_ERR_AVAIL_IDX,  /* avail->idx moved by more than the ring size */
	VHD_DESC_ERR_INDEX,      /* head or next index >= ring size */
	VHD_DESC_ERR_CHAIN,      /* loop, or chain longer than the ring */
	VHD_DESC_ERR_ADDR,       /* address outside every region */
	VHD_DESC_ERR_LEN,        /* zero length, or packet too short/long */
	VHD_DESC_ERR_INDIRECT,   /* bad indirect table size/place, nested, or not negotiated */
	VHD_DESC_ERR_DIRECTION,  /* writable where readable expected or the reverse */
	VHD_DESC_ERR_MAX
};

const char *vhd_desc_error_name(enum vhd_desc_error e);

struct vhd_virtq_stats {
	uint64_t packets;         /* packets moved */
	uint64_t bytes;           /* their bytes, without the virtio-net header */
	uint64_t no_room;         /* tx: packets dropped, guest had no buffer */
	uint64_t no_mbuf;         /* rx: bursts cut short, mempool empty */
	/*
	 * Frames a side cannot take, dropped without breaking any rule: tx,
	 * bigger than the guest's MTU or its receive buffers (one chain
	 * without MRG_RXBUF, or more pieces than vhostd gathers); rx, a guest
	 * frame over VHD_MAX_FRAME_LEN.
	 */
	uint64_t too_big;
	uint64_t interrupts;      /* callfd writes */
	uint64_t interrupts_failed; /* callfd writes refused (counter full) or interrupted */
	uint64_t errors[VHD_DESC_ERR_MAX];
	uint64_t hdr_errors[VHD_HDR_ERR_MAX]; /* rx: virtio-net headers refused (net_hdr.h) */
};

/* Negotiated features that change what the datapath does. */
#define VHD_VQ_F_MRG_RXBUF (1u << 0)
#define VHD_VQ_F_INDIRECT (1u << 1)
#define VHD_VQ_F_VERSION_1 (1u << 2)
/* the guest negotiated checksum or segmentation offloads: headers carry them */
#define VHD_VQ_F_OFFLOAD (1u << 3)
/* VIRTIO_RING_F_EVENT_IDX: interrupts and kicks are asked for by ring position */
#define VHD_VQ_F_EVENT_IDX (1u << 4)

/* Used entries a burst collects before writing them to the ring. */
#define VHD_USED_SHADOW 64

struct vhd_virtq_layout;

struct vhd_virtq {
	/*
	 * Guest memory, already translated by librte_vhost: a split ring's
	 * three parts, or a packed ring's descriptors and event areas. desc
	 * is NULL while the queue is not polled, whatever its layout.
	 */
	union {
		struct vring_desc *desc;
		struct vring_packed_desc *desc_packed;
	};
	union {
		struct vring_avail *avail;
		struct vring_packed_desc_event *driver_event;
	};
	union {
		struct vring_used *used;
		struct vring_packed_desc_event *device_event;
	};
	const struct vhd_virtq_layout *layout; /* set by vhd_virtq_init */
	uint16_t size;             /* <= VHD_VIRTQ_SIZE_MAX; split: a power of two, packed: any */
	/*
	 * Ring positions. Split: free-running, the next avail entry to
	 * consume and the next used entry to fill. Packed: the ring slots
	 * (< size) of the next descriptor to consume and of the next used
	 * descriptor to write, their wrap counters below. Before vhd_virtq_init
	 * they hold librte_vhost's vring base, which for a packed ring
	 * carries the wrap counter in bit 15 (vhd_virtq_positions gives
	 * that form back).
	 */
	uint16_t last_avail_idx;
	uint16_t last_used_idx;
	uint16_t hdr_len;          /* virtio-net header size: 10 or 12 */
	uint32_t flags;            /* VHD_VQ_F_* */
	uint64_t features;         /* the device's negotiated virtio features */
	uint32_t max_frame;        /* tx: largest frame the guest takes (vhd_virtq_set_mtu) */
	uint32_t mem_hint;         /* last region hit */
	int callfd;                /* eventfd to interrupt the guest, -1 if none */
	uint32_t notify_seq;       /* odd while a callfd write is under way */
	const struct vhd_mem_table *mem;
	/*
	 * Used entries of the burst in progress, written to the guest's ring in
	 * one run just before used->idx is published (or when full): the
	 * guest's cache line then moves to us once per burst, not per packet.
	 */
	uint16_t shadow_n;
	uint16_t shadow_idx;       /* ring position of shadow[0] */
	struct vring_used_elem shadow[VHD_USED_SHADOW];
	/*
	 * Packed ring only (virtq_packed.c), which leaves shadow[] unused: the
	 * wrap counters of last_avail_idx and last_used_idx, and the burst in
	 * progress. Its used descriptors go straight to the ring, all but the
	 * first (at slot shadow_idx; shadow_n is 1 once there is one) complete; that
	 * one's flags (shadow_flags) are stored last, at the publish, so that
	 * the driver sees the burst at once. shadow_wrap is the used wrap
	 * counter at shadow_idx. avail_bits and used_flags follow the wrap
	 * counters: the AVAIL/USED bits of an available descriptor in
	 * avail_wrap's lap, and those a used one gets in used_wrap's.
	 */
	bool avail_wrap;
	bool used_wrap;
	bool shadow_wrap;
	uint16_t shadow_flags;
	uint16_t avail_bits;
	uint16_t used_flags;
	struct vhd_virtq_stats stats;
};

/*
 * Checks a packed ring's descriptor table and two event areas at size
 * entries (virtio 1.1 section 2.7): each lies inside one region of mem and is
 * aligned as the spec requires; size is 1 to VHD_VIRTQ_SIZE_MAX, not
 * necessarily a power of two. Returns 0 or -EINVAL.
 */
int vhd_virtq_packed_rings_check(const struct vhd_mem_table *mem,
				 const struct vring_packed_desc *desc,
				 const struct vring_packed_desc_event *driver_event,
				 const struct vring_packed_desc_event *device_event, uint16_t size);

/*
 * Where the device stands in a packed ring at rest, read from the ring's
 * descriptors (their USED bits): for a backend that replaces one that left
 * without handing its position back, since QEMU keeps none for a packed ring
 * (it has no used index in guest memory to restore from) and sends the
 * position it started the device with. Exact for rings of one descriptor
 * per buffer (Linux with INDIRECT_DESC, receive rings); false when the ring
 * shows no single position. *base is in vring-base form (wrap counter in bit
 * 15). The ring must lie in guest memory (vhd_virtq_packed_rings_check).
 */
bool vhd_virtq_packed_ring_position(const struct vring_packed_desc *desc, uint16_t size,
				    uint16_t *base);

/*
 * Checks a split ring's three parts at size entries: each lies inside one
 * region of mem and is aligned as the spec requires. The library checks ring
 * addresses only when they are set, not when the size changes later
 * (SET_VRING_NUM), so every snapshot checks again. Returns 0 or -EINVAL.
 */
int vhd_virtq_rings_check(const struct vhd_mem_table *mem, const struct vring_desc *desc,
			  const struct vring_avail *avail, const struct vring_used *used,
			  uint16_t size);

/*
 * Prepares vq for polling: picks the ring layout and derives the header
 * length from the features, and tells the guest not to kick (we poll). Ring
 * pointers, size, positions and callfd must already be filled in. Returns 0,
 * or -EINVAL for a bad ring size or position. Where the rings lie is the
 * caller's to check (vhd_virtq_rings_check, vhd_virtq_packed_rings_check).
 */
int vhd_virtq_init(struct vhd_virtq *vq, uint64_t virtio_features);

/*
 * Where a polled queue stands, in the form librte_vhost's vring base takes
 * (rte_vhost_set_vring_base), so that a reconnect resumes there.
 */
void vhd_virtq_positions(const struct vhd_virtq *vq, uint16_t *avail_idx, uint16_t *used_idx);

/* Both polled queues have one layout: vhd_virtq_forward_burst may join them. */
bool vhd_virtq_can_forward(const struct vhd_virtq *from, const struct vhd_virtq *to);

/*
 * Limits the frames sent into vq (tx, forward) to an MTU: frames over
 * mtu + VHD_MTU_OVERHEAD are dropped as too_big. 0: no limit but
 * VHD_MAX_FRAME_LEN (the default after vhd_virtq_init).
 */
void vhd_virtq_set_mtu(struct vhd_virtq *vq, uint16_t mtu);

/*
 * Receives up to count packets the guest transmitted. Each mbuf comes from mp;
 * a frame bigger than one mbuf's data room gets a chain of mbufs from mp.
 * Malformed chains are returned to the guest with length 0 and counted in
 * stats.errors, frames over VHD_MAX_FRAME_LEN in stats.too_big; they never
 * reach pkts. A chain whose mbufs mp cannot give stays in the ring for the
 * next call (counted in no_mbuf). Returns the number of mbufs in pkts.
 */
uint16_t vhd_virtq_rx_burst(struct vhd_virtq *vq, struct rte_mempool *mp,
			    struct rte_mbuf **pkts, uint16_t count);

/*
 * Copies up to count packets into the guest's receive buffers, in order, and
 * interrupts the guest unless it asked not to be. A packet the guest cannot
 * take (too_big) or that meets a malformed chain is skipped and counted; the
 * burst stops at the first one that finds no buffer. Returns how many were
 * copied; the caller still owns (and frees) every mbuf in pkts.
 */
uint16_t vhd_virtq_tx_burst(struct vhd_virtq *vq, struct rte_mbuf **pkts, uint16_t count);

/*
 * Moves up to count packets straight from one guest's transmit queue (from)
 * into another guest's receive buffers (to), with a single copy and no mbuf.
 * Each source chain is validated once and completed only after its copy; a
 * packet the destination has no room for is dropped and counted there.
 * Both queues must be owned by the calling lcore and have one layout
 * (vhd_virtq_can_forward). Returns the packets received from the source.
 */
uint16_t vhd_virtq_forward_burst(struct vhd_virtq *from, struct vhd_virtq *to, uint16_t count);

#endif /* VHOSTD_VIRTQ_H */
