/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header in front of every frame in a guest's buffers: the one
 * place that knows its size and content.
 *
 * The header of a guest's frame is read once (vhd_net_hdr_take). It maps to
 * mbuf ol_flags and back here (vhd_net_hdr_to_mbuf,
 * vhd_net_hdr_from_mbuf): checksum and segmentation requests a guest makes
 * become the same flags a NIC driver reads, so an uplink port can hand them
 * to hardware, and a guest that did not negotiate an offload gets the work
 * done in software (vhd_net_csum_value). Every field of a guest's header is
 * checked against the frame before it is trusted.
 *
 * The inline functions run once per packet on the datapath.
 */
#ifndef VHOSTD_NET_HDR_H
#define VHOSTD_NET_HDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_net.h>

#include <rte_common.h>
#include <rte_mbuf.h>

/* The offload fields of a frame that asks for nothing. */
extern const struct virtio_net_hdr vhd_net_hdr_none;

/* virtio 1.0, and legacy with MRG_RXBUF: nearly every guest. */
#define VHD_NET_HDR_LEN_MODERN ((uint16_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))

/* The header's size for the negotiated features: 12 or 10 bytes. */
uint16_t vhd_net_hdr_len(uint64_t virtio_features);

/*
 * The header of a frame vhostd sends to a guest: its offload fields (net,
 * all zero without offloads), spread over num_buffers receive buffers. The
 * caller copies its first hdr_len bytes: a legacy guest's 10-byte header has
 * no num_buffers.
 */
static __rte_always_inline void
vhd_net_hdr_write(struct virtio_net_hdr_mrg_rxbuf *hdr, const struct virtio_net_hdr *net,
		  uint16_t num_buffers)
{
	hdr->hdr = *net;
	hdr->num_buffers = num_buffers;
}

/*
 * Takes the header of a frame vhostd receives from a guest, which may span
 * buffers: of the next len bytes at src, copies those that still belong to
 * the header into hdr (hdr_len bytes in all), and returns how many they
 * were; *hdr_left counts what is left of it. Each byte is read once.
 */
static __rte_always_inline uint32_t
vhd_net_hdr_take(uint8_t *hdr, uint32_t hdr_len, uint32_t *hdr_left, const uint8_t *src,
		 uint64_t len)
{
	uint32_t n = RTE_MIN(len, (uint64_t)*hdr_left);

	memcpy(hdr + (hdr_len - *hdr_left), src, n);
	*hdr_left -= n;
	return n;
}

/*
 * Offload features vhostd implements (virtio feature bits). Not ECN: an mbuf
 * has no flag to carry a TSO frame's ECN bit to the destination. Not USO:
 * Debian 12's headers and guest kernel (6.1) do not know it.
 */
#define VHD_NET_OFFLOAD_FEATURES                                                          \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |                \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |            \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6))

/* Why a guest's header was refused; each has its own counter. */
#define VHD_HDR_ERRORS(X)                                                                 \
	X(FLAGS, "hdr_flags")       /* unknown flag, or NEEDS_CSUM without CSUM */        \
	X(CSUM, "hdr_csum")         /* csum_start/csum_offset outside the frame */        \
	X(GSO_TYPE, "hdr_gso_type") /* unknown gso_type, or one not negotiated */         \
	X(GSO_SIZE, "hdr_gso_size") /* gso_size 0 or larger than the frame */             \
	X(HDR_LEN, "hdr_len")       /* hdr_len beyond the frame */                        \
	X(NOT_L4, "hdr_not_l4")     /* segmentation of a frame that is not TCP over IP */ \
	X(ECN, "hdr_ecn")           /* ECN bit without HOST_ECN negotiated */

enum vhd_hdr_error {
#define VHD_HDR_ENUM(name, str) VHD_HDR_ERR_##name,
	VHD_HDR_ERRORS(VHD_HDR_ENUM)
#undef VHD_HDR_ENUM
	VHD_HDR_ERR_MAX
};

const char *vhd_hdr_error_name(enum vhd_hdr_error e);

/*
 * Checks a guest's header against its frame's length and the guest's
 * negotiated features: flags and gso_type known and negotiated, the checksum
 * position, hdr_len and gso_size inside the frame. Enough for a header that
 * is passed on unchanged to a guest that negotiated the same offloads.
 * Returns 0, or -(error + 1).
 */
int vhd_net_hdr_check(const struct virtio_net_hdr *hdr, uint32_t frame_len, uint64_t features);

/*
 * For a header passed on unchanged from guest to guest: the checks of
 * vhd_net_hdr_to_mbuf() that look at the frame's own headers (TSO only on
 * TCP over the IP version it names, with the checksum at TCP's), done on
 * the frame's first head_len bytes, where a TSO frame's headers must lie.
 * The caller sends on exactly those bytes. Returns 0, or -(error + 1).
 */
int vhd_net_hdr_check_frame(const struct virtio_net_hdr *hdr, const uint8_t *head,
			    uint32_t head_len, uint32_t frame_len);

/*
 * Applies the header a guest put in front of frame m (already copied into
 * the mbuf, so the guest can no longer change it) to m's offload fields:
 * a partial checksum becomes RTE_MBUF_F_TX_{TCP,UDP}_CKSUM (or is completed
 * at once when it is not at a TCP/UDP checksum's place), a TSO request
 * RTE_MBUF_F_TX_TCP_SEG with tso_segsz. features are the guest's negotiated
 * ones. Beyond vhd_net_hdr_check(), the frame's own headers must match: TSO
 * only on TCP over the IP version it names, with the checksum at the TCP
 * checksum. Returns 0, or -(error + 1) for a header that must not be trusted.
 */
int vhd_net_hdr_to_mbuf(const struct virtio_net_hdr *hdr, struct rte_mbuf *m, uint64_t features);

/*
 * True when a guest with receiver's features takes every header a guest
 * with sender's features may send, as it is: the receive offloads (GUEST_*)
 * cover the transmit ones (CSUM, HOST_TSO*). Frames between such guests can
 * be copied guest to guest; otherwise the mbuf path completes checksums and
 * segments in software.
 */
bool vhd_net_offloads_fit(uint64_t sender, uint64_t receiver);

/* What a destination needs done to m before it can take it. */
enum vhd_hdr_tx_need {
	VHD_HDR_TX_AS_IS,     /* the header says everything */
	VHD_HDR_TX_CSUM,      /* write vhd_net_csum_value(m) at csum_start + csum_offset */
	VHD_HDR_TX_SEGMENT,   /* a TSO frame for a guest without GUEST_TSO: segment it */
};

/*
 * Fills hdr (flags, gso_*, csum_*, not num_buffers) for m and a destination
 * with the given negotiated features, and says what is left to do in
 * software.
 */
enum vhd_hdr_tx_need vhd_net_hdr_from_mbuf(const struct rte_mbuf *m, uint64_t features,
					   struct virtio_net_hdr *hdr);

/*
 * The final L4 checksum of m, whose checksum field holds the pseudo-header
 * sum (as for RTE_MBUF_F_TX_{TCP,UDP}_CKSUM), and where it goes: *at is
 * its offset in the frame.
 */
uint16_t vhd_net_csum_value(const struct rte_mbuf *m, uint32_t *at);

/* The longest L2..L4 headers a segmented frame can have (VLAN, IPv6, TCP options). */
#define VHD_NET_SEG_HDR_MAX 128

/* How many segments TSO frame m becomes. */
uint32_t vhd_net_seg_count(const struct rte_mbuf *m);

/*
 * Software segmentation, for a guest that did not negotiate GUEST_TSO: the
 * headers of segment i of TSO frame m, written to out. They are the frame's
 * own L2..L4 headers with the IP length (and for IPv4 the id, +i, and the
 * header checksum), the TCP sequence number, the flags (FIN and PSH only on
 * the last segment, CWR only on the first) and a complete TCP checksum. The
 * segment's payload is *payload_len bytes at *payload_off of m. Returns the
 * headers' length, or 0 if they do not fit in VHD_NET_SEG_HDR_MAX bytes.
 * IPv4 and IPv6 alike: librte_gso of DPDK 22.11 segments IPv4 only.
 */
uint32_t vhd_net_seg_headers(const struct rte_mbuf *m, uint32_t i, uint8_t *out,
			     uint32_t *payload_off, uint32_t *payload_len);

#endif /* VHOSTD_NET_HDR_H */
