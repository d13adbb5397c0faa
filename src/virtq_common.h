/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the virtqueue datapath (virtq.c, virtq_split.c, virtq_packed.c):
 * what does not depend on the ring layout. A packet's bytes as pieces, the
 * copies between pieces, mbufs and guest buffers, prefetches of guest
 * buffers, and the entry points each ring layout provides to virtq.c.
 *
 * Security: a guest address or length reaches these helpers only after the
 * ring code has loaded it once and checked it (see virtq_split.c), except
 * for the prefetch helpers, which may be aimed by unchecked values because a
 * prefetch cannot fault.
 *
 * Everything here runs per packet: always inlined, so that each caller's
 * constants (header length, layout) reach it.
 */
#ifndef VHOSTD_VIRTQ_COMMON_H
#define VHOSTD_VIRTQ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "vhostd/pool.h"
#include "vhostd/virtq.h"

/* Ethernet header: anything shorter cannot be forwarded. */
#define MIN_FRAME_LEN 14u
/*
 * Pieces of one packet's frame: a guest's transmit chain or an mbuf chain.
 * A 64 KiB frame from a Linux guest has at most 19 (MAX_SKB_FRAGS + 2); an
 * mbuf chain vhostd builds has at most 33 (pieces_to_mbuf_chain).
 */
#define PIECES_MAX 64
/*
 * A guest's receive buffers gathered for one packet: 64 chains of at least
 * 1518 bytes each (what a Linux guest posts with MRG_RXBUF) hold 64 KiB;
 * each may be cut once where it straddles two memory regions.
 */
#define TX_HEADS_MAX 64
#define TX_IOV_MAX (2 * TX_HEADS_MAX)
/*
 * Results of the chain walks and copies besides the -(vhd_desc_error + 1)
 * of a malformed chain: a frame too big for a side (stats.too_big), and an
 * mbuf chain the mempool could not give (the guest's chain stays for later).
 */
#define RC_TOO_BIG (-VHD_DESC_ERR_MAX - 1)
#define RC_NO_MBUF (-VHD_DESC_ERR_MAX - 2)
/* A refused virtio-net header: hdr_rc is net_hdr.c's -(vhd_hdr_error + 1). */
#define RC_HDR_FIRST (-VHD_DESC_ERR_MAX - 3)
#define RC_HDR(hdr_rc) (RC_HDR_FIRST + 1 + (hdr_rc))
/*
 * Bytes of a guest buffer fetched ahead of a copy: what the fast paths up to
 * 1518 B frames need; a jumbo frame's later lines stream in on the
 * hardware prefetcher while the copy runs.
 */
#define PREFETCH_WRITE_MAX 2048u

/*
 * Where a packet's bytes are (an mbuf's segments, a guest's buffers, or a
 * header vhostd built), and the offload header that goes in front of it to
 * a guest: net points to &vhd_net_hdr_none, to hdr_copy (a guest's header,
 * read once), or to one vhostd built.
 */
struct pkt_pieces {
	const uint8_t *addr[PIECES_MAX];
	uint32_t len[PIECES_MAX];
	uint16_t n;
	uint32_t total;
	const struct virtio_net_hdr *net;
	struct virtio_net_hdr hdr_copy;
};

/* An mbuf's segments as pieces; false if it has more than we track. */
static __rte_always_inline bool
mbuf_pieces(const struct rte_mbuf *m, struct pkt_pieces *pc)
{
	pc->net = &vhd_net_hdr_none;
	pc->n = 0;
	pc->total = m->pkt_len;
	for (; m != NULL; m = m->next) {
		if (unlikely(pc->n == PIECES_MAX))
			return false;
		pc->addr[pc->n] = rte_pktmbuf_mtod(m, const uint8_t *);
		pc->len[pc->n] = m->data_len;
		pc->n++;
	}
	return true;
}

/* Copies the pieces to dst, which has room for pc->total bytes. */
static __rte_always_inline void
pieces_copy(uint8_t *dst, const struct pkt_pieces *pc)
{
	uint16_t i;

	for (i = 0; i < pc->n; i++) {
		rte_memcpy(dst, pc->addr[i], pc->len[i]);
		dst += pc->len[i];
	}
}

/*
 * The fast path of a guest's transmit buffer: the header and the whole frame
 * in one descriptor (addr, len, already loaded once), inside one region.
 * Fills pc and returns true; false sends the chain down the slow path, which
 * checks everything again.
 */
static __rte_always_inline bool
frame_in_one_buffer(struct vhd_virtq *vq, uint64_t addr, uint32_t len, const uint16_t hdr_len,
		    const bool offload, struct pkt_pieces *pc)
{
	uint64_t n = len;
	const uint8_t *p;

	if (len < hdr_len + MIN_FRAME_LEN || len - hdr_len > VHD_MAX_FRAME_LEN)
		return false;
	p = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, addr, &n);
	if (unlikely(p == NULL || n != len))
		return false;
	/* the header is read once, and only if it can mean something */
	if (offload) {
		memcpy(&pc->hdr_copy, p, sizeof(pc->hdr_copy));
		pc->net = &pc->hdr_copy;
	} else {
		pc->net = &vhd_net_hdr_none;
	}
	pc->addr[0] = p + hdr_len;
	pc->len[0] = len - hdr_len;
	pc->total = pc->len[0];
	pc->n = 1;
	return true;
}

/*
 * An indirect table of len bytes at guest address addr, of 16-byte
 * descriptors (the same size in both layouts): whole descriptors, at most
 * VHD_VIRTQ_SIZE_MAX of them, in one region, 8-byte aligned. Returns its
 * host address, or NULL with *rc the refusal, -(error + 1).
 */
static __rte_always_inline const void *
indirect_table_map(struct vhd_virtq *vq, uint64_t addr, uint32_t len, int *rc)
{
	uint64_t mapped = len;
	const void *table;

	if (len == 0 || len % 16 != 0 || len / 16 > VHD_VIRTQ_SIZE_MAX) {
		*rc = -VHD_DESC_ERR_INDIRECT - 1;
		return NULL;
	}
	table = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, addr, &mapped);
	/* the table must be contiguous in one region */
	if (table == NULL || mapped != len) {
		*rc = -VHD_DESC_ERR_ADDR - 1;
		return NULL;
	}
	if ((uintptr_t)table % sizeof(uint64_t) != 0) {
		*rc = -VHD_DESC_ERR_INDIRECT - 1;
		return NULL;
	}
	return table;
}

/* Counts a chain or frame refused for rc (< 0). */
static __rte_always_inline void
count_refused(struct vhd_virtq *vq, int rc)
{
	if (rc == RC_TOO_BIG)
		vq->stats.too_big++;
	else if (rc <= RC_HDR_FIRST)
		vq->stats.hdr_errors[RC_HDR_FIRST - rc]++;
	else
		vq->stats.errors[-rc - 1]++;
}

/* Copies the first n (<= pc->total) bytes of the pieces to dst. */
static inline void
pieces_read_prefix(const struct pkt_pieces *pc, uint8_t *dst, uint32_t n)
{
	uint16_t i;

	for (i = 0; i < pc->n && n > 0; i++) {
		uint32_t k = RTE_MIN(pc->len[i], n);

		memcpy(dst, pc->addr[i], k);
		dst += k;
		n -= k;
	}
}

/*
 * The bytes [off, off + len) of m as pieces appended to pc; false if they
 * would take more pieces than pc holds.
 */
static inline bool
mbuf_range_pieces(const struct rte_mbuf *m, uint32_t off, uint32_t len, struct pkt_pieces *pc)
{
	for (; m != NULL && len > 0; m = m->next) {
		uint32_t n;

		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		if (pc->n == PIECES_MAX)
			return false;
		n = RTE_MIN((uint32_t)m->data_len - off, len);
		pc->addr[pc->n] = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
		pc->len[pc->n] = n;
		pc->n++;
		pc->total += n;
		len -= n;
		off = 0;
	}
	return len == 0;
}

/*
 * in's bytes with [at, at + n) taken from bytes instead, as out (the
 * software checksum of a guest without GUEST_CSUM goes in this way: the
 * frame is never written, other destinations may share it). false if out
 * would take more pieces than it holds.
 */
static inline bool
pieces_replace(const struct pkt_pieces *in, uint32_t at, const uint8_t *bytes, uint32_t n,
	       struct pkt_pieces *out)
{
	uint32_t pos = 0, i;

	out->n = 0;
	out->total = 0;
	out->net = in->net;
	for (i = 0; i < in->n; i++) {
		uint32_t start = pos, end = pos + in->len[i];

		pos = end;
		/* the part before the replaced bytes, the replacement, the part after */
		if (start < at) {
			if (out->n == PIECES_MAX)
				return false;
			out->addr[out->n] = in->addr[i];
			out->len[out->n] = RTE_MIN(end, at) - start;
			out->total += out->len[out->n++];
		}
		if (start <= at && at < end) {
			if (out->n == PIECES_MAX)
				return false;
			out->addr[out->n] = bytes;
			out->len[out->n] = n;
			out->total += out->len[out->n++];
		}
		if (end > at + n) {
			uint32_t from = RTE_MAX(start, at + n);

			if (out->n == PIECES_MAX)
				return false;
			out->addr[out->n] = in->addr[i] + (from - start);
			out->len[out->n] = end - from;
			out->total += out->len[out->n++];
		}
	}
	return out->total == in->total;
}

/*
 * Copies the pieces into m, a fresh mbuf of mp, and as many more fresh mbufs
 * of mp chained behind it as the frame needs. Out of line: only frames over
 * one mbuf's data room come here, so the small-frame path stays as it was.
 * Returns 0, RC_NO_MBUF (m untouched) or RC_TOO_BIG.
 */
static int __rte_noinline __rte_unused
pieces_to_mbuf_chain(const struct pkt_pieces *pc, struct rte_mbuf *m, struct rte_mempool *mp)
{
	struct rte_mbuf *segs[PIECES_MAX];
	uint32_t room = rte_pktmbuf_tailroom(m);
	uint32_t nextra = (pc->total - room + room - 1) / room;
	struct rte_mbuf *cur = m;
	uint8_t *dst = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t left = room, i;

	/* the chain must still fit mbuf_pieces() on its way out */
	if (unlikely(nextra >= PIECES_MAX))
		return RC_TOO_BIG;
	if (unlikely(vhd_mbuf_alloc_bulk(mp, segs, nextra) != 0))
		return RC_NO_MBUF;
	for (i = 0; i < nextra; i++) {
		cur->next = segs[i];
		cur = segs[i];
	}
	cur = m;
	for (i = 0; i < pc->n; i++) {
		const uint8_t *src = pc->addr[i];
		uint32_t len = pc->len[i];

		while (len > 0) {
			uint32_t n;

			if (left == 0) {
				cur = cur->next;
				dst = rte_pktmbuf_mtod(cur, uint8_t *);
				left = rte_pktmbuf_tailroom(cur);
			}
			n = RTE_MIN(len, left);
			rte_memcpy(dst, src, n);
			cur->data_len += n;
			dst += n;
			src += n;
			len -= n;
			left -= n;
		}
	}
	m->nb_segs = nextra + 1;
	m->pkt_len = pc->total;
	return 0;
}

/*
 * Copies the pieces into m (fresh from mp), chaining more mbufs of mp for a
 * frame over its data room. Returns 0 or an RC_* (see pieces_to_mbuf_chain).
 */
static __rte_always_inline int
pieces_to_mbuf(const struct pkt_pieces *pc, struct rte_mbuf *m, struct rte_mempool *mp)
{
	if (unlikely(pc->total > rte_pktmbuf_tailroom(m)))
		return pieces_to_mbuf_chain(pc, m, mp);
	pieces_copy(rte_pktmbuf_mtod(m, uint8_t *), pc);
	m->data_len = pc->total;
	m->pkt_len = pc->total;
	return 0;
}

/*
 * Guest receive buffers gathered for one packet: the pieces to fill, and for
 * each chain they came from, its id in the ring and the bytes written to it
 * (its used length).
 */
struct tx_buffers {
	struct {
		uint8_t *addr;
		uint32_t len;
		uint16_t head_slot; /* index into heads[] */
	} iov[TX_IOV_MAX];
	uint16_t heads[TX_HEADS_MAX];
	uint32_t written[TX_HEADS_MAX]; /* bytes written per head */
	uint16_t niov;
	uint16_t nheads;
	uint64_t capacity;
};

/* Scatters len bytes from src over the gathered buffers, from (*iov_i, *iov_off). */
static __rte_always_inline void
scatter(struct tx_buffers *b, uint32_t *iov_i, uint32_t *iov_off, const uint8_t *src,
	uint32_t len)
{
	while (len > 0) {
		uint32_t room = b->iov[*iov_i].len - *iov_off;
		uint32_t n = RTE_MIN(room, len);

		rte_memcpy(b->iov[*iov_i].addr + *iov_off, src, n);
		b->written[b->iov[*iov_i].head_slot] += n;
		src += n;
		len -= n;
		*iov_off += n;
		if (*iov_off == b->iov[*iov_i].len) {
			(*iov_i)++;
			*iov_off = 0;
		}
	}
}

/* What became of one packet sent to a guest. */
enum tx_result { TX_SENT, TX_NO_ROOM, TX_BAD_CHAIN, TX_TOO_BIG };

/*
 * Prefetching: the misses of a whole burst are started together, so that
 * they overlap instead of coming one packet at a time. Prefetches never
 * fault; the values that aim them need not be checked.
 */

/* Starts loading the line of guest memory at gpa, if gpa is in a region. */
static __rte_always_inline void
prefetch_guest_line(struct vhd_virtq *vq, uint64_t gpa)
{
	uint64_t one = 1;
	const uint8_t *p = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, gpa, &one);

	if (p != NULL)
		rte_prefetch0(p);
}

/*
 * Fetches for writing every line of the len bytes at gpa (at most
 * PREFETCH_WRITE_MAX, and only up to the end of gpa's region).
 */
static __rte_always_inline void
prefetch_guest_write(struct vhd_virtq *vq, uint64_t gpa, uint32_t len)
{
	uint64_t n = RTE_MIN(len, PREFETCH_WRITE_MAX);
	const uint8_t *p = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, gpa, &n);
	uint64_t off;

	if (p == NULL)
		return;
	for (off = 0; off < n; off += RTE_CACHE_LINE_SIZE)
		rte_prefetch0_write(p + off);
}

/*
 * A frame whose header asks for offloads: the request goes into m's offload
 * fields, checked against the frame now in m (which the guest can no longer
 * change). A refused header leaves m as fresh as it came, for the next chain.
 */
static int __rte_noinline __rte_unused
mbuf_take_offloads(struct vhd_virtq *vq, const struct virtio_net_hdr *net, struct rte_mbuf *m)
{
	int rc = vhd_net_hdr_to_mbuf(net, m, vq->features);

	if (likely(rc == 0))
		return 0;
	if (m->next != NULL) {
		vhd_mbuf_free(m->next);
		m->next = NULL;
	}
	rte_pktmbuf_reset(m);
	return RC_HDR(rc);
}

/*
 * A TSO frame passed on from guest to guest: its own headers must be what
 * its virtio-net header says, as on the mbuf path. They are read once into
 * head, checked there, and the destination gets them from there (out), so
 * the guest cannot change them after the check.
 */
static int __rte_noinline __rte_unused
forward_tso_check(const struct pkt_pieces *pc, uint8_t *head, struct pkt_pieces *out)
{
	uint32_t n = RTE_MIN(pc->total, (uint32_t)VHD_NET_SEG_HDR_MAX);
	int rc;

	pieces_read_prefix(pc, head, n);
	rc = vhd_net_hdr_check_frame(&pc->hdr_copy, head, n, pc->total);
	if (rc != 0)
		return RC_HDR(rc);
	return pieces_replace(pc, 0, head, n, out) ? 0 : RC_TOO_BIG;
}

/*
 * Sends one packet's pieces into the guest: a layout's own tx_one, with the
 * state of its burst in ctx. The helpers below take it as a constant, so
 * each layout's copy calls its tx_one directly.
 */
typedef enum tx_result (*tx_one_fn)(struct vhd_virtq *vq, const struct pkt_pieces *pkt,
				   void *ctx);

/*
 * Software segmentation for a guest without GUEST_TSO: each segment is the
 * headers net_hdr.c builds for it and a slice of the frame's payload,
 * copied into the guest once, with no mbuf made. Segments after the first
 * that find no room are dropped as no_room.
 */
static __rte_always_inline enum tx_result
tx_mbuf_segments(struct vhd_virtq *vq, const struct rte_mbuf *m, tx_one_fn send, void *ctx)
{
	uint32_t nsegs = vhd_net_seg_count(m), i, off, len;
	uint8_t hdrs[VHD_NET_SEG_HDR_MAX];
	struct pkt_pieces pc;
	enum tx_result r;

	for (i = 0; i < nsegs; i++) {
		pc.net = &vhd_net_hdr_none;
		pc.n = 1;
		pc.addr[0] = hdrs;
		pc.len[0] = vhd_net_seg_headers(m, i, hdrs, &off, &len);
		pc.total = pc.len[0];
		if (unlikely(pc.len[0] == 0 || !mbuf_range_pieces(m, off, len, &pc))) {
			vq->stats.too_big++;
			return TX_TOO_BIG;
		}
		r = send(vq, &pc, ctx);
		if (r == TX_NO_ROOM) {
			if (i == 0)
				return TX_NO_ROOM;
			vq->stats.no_room += nsegs - i;
			return TX_SENT;
		}
		if (r != TX_SENT)
			return r;
	}
	return TX_SENT;
}

/*
 * An mbuf with checksum or segmentation requests (ol_flags): passed on in
 * the header to a guest that negotiated them, done in software for one that
 * did not.
 */
static __rte_always_inline enum tx_result
tx_mbuf_offloaded(struct vhd_virtq *vq, const struct rte_mbuf *m, tx_one_fn send, void *ctx)
{
	struct pkt_pieces pc, patched;
	struct virtio_net_hdr net;
	uint16_t csum;
	uint32_t at;

	switch (vhd_net_hdr_from_mbuf(m, vq->features, &net)) {
	case VHD_HDR_TX_SEGMENT:
		return tx_mbuf_segments(vq, m, send, ctx);
	case VHD_HDR_TX_CSUM:
		csum = vhd_net_csum_value(m, &at);
		if (unlikely(!mbuf_pieces(m, &pc) ||
			     !pieces_replace(&pc, at, (const uint8_t *)&csum, sizeof(csum), &patched)))
			break;
		return send(vq, &patched, ctx);
	case VHD_HDR_TX_AS_IS:
		if (unlikely(!mbuf_pieces(m, &pc)))
			break;
		pc.net = &net;
		return send(vq, &pc, ctx);
	}
	/* more segments than vhostd gathers: not the guest's fault */
	vq->stats.too_big++;
	return TX_TOO_BIG;
}

/*
 * A ring layout's entry points, prefix_rx_burst, prefix_tx_burst and
 * prefix_forward_burst, over its always-inline rx_burst, tx_burst and
 * forward_burst: specialised variants. Virtio 1.0 guests, and legacy ones
 * with MRG_RXBUF, which is nearly all of them, use the 12-byte header: with
 * its size a constant, the fast paths write it with two stores instead of a
 * call to memcpy. Likewise a destination without an MTU needs no per-packet
 * check on the fast path: every frame vhostd holds is within
 * VHD_MAX_FRAME_LEN (the slow path checks all the same). hdr_len and the MTU
 * are fixed before the device is polled (vhd_virtq_init, vhd_virtq_set_mtu),
 * so each branch always goes the same way for a device.
 */
#define VIRTQ_LAYOUT_BURSTS(prefix)                                                             \
	static uint16_t prefix##_rx_burst(struct vhd_virtq *vq, struct rte_mempool *mp,         \
					  struct rte_mbuf **pkts, uint16_t count)               \
	{                                                                                       \
		bool offload = vq->flags & VHD_VQ_F_OFFLOAD;                                    \
                                                                                                \
		if (likely(vq->hdr_len == VHD_NET_HDR_LEN_MODERN))                              \
			return offload ? rx_burst(vq, mp, pkts, count, VHD_NET_HDR_LEN_MODERN,  \
						  true) :                                       \
					 rx_burst(vq, mp, pkts, count, VHD_NET_HDR_LEN_MODERN,  \
						  false);                                       \
		return rx_burst(vq, mp, pkts, count, vq->hdr_len, offload);                     \
	}                                                                                       \
                                                                                                \
	static uint16_t prefix##_tx_burst(struct vhd_virtq *vq, struct rte_mbuf **pkts,         \
					  uint16_t count)                                       \
	{                                                                                       \
		bool mtu = vq->max_frame < VHD_MAX_FRAME_LEN;                                   \
                                                                                                \
		if (likely(vq->hdr_len == VHD_NET_HDR_LEN_MODERN))                              \
			return mtu ? tx_burst(vq, pkts, count, VHD_NET_HDR_LEN_MODERN, true) :  \
				     tx_burst(vq, pkts, count, VHD_NET_HDR_LEN_MODERN, false);  \
		return tx_burst(vq, pkts, count, vq->hdr_len, true);                            \
	}                                                                                       \
                                                                                                \
	static uint16_t prefix##_forward_burst(struct vhd_virtq *from, struct vhd_virtq *to,    \
					       uint16_t count)                                  \
	{                                                                                       \
		const uint16_t modern = VHD_NET_HDR_LEN_MODERN;                                 \
		bool mtu = to->max_frame < VHD_MAX_FRAME_LEN;                                   \
		bool offload = from->flags & VHD_VQ_F_OFFLOAD;                                  \
                                                                                                \
		if (likely(from->hdr_len == modern && to->hdr_len == modern)) {                 \
			if (mtu)                                                                \
				return forward_burst(from, to, count, modern, modern, true,     \
						     offload);                                  \
			return offload ? forward_burst(from, to, count, modern, modern, false,  \
						       true) :                                  \
					 forward_burst(from, to, count, modern, modern, false,  \
						       false);                                  \
		}                                                                               \
		return forward_burst(from, to, count, from->hdr_len, to->hdr_len, true,         \
				     offload);                                                  \
	}

/*
 * Interrupts the guest through its callfd, if it has one. The ring code
 * decides whether the guest wants it (its flags or event index) after a full
 * barrier behind the publish.
 */
static __rte_always_inline void
virtq_interrupt(struct vhd_virtq *vq)
{
	static const uint64_t one = 1;

	if (vq->callfd < 0)
		return;
	/*
	 * Odd while the write is under way: a frontend can make its eventfd
	 * block, and the lcore watchdog interrupts a write that stays odd.
	 */
	__atomic_store_n(&vq->notify_seq, vq->notify_seq + 1, __ATOMIC_RELAXED);
	if (write(vq->callfd, &one, sizeof(one)) == sizeof(one))
		vq->stats.interrupts++;
	else
		vq->stats.interrupts_failed++;
	__atomic_store_n(&vq->notify_seq, vq->notify_seq + 1, __ATOMIC_RELAXED);
}

/*
 * What a ring layout provides; vhd_virtq_init() picks one per queue from the
 * negotiated features, and the bursts call through it. Same contracts as the
 * vhd_virtq_* functions of the same names.
 */
struct vhd_virtq_layout {
	const char *name;
	/* checks the ring fields of vq and tells the guest not to kick */
	int (*init)(struct vhd_virtq *vq);
	uint16_t (*rx_burst)(struct vhd_virtq *vq, struct rte_mempool *mp,
			     struct rte_mbuf **pkts, uint16_t count);
	uint16_t (*tx_burst)(struct vhd_virtq *vq, struct rte_mbuf **pkts, uint16_t count);
	/* from and to have this layout */
	uint16_t (*forward_burst)(struct vhd_virtq *from, struct vhd_virtq *to, uint16_t count);
	/* where the ring stands, as librte_vhost's vring base wants it */
	void (*positions)(const struct vhd_virtq *vq, uint16_t *avail_idx, uint16_t *used_idx);
};

extern const struct vhd_virtq_layout vhd_split_layout;
extern const struct vhd_virtq_layout vhd_packed_layout;

#endif /* VHOSTD_VIRTQ_COMMON_H */
