/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packed-ring layout (virtio 1.1 section 2.7): one descriptor ring that
 * the driver and the device both write, availability and use told by each
 * descriptor's AVAIL/USED bits against the two sides' wrap counters, and the
 * event areas for notifications. Same bursts, fast paths and security model
 * as the split layout (virtq_split.c); layout-neutral pieces are in
 * virtq_common.h; virtq.c calls them through vhd_packed_layout.
 *
 * Ring positions are slots (< size, which need not be a power of two) with a
 * wrap counter each, vq->avail_wrap and vq->used_wrap; librte_vhost's vring
 * base carries the counter in bit 15 (vhd_virtq_init decodes it,
 * vhd_virtq_positions encodes it back). A buffer is a chain of descriptors in
 * consecutive slots (wrapping at the ring's end) linked by NEXT, or one
 * descriptor pointing to an indirect table; its id is in its last ring
 * descriptor. Only a buffer's first descriptor is checked for availability;
 * the ones after it are taken on the NEXT flags alone, as librte_vhost does
 * (a chain is bounded by the ring size all the same). Buffers are completed
 * in order, so the used descriptor of a buffer goes to the slot of its first
 * descriptor, and the next one follows after as many slots as the buffer
 * took.
 *
 * Security model: everything read from guest memory (descriptors, indirect
 * tables, the driver's event area) may be garbage or may change while we read
 * it. A descriptor's flags are loaded first, with acquire, then its other
 * fields; each field is loaded once into a local, checked, and only the local
 * is used. A bad chain is returned to the guest as used with length 0 and
 * counted; it never stalls the queue (its end is found from the NEXT flags
 * alone, at most size slots on) and never makes us touch memory outside the
 * guest's regions. The one exception is peeking ahead: flags and addresses
 * read only to aim a prefetch or to size an mbuf allocation are not trusted,
 * and the walk that follows loads each descriptor again, once, and checks it.
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

#define PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_F_USED (1u << VRING_PACKED_DESC_F_USED)
/* a vring base or an event's off_wrap: the wrap counter in bit 15, the slot below */
#define PACKED_WRAP_SHIFT VRING_PACKED_EVENT_F_WRAP_CTR
#define PACKED_SLOT_MASK ((1u << PACKED_WRAP_SHIFT) - 1)

int
vhd_virtq_packed_rings_check(const struct vhd_mem_table *mem, const struct vring_packed_desc *desc,
			     const struct vring_packed_desc_event *driver_event,
			     const struct vring_packed_desc_event *device_event, uint16_t size)
{
	if (desc == NULL || driver_event == NULL || device_event == NULL || mem == NULL)
		return -EINVAL;
	/* any size: a packed ring need not be a power of two */
	if (size == 0 || size > VHD_VIRTQ_SIZE_MAX)
		return -EINVAL;
	/* alignments of virtio 1.1 section 2.7.10.2 */
	if (((uintptr_t)desc & 15) || ((uintptr_t)driver_event & 3) ||
	    ((uintptr_t)device_event & 3))
		return -EINVAL;
	if (!vhd_mem_host_range_ok(mem, desc, (uint64_t)size * sizeof(*desc)) ||
	    !vhd_mem_host_range_ok(mem, driver_event, sizeof(*driver_event)) ||
	    !vhd_mem_host_range_ok(mem, device_event, sizeof(*device_event)))
		return -EINVAL;
	return 0;
}

bool
vhd_virtq_packed_ring_position(const struct vring_packed_desc *desc, uint16_t size,
			       uint16_t *base)
{
	uint16_t first, s, k;

	if (desc == NULL || size == 0 || size > VHD_VIRTQ_SIZE_MAX)
		return false;
	/*
	 * At rest, with one descriptor per buffer, the slots before the
	 * device's position carry USED at its lap's wrap counter (a used
	 * descriptor, or a buffer the driver made available for the next
	 * lap) and the slots from it on carry the other value (used in the
	 * previous lap, or available in this one). One change of the bit,
	 * or none, is such a ring; anything else (buffers over several
	 * slots, a driver at work) is not read.
	 */
	first = __atomic_load_n(&desc[0].flags, __ATOMIC_ACQUIRE) & PACKED_F_USED;
	for (k = 1; k < size; k++)
		if ((__atomic_load_n(&desc[k].flags, __ATOMIC_ACQUIRE) & PACKED_F_USED) != first)
			break;
	for (s = k; s < size; s++)
		if ((__atomic_load_n(&desc[s].flags, __ATOMIC_ACQUIRE) & PACKED_F_USED) == first)
			return false;
	/* no change: every slot is from the other lap, so the device is at slot 0 of this one */
	if (k == size)
		*base = first ? 0 : (uint16_t)(1u << PACKED_WRAP_SHIFT);
	else
		*base = k | (uint16_t)(first ? 1u << PACKED_WRAP_SHIFT : 0);
	return true;
}

/*
 * The AVAIL/USED bits of a descriptor the driver made available in the lap of
 * wrap counter wrap: AVAIL alone in a lap of wrap counter 1, USED alone in the
 * other (bit 15 >> 8: bit 7). vq->avail_bits keeps them for vq->avail_wrap.
 */
static __rte_always_inline uint16_t
avail_bits(bool wrap)
{
	return (uint16_t)(PACKED_F_USED >> ((unsigned int)wrap << 3));
}

/* Those of a used descriptor: both set to the used wrap counter (vq->used_flags). */
static __rte_always_inline uint16_t
used_flags(bool wrap)
{
	return (uint16_t)(-(uint16_t)wrap & (PACKED_F_AVAIL | PACKED_F_USED));
}

static int
packed_init(struct vhd_virtq *vq)
{
	uint16_t avail = vq->last_avail_idx, used = vq->last_used_idx;

	if (vq->desc_packed == NULL || vq->driver_event == NULL || vq->device_event == NULL)
		return -EINVAL;
	if (vq->size == 0 || vq->size > VHD_VIRTQ_SIZE_MAX)
		return -EINVAL;
	/* the vring base: a slot past the ring is no position */
	if ((avail & PACKED_SLOT_MASK) >= vq->size || (used & PACKED_SLOT_MASK) >= vq->size)
		return -EINVAL;
	vq->last_avail_idx = avail & PACKED_SLOT_MASK;
	vq->avail_wrap = avail >> PACKED_WRAP_SHIFT;
	vq->last_used_idx = used & PACKED_SLOT_MASK;
	vq->used_wrap = used >> PACKED_WRAP_SHIFT;
	vq->avail_bits = avail_bits(vq->avail_wrap);
	vq->used_flags = used_flags(vq->used_wrap);
	vq->shadow_n = 0;
	/* we poll, so kicks would only cost the guest a VM exit */
	__atomic_store_n(&vq->device_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE,
			 __ATOMIC_RELAXED);
	return 0;
}

static void
packed_positions(const struct vhd_virtq *vq, uint16_t *avail_idx, uint16_t *used_idx)
{
	*avail_idx = vq->last_avail_idx | (uint16_t)(vq->avail_wrap ? 1u << PACKED_WRAP_SHIFT : 0);
	*used_idx = vq->last_used_idx | (uint16_t)(vq->used_wrap ? 1u << PACKED_WRAP_SHIFT : 0);
}

/*
 * Moves a position n (<= size) slots on, flipping its wrap counter past the
 * end, and with it the position's avail_bits or used_flags (bits). size is the
 * ring's, which the callers keep in a local: the ring writes through uint16_t
 * pointers would otherwise have vq->size loaded again.
 */
static __rte_always_inline void
slot_advance(const uint16_t size, uint16_t *slot, bool *wrap, uint16_t *bits, uint32_t n)
{
	uint32_t s = (uint32_t)*slot + n;

	if (unlikely(s >= size)) {
		s -= size;
		*wrap = !*wrap;
		*bits ^= PACKED_F_AVAIL | PACKED_F_USED;
	}
	*slot = (uint16_t)s;
}

/*
 * The driver made the descriptor available in the lap whose avail_bits are
 * bits (vq->avail_bits, or a local copy a loop flips where the lap ends).
 */
static __rte_always_inline bool
desc_is_avail(uint16_t flags, uint16_t bits)
{
	return (flags & (PACKED_F_AVAIL | PACKED_F_USED)) == bits;
}

/* The flags first, with acquire: the other fields are valid once they say so. */
static __rte_always_inline uint16_t
desc_flags_load(const struct vring_packed_desc *p)
{
	return __atomic_load_n(&p->flags, __ATOMIC_ACQUIRE);
}

/* The other fields, each once: the guest may rewrite them meanwhile. */
static __rte_always_inline void
desc_body_load(const struct vring_packed_desc *p, struct vring_packed_desc *d)
{
	d->addr = __atomic_load_n(&p->addr, __ATOMIC_RELAXED);
	d->len = __atomic_load_n(&p->len, __ATOMIC_RELAXED);
	d->id = __atomic_load_n(&p->id, __ATOMIC_RELAXED);
}

/*
 * Walks one buffer from vq's next avail slot: the ring descriptors, or the
 * entries of the one indirect table its only descriptor points to. How many
 * ring slots it took and its id are what the caller completes it with; the
 * caller's position moves (by those slots) only then.
 */
struct chain_walk {
	const struct vring_packed_desc *table; /* indirect table, NULL in the ring */
	uint32_t table_size;
	uint32_t table_idx;
	uint16_t slot;       /* ring slot of the next ring descriptor */
	bool ring_done;      /* the last ring descriptor (no NEXT) was taken */
	uint16_t ndesc;      /* ring descriptors taken */
	uint16_t id;         /* of the last ring descriptor taken */
	uint16_t head_flags; /* the first one's, which the caller loaded */
	uint16_t size;       /* the ring's */
};

static __rte_always_inline void
chain_start(const struct vhd_virtq *vq, uint16_t head_flags, struct chain_walk *w)
{
	w->table = NULL;
	w->slot = vq->last_avail_idx;
	w->ring_done = false;
	w->ndesc = 0;
	w->id = 0;
	w->head_flags = head_flags;
	w->size = vq->size;
}

/* Out-of-line: indirect tables are the rare case for small packets. */
static int __rte_noinline
chain_enter_indirect(struct vhd_virtq *vq, struct chain_walk *w, struct vring_packed_desc *d)
{
	const void *table;
	int rc;

	/* a buffer is one indirect descriptor or a chain, never both (2.7.7) */
	if (!(vq->flags & VHD_VQ_F_INDIRECT) || w->ndesc != 1 || (d->flags & VRING_DESC_F_NEXT))
		return -VHD_DESC_ERR_INDIRECT - 1;
	RTE_BUILD_BUG_ON(sizeof(struct vring_packed_desc) != 16);
	table = indirect_table_map(vq, d->addr, d->len, &rc);
	if (table == NULL)
		return rc;

	w->table = table;
	w->table_size = d->len / sizeof(struct vring_packed_desc);
	w->table_idx = 1;
	/* the table's descriptors follow one another: NEXT and id mean nothing there */
	d->flags = desc_flags_load(&w->table[0]);
	desc_body_load(&w->table[0], d);
	if (d->flags & VRING_DESC_F_INDIRECT)
		return -VHD_DESC_ERR_INDIRECT - 1; /* nested */
	return 0;
}

/*
 * Returns 1 with *d filled (addr, len, flags), 0 at the end of the buffer, or
 * -(error + 1). Every descriptor returned has a nonzero length whose end does
 * not wrap.
 */
static __rte_always_inline int
chain_next(struct vhd_virtq *vq, struct chain_walk *w, struct vring_packed_desc *d)
{
	const struct vring_packed_desc *p;
	int rc;

	if (w->table != NULL) {
		if (w->table_idx == w->table_size)
			return 0;
		p = &w->table[w->table_idx++];
		d->flags = desc_flags_load(p);
		desc_body_load(p, d);
		if (unlikely(d->flags & VRING_DESC_F_INDIRECT))
			return -VHD_DESC_ERR_INDIRECT - 1; /* nested */
	} else {
		if (w->ring_done)
			return 0;
		/* a chain can take each slot once: more is longer than the ring */
		if (unlikely(w->ndesc == w->size))
			return -VHD_DESC_ERR_CHAIN - 1;
		p = &vq->desc_packed[w->slot];
		d->flags = w->ndesc == 0 ? w->head_flags : desc_flags_load(p);
		desc_body_load(p, d);
		w->id = d->id;
		w->ndesc++;
		if (++w->slot == w->size)
			w->slot = 0;
		if (!(d->flags & VRING_DESC_F_NEXT))
			w->ring_done = true;
		if (unlikely(d->flags & VRING_DESC_F_INDIRECT)) {
			rc = chain_enter_indirect(vq, w, d);
			if (rc < 0)
				return rc;
		}
	}
	if (unlikely(d->len == 0))
		return -VHD_DESC_ERR_LEN - 1;
	if (unlikely(d->addr + d->len < d->addr))
		return -VHD_DESC_ERR_ADDR - 1;
	return 1;
}

/*
 * Takes the rest of a buffer's ring descriptors without using them (a bad
 * buffer, or the part of a receive buffer a packet does not need): only their
 * flags and id are loaded, to find where the buffer ends. Returns false when
 * it does not end within size slots.
 */
static bool __rte_noinline
chain_skip_rest(struct vhd_virtq *vq, struct chain_walk *w)
{
	const uint16_t size = vq->size;

	while (!w->ring_done && w->ndesc < size) {
		const struct vring_packed_desc *p = &vq->desc_packed[w->slot];
		uint16_t flags = desc_flags_load(p);

		w->id = __atomic_load_n(&p->id, __ATOMIC_RELAXED);
		w->ndesc++;
		if (++w->slot == size)
			w->slot = 0;
		if (!(flags & VRING_DESC_F_NEXT))
			w->ring_done = true;
	}
	return w->ring_done;
}

/*
 * The buffer walked is the queue's now: its next avail slot is past it, the
 * ndesc (<= size) slots it took on (where the walk's own position stands).
 */
static __rte_always_inline void
chain_commit(struct vhd_virtq *vq, const uint16_t size, const struct chain_walk *w)
{
	slot_advance(size, &vq->last_avail_idx, &vq->avail_wrap, &vq->avail_bits, w->ndesc);
}

/*
 * Writes the used descriptor of buffer id, which took ndesc ring slots and
 * got len bytes. The burst's first one stays invisible to the driver until
 * used_publish stores its flags; the others are complete at once (release:
 * id and len before the flags that hand them over), but the driver reads
 * used descriptors in ring order, so it sees the burst as one. write is
 * VRING_DESC_F_WRITE if len is not 0, else 0 (used_put works it out; a caller
 * that knows it passes a constant).
 */
static __rte_always_inline void
used_put_write(struct vhd_virtq *vq, const uint16_t size, uint16_t id, uint32_t len,
	       uint16_t write, uint16_t ndesc)
{
	struct vring_packed_desc *d = &vq->desc_packed[vq->last_used_idx];
	uint16_t flags = vq->used_flags | write;

	__atomic_store_n(&d->id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
	/* shadow_n: 1 once the burst has its first, whose flags wait for the publish */
	if (unlikely(vq->shadow_n == 0)) {
		vq->shadow_n = 1;
		vq->shadow_idx = vq->last_used_idx;
		vq->shadow_wrap = vq->used_wrap;
		vq->shadow_flags = flags;
	} else {
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
	}
	slot_advance(size, &vq->last_used_idx, &vq->used_wrap, &vq->used_flags, ndesc);
}

static __rte_always_inline void
used_put(struct vhd_virtq *vq, const uint16_t size, uint16_t id, uint32_t len, uint16_t ndesc)
{
	used_put_write(vq, size, id, len, len != 0 ? VRING_DESC_F_WRITE : 0, ndesc);
}

/*
 * Whether the driver's event position (off_wrap, DESC mode) lies among the
 * used slots just published, from (old_slot, old_wrap) up to the queue's
 * used position: vring_need_event with the wrap counters. Positions count
 * over two laps (mod 2 * size), where the wrap counter tells the laps apart.
 */
static __rte_always_inline bool
used_event_crossed(const struct vhd_virtq *vq, uint16_t old_slot, bool old_wrap,
		   uint16_t off_wrap)
{
	const uint32_t size = vq->size, laps = 2 * size;
	uint32_t ev_slot = off_wrap & PACKED_SLOT_MASK;
	uint32_t old = old_slot + (old_wrap ? 0 : size);
	uint32_t now = vq->last_used_idx + (vq->used_wrap ? 0 : size);
	uint32_t ev = ev_slot + ((off_wrap >> PACKED_WRAP_SHIFT) ? 0 : size);
	uint32_t published = now >= old ? now - old : now + laps - old;
	uint32_t dist = ev >= old ? ev - old : ev + laps - old;

	/* a position past the ring means nothing: rather one interrupt too many */
	if (unlikely(ev_slot >= size || published == 0))
		return true;
	return dist < published;
}

/*
 * Makes the burst's used descriptors visible and interrupts the guest if it
 * asked for it (its event area: enabled, or the position it named crossed).
 */
static __rte_always_inline void
used_publish(struct vhd_virtq *vq)
{
	uint16_t old_slot = vq->shadow_idx;
	bool old_wrap = vq->shadow_wrap;
	uint16_t event_flags;

	if (vq->shadow_n == 0)
		return;
	/* release: every used descriptor of the burst before the first one's flags */
	__atomic_store_n(&vq->desc_packed[old_slot].flags, vq->shadow_flags, __ATOMIC_RELEASE);
	vq->shadow_n = 0;
	/*
	 * Full barrier: the flags store must be visible before we read the
	 * driver's event area, or a driver that just re-enabled interrupts
	 * is missed.
	 */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	event_flags = __atomic_load_n(&vq->driver_event->flags, __ATOMIC_RELAXED);
	if (event_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return;
	/* DESC is only valid with EVENT_IDX; anything else the guest wrote means enabled */
	if (event_flags == VRING_PACKED_EVENT_FLAG_DESC && (vq->flags & VHD_VQ_F_EVENT_IDX) &&
	    !used_event_crossed(vq, old_slot, old_wrap,
				__atomic_load_n(&vq->driver_event->off_wrap, __ATOMIC_RELAXED)))
		return;
	virtq_interrupt(vq);
}

/*
 * Peeking (virtq_common.h, prefetching): flags and addresses read here only
 * aim prefetches or size an allocation; they are not trusted.
 *
 * Counts the slots available from the next avail one on, up to n (the
 * buffers there, if each is one descriptor: an upper bound on the chains),
 * and starts loading the first line of each frame past the virtio-net
 * header. Unless len is NULL, notes each descriptor's length in len[], which
 * sizes the destination prefetch of a forward.
 */
static __rte_always_inline uint16_t
peek_sources(struct vhd_virtq *vq, uint16_t n, const uint16_t hdr_len, uint32_t *len)
{
	const struct vring_packed_desc *desc = vq->desc_packed, *end = desc + vq->size;
	const struct vring_packed_desc *d = &desc[vq->last_avail_idx];
	uint16_t bits = vq->avail_bits;
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (!desc_is_avail(__atomic_load_n(&d->flags, __ATOMIC_RELAXED), bits))
			break;
		prefetch_guest_line(vq, d->addr + hdr_len);
		if (len != NULL)
			len[i] = d->len;
		if (unlikely(++d == end)) {
			d = desc;
			bits ^= PACKED_F_AVAIL | PACKED_F_USED;
		}
	}
	return i;
}

/*
 * For the next n (<= VHD_BURST_MAX) receive buffers of vq, about to take
 * fill_len[i] bytes each: every line to be written is fetched for writing
 * (a guest's receive buffer is usually cold).
 */
static __rte_always_inline void
prefetch_rx_buffers(struct vhd_virtq *vq, uint16_t n, const uint32_t *fill_len)
{
	const struct vring_packed_desc *desc = vq->desc_packed, *end = desc + vq->size;
	const struct vring_packed_desc *d = &desc[vq->last_avail_idx];
	uint16_t bits = vq->avail_bits;
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (!desc_is_avail(__atomic_load_n(&d->flags, __ATOMIC_RELAXED), bits))
			break;
		prefetch_guest_write(vq, d->addr, fill_len[i]);
		if (unlikely(++d == end)) {
			d = desc;
			bits ^= PACKED_F_AVAIL | PACKED_F_USED;
		}
	}
}

/*
 * Records where the frame of one guest-transmitted buffer lies, skipping the
 * virtio-net header (which may span descriptors). Each descriptor is read once
 * and checked; nothing is copied. Returns 0, -(error + 1), or RC_TOO_BIG for a
 * frame over VHD_MAX_FRAME_LEN or PIECES_MAX pieces; w is past the buffer
 * whatever the result.
 */
static int __rte_noinline
chain_gather_frame_slow(struct vhd_virtq *vq, uint16_t head_flags, struct chain_walk *w,
			struct pkt_pieces *pc)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint32_t hdr_left = vq->hdr_len;
	struct vring_packed_desc d;
	int rc;

	pc->n = 0;
	pc->total = 0;
	chain_start(vq, head_flags, w);
	while ((rc = chain_next(vq, w, &d)) > 0) {
		uint64_t gpa = d.addr;
		uint64_t left = d.len;

		if (unlikely(d.flags & VRING_DESC_F_WRITE)) {
			rc = -VHD_DESC_ERR_DIRECTION - 1;
			goto bad;
		}
		while (left > 0) {
			uint64_t chunk = left;
			const uint8_t *src = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, gpa, &chunk);

			if (unlikely(src == NULL)) {
				rc = -VHD_DESC_ERR_ADDR - 1;
				goto bad;
			}
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
			if (unlikely(pc->total + chunk > VHD_MAX_FRAME_LEN ||
				     pc->n == PIECES_MAX)) {
				rc = RC_TOO_BIG;
				goto bad;
			}
			pc->addr[pc->n] = src;
			pc->len[pc->n] = chunk;
			pc->n++;
			pc->total += chunk;
		}
	}
	if (rc < 0)
		goto bad;
	if (unlikely(hdr_left > 0 || pc->total < MIN_FRAME_LEN)) {
		rc = -VHD_DESC_ERR_LEN - 1;
		goto bad;
	}
	/* without offloads negotiated, what the guest wrote there means nothing */
	if (vq->flags & VHD_VQ_F_OFFLOAD) {
		pc->hdr_copy = hdr.hdr;
		pc->net = &pc->hdr_copy;
	} else {
		pc->net = &vhd_net_hdr_none;
	}
	return 0;
bad:
	chain_skip_rest(vq, w);
	return rc;
}

/*
 * The common case first: header and frame in one read-only descriptor inside
 * one region. Anything else, valid or not, takes the general walk, which
 * reads the descriptor again and checks everything on its own copy.
 * head_flags are the buffer's first descriptor's, loaded by the caller, who
 * found it available. hdr_len and offload as in virtq_split.c.
 */
static __rte_always_inline int
chain_gather_frame(struct vhd_virtq *vq, uint16_t head_flags, struct chain_walk *w,
		   struct pkt_pieces *pc, const uint16_t hdr_len, const bool offload)
{
	const uint16_t special = VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE;
	struct vring_packed_desc d;
	struct chain_walk slow;
	int rc;

	if (likely(!(head_flags & special))) {
		desc_body_load(&vq->desc_packed[vq->last_avail_idx], &d);
		if (likely(frame_in_one_buffer(vq, d.addr, d.len, hdr_len, offload, pc))) {
			/* chain_commit moves the queue's position on by ndesc */
			w->ndesc = 1;
			w->id = d.id;
			return 0;
		}

	}
	/* a walk of its own: the caller's w, whose address does not escape, stays in registers */
	rc = chain_gather_frame_slow(vq, head_flags, &slow, pc);
	w->ndesc = slow.ndesc;
	w->id = slow.id;
	return rc;
}

/* Copies one guest-transmitted buffer into m (and more mbufs of mp if it is big). */
static __rte_always_inline int
chain_to_mbuf(struct vhd_virtq *vq, uint16_t head_flags, struct chain_walk *w,
	      struct rte_mbuf *m, struct rte_mempool *mp, const uint16_t hdr_len,
	      const bool offload)
{
	struct pkt_pieces pc;
	int rc;

	rc = chain_gather_frame(vq, head_flags, w, &pc, hdr_len, offload);
	if (unlikely(rc < 0))
		return rc;
	rc = pieces_to_mbuf(&pc, m, mp);
	if (offload && rc == 0 && unlikely(pc.net->flags | pc.net->gso_type))
		rc = mbuf_take_offloads(vq, pc.net, m);
	return rc;
}

static __rte_always_inline uint16_t
rx_burst(struct vhd_virtq *vq, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t count,
	 const uint16_t hdr_len, const bool offload)
{
	const uint16_t size = vq->size;
	uint64_t bytes = 0;
	uint16_t npkts = 0;
	uint16_t i, n;

	n = peek_sources(vq, RTE_MIN(count, (uint16_t)VHD_BURST_MAX), hdr_len, NULL);
	/* count 0 too: the mempool refuses a 0-mbuf bulk, which is no shortage */
	if (n == 0)
		return 0;
	if (unlikely(vhd_mbuf_alloc_bulk(mp, pkts, n) != 0)) {
		vq->stats.no_mbuf++;
		return 0;
	}

	for (i = 0; i < n; i++) {
		uint16_t head_flags = desc_flags_load(&vq->desc_packed[vq->last_avail_idx]);
		struct chain_walk w;
		int rc;

		/* the peek counted slots: chains of several end the burst earlier */
		if (!desc_is_avail(head_flags, vq->avail_bits))
			break;
		rc = chain_to_mbuf(vq, head_flags, &w, pkts[npkts], mp, hdr_len, offload);
		if (likely(rc == 0)) {
			bytes += pkts[npkts]->pkt_len;
			npkts++;
		} else if (unlikely(rc == RC_NO_MBUF)) {
			/* a big frame's extra mbufs: the chain stays for the next poll */
			vq->stats.no_mbuf++;
			break;
		} else {
			count_refused(vq, rc);
		}
		/* transmit buffers are read-only for us: used length is 0 */
		used_put(vq, size, w.id, 0, w.ndesc);
		chain_commit(vq, size, &w);
	}
	vq->stats.packets += npkts;
	vq->stats.bytes += bytes;
	if (npkts < n)
		vhd_mbuf_free_bulk(&pkts[npkts], n - npkts);
	used_publish(vq);
	return npkts;
}

/*
 * Adds the writable buffers of the receive buffer at vq's next avail slot
 * until the gathered capacity reaches need, then takes the rest of its ring
 * descriptors unused; vq's position moves past it and *ndesc gets the slots it
 * took. Returns 0, -(error + 1), or RC_TOO_BIG when the pieces would exceed
 * what b holds.
 */
static int
gather_chain(struct vhd_virtq *vq, uint16_t head_flags, struct tx_buffers *b, uint64_t need,
	     uint16_t *ndesc)
{
	uint16_t slot = b->nheads++;
	struct chain_walk w;
	struct vring_packed_desc d;
	int rc = 0;

	b->written[slot] = 0;
	chain_start(vq, head_flags, &w);
	while (b->capacity < need && (rc = chain_next(vq, &w, &d)) > 0) {
		uint64_t gpa = d.addr;
		uint64_t left = d.len;

		if (unlikely(!(d.flags & VRING_DESC_F_WRITE))) {
			rc = -VHD_DESC_ERR_DIRECTION - 1;
			break;
		}
		while (left > 0 && b->capacity < need) {
			uint64_t chunk = left;
			uint8_t *p = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, gpa, &chunk);

			if (unlikely(p == NULL)) {
				rc = -VHD_DESC_ERR_ADDR - 1;
				goto out;
			}
			if (unlikely(b->niov == TX_IOV_MAX)) {
				rc = RC_TOO_BIG;
				goto out;
			}
			b->iov[b->niov].addr = p;
			b->iov[b->niov].len = chunk;
			b->iov[b->niov].head_slot = slot;
			b->niov++;
			b->capacity += chunk;
			gpa += chunk;
			left -= chunk;
		}
	}
out:
	if (!chain_skip_rest(vq, &w) && rc >= 0)
		rc = -VHD_DESC_ERR_CHAIN - 1;
	b->heads[slot] = w.id;
	ndesc[slot] = w.ndesc;
	chain_commit(vq, w.size, &w);
	return rc < 0 ? rc : 0;
}

/*
 * Copies one packet into the guest's receive buffers: one buffer, or several
 * with MRG_RXBUF. head_flags are those of the buffer at vq's next avail slot,
 * found available. With no room nothing is consumed; a bad buffer drops the
 * packet and hands every buffer it took back empty (counted). A packet the
 * buffers cannot hold (one too small without MRG_RXBUF, or more than
 * TX_HEADS_MAX buffers / TX_IOV_MAX pieces) is dropped as too_big and the
 * buffers stay for the next packet: they broke no rule.
 */
static enum tx_result __rte_noinline
tx_one_slow(struct vhd_virtq *vq, const struct pkt_pieces *pkt, uint16_t head_flags)
{
	const bool mergeable = vq->flags & VHD_VQ_F_MRG_RXBUF;
	const uint16_t size = vq->size;
	const uint16_t start_slot = vq->last_avail_idx;
	const bool start_wrap = vq->avail_wrap;
	const uint16_t start_bits = vq->avail_bits;
	uint64_t need = vq->hdr_len + (uint64_t)pkt->total;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint32_t iov_i = 0, iov_off = 0;
	uint16_t ndesc[TX_HEADS_MAX];
	struct tx_buffers b;
	int rc = 0;
	uint16_t h;

	/* over the guest's MTU (a TSO frame's segments are not): dropped */
	if (unlikely(pkt->total > vq->max_frame && pkt->net->gso_type == VIRTIO_NET_HDR_GSO_NONE)) {
		vq->stats.too_big++;
		return TX_TOO_BIG;
	}
	b.niov = 0;
	b.nheads = 0;
	b.capacity = 0;
	for (;;) {
		if (unlikely(b.nheads == TX_HEADS_MAX)) {
			rc = RC_TOO_BIG;
			break;
		}
		rc = gather_chain(vq, head_flags, &b, need, ndesc);
		if (rc < 0 || !mergeable || b.capacity >= need)
			break;
		head_flags = desc_flags_load(&vq->desc_packed[vq->last_avail_idx]);
		if (!desc_is_avail(head_flags, vq->avail_bits))
			break;
	}
	if (unlikely(rc == RC_TOO_BIG || (rc == 0 && !mergeable && b.capacity < need))) {
		vq->last_avail_idx = start_slot;
		vq->avail_wrap = start_wrap;
		vq->avail_bits = start_bits;
		vq->stats.too_big++;
		return TX_TOO_BIG;
	}
	if (unlikely(rc < 0)) {
		vq->stats.errors[-rc - 1]++;
		for (h = 0; h < b.nheads; h++)
			used_put(vq, size, b.heads[h], 0, ndesc[h]);
		return TX_BAD_CHAIN;
	}
	if (b.capacity < need) {
		/* out of buffers: give them back for the next burst */
		vq->last_avail_idx = start_slot;
		vq->avail_wrap = start_wrap;
		vq->avail_bits = start_bits;
		return TX_NO_ROOM;
	}

	vhd_net_hdr_write(&hdr, pkt->net, b.nheads);
	scatter(&b, &iov_i, &iov_off, (const uint8_t *)&hdr, vq->hdr_len);
	for (h = 0; h < pkt->n; h++)
		scatter(&b, &iov_i, &iov_off, pkt->addr[h], pkt->len[h]);
	for (h = 0; h < b.nheads; h++)
		used_put(vq, size, b.heads[h], b.written[h], ndesc[h]);
	vq->stats.packets++;
	vq->stats.bytes += pkt->total;
	return TX_SENT;
}

/*
 * The common case first: the next buffer is one writable descriptor in one
 * region with room for header and frame. Anything else takes the general
 * path, which reads the descriptor again and checks everything on its copy.
 */
static __rte_always_inline enum tx_result
tx_one(struct vhd_virtq *vq, const uint16_t size, const struct pkt_pieces *pkt,
       const uint16_t hdr_len, const bool mtu)
{
	const uint16_t special = VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT;
	const struct vring_packed_desc *p = &vq->desc_packed[vq->last_avail_idx];
	uint32_t need = hdr_len + pkt->total;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	struct vring_packed_desc d;
	uint16_t flags;
	uint8_t *dst;
	uint64_t len;

	flags = desc_flags_load(p);
	if (unlikely(!desc_is_avail(flags, vq->avail_bits)))
		return TX_NO_ROOM;
	/* the slow path checks the MTU */
	if (unlikely((flags & special) || !(flags & VRING_DESC_F_WRITE) ||
		     (mtu && pkt->total > vq->max_frame)))
		goto slow;
	desc_body_load(p, &d);
	if (unlikely(d.len < need))
		goto slow;
	/* the whole descriptor must be sound, not only the part we fill */
	len = d.len;
	dst = vhd_gpa_to_hva(vq->mem, &vq->mem_hint, d.addr, &len);
	if (unlikely(dst == NULL || len != d.len))
		goto slow;

	vhd_net_hdr_write(&hdr, pkt->net, 1);
	memcpy(dst, &hdr, hdr_len);
	pieces_copy(dst + hdr_len, pkt);
	/* need is at least the header */
	used_put_write(vq, size, d.id, need, VRING_DESC_F_WRITE, 1);
	slot_advance(size, &vq->last_avail_idx, &vq->avail_wrap, &vq->avail_bits, 1);
	vq->stats.packets++;
	vq->stats.bytes += pkt->total;
	return TX_SENT;
slow:
	return tx_one_slow(vq, pkt, flags);
}

/* tx_one for the offload helpers (virtq_common.h): the ring holds the position */
static enum tx_result
tx_one_any(struct vhd_virtq *vq, const struct pkt_pieces *pkt, void *ctx)
{
	(void)ctx;
	return tx_one(vq, vq->size, pkt, vq->hdr_len, true);
}

/* An mbuf with checksum or segmentation requests, off the fast path. */
static enum tx_result __rte_noinline
tx_offloaded(struct vhd_virtq *vq, const struct rte_mbuf *m)
{
	return tx_mbuf_offloaded(vq, m, tx_one_any, NULL);
}

static __rte_always_inline uint16_t
tx_burst(struct vhd_virtq *vq, struct rte_mbuf **pkts, uint16_t count, const uint16_t hdr_len,
	 const bool mtu)
{
	const uint16_t size = vq->size;
	uint16_t sent = 0, dropped = 0;
	uint32_t fill[VHD_BURST_MAX];
	struct pkt_pieces pc;
	uint16_t i, n;

	n = RTE_MIN(count, (uint16_t)VHD_BURST_MAX);
	for (i = 0; i < n; i++)
		fill[i] = pkts[i]->pkt_len + hdr_len;
	prefetch_rx_buffers(vq, n, fill);
	for (i = 0; i < count; i++) {
		enum tx_result r;

		if (unlikely(pkts[i]->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK))) {
			r = tx_offloaded(vq, pkts[i]);
		} else if (unlikely(!mbuf_pieces(pkts[i], &pc))) {
			/* more segments than vhostd gathers: not the guest's fault */
			vq->stats.too_big++;
			dropped++;
			continue;
		} else {
			r = tx_one(vq, size, &pc, hdr_len, mtu);
		}
		if (r == TX_NO_ROOM)
			break;
		if (r == TX_SENT)
			sent++;
		else
			dropped++;
	}
	vq->stats.no_room += count - sent - dropped;
	used_publish(vq);
	return sent;
}

static __rte_always_inline uint16_t
forward_burst(struct vhd_virtq *from, struct vhd_virtq *to, uint16_t count,
	      const uint16_t from_hdr_len, const uint16_t to_hdr_len, const bool mtu,
	      const bool offload)
{
	const uint16_t from_size = from->size, to_size = to->size;
	uint16_t i, n, received = 0;
	uint32_t fill[VHD_BURST_MAX];
	uint8_t tso_head[VHD_NET_SEG_HDR_MAX];
	struct pkt_pieces pc, checked;

	n = peek_sources(from, RTE_MIN(count, (uint16_t)VHD_BURST_MAX), from_hdr_len, fill);
	if (n == 0)
		return 0;
	/* each destination buffer takes about what its source descriptor holds */
	prefetch_rx_buffers(to, n, fill);

	for (i = 0; i < n; i++) {
		uint16_t head_flags = desc_flags_load(&from->desc_packed[from->last_avail_idx]);
		const struct pkt_pieces *send = &pc;
		struct chain_walk w;
		int rc;

		if (!desc_is_avail(head_flags, from->avail_bits))
			break;
		rc = chain_gather_frame(from, head_flags, &w, &pc, from_hdr_len, offload);
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
			/* the source buffer is completed only after this copy */
			if (tx_one(to, to_size, send, to_hdr_len, mtu) == TX_NO_ROOM)
				to->stats.no_room++;
		} else {
			count_refused(from, rc);
		}
		used_put(from, from_size, w.id, 0, w.ndesc);
		chain_commit(from, from_size, &w);
	}
	from->stats.packets += received;
	used_publish(to);
	used_publish(from);
	return received;
}

/* The entry points: the burst variants a device's header and MTU pick. */
VIRTQ_LAYOUT_BURSTS(packed)

const struct vhd_virtq_layout vhd_packed_layout = {
	.name = "packed",
	.init = packed_init,
	.rx_burst = packed_rx_burst,
	.tx_burst = packed_tx_burst,
	.forward_burst = packed_forward_burst,
	.positions = packed_positions,
};
