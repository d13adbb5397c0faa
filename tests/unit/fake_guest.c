/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "fake_guest.h"

struct rte_mempool *fg_pool;

static const struct {
	uint64_t gpa;
	uint64_t size;
} layout[FG_NREGIONS] = {
	[FG_R0] = {FG_R0_GPA, FG_R0_SIZE},
	[FG_R1] = {FG_R1_GPA, FG_R1_SIZE},
	[FG_R2] = {FG_R2_GPA, FG_R2_SIZE},
	[FG_R3] = {FG_R3_GPA, FG_R3_SIZE},
};

/* R2 allocations start past what straddling tests put at R1's end. */
#define FG_R2_RESERVED 0x10000

int
fg_eal_setup(void **state)
{
	char prefix[64];
	char *argv[] = {
		"vhd_unit", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry", "-m", "128",
		"--log-level=error", prefix, NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	(void)state;
	snprintf(prefix, sizeof(prefix), "--file-prefix=vhd_unit_%d", (int)getpid());
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return -1;
	}
	fg_pool = rte_pktmbuf_pool_create("fg_pool", FG_NB_MBUFS, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (fg_pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int
fg_eal_teardown(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	rte_mempool_free(fg_pool);
	fg_pool = NULL;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	/* EAL leaves its (empty) runtime directory behind */
	rmdir(dir);
	return 0;
}

void
fg_assert_no_leak(void)
{
	assert_int_equal(rte_mempool_avail_count(fg_pool), FG_NB_MBUFS);
}

/*
 * A packed ring at the start of R0: descriptors, then the driver's and the
 * device's event areas. Every slot looks used in the lap before the start
 * (slots behind the start position in this lap, the others in the previous
 * one), as a ring that has run there would.
 */
static void
fg_packed_rings(struct fake_guest *fg, uint16_t base)
{
	uint16_t start = base & 0x7fff;
	bool wrap = base >> 15;
	uint16_t i;

	assert_true(start < fg->qsize);
	fg->packed = true;
	fg->pdesc = fg_hva(fg, fg_alloc(fg, FG_R0, 16u * fg->qsize));
	fg->driver_event = fg_hva(fg, fg_alloc(fg, FG_R0, 4));
	fg->device_event = fg_hva(fg, fg_alloc(fg, FG_R0, 4));
	memset(fg->pdesc, 0, 16u * fg->qsize);
	for (i = 0; i < fg->qsize; i++) {
		bool lap = i < start ? wrap : !wrap;

		fg->pdesc[i].flags = lap ? FG_PACKED_F_AVAIL | FG_PACKED_F_USED : 0;
	}
	memset(fg->driver_event, 0, 4);
	memset(fg->device_event, 0, 4);
	fg->p_avail = start;
	fg->p_avail_wrap = wrap;
	fg->p_used = start;
	fg->p_used_wrap = wrap;
	fg->p_id_ndesc = calloc(fg->qsize, sizeof(*fg->p_id_ndesc));
	assert_non_null(fg->p_id_ndesc);

	fg->vq.desc_packed = fg->pdesc;
	fg->vq.driver_event = fg->driver_event;
	fg->vq.device_event = fg->device_event;
	fg->vq.size = fg->qsize;
	fg->vq.last_avail_idx = base;
	fg->vq.last_used_idx = base;
}

struct fake_guest *
fg_new_at(uint16_t qsize, uint64_t features, uint16_t start_idx)
{
	long page = sysconf(_SC_PAGESIZE);
	struct fake_guest *fg = calloc(1, sizeof(*fg));
	uint64_t ring;
	int i;

	assert_non_null(fg);
	for (i = 0; i < FG_NREGIONS; i++) {
		struct vhd_mem_region *r = &fg->mem.regions[i];
		uint8_t *map;

		fg->map_len[i] = layout[i].size + 2 * (size_t)page;
		map = mmap(NULL, fg->map_len[i], PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(map != MAP_FAILED);
		assert_int_equal(mprotect(map + page, layout[i].size, PROT_READ | PROT_WRITE), 0);
		memset(map + page, FG_FILL, layout[i].size);
		fg->map[i] = map;
		r->guest_phys_addr = layout[i].gpa;
		r->size = layout[i].size;
		r->host_addr = (uint64_t)(uintptr_t)(map + page);
		fg->brk[i] = layout[i].gpa;
	}
	fg->brk[FG_R2] += FG_R2_RESERVED;
	fg->mem.nregions = FG_NREGIONS;
	assert_int_equal(vhd_mem_table_check(&fg->mem), 0);

	fg->qsize = qsize;
	if (features & FG_F_PACKED) {
		fg_packed_rings(fg, start_idx);
		goto init;
	}
	/* rings at the start of R0, laid out as a legacy vring would be */
	ring = fg_alloc(fg, FG_R0, 16u * qsize);
	fg->desc = fg_hva(fg, ring);
	ring = fg_alloc(fg, FG_R0, 6u + 2u * qsize);
	fg->avail = fg_hva(fg, ring);
	ring = fg_alloc(fg, FG_R0, 6u + 8u * qsize);
	fg->used = fg_hva(fg, ring);
	memset(fg->desc, 0, 16u * qsize);
	memset(fg->avail, 0, 6u + 2u * qsize);
	memset(fg->used, 0, 6u + 8u * qsize);
	fg->avail->idx = start_idx;
	fg->used->idx = start_idx;
	fg->avail_idx = start_idx;
	fg->used_seen = start_idx;

	fg->vq.desc = fg->desc;
	fg->vq.avail = fg->avail;
	fg->vq.used = fg->used;
	fg->vq.size = qsize;
	fg->vq.last_avail_idx = start_idx;
	fg->vq.last_used_idx = start_idx;
init:
	fg->vq.callfd = -1;
	fg->callfd = -1;
	fg->vq.mem = &fg->mem;
	assert_int_equal(vhd_virtq_init(&fg->vq, features), 0);
	return fg;
}

struct fake_guest *
fg_new(uint16_t qsize, uint64_t features)
{
	return fg_new_at(qsize, features, (features & FG_F_PACKED) ? FG_PACKED_BASE(0, 1) : 0);
}

void
fg_free(struct fake_guest *fg)
{
	int i;

	if (fg == NULL)
		return;
	if (fg->callfd >= 0)
		close(fg->callfd);
	free(fg->p_id_ndesc);
	for (i = 0; i < FG_NREGIONS; i++)
		munmap(fg->map[i], fg->map_len[i]);
	free(fg);
}

static int
fg_region_of(uint64_t gpa)
{
	int i;

	for (i = 0; i < FG_NREGIONS; i++)
		if (gpa >= layout[i].gpa && gpa - layout[i].gpa < layout[i].size)
			return i;
	return -1;
}

void *
fg_hva(struct fake_guest *fg, uint64_t gpa)
{
	int i = fg_region_of(gpa);

	if (i < 0)
		fail_msg("gpa 0x%" PRIx64 " is in no region", gpa);
	return (uint8_t *)(uintptr_t)fg->mem.regions[i].host_addr + (gpa - layout[i].gpa);
}

uint64_t
fg_alloc(struct fake_guest *fg, int region, uint32_t len)
{
	uint64_t gpa = fg->brk[region];
	uint64_t end = layout[region].gpa + layout[region].size;

	if (region == FG_R1)
		end -= FG_R2_RESERVED; /* R1's tail is for straddling tests */
	if (gpa + len > end)
		fail_msg("region %d out of test memory", region);
	fg->brk[region] = RTE_ALIGN_CEIL(gpa + len, 16);
	return gpa;
}

void
fg_write(struct fake_guest *fg, uint64_t gpa, const void *src, uint32_t len)
{
	const uint8_t *s = src;
	uint32_t i;

	for (i = 0; i < len; i++)
		*(uint8_t *)fg_hva(fg, gpa + i) = s[i];
}

void
fg_read(struct fake_guest *fg, uint64_t gpa, void *dst, uint32_t len)
{
	uint8_t *d = dst;
	uint32_t i;

	for (i = 0; i < len; i++)
		d[i] = *(const uint8_t *)fg_hva(fg, gpa + i);
}

bool
fg_untouched(struct fake_guest *fg, uint64_t gpa, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (*(const uint8_t *)fg_hva(fg, gpa + i) != FG_FILL)
			return false;
	return true;
}

uint16_t
fg_desc_alloc(struct fake_guest *fg)
{
	assert_false(fg->packed);
	return fg->next_desc++ & (fg->qsize - 1);
}

void
fg_set_desc(struct fake_guest *fg, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
	    uint16_t next)
{
	assert_true(idx < fg->qsize);
	fg->desc[idx].addr = addr;
	fg->desc[idx].len = len;
	fg->desc[idx].flags = flags;
	fg->desc[idx].next = next;
}

uint16_t
fg_chain(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n, uint16_t flags)
{
	uint16_t head = fg_desc_alloc(fg);
	uint16_t cur = head;
	unsigned int i;

	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		uint16_t next = i + 1 < n ? fg_desc_alloc(fg) : 0;

		fg_set_desc(fg, cur, bufs[i].gpa, bufs[i].len,
			    flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0), next);
		cur = next;
	}
	return head;
}

uint16_t
fg_indirect(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n, uint16_t flags,
	    int region)
{
	uint64_t table_gpa = fg_alloc(fg, region, 16u * n);
	struct vring_desc *t = fg_hva(fg, table_gpa);
	uint16_t head = fg_desc_alloc(fg);
	unsigned int i;

	for (i = 0; i < n; i++) {
		t[i].addr = bufs[i].gpa;
		t[i].len = bufs[i].len;
		t[i].flags = flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		t[i].next = i + 1 < n ? i + 1 : 0;
	}
	fg_set_desc(fg, head, table_gpa, 16u * n, VRING_DESC_F_INDIRECT, 0);
	return head;
}

void
fg_post(struct fake_guest *fg, uint16_t head)
{
	assert_false(fg->packed);
	fg->avail->ring[fg->avail_idx & (fg->qsize - 1)] = head;
	fg->avail_idx++;
	__atomic_store_n(&fg->avail->idx, fg->avail_idx, __ATOMIC_RELEASE);
}

uint16_t
fg_post_tx_pkt(struct fake_guest *fg, const uint8_t *frame, uint32_t frame_len,
	       const uint32_t *lens, unsigned int n, int region, bool indirect)
{
	return fg_post_tx_pkt_hdr(fg, NULL, frame, frame_len, lens, n, region, indirect);
}

uint16_t
fg_post_tx_pkt_hdr(struct fake_guest *fg, const struct virtio_net_hdr *hdr,
		   const uint8_t *frame, uint32_t frame_len, const uint32_t *lens,
		   unsigned int n, int region, bool indirect)
{
	uint32_t total = fg->vq.hdr_len + frame_len;
	uint8_t *pkt = calloc(1, total);
	struct fg_buf bufs[64];
	uint32_t one = total, off = 0;
	unsigned int i;
	uint16_t head;

	assert_non_null(pkt);
	if (hdr != NULL)
		memcpy(pkt, hdr, sizeof(*hdr)); /* 10 bytes: both header sizes hold it */
	memcpy(pkt + fg->vq.hdr_len, frame, frame_len);
	if (lens == NULL) {
		lens = &one;
		n = 1;
	}
	assert_true(n <= 64);
	for (i = 0; i < n; i++) {
		bufs[i].gpa = fg_alloc(fg, region, lens[i]);
		bufs[i].len = lens[i];
		fg_write(fg, bufs[i].gpa, pkt + off, lens[i]);
		off += lens[i];
	}
	assert_int_equal(off, total);
	free(pkt);
	if (fg->packed)
		return indirect ? fg_packed_post_indirect(fg, bufs, n, 0, region) :
				  fg_packed_post_chain(fg, bufs, n, 0);
	head = indirect ? fg_indirect(fg, bufs, n, 0, region) : fg_chain(fg, bufs, n, 0);
	fg_post(fg, head);
	return head;
}

uint16_t
fg_post_rx_buf(struct fake_guest *fg, int region, uint32_t len, uint64_t *gpa)
{
	struct fg_buf b = {fg_alloc(fg, region, len), len};
	uint16_t head;

	if (gpa != NULL)
		*gpa = b.gpa;
	if (fg->packed)
		return fg_packed_post_chain(fg, &b, 1, VRING_DESC_F_WRITE);
	head = fg_chain(fg, &b, 1, VRING_DESC_F_WRITE);
	fg_post(fg, head);
	return head;
}

void
fg_use_eventfd(struct fake_guest *fg)
{
	fg->callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fg->callfd >= 0);
	fg->vq.callfd = fg->callfd;
}

uint64_t
fg_interrupts(struct fake_guest *fg)
{
	uint64_t v = 0;

	assert_true(fg->callfd >= 0);
	if (read(fg->callfd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

uint16_t
fg_packed_avail_bits(bool wrap)
{
	return wrap ? FG_PACKED_F_AVAIL : FG_PACKED_F_USED;
}

void
fg_packed_set_desc(struct fake_guest *fg, uint16_t slot, uint64_t addr, uint32_t len,
		   uint16_t id, uint16_t flags)
{
	assert_true(fg->packed && slot < fg->qsize);
	fg->pdesc[slot].addr = addr;
	fg->pdesc[slot].len = len;
	fg->pdesc[slot].id = id;
	__atomic_store_n(&fg->pdesc[slot].flags, flags, __ATOMIC_RELEASE);
}

/* Fills the driver's next n slots with bufs (flags each), the first one's flags last. */
static uint16_t
fg_packed_post(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
	       const uint16_t *flags)
{
	uint16_t id = fg->p_next_id;
	uint16_t head = fg->p_avail, head_flags = 0;
	unsigned int i;

	assert_true(fg->packed && n > 0 && n <= fg->qsize);
	/* a test that overfills the ring is a broken test */
	assert_true(fg->p_inflight + n <= fg->qsize);
	fg->p_next_id = (uint16_t)((fg->p_next_id + 1) % fg->qsize);
	fg->p_id_ndesc[id] = n;
	fg->p_inflight += n;
	for (i = 0; i < n; i++) {
		uint16_t f = flags[i] | fg_packed_avail_bits(fg->p_avail_wrap) |
			     (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		uint16_t slot = fg->p_avail;

		fg->pdesc[slot].addr = bufs[i].gpa;
		fg->pdesc[slot].len = bufs[i].len;
		fg->pdesc[slot].id = id;
		if (i == 0)
			head_flags = f;
		else
			__atomic_store_n(&fg->pdesc[slot].flags, f, __ATOMIC_RELEASE);
		if (++fg->p_avail == fg->qsize) {
			fg->p_avail = 0;
			fg->p_avail_wrap = !fg->p_avail_wrap;
		}
	}
	__atomic_store_n(&fg->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
	return id;
}

uint16_t
fg_packed_post_chain(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
		     uint16_t flags)
{
	uint16_t f[FG_PACKED_CHAIN_MAX];
	unsigned int i;

	assert_true(n <= FG_PACKED_CHAIN_MAX);
	for (i = 0; i < n; i++)
		f[i] = flags;
	return fg_packed_post(fg, bufs, n, f);
}

uint16_t
fg_packed_post_indirect(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
			uint16_t flags, int region)
{
	uint64_t table_gpa = fg_alloc(fg, region, 16u * n);
	struct vring_packed_desc *t = fg_hva(fg, table_gpa);
	struct fg_buf table = {table_gpa, 16u * n};
	uint16_t f = VRING_DESC_F_INDIRECT;
	unsigned int i;

	/* WRITE is the only flag that means something in the table; ids are ignored */
	for (i = 0; i < n; i++) {
		t[i].addr = bufs[i].gpa;
		t[i].len = bufs[i].len;
		t[i].id = 0;
		t[i].flags = flags;
	}
	return fg_packed_post(fg, &table, 1, &f);
}

void
fg_packed_positions(const struct fake_guest *fg, uint16_t *avail, uint16_t *used)
{
	*avail = FG_PACKED_BASE(fg->p_avail, fg->p_avail_wrap);
	*used = FG_PACKED_BASE(fg->p_used, fg->p_used_wrap);
}

void
fg_packed_set_event(struct fake_guest *fg, uint16_t flags, uint16_t slot, bool wrap)
{
	assert_true(fg->packed);
	fg->driver_event->off_wrap = FG_PACKED_BASE(slot, wrap);
	__atomic_store_n(&fg->driver_event->flags, flags, __ATOMIC_RELEASE);
}

/*
 * The used descriptor at slot in the lap of wrap, if the device has written
 * it: true with *e filled.
 */
static bool
fg_packed_used_at(struct fake_guest *fg, uint16_t slot, bool wrap, struct vring_used_elem *e)
{
	uint16_t flags = __atomic_load_n(&fg->pdesc[slot].flags, __ATOMIC_ACQUIRE);
	bool avail = flags & FG_PACKED_F_AVAIL, used = flags & FG_PACKED_F_USED;

	if (avail != used || used != wrap)
		return false;
	e->id = fg->pdesc[slot].id;
	e->len = fg->pdesc[slot].len;
	return true;
}

/* Moves (slot, wrap) past the slots of buffer id. */
static void
fg_packed_skip(struct fake_guest *fg, uint16_t *slot, bool *wrap, uint32_t id)
{
	uint32_t s;

	assert_true(id < fg->qsize && fg->p_id_ndesc[id] > 0);
	s = *slot + fg->p_id_ndesc[id];
	if (s >= fg->qsize) {
		s -= fg->qsize;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)s;
}

uint16_t
fg_used_pending(struct fake_guest *fg)
{
	if (fg->packed) {
		uint16_t slot = fg->p_used, n = 0;
		bool wrap = fg->p_used_wrap;
		uint32_t seen = 0;
		struct vring_used_elem e;

		while (seen < fg->p_inflight && fg_packed_used_at(fg, slot, wrap, &e)) {
			seen += fg->p_id_ndesc[e.id];
			fg_packed_skip(fg, &slot, &wrap, e.id);
			n++;
		}
		return n;
	}
	return (uint16_t)(__atomic_load_n(&fg->used->idx, __ATOMIC_ACQUIRE) - fg->used_seen);
}

struct vring_used_elem
fg_used_pop(struct fake_guest *fg)
{
	struct vring_used_elem e = {0, 0};

	if (fg->packed) {
		assert_true(fg->p_inflight > 0);
		assert_true(fg_packed_used_at(fg, fg->p_used, fg->p_used_wrap, &e));
		assert_true(fg->p_inflight >= fg->p_id_ndesc[e.id]);
		fg->p_inflight -= fg->p_id_ndesc[e.id];
		fg_packed_skip(fg, &fg->p_used, &fg->p_used_wrap, e.id);
		return e;
	}
	assert_true(fg_used_pending(fg) > 0);
	e = fg->used->ring[fg->used_seen & (fg->qsize - 1)];
	fg->used_seen++;
	return e;
}

void
fg_expect_used(struct fake_guest *fg, uint32_t id, uint32_t len)
{
	struct vring_used_elem e = fg_used_pop(fg);

	assert_int_equal(e.id, id);
	assert_int_equal(e.len, len);
}

void
fg_frame(uint8_t *buf, uint32_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	uint32_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

struct rte_mbuf *
fg_mbuf(const uint8_t *data, uint32_t len, const uint32_t *seg_lens, unsigned int nsegs)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t off = 0;
	unsigned int i;

	if (seg_lens == NULL) {
		seg_lens = &len;
		nsegs = 1;
	}
	for (i = 0; i < nsegs; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(fg_pool);

		assert_non_null(m);
		assert_non_null(rte_pktmbuf_append(m, seg_lens[i]));
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), data + off, seg_lens[i]);
		off += seg_lens[i];
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += m->data_len;
		}
		last = m;
	}
	assert_int_equal(off, len);
	assert_int_equal(head->pkt_len, len);
	return head;
}

uint64_t
fg_errors_total(const struct vhd_virtq *vq)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < VHD_DESC_ERR_MAX; i++)
		sum += vq->stats.errors[i];
	return sum;
}
