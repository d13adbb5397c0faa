/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The split-ring layout (virtio 1.0 section 2.6): descriptor chains, the avail
 * ring, the used ring with its shadow, and the bursts over them. Layout-
 * neutral pieces are in virtq_common.h, the virtio-net header in net_hdr.h;
 * virtq.c calls them through vhd_split_layout.
 *
 * Security model: everything read from guest memory (avail ring, descriptors,
 * indirect tables) may be garbage or may change while we read it. Each field
 * is loaded once into a local, checked, and only the local is used. A bad
 * chain is returned to the guest with length 0 and counted; it never stalls
 * the queue and never makes us touch memory outside the guest's regions.
 * The one exception is prefetching: descriptor fields read only to aim a
 * prefetch are not checked, because a prefetch cannot fault and its address
 * is never used for anything else.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include <rte_atomic.h>
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "vhostd/net_hdr.h"
#include "vhostd/virtq.h"
#include "virtq_common.h"

int
vhd_virtq_rings_check(const struct vhd_mem_table *mem, const struct vring_desc *desc,
		      const struct vring_avail *avail, const struct vring_used *used,
		      uint16_t size)
{
	if (desc == NULL || avail == NULL || used == NULL || mem == NULL)
		return -EINVAL;
	if (size == 0 || size > VHD_VIRTQ_SIZE_MAX || (size & (size - 1)))
		return -EINVAL;
	/* alignments of virtio 1.0 section 2.6 */
	if (((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3))
		return -EINVAL;
	/* each part whole, with the event index behind its ring (used_event, avail_event) */
	if (!vhd_mem_host_range_ok(mem, desc, (uint64_t)size * sizeof(*desc)) ||
	    !vhd_mem_host_range_ok(mem, avail,
				   sizeof(*avail) + (uint64_t)size * sizeof(avail->ring[0]) +
					   sizeof(uint16_t)) ||
	    !vhd_mem_host_range_ok(mem, used,
				   sizeof(*used) + (uint64_t)size * sizeof(used->ring[0]) +
					   sizeof(uint16_t)))
		return -EINVAL;
	return 0;
}

/*
 * With EVENT_IDX the guest ignores VRING_USED_F_NO_NOTIFY and kicks when its
 * avail->idx passes avail_event (used->ring[size]). One entry behind what we
 * consumed lies outside every step the guest can take (at most the ring size,
 * which is under 2^15), so it never kicks while we keep this up to date.
 */
static __rte_always_inline void
avail_event_behind(struct vhd_virtq *vq)
{
	__atomic_store_n((uint16_t *)&vq->used->ring[vq->size], (uint16_t)(vq->last_avail_idx - 1),
			 __ATOMIC_RELAXED);
}

static int
split_init(struct vhd_virtq *vq)
{
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL)
		return -EINVAL;
	if (vq->size == 0 || vq->size > VHD_VIRTQ_SIZE_MAX || (vq->size & (vq->size - 1)))
		return -EINVAL;
	vq->shadow_n = 0;
	/* we poll, so kicks would only cost the guest a VM exit */
	__atomic_store_n(&vq->used->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	if (vq->flags & VHD_VQ_F_EVENT_IDX)
		avail_event_behind(vq);
	return 0;
}

/* Walks one descriptor chain, following at most one indirect table. */
struct chain_walk {
	const struct vring_desc *table;
	uint32_t table_size;
	uint32_t visited;
	uint16_t idx;
	bool indirect;
	bool done;
};

/* Loads a descriptor field by field, once: the guest may rewrite it meanwhile. */
static __rte_always_inline void
desc_load(const struct vring_desc *p, struct vring_desc *d)
{
	d->addr = __atomic_load_n(&p->addr, __ATOMIC_RELAXED);
	d->len = __atomic_load_n(&p->len, __ATOMIC_RELAXED);
	d->flags = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
	d->next = __atomic_load_n(&p->next, __ATOMIC_RELAXED);
}

static __rte_always_inline int
chain_start(const struct vhd_virtq *vq, uint16_t head, struct chain_walk *w)
{
	if (unlikely(head >= vq->size))
		return -VHD_DESC_ERR_INDEX - 1;
	w->table = vq->desc;
	w->table_size = vq->size;
	w->visited = 0;
	w->idx = head;
	w->indirect = false;
	w->done = false;
	return 0;
}

/* Out-of-line: indirect tables are the rare case for small packets. */
static int __rte_noinline
chain_enter_indirect(struct vhd_virtq *vq, struct chain_walk *w, struct vring_desc *d)
{
	const void *table;
	int rc;

	/* only a chain's head may point to a table, and never alongside NEXT */
	if (!(vq->flags & VHD_VQ_F_INDIRECT) || w->indirect || w->visited != 1 ||
	    (d->flags & VRING_DESC_F_NEXT))
		return -VHD_DESC_ERR_INDIRECT - 1;
	RTE_BUILD_BUG_ON(sizeof(struct vring_desc) != 16);
	table = indirect_table_map(vq, d->addr, d->len, &rc);
	if (table == NULL)
		return rc;

	w->table = table;
	w->table_size = d->len / sizeof(struct vring_desc);
	w->indirect = true;
	w->visited = 1;
	desc_load(&w->table[0], d);
	if (d->flags & VRING_DESC_F_INDIRECT)
		return -VHD_DESC_ERR_INDIRECT - 1; /* nested */
	return 0;
}

/*
 * Returns 1 with *d filled, 0 at the end of the chain, or -(error + 1).
 * Every descriptor returned has a nonzero length whose end does not wrap.
 */
static __rte_always_inline int
chain_next(struct vhd_virtq *vq, struct chain_walk *w, struct vring_desc *d)
{
	int rc;

	if (w->done)
		return 0;
	/* a chain can visit each slot once; more means a loop */
	if (unlikely(w->visited >= w->table_size))
		return -VHD_DESC_ERR_CHAIN - 1;
	desc_load(&w->table[w->idx], d);
	w->visited++;
	if (unlikely(d->flags & VRING_DESC_F_INDIRECT)) {
		rc = chain_enter_indirect(vq, w, d);
		if (rc < 0)
			return rc;
	}
	if (unlikely(d->len == 0))
		return -VHD_DESC_ERR_LEN - 1;
	if (unlikely(d->addr + d->len < d->addr))
		return -VHD_DESC_ERR_ADDR - 1;
	if (d->flags & VRING_DESC_F_NEXT) {
		if (unlikely(d->next >= w->table_size))
			return -VHD_DESC_ERR_INDEX - 1;
		w->idx = d->next;
	} else {
		w->done = true;
	}
	return 1;
}

/* Writes the shadowed used entries to the guest's ring. */
static __rte_always_inline void
used_shadow_flush(struct vhd_virtq *vq)
{
	const uint16_t mask = vq->size - 1;
	uint16_t i;

	for (i = 0; i < vq->shadow_n; i++)
		vq->used->ring[(uint16_t)(vq->shadow_idx + i) & mask] = vq->shadow[i];
	vq->shadow_n = 0;
}

/* Records used entry used_idx; the guest sees it at the next publish. */
static __rte_always_inline void
used_ring_put(struct vhd_virtq *vq, uint16_t used_idx, uint32_t id, uint32_t len)
{
	if (unlikely(vq->shadow_n == VHD_USED_SHADOW))
		used_shadow_flush(vq);
	if (vq->shadow_n == 0)
		vq->shadow_idx = used_idx;
	vq->shadow[vq->shadow_n].id = id;
	vq->shadow[vq->shadow_n].len = len;
	vq->shadow_n++;
}

/*
 * Whether the guest asked for an interrupt for the used entries [old, new):
 * without EVENT_IDX by leaving VRING_AVAIL_F_NO_INTERRUPT clear, with it by
 * placing used_event (avail->ring[size]) among them (virtio 1.0 2.6.7.2).
 */
static __rte_always_inline bool
guest_wants_interrupt(const struct vhd_virtq *vq, uint16_t old, uint16_t new)
{
	uint16_t used_event;

	if (!(vq->flags & VHD_VQ_F_EVENT_IDX))
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	used_event = __atomic_load_n(&vq->avail->ring[vq->size], __ATOMIC_RELAXED);
	return (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
}

/* Publishes used->idx and interrupts the guest unless it opted out. */
static __rte_always_inline void
used_ring_publish(struct vhd_virtq *vq, uint16_t used_idx)
{
	uint16_t old = vq->last_used_idx;

	used_shadow_flush(vq);
	if (vq->flags & VHD_VQ_F_EVENT_IDX)
		avail_event_behind(vq);
	/* release: the guest must see the entries before the index */
	__atomic_store_n(&vq->used->idx, used_idx, __ATOMIC_RELEASE);
	vq->last_used_idx = used_idx;
	/*
	 * Full barrier: our used->idx store must be visible before we read
	 * avail->flags or used_event, or a guest that just re-enabled
	 * interrupts is missed and waits for ever.
	 */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (guest_wants_interrupt(vq, old, used_idx))
		virtq_interrupt(vq);
}

/* Entries the guest made available, or -1 when avail->idx is implausible. */
static __rte_always_inline int
avail_count(struct vhd_virtq *vq)
{
	uint16_t avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(avail_idx - vq->last_avail_idx);

	if (unlikely(n > vq->size)) {
		vq->stats.errors[VHD_DESC_ERR_AVAIL_IDX]++;
		return -1;
	}
	return n;
}

static __rte_always_inline uint16_t
avail_head(const struct vhd_virtq *vq, uint16_t pos)
{
	return __atomic_load_n(&vq->avail->ring[pos & (vq->size - 1)], __ATOMIC_RELAXED);
}

/*
 * Records where the frame of one guest-transmitted chain lies, skipping the
 * virtio-net header (which may span descriptors). Each descriptor is read once
 * and checked; nothing is copied. Returns 0, -(error + 1), or RC_TOO_BIG for a
 * frame over VHD_MAX_FRAME_LEN or PIECES_MAX pieces.
 */
static int __rte_noinline
chain_gather_frame_slow(struct vhd_virtq *vq, uint16_t head, struct pkt_pieces *pc)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint32_t hdr_left = vq->hdr_len;
	struct chain_walk w;
	struct vring_desc d;
	int rc;

	pc->n = 0;
	pc->total = 0;
	rc = chain_start(vq, head, &w);
	if (rc < 0)
		return rc;
	while ((rc = chain_next(vq, &w, &d)) > 0) {
		uint64_t gpa = d.addr;
		uint64_t left = d.len;

		if (unlikely(d.flags & VRING_DESC_F_WRITE))
			return -VHD_DESC_ERR_DIRECTION - 1;
		while (left > 0) {
			uint64_t chunk = left;
			const uint8_t *src = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, gpa, &chunk);

			if (unlikely(src == NULL))
				return -VHD_DESC_ERR_ADDR - 1;
			gpa += chunk;
			left -= chunk;
			if (hdr_left > 0) {
				uint32_t took = vhd_net_hdr_take((uint8_t *)&hdr, vq->hdr_len,
								 &hdr_left, src, chunk);

				src += took;
				chunk -= took;
				if (chunk == 0)
					continue;
			}
			/* legal, but more than any side takes: stop walking */
			if (unlikely(pc->total + chunk > VHD_MAX_FRAME_LEN || pc->n == PIECES_MAX))
				return RC_TOO_BIG;
			pc->addr[pc->n] = src;
			pc->len[pc->n] = chunk;
			pc->n++;
			pc->total += chunk;
		}
	}
	if (rc < 0)
		return rc;
	if (unlikely(hdr_left > 0 || pc->total < MIN_FRAME_LEN))
		return -VHD_DESC_ERR_LEN - 1;
	/* without offloads negotiated, what the guest wrote there means nothing */
	if (vq->flags & VHD_VQ_F_OFFLOAD) {
		pc->hdr_copy = hdr.hdr;
		pc->net = &pc->hdr_copy;
	} else {
		pc->net = &vhd_net_hdr_none;
	}
	return 0;
}

/*
 * The common case first: header and frame in one read-only descriptor inside
 * one region. Anything else, valid or not, takes the general walk, which
 * reads the descriptor again and checks everything on its own copy.
 * hdr_len is vq->hdr_len and offload whether vq has VHD_VQ_F_OFFLOAD, passed
 * so that a specialised caller makes them constants. The header's offload
 * fields land in pc->hdr_copy unchecked.
 */
static __rte_always_inline int
chain_gather_frame(struct vhd_virtq *vq, uint16_t head, struct pkt_pieces *pc,
		   const uint16_t hdr_len, const bool offload)
{
	const uint16_t special = VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE;
	struct vring_desc d;

	if (likely(head < vq->size)) {
		desc_load(&vq->desc[head], &d);
		if (likely(!(d.flags & special) &&
			   frame_in_one_buffer(vq, d.addr, d.len, hdr_len, offload, pc)))
			return 0;
	}
	return chain_gather_frame_slow(vq, head, pc);
}

/*
 * Prefetching (virtq_common.h): values read here only to aim a prefetch are
 * not trusted; the walk that follows loads each descriptor again, once, and
 * checks it.
 *
 * For the next n chains the guest transmits: reads their heads once into
 * heads[] (the walk uses the same ones), starts loading their descriptors and
 * the first line of each frame (past the virtio-net header, which is often in
 * a line of its own that we never read), and, unless len is NULL, notes each
 * head descriptor's length in len[], which sizes the destination prefetch of
 * a forward.
 */
static __rte_always_inline void
prefetch_sources(struct vhd_virtq *vq, uint16_t n, const uint16_t hdr_len, uint16_t *heads,
		 uint32_t *len)
{
	const uint16_t mask = vq->size - 1;
	uint16_t i;

	for (i = 0; i < n; i++) {
		heads[i] = avail_head(vq, vq->last_avail_idx + i);
		rte_prefetch0(&vq->desc[heads[i] & mask]);
	}
	for (i = 0; i < n; i++) {
		const struct vring_desc *d = &vq->desc[heads[i] & mask];

		prefetch_guest_line(vq, d->addr + hdr_len);
		if (len != NULL)
			len[i] = d->len;
	}
}

/*
 * For the next n (<= VHD_BURST_MAX) receive buffers of vq, about to take
 * fill_len[i] bytes each: every line to be written is fetched for writing.
 * A guest's receive buffer is usually cold (posted long ago), and at 1518 B
 * its read-for-ownership misses cost more than the copy itself.
 */
static __rte_always_inline void
prefetch_rx_buffers(struct vhd_virtq *vq, uint16_t n, const uint32_t *fill_len)
{
	const uint16_t mask = vq->size - 1;
	uint16_t heads[VHD_BURST_MAX];
	uint16_t i;

	for (i = 0; i < n; i++) {
		heads[i] = avail_head(vq, vq->last_avail_idx + i);
		rte_prefetch0(&vq->desc[heads[i] & mask]);
	}
	for (i = 0; i < n; i++)
		prefetch_guest_write(vq, vq->desc[heads[i] & mask].addr, fill_len[i]);
}

/* Copies one guest-transmitted chain into m (and more mbufs of mp if it is big). */
static __rte_always_inline int
chain_to_mbuf(struct vhd_virtq *vq, uint16_t head, struct rte_mbuf *m, struct rte_mempool *mp,
	      const uint16_t hdr_len, const bool offload)
{
	struct pkt_pieces pc;
	int rc;

	rc = chain_gather_frame(vq, head, &pc, hdr_len, offload);
	if (unlikely(rc < 0))
		return rc;
	rc = pieces_to_mbuf(&pc, m, mp);
	if (offload && rc == 0 && unlikely(pc.net->flags | pc.net->gso_type))
		rc = mbuf_take_offloads(vq, pc.net, m);
	return rc;
}

/*
 * Ends an rx burst cut short at chain i: a big frame's extra mbufs were not
 * to be had, so that chain and the ones after it stay in the ring for the
 * next poll. Out of line, so the common burst's tail stays as it was.
 */
static uint16_t __rte_noinline
rx_burst_cut(struct vhd_virtq *vq, struct rte_mbuf **pkts, uint16_t n, uint16_t npkts, uint16_t i,
	     uint16_t used_idx)
{
	vq->stats.no_mbuf++;
	vhd_mbuf_free_bulk(&pkts[npkts], n - npkts);
	vq->last_avail_idx += i;
	vq->stats.packets += npkts;
	if (i > 0)
		used_ring_publish(vq, used_idx);
	return npkts;
}

static __rte_always_inline uint16_t
rx_burst(struct vhd_virtq *vq, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t count,
	 const uint16_t hdr_len, const bool offload)
{
	uint16_t used_idx = vq->last_used_idx;
	uint16_t heads[VHD_BURST_MAX];
	uint16_t npkts = 0;
	uint16_t i, n;
	int avail;

	avail = avail_count(vq);
	if (avail <= 0)
		return 0;
	n = RTE_MIN((uint16_t)avail, RTE_MIN(count, (uint16_t)VHD_BURST_MAX));
	/* count 0: the mempool refuses a 0-mbuf bulk, which is no shortage */
	if (unlikely(n == 0))
		return 0;
	prefetch_sources(vq, n, hdr_len, heads, NULL);
	if (unlikely(vhd_mbuf_alloc_bulk(mp, pkts, n) != 0)) {
		vq->stats.no_mbuf++;
		return 0;
	}

	for (i = 0; i < n; i++) {
		uint16_t head = heads[i];
		int rc = chain_to_mbuf(vq, head, pkts[npkts], mp, hdr_len, offload);

		if (likely(rc == 0)) {
			vq->stats.bytes += pkts[npkts]->pkt_len;
			npkts++;
		} else if (unlikely(rc == RC_NO_MBUF)) {
			return rx_burst_cut(vq, pkts, n, npkts, i, used_idx);
		} else {
			count_refused(vq, rc);
		}
		/* transmit buffers are read-only for us: used length is 0 */
		used_ring_put(vq, used_idx++, head, 0);
	}
	vq->last_avail_idx += n;
	vq->stats.packets += npkts;
	if (npkts < n)
		vhd_mbuf_free_bulk(&pkts[npkts], n - npkts);
	used_ring_publish(vq, used_idx);
	return npkts;
}

/*
 * Adds the writable buffers of one chain until the gathered capacity reaches
 * need. Returns 0, -(error + 1), or RC_TOO_BIG when the pieces would exceed
 * what b holds.
 */
static int
gather_chain(struct vhd_virtq *vq, uint16_t head, struct tx_buffers *b, uint64_t need)
{
	uint16_t slot = b->nheads;
	struct chain_walk w;
	struct vring_desc d;
	int rc;

	b->heads[b->nheads++] = head;
	b->written[slot] = 0;
	rc = chain_start(vq, head, &w);
	if (rc < 0)
		return rc;
	while (b->capacity < need && (rc = chain_next(vq, &w, &d)) > 0) {
		uint64_t gpa = d.addr;
		uint64_t left = d.len;

		if (unlikely(!(d.flags & VRING_DESC_F_WRITE)))
			return -VHD_DESC_ERR_DIRECTION - 1;
		while (left > 0 && b->capacity < need) {
			uint64_t chunk = left;
			uint8_t *p = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, gpa, &chunk);

			if (unlikely(p == NULL))
				return -VHD_DESC_ERR_ADDR - 1;
			if (unlikely(b->niov == TX_IOV_MAX))
				return RC_TOO_BIG;
			b->iov[b->niov].addr = p;
			b->iov[b->niov].len = chunk;
			b->iov[b->niov].head_slot = slot;
			b->niov++;
			b->capacity += chunk;
			gpa += chunk;
			left -= chunk;
		}
	}
	return rc < 0 ? rc : 0;
}

/*
 * Copies one packet into the guest's receive buffers: one chain, or several
 * with MRG_RXBUF. *avail counts the chains still available; used entries go to
 * *used_idx. With no room nothing is consumed; a bad chain drops the packet
 * and hands every chain it took back empty (counted). A packet the buffers
 * cannot hold (one chain too small without MRG_RXBUF, or more than
 * TX_HEADS_MAX chains / TX_IOV_MAX pieces) is dropped as too_big and the
 * chains stay for the next packet: they broke no rule.
 */
static enum tx_result __rte_noinline
tx_one_slow(struct vhd_virtq *vq, const struct pkt_pieces *pkt, int *avail, uint16_t *used_idx)
{
	const bool mergeable = vq->flags & VHD_VQ_F_MRG_RXBUF;
	uint64_t need = vq->hdr_len + (uint64_t)pkt->total;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint32_t iov_i = 0, iov_off = 0;
	struct tx_buffers b;
	int rc = 0;
	uint16_t h;

	/* over the guest's MTU (a TSO frame's segments are not): dropped */
	if (unlikely(pkt->total > vq->max_frame && pkt->net->gso_type == VIRTIO_NET_HDR_GSO_NONE)) {
		vq->stats.too_big++;
		return TX_TOO_BIG;
	}
	if (*avail == 0)
		return TX_NO_ROOM;
	b.niov = 0;
	b.nheads = 0;
	b.capacity = 0;
	while (b.capacity < need && *avail > 0) {
		if (unlikely(b.nheads == TX_HEADS_MAX)) {
			rc = RC_TOO_BIG;
			break;
		}
		rc = gather_chain(vq, avail_head(vq, vq->last_avail_idx), &b, need);
		vq->last_avail_idx++;
		(*avail)--;
		if (rc < 0 || !mergeable)
			break;
	}
	if (unlikely(rc == RC_TOO_BIG || (rc == 0 && !mergeable && b.capacity < need))) {
		vq->last_avail_idx -= b.nheads;
		*avail += b.nheads;
		vq->stats.too_big++;
		return TX_TOO_BIG;
	}
	if (unlikely(rc < 0)) {
		vq->stats.errors[-rc - 1]++;
		for (h = 0; h < b.nheads; h++)
			used_ring_put(vq, (*used_idx)++, b.heads[h], 0);
		return TX_BAD_CHAIN;
	}
	if (b.capacity < need) {
		/* out of buffers: give the chains back for the next burst */
		vq->last_avail_idx -= b.nheads;
		*avail += b.nheads;
		return TX_NO_ROOM;
	}

	vhd_net_hdr_write(&hdr, pkt->net, b.nheads);
	scatter(&b, &iov_i, &iov_off, (const uint8_t *)&hdr, vq->hdr_len);
	for (h = 0; h < pkt->n; h++)
		scatter(&b, &iov_i, &iov_off, pkt->addr[h], pkt->len[h]);
	for (h = 0; h < b.nheads; h++)
		used_ring_put(vq, (*used_idx)++, b.heads[h], b.written[h]);
	vq->stats.packets++;
	vq->stats.bytes += pkt->total;
	return TX_SENT;
}

/*
 * The common case first: the next chain is one writable descriptor in one
 * region with room for header and frame. Anything else takes the general
 * path, which reads the descriptor again and checks everything on its copy.
 */
static __rte_always_inline enum tx_result
tx_one(struct vhd_virtq *vq, const struct pkt_pieces *pkt, int *avail, uint16_t *used_idx,
       const uint16_t hdr_len, const bool mtu)
{
	const uint16_t special = VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT;
	uint32_t need = hdr_len + pkt->total;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	struct vring_desc d;
	uint16_t head;
	uint8_t *dst;
	uint64_t len;

	if (unlikely(*avail == 0))
		return TX_NO_ROOM;
	head = avail_head(vq, vq->last_avail_idx);
	if (unlikely(head >= vq->size))
		goto slow;
	desc_load(&vq->desc[head], &d);
	/* the slow path checks the MTU */
	if (unlikely((d.flags & special) || !(d.flags & VRING_DESC_F_WRITE) || d.len < need ||
		     (mtu && pkt->total > vq->max_frame)))
		goto slow;
	/* the whole descriptor must be sound, not only the part we fill */
	len = d.len;
	dst = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, d.addr, &len);
	if (unlikely(dst == NULL || len != d.len))
		goto slow;

	vhd_net_hdr_write(&hdr, pkt->net, 1);
	memcpy(dst, &hdr, hdr_len);
	pieces_copy(dst + hdr_len, pkt);
	used_ring_put(vq, (*used_idx)++, head, need);
	vq->last_avail_idx++;
	(*avail)--;
	vq->stats.packets++;
	vq->stats.bytes += pkt->total;
	return TX_SENT;
slow:
	return tx_one_slow(vq, pkt, avail, used_idx);
}

/* tx_one at the burst's position, for the offload helpers (virtq_common.h) */
struct tx_position {
	int *avail;
	uint16_t *used_idx;
};

static enum tx_result
tx_one_at(struct vhd_virtq *vq, const struct pkt_pieces *pkt, void *ctx)
{
	struct tx_position *at = ctx;

	return tx_one(vq, pkt, at->avail, at->used_idx, vq->hdr_len, true);
}

/* An mbuf with checksum or segmentation requests, off the fast path. */
static enum tx_result __rte_noinline
tx_offloaded(struct vhd_virtq *vq, const struct rte_mbuf *m, int *avail, uint16_t *used_idx)
{
	struct tx_position at = {avail, used_idx};

	return tx_mbuf_offloaded(vq, m, tx_one_at, &at);
}

static __rte_always_inline uint16_t
tx_burst(struct vhd_virtq *vq, struct rte_mbuf **pkts, uint16_t count, const uint16_t hdr_len,
	 const bool mtu)
{
	uint16_t used_idx = vq->last_used_idx;
	uint16_t sent = 0, dropped = 0;
	uint32_t fill[VHD_BURST_MAX];
	struct pkt_pieces pc;
	int avail;
	uint16_t i, n;

	avail = avail_count(vq);
	if (avail < 0)
		return 0;
	n = RTE_MIN(count, (uint16_t)RTE_MIN(avail, VHD_BURST_MAX));
	for (i = 0; i < n; i++)
		fill[i] = pkts[i]->pkt_len + hdr_len;
	prefetch_rx_buffers(vq, n, fill);
	for (i = 0; i < count && avail > 0; i++) {
		enum tx_result r;

		if (unlikely(pkts[i]->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK))) {
			r = tx_offloaded(vq, pkts[i], &avail, &used_idx);
		} else if (unlikely(!mbuf_pieces(pkts[i], &pc))) {
			/* more segments than vhostd gathers: not the guest's fault */
			vq->stats.too_big++;
			dropped++;
			continue;
		} else {
			r = tx_one(vq, &pc, &avail, &used_idx, hdr_len, mtu);
		}
		if (r == TX_NO_ROOM)
			break;
		if (r == TX_SENT)
			sent++;
		else
			dropped++;
	}
	vq->stats.no_room += count - sent - dropped;
	if (used_idx != vq->last_used_idx)
		used_ring_publish(vq, used_idx);
	return sent;
}

static __rte_always_inline uint16_t
forward_burst(struct vhd_virtq *from, struct vhd_virtq *to, uint16_t count,
	      const uint16_t from_hdr_len, const uint16_t to_hdr_len, const bool mtu,
	      const bool offload)
{
	uint16_t from_used = from->last_used_idx, to_used = to->last_used_idx;
	uint16_t i, n, received = 0;
	uint16_t heads[VHD_BURST_MAX];
	uint32_t fill[VHD_BURST_MAX];
	uint8_t tso_head[VHD_NET_SEG_HDR_MAX];
	struct pkt_pieces pc, checked;
	int avail, room;

	avail = avail_count(from);
	if (avail <= 0)
		return 0;
	/* a destination with a broken ring just has no room */
	room = RTE_MAX(avail_count(to), 0);
	n = RTE_MIN((uint16_t)avail, RTE_MIN(count, (uint16_t)VHD_BURST_MAX));
	/* each destination buffer takes about what its source chain holds */
	prefetch_sources(from, n, from_hdr_len, heads, fill);
	prefetch_rx_buffers(to, RTE_MIN(n, (uint16_t)room), fill);

	for (i = 0; i < n; i++) {
		uint16_t head = heads[i];
		int rc = chain_gather_frame(from, head, &pc, from_hdr_len, offload);
		const struct pkt_pieces *send = &pc;

		/*
		 * The header goes on as it is (vhd_net_offloads_fit: to takes
		 * what from sends), once checked against the frame; a guest's
		 * claim that the data is valid is not passed on.
		 */
		if (offload && rc == 0 && unlikely(pc.net->flags | pc.net->gso_type)) {
			int hrc = vhd_net_hdr_check(&pc.hdr_copy, pc.total, from->features);

			rc = hrc == 0 ? 0 : RC_HDR(hrc);
			pc.hdr_copy.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
			if (rc == 0 && pc.hdr_copy.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
				rc = forward_tso_check(&pc, tso_head, &checked);
				send = &checked;
			}
		}
		if (likely(rc == 0)) {
			received++;
			from->stats.bytes += pc.total;
			/* the source chain is completed only after this copy */
			if (tx_one(to, send, &room, &to_used, to_hdr_len, mtu) == TX_NO_ROOM)
				to->stats.no_room++;
		} else {
			count_refused(from, rc);
		}
		used_ring_put(from, from_used++, head, 0);
	}
	from->last_avail_idx += n;
	from->stats.packets += received;
	if (to_used != to->last_used_idx)
		used_ring_publish(to, to_used);
	used_ring_publish(from, from_used);
	return received;
}

/* The entry points: the burst variants a device's header and MTU pick. */
VIRTQ_LAYOUT_BURSTS(split)

static void
split_positions(const struct vhd_virtq *vq, uint16_t *avail_idx, uint16_t *used_idx)
{
	*avail_idx = vq->last_avail_idx;
	*used_idx = vq->last_used_idx;
}

const struct vhd_virtq_layout vhd_split_layout = {
	.name = "split",
	.init = split_init,
	.rx_burst = split_rx_burst,
	.tx_burst = split_tx_burst,
	.forward_burst = split_forward_burst,
	.positions = split_positions,
};
