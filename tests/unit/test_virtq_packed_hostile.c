/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile guest on a packed ring (VIRTIO_F_RING_PACKED, virtio 1.1 section
 * 2.7): the packed twin of every case of test_virtq_hostile.c that a packed
 * ring can express, and the cases only a packed ring has.
 *
 * Each table case builds one bad buffer, then a good packet (rx) or a good
 * receive buffer (tx) is posted behind it, and one burst runs. Whatever the
 * case, these must hold: the bad buffer is returned as a used descriptor with
 * length 0 at its first slot, exactly one error counter (or too_big, for a
 * legal frame over 64 KiB) goes up by exactly one, the good packet behind it
 * still gets through in the same burst, the device's avail and used positions
 * (slot and wrap counter) end where the driver's next slot is, the bad
 * buffer's memory is not written, no mbuf leaks. Guest regions sit between
 * PROT_NONE pages, so a read or write just past a region faults.
 *
 * Every case runs on two rings: 16 slots from slot 0 (wrap counter 1, a fresh
 * device), and 13 slots (not a power of two) from its last slot in the
 * second lap (wrap counter 0), so that every buffer of more than one
 * descriptor wraps the ring's end and the wrap counters flip inside it. The
 * test name is `<direction>/<case>` and `<direction>_wrap13/<case>`.
 *
 * What a split ring has and a packed ring has not: head and next indexes
 * (a packed buffer is consecutive slots, its table entries consecutive), so
 * no index out of range and no loop; avail->idx, so no implausible index.
 * Their packed counterparts: a NEXT chain that never ends (chain_loop),
 * buffer ids out of range (opaque to the device: echoed, not an error), a
 * head marked available wrongly or in the wrong lap (not available: nothing
 * moves, nothing counted), descriptors rewritten while the device reads them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"

#define QSIZE 16
#define ODD_QSIZE 13

/* directions a case applies to */
#define RX (1u << 0)     /* vhd_virtq_rx_burst: guest TX buffer, read-only descs */
#define TX (1u << 1)     /* vhd_virtq_tx_burst without MRG_RXBUF */
#define TX_MRG (1u << 2) /* vhd_virtq_tx_burst with MRG_RXBUF */
#define ALL (RX | TX | TX_MRG)
/* derived: the same cases on either side of vhd_virtq_forward_burst */
#define FWD_SRC (1u << 3)
#define FWD_DST (1u << 4)
#define FWD_DST_MRG (1u << 5)

/* tx: the dropped packet is big, so a bad buffer is walked to its bad part */
#define TX_BAD_PKT_LEN 1000
#define TX_GOOD_PKT_LEN 200

#define F_PK (FG_F_PACKED | FG_F_DEFAULT)
#define F_PK_NOIND (FG_F_PACKED | FG_F_V1)

/*
 * mbufs in the pool when the test started: a test that fails leaks what it
 * held, and the next one must not fail for that.
 */
static unsigned int pool_base;

static int
count_pool(void **state)
{
	(void)state;
	pool_base = rte_mempool_avail_count(fg_pool);
	return 0;
}

/* Fails the test unless every mbuf it took is back in fg_pool. */
static void
no_leak(void)
{
	assert_int_equal(rte_mempool_avail_count(fg_pool), pool_base);
}

/* Buffers of the bad chain in guest memory, checked untouched afterwards. */
static struct fg_buf bad_bufs[128];
static unsigned int nbad;

static uint64_t
bb(struct fake_guest *fg, int region, uint32_t len)
{
	uint64_t gpa = fg_alloc(fg, region, len);

	assert_true(nbad < 128);
	bad_bufs[nbad++] = (struct fg_buf){gpa, len};
	return gpa;
}

/* One ring descriptor as a test writes it: the flags exactly (NEXT included). */
struct pd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

static void
driver_advance(struct fake_guest *fg, uint16_t *slot, bool *wrap, uint32_t n)
{
	uint32_t s = *slot + n;

	if (s >= fg->qsize) {
		s -= fg->qsize;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)s;
}

/*
 * Posts one buffer of n ring descriptors from the driver's next slot with
 * exactly the flags given (a NEXT on the last one too), each marked available
 * in its own lap, id in every descriptor, the head's flags stored last.
 * fake_guest's driver bookkeeping follows, so fg_used_pop finds an id < qsize.
 */
static uint16_t
pk_post_id(struct fake_guest *fg, const struct pd *d, unsigned int n, uint16_t id)
{
	uint16_t head = fg->p_avail, head_flags = 0;
	unsigned int i;

	assert_true(n > 0 && fg->p_inflight + n <= fg->qsize);
	if (id < fg->qsize)
		fg->p_id_ndesc[id] = n;
	fg->p_inflight += n;
	for (i = 0; i < n; i++) {
		uint16_t f = d[i].flags | fg_packed_avail_bits(fg->p_avail_wrap);
		uint16_t slot = fg->p_avail;

		if (i == 0) {
			fg->pdesc[slot].addr = d[i].addr;
			fg->pdesc[slot].len = d[i].len;
			fg->pdesc[slot].id = id;
			head_flags = f;
		} else {
			fg_packed_set_desc(fg, slot, d[i].addr, d[i].len, id, f);
		}
		driver_advance(fg, &fg->p_avail, &fg->p_avail_wrap, 1);
	}
	__atomic_store_n(&fg->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
	return id;
}

static uint16_t
pk_post(struct fake_guest *fg, const struct pd *d, unsigned int n)
{
	uint16_t id = fg->p_next_id;

	fg->p_next_id = (uint16_t)((id + 1) % fg->qsize);
	return pk_post_id(fg, d, n, id);
}

static uint16_t
one(struct fake_guest *fg, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct pd d = {addr, len, flags};

	return pk_post(fg, &d, 1);
}

/* An indirect table of n entries in region, filled from t; returns its gpa. */
static uint64_t
table(struct fake_guest *fg, int region, const struct vring_packed_desc *t, unsigned int n)
{
	uint64_t gpa = fg_alloc(fg, region, 16u * n);

	fg_write(fg, gpa, t, 16u * n);
	return gpa;
}

/* A plain two-entry indirect table of direction dir. */
static uint64_t
good_table(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, 0, dir},
		{bb(fg, FG_R1, 64), 64, 0, dir},
	};

	return table(fg, FG_R0, t, 2);
}

/*
 * The used descriptor at the driver's next used slot, read raw (any id):
 * checks it is {id, len} and marked used in the driver's lap, then moves the
 * driver past the ndesc slots its buffer took.
 */
static void
pk_expect_used_raw(struct fake_guest *fg, uint16_t id, uint32_t len, uint16_t ndesc)
{
	const struct vring_packed_desc *d = &fg->pdesc[fg->p_used];
	uint16_t flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
	uint16_t used = fg->p_used_wrap ? FG_PACKED_F_AVAIL | FG_PACKED_F_USED : 0;

	assert_int_equal(flags & (FG_PACKED_F_AVAIL | FG_PACKED_F_USED), used);
	assert_int_equal(d->id, id);
	assert_int_equal(d->len, len);
	assert_true(fg->p_inflight >= ndesc);
	fg->p_inflight -= ndesc;
	driver_advance(fg, &fg->p_used, &fg->p_used_wrap, ndesc);
}

/* The device consumed and completed everything the driver posted. */
static void
check_caught_up(const struct fake_guest *fg)
{
	assert_int_equal(fg->vq.last_avail_idx, fg->p_avail);
	assert_int_equal(fg->vq.avail_wrap, fg->p_avail_wrap);
	assert_int_equal(fg->vq.last_used_idx, fg->p_avail);
	assert_int_equal(fg->vq.used_wrap, fg->p_avail_wrap);
}

/* ... and the driver saw all of it. */
static void
check_all_popped(const struct fake_guest *fg)
{
	assert_int_equal(fg->p_inflight, 0);
	assert_int_equal(fg->p_used, fg->p_avail);
	assert_int_equal(fg->p_used_wrap, fg->p_avail_wrap);
}

/* ---- the cases: each posts its bad buffer and returns its id ---- */

/* Every slot of the ring has NEXT: the buffer never ends (split: a loop). */
static uint16_t
b_chain_longer_than_ring(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[256];
	unsigned int i;

	assert_true(fg->qsize <= 256 && fg->p_inflight == 0);
	for (i = 0; i < fg->qsize; i++)
		d[i] = (struct pd){bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT};
	return pk_post(fg, d, fg->qsize);
}

static uint16_t
b_gap_low(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_GAP_LOW, 64, dir);
}

static uint16_t
b_gpa_zero(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, 0, 64, dir);
}

static uint16_t
b_gap_between(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_GAP_01, 1500, dir);
}

static uint16_t
b_gap_second_desc(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[2] = {
		{bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT},
		{FG_GAP_23, 64, dir},
	};

	return pk_post(fg, d, 2);
}

static uint16_t
b_above_last_region(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_R3_END + 0x1000, 64, dir);
}

/* Starts in the top region; addr + len passes 2^64. */
static uint16_t
b_wrap_from_region(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_R3_GPA + 0x100, 0xFFFFFFFF, dir);
}

static uint16_t
b_wrap_top(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, UINT64_MAX - 15, 64, dir);
}

static uint16_t
b_past_end_last_region(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_R3_END - 64, 512, dir);
}

static uint16_t
b_past_end_r0(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_R0_GPA + FG_R0_SIZE - 8, 64, dir);
}

static uint16_t
b_past_end_r2_into_gap(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, FG_R2_GPA + FG_R2_SIZE - 20, 100, dir);
}

static uint16_t
b_zero_len_head(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, bb(fg, FG_R0, 64), 0, dir);
}

static uint16_t
b_zero_len_middle(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[3] = {
		{bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT},
		{bb(fg, FG_R0, 16), 0, dir | VRING_DESC_F_NEXT},
		{bb(fg, FG_R0, 64), 64, dir},
	};

	return pk_post(fg, d, 3);
}

static uint16_t
b_zero_len_indirect_entry(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, 0, dir},
		{bb(fg, FG_R1, 64), 0, 0, dir},
	};

	return one(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_len_24(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, good_table(fg, dir), 24, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_len_0(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, good_table(fg, dir), 0, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_len_huge(struct fake_guest *fg, uint16_t dir)
{
	/* more entries than any ring may have; the gpa is in R0 */
	return one(fg, good_table(fg, dir), 16u * (VHD_VIRTQ_SIZE_MAX + 1), VRING_DESC_F_INDIRECT);
}

static uint16_t
b_nested_indirect_first(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[1] = {{good_table(fg, dir), 32, 0, VRING_DESC_F_INDIRECT}};

	return one(fg, table(fg, FG_R0, t, 1), 16, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_nested_indirect_second(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, 0, dir},
		{good_table(fg, dir), 32, 0, VRING_DESC_F_INDIRECT},
	};

	return one(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT);
}

/* A valid indirect buffer, used with a vq that did not negotiate INDIRECT_DESC. */
static uint16_t
b_indirect_plain(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, good_table(fg, dir), 32, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_with_next(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[2] = {
		{good_table(fg, dir), 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT},
		{bb(fg, FG_R0, 64), 64, dir},
	};

	return pk_post(fg, d, 2);
}

static uint16_t
b_indirect_not_head(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[2] = {
		{bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT},
		{good_table(fg, dir), 32, VRING_DESC_F_INDIRECT},
	};

	return pk_post(fg, d, 2);
}

static uint16_t
b_indirect_table_in_gap(struct fake_guest *fg, uint16_t dir)
{
	(void)dir;
	return one(fg, FG_GAP_01, 32, VRING_DESC_F_INDIRECT);
}

/* The table itself straddles R1/R2: it must be contiguous in one region. */
static uint16_t
b_indirect_table_straddles(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R0, 16), 16, 0, dir},
		{bb(fg, FG_R0, 64), 64, 0, dir},
	};

	fg_write(fg, FG_R2_GPA - 16, t, sizeof(t));
	return one(fg, FG_R2_GPA - 16, 32, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_table_past_end(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[1] = {{bb(fg, FG_R0, 64), 64, 0, dir}};

	fg_write(fg, FG_R3_END - 16, t, sizeof(t));
	return one(fg, FG_R3_END - 16, 64, VRING_DESC_F_INDIRECT);
}

/* Descriptors are 8-byte loads: a table at an odd address is refused. */
static uint16_t
b_indirect_table_misaligned(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, 0, dir},
		{bb(fg, FG_R1, 64), 64, 0, dir},
	};
	uint64_t gpa = fg_alloc(fg, FG_R0, 48) + 4;

	fg_write(fg, gpa, t, sizeof(t));
	return one(fg, gpa, 32, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_table_wraps(struct fake_guest *fg, uint16_t dir)
{
	(void)dir;
	return one(fg, UINT64_MAX - 31, 64, VRING_DESC_F_INDIRECT);
}

static uint16_t
b_indirect_entry_in_gap(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, 0, dir},
		{FG_GAP_23, 64, 0, dir},
	};

	return one(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT);
}

/* Wrong direction: writable in a guest TX buffer, read-only in a guest RX buffer. */
static uint16_t
b_wrong_dir_head(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, bb(fg, FG_R0, 1500), 1500, dir ^ VRING_DESC_F_WRITE);
}

static uint16_t
b_wrong_dir_second(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[2] = {
		{bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT},
		{bb(fg, FG_R0, 1500), 1500, dir ^ VRING_DESC_F_WRITE},
	};

	return pk_post(fg, d, 2);
}

static uint16_t
b_wrong_dir_indirect(struct fake_guest *fg, uint16_t dir)
{
	struct vring_packed_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, 0, dir},
		{bb(fg, FG_R1, 1500), 1500, 0, dir ^ VRING_DESC_F_WRITE},
	};

	return one(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT);
}

/* rx only: what the guest sent is not a forwardable frame */
static uint16_t
b_rx_frame_13(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, bb(fg, FG_R0, 12 + 13), 12 + 13, dir);
}

static uint16_t
b_rx_header_only(struct fake_guest *fg, uint16_t dir)
{
	return one(fg, bb(fg, FG_R0, 12), 12, dir);
}

static uint16_t
b_rx_header_short(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[2] = {
		{bb(fg, FG_R0, 5), 5, dir | VRING_DESC_F_NEXT},
		{bb(fg, FG_R0, 3), 3, dir},
	};

	return pk_post(fg, d, 2);
}

/* legal buffers, but a frame over 65535 bytes: too_big, not malformed */
static uint16_t
b_rx_too_long(struct fake_guest *fg, uint16_t dir)
{
	uint32_t len = 12 + VHD_MAX_FRAME_LEN + 1;

	return one(fg, bb(fg, FG_R1, len), len, dir);
}

static uint16_t
b_rx_too_long_chain(struct fake_guest *fg, uint16_t dir)
{
	struct pd d[3] = {
		{bb(fg, FG_R0, 12), 12, dir | VRING_DESC_F_NEXT},
		{bb(fg, FG_R1, 65000), 65000, dir | VRING_DESC_F_NEXT},
		{bb(fg, FG_R2, 536), 536, dir},
	};

	return pk_post(fg, d, 3);
}

/* a case's counter: an error kind, or this for stats.too_big */
#define TOO_BIG VHD_DESC_ERR_MAX

struct hostile_case {
	const char *name;
	enum vhd_desc_error err;
	unsigned int where;
	bool no_indirect; /* negotiate without VIRTIO_RING_F_INDIRECT_DESC */
	uint16_t (*build)(struct fake_guest *fg, uint16_t dir);
};

/* The names are test_virtq_hostile.c's where the case is the same. */
static const struct hostile_case cases[] = {
	{"chain_longer_than_ring", VHD_DESC_ERR_CHAIN, ALL, false, b_chain_longer_than_ring},
	{"addr_gap_low", VHD_DESC_ERR_ADDR, ALL, false, b_gap_low},
	{"addr_zero", VHD_DESC_ERR_ADDR, ALL, false, b_gpa_zero},
	{"addr_gap_between", VHD_DESC_ERR_ADDR, ALL, false, b_gap_between},
	{"addr_gap_second_desc", VHD_DESC_ERR_ADDR, ALL, false, b_gap_second_desc},
	{"addr_above_last_region", VHD_DESC_ERR_ADDR, ALL, false, b_above_last_region},
	{"addr_len_wraps_from_region", VHD_DESC_ERR_ADDR, ALL, false, b_wrap_from_region},
	{"addr_len_wraps_at_top", VHD_DESC_ERR_ADDR, ALL, false, b_wrap_top},
	{"past_end_of_last_region", VHD_DESC_ERR_ADDR, ALL, false, b_past_end_last_region},
	{"past_end_of_r0", VHD_DESC_ERR_ADDR, ALL, false, b_past_end_r0},
	{"past_end_of_r2_into_gap", VHD_DESC_ERR_ADDR, ALL, false, b_past_end_r2_into_gap},
	{"zero_len_head", VHD_DESC_ERR_LEN, ALL, false, b_zero_len_head},
	{"zero_len_middle", VHD_DESC_ERR_LEN, ALL, false, b_zero_len_middle},
	{"zero_len_indirect_entry", VHD_DESC_ERR_LEN, ALL, false, b_zero_len_indirect_entry},
	{"indirect_len_24", VHD_DESC_ERR_INDIRECT, ALL, false, b_indirect_len_24},
	{"indirect_len_0", VHD_DESC_ERR_INDIRECT, ALL, false, b_indirect_len_0},
	{"indirect_len_huge", VHD_DESC_ERR_INDIRECT, ALL, false, b_indirect_len_huge},
	{"nested_indirect_first", VHD_DESC_ERR_INDIRECT, ALL, false, b_nested_indirect_first},
	{"nested_indirect_second", VHD_DESC_ERR_INDIRECT, ALL, false, b_nested_indirect_second},
	{"indirect_not_negotiated", VHD_DESC_ERR_INDIRECT, ALL, true, b_indirect_plain},
	{"indirect_with_next", VHD_DESC_ERR_INDIRECT, ALL, false, b_indirect_with_next},
	{"indirect_not_head", VHD_DESC_ERR_INDIRECT, ALL, false, b_indirect_not_head},
	{"indirect_table_in_gap", VHD_DESC_ERR_ADDR, ALL, false, b_indirect_table_in_gap},
	{"indirect_table_straddles", VHD_DESC_ERR_ADDR, ALL, false, b_indirect_table_straddles},
	{"indirect_table_past_end", VHD_DESC_ERR_ADDR, ALL, false, b_indirect_table_past_end},
	{"indirect_table_wraps", VHD_DESC_ERR_ADDR, ALL, false, b_indirect_table_wraps},
	{"indirect_table_misaligned", VHD_DESC_ERR_INDIRECT, ALL, false,
	 b_indirect_table_misaligned},
	{"indirect_entry_in_gap", VHD_DESC_ERR_ADDR, ALL, false, b_indirect_entry_in_gap},
	{"wrong_direction_head", VHD_DESC_ERR_DIRECTION, ALL, false, b_wrong_dir_head},
	{"wrong_direction_second", VHD_DESC_ERR_DIRECTION, ALL, false, b_wrong_dir_second},
	{"wrong_direction_indirect", VHD_DESC_ERR_DIRECTION, ALL, false, b_wrong_dir_indirect},
	{"frame_13_bytes", VHD_DESC_ERR_LEN, RX, false, b_rx_frame_13},
	{"header_only", VHD_DESC_ERR_LEN, RX, false, b_rx_header_only},
	{"header_incomplete", VHD_DESC_ERR_LEN, RX, false, b_rx_header_short},
	{"longer_than_64k", TOO_BIG, RX, false, b_rx_too_long},
	{"longer_than_64k_chain", TOO_BIG, RX, false, b_rx_too_long_chain},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The two rings every case runs on. */
struct ring_variant {
	const char *suffix;
	uint16_t qsize;
	uint16_t base; /* vring base: slot and wrap counter of both sides */
};

static const struct ring_variant rings[] = {
	{"", QSIZE, FG_PACKED_BASE(0, 1)},
	{"_wrap13", ODD_QSIZE, FG_PACKED_BASE(ODD_QSIZE - 1, 0)},
};

#define NRINGS (sizeof(rings) / sizeof(rings[0]))

struct instance {
	const struct hostile_case *c;
	const struct ring_variant *ring;
	unsigned int mode;
	char name[80];
};

/* Only err (TOO_BIG: only too_big) went up, by n; n 0: nothing did. */
static void
check_only_error(const struct vhd_virtq *vq, enum vhd_desc_error err, uint64_t n)
{
	int e;

	if (vq->stats.too_big != (err == TOO_BIG ? n : 0))
		fail_msg("too_big = %" PRIu64 ", expected %" PRIu64, vq->stats.too_big,
			 err == TOO_BIG ? n : 0);
	for (e = 0; e < VHD_DESC_ERR_MAX; e++) {
		if (vq->stats.errors[e] != (e == (int)err ? n : 0))
			fail_msg("errors[%s] = %" PRIu64 ", expected %" PRIu64,
				 vhd_desc_error_name((enum vhd_desc_error)e), vq->stats.errors[e],
				 e == (int)err ? n : 0);
	}
}

static void
check_bad_bufs_untouched(struct fake_guest *fg)
{
	unsigned int i;

	for (i = 0; i < nbad; i++)
		assert_true(fg_untouched(fg, bad_bufs[i].gpa, bad_bufs[i].len));
}

/*
 * A bad buffer that took every slot of the ring leaves no room for the good
 * one behind it: the runners then post it after the driver got the bad one
 * back, and run a second burst.
 */
static bool
ring_full(const struct fake_guest *fg)
{
	return fg->p_inflight == fg->qsize;
}

static void
run_rx(const struct hostile_case *c, const struct ring_variant *rv)
{
	struct fake_guest *fg = fg_new_at(rv->qsize, c->no_indirect ? F_PK_NOIND : F_PK, rv->base);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[64];
	uint16_t bad, good = 0, n;
	bool full;

	fg_use_eventfd(fg);
	bad = c->build(fg, 0);
	full = ring_full(fg);
	fg_frame(frame, sizeof(frame), 77);
	if (!full)
		good = fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);

	n = vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX);
	if (full) {
		assert_int_equal(n, 0);
		assert_int_equal(fg_used_pending(fg), 1);
		fg_expect_used(fg, bad, 0);
		assert_int_equal(fg_interrupts(fg), 1);
		check_caught_up(fg);
		good = fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
		n = vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX);
	}
	assert_int_equal(n, 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(frame));
	assert_int_equal(pkts[0]->data_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);

	check_only_error(&fg->vq, c->err, 1);
	check_caught_up(fg);
	assert_int_equal(fg_used_pending(fg), full ? 1 : 2);
	if (!full)
		fg_expect_used(fg, bad, 0);
	fg_expect_used(fg, good, 0);
	check_all_popped(fg);
	assert_int_equal(fg->vq.stats.packets, 1);
	assert_int_equal(fg->vq.stats.bytes, sizeof(frame));
	assert_int_equal(fg->vq.stats.no_mbuf, 0);
	assert_int_equal(fg_interrupts(fg), 1);
	check_bad_bufs_untouched(fg);
	no_leak();
	fg_free(fg);
}

static void
run_tx(const struct hostile_case *c, const struct ring_variant *rv, bool mrg)
{
	uint64_t features = (c->no_indirect ? F_PK_NOIND : F_PK) | (mrg ? FG_F_MRG : 0);
	struct fake_guest *fg = fg_new_at(rv->qsize, features, rv->base);
	uint8_t frame_a[TX_BAD_PKT_LEN], frame_b[TX_GOOD_PKT_LEN], got[12 + TX_GOOD_PKT_LEN];
	struct rte_mbuf *m[2];
	uint16_t bad, good = 0;
	uint64_t good_gpa = 0;
	bool full;

	fg_use_eventfd(fg);
	bad = c->build(fg, VRING_DESC_F_WRITE);
	full = ring_full(fg);
	if (!full)
		good = fg_post_rx_buf(fg, FG_R0, 2048, &good_gpa);
	fg_frame(frame_a, sizeof(frame_a), 88);
	fg_frame(frame_b, sizeof(frame_b), 99);
	m[0] = fg_mbuf(frame_a, sizeof(frame_a), NULL, 0);
	m[1] = fg_mbuf(frame_b, sizeof(frame_b), NULL, 0);

	/* packet a meets the bad buffer and is dropped; b goes to the good buffer */
	if (full) {
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 1), 0);
		fg_expect_used(fg, bad, 0);
		assert_int_equal(fg_interrupts(fg), 1);
		check_caught_up(fg);
		good = fg_post_rx_buf(fg, FG_R0, 2048, &good_gpa);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m + 1, 1), 1);
	} else {
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 1);
	}
	rte_pktmbuf_free(m[0]);
	rte_pktmbuf_free(m[1]);

	check_only_error(&fg->vq, c->err, 1);
	check_caught_up(fg);
	assert_int_equal(fg_used_pending(fg), full ? 1 : 2);
	if (!full)
		fg_expect_used(fg, bad, 0);
	fg_expect_used(fg, good, 12 + TX_GOOD_PKT_LEN);
	check_all_popped(fg);
	fg_read(fg, good_gpa, got, sizeof(got));
	assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers, 1);
	assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
	assert_true(fg_untouched(fg, good_gpa + sizeof(got), 2048 - sizeof(got)));
	assert_int_equal(fg->vq.stats.packets, 1);
	assert_int_equal(fg->vq.stats.bytes, TX_GOOD_PKT_LEN);
	assert_int_equal(fg->vq.stats.no_room, 0);
	assert_int_equal(fg_interrupts(fg), 1);
	check_bad_bufs_untouched(fg);
	no_leak();
	fg_free(fg);
}

/* Bad buffer in the source guest of a single-copy forward, both rings packed. */
static void
run_fwd_src(const struct hostile_case *c, const struct ring_variant *rv)
{
	struct fake_guest *src = fg_new_at(rv->qsize, c->no_indirect ? F_PK_NOIND : F_PK, rv->base);
	struct fake_guest *dst = fg_new(QSIZE, F_PK);
	uint8_t frame[64], got[12 + 64];
	uint16_t bad, good = 0, buf;
	uint64_t buf_gpa;
	bool full;

	fg_use_eventfd(src);
	bad = c->build(src, 0);
	full = ring_full(src);
	fg_frame(frame, sizeof(frame), 77);
	if (!full)
		good = fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	buf = fg_post_rx_buf(dst, FG_R0, 2048, &buf_gpa);

	if (full) {
		assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, VHD_BURST_MAX), 0);
		fg_expect_used(src, bad, 0);
		assert_int_equal(fg_interrupts(src), 1);
		assert_int_equal(fg_used_pending(dst), 0);
		good = fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	}
	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, VHD_BURST_MAX), 1);
	check_only_error(&src->vq, c->err, 1);
	check_only_error(&dst->vq, VHD_DESC_ERR_MAX, 0);
	check_caught_up(src);
	check_caught_up(dst);
	assert_int_equal(fg_used_pending(src), full ? 1 : 2);
	if (!full)
		fg_expect_used(src, bad, 0);
	fg_expect_used(src, good, 0);
	fg_expect_used(dst, buf, 12 + sizeof(frame));
	check_all_popped(src);
	fg_read(dst, buf_gpa, got, sizeof(got));
	assert_memory_equal(got + 12, frame, sizeof(frame));
	assert_int_equal(src->vq.stats.packets, 1);
	assert_int_equal(dst->vq.stats.packets, 1);
	assert_int_equal(fg_interrupts(src), 1);
	check_bad_bufs_untouched(src);
	fg_free(src);
	fg_free(dst);
}

/* Bad receive buffer in the destination guest of a single-copy forward. */
static void
run_fwd_dst(const struct hostile_case *c, const struct ring_variant *rv, bool mrg)
{
	uint64_t features = (c->no_indirect ? F_PK_NOIND : F_PK) | (mrg ? FG_F_MRG : 0);
	struct fake_guest *src = fg_new(QSIZE, F_PK);
	struct fake_guest *dst = fg_new_at(rv->qsize, features, rv->base);
	uint8_t frame_a[TX_BAD_PKT_LEN], frame_b[TX_GOOD_PKT_LEN], got[12 + TX_GOOD_PKT_LEN];
	uint16_t bad, good = 0;
	uint64_t good_gpa = 0;
	bool full;

	fg_use_eventfd(dst);
	bad = c->build(dst, VRING_DESC_F_WRITE);
	full = ring_full(dst);
	if (!full)
		good = fg_post_rx_buf(dst, FG_R0, 2048, &good_gpa);
	fg_frame(frame_a, sizeof(frame_a), 88);
	fg_frame(frame_b, sizeof(frame_b), 99);
	fg_post_tx_pkt(src, frame_a, sizeof(frame_a), NULL, 0, FG_R0, false);
	if (full) {
		assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, VHD_BURST_MAX), 1);
		fg_expect_used(dst, bad, 0);
		assert_int_equal(fg_interrupts(dst), 1);
		good = fg_post_rx_buf(dst, FG_R0, 2048, &good_gpa);
	}
	fg_post_tx_pkt(src, frame_b, sizeof(frame_b), NULL, 0, FG_R0, false);

	/* packet a meets the bad buffer and is dropped; b goes to the good buffer */
	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, VHD_BURST_MAX), full ? 1 : 2);
	check_only_error(&dst->vq, c->err, 1);
	check_only_error(&src->vq, VHD_DESC_ERR_MAX, 0);
	check_caught_up(src);
	check_caught_up(dst);
	assert_int_equal(fg_used_pending(dst), full ? 1 : 2);
	if (!full)
		fg_expect_used(dst, bad, 0);
	fg_expect_used(dst, good, 12 + TX_GOOD_PKT_LEN);
	check_all_popped(dst);
	fg_read(dst, good_gpa, got, sizeof(got));
	assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
	assert_int_equal(dst->vq.stats.packets, 1);
	assert_int_equal(dst->vq.stats.no_room, 0);
	assert_int_equal(fg_used_pending(src), 2);
	assert_int_equal(fg_interrupts(dst), 1);
	check_bad_bufs_untouched(dst);
	fg_free(src);
	fg_free(dst);
}

static void
run_case(void **state)
{
	const struct instance *in = *state;

	nbad = 0;
	switch (in->mode) {
	case RX:
		run_rx(in->c, in->ring);
		break;
	case TX:
	case TX_MRG:
		run_tx(in->c, in->ring, in->mode == TX_MRG);
		break;
	case FWD_SRC:
		run_fwd_src(in->c, in->ring);
		break;
	default:
		run_fwd_dst(in->c, in->ring, in->mode == FWD_DST_MRG);
		break;
	}
	no_leak();
}

/* ---- hostile behaviour that does not fit the one-bad-buffer pattern ---- */

/*
 * Buffer ids are the driver's, opaque to the device (virtio 1.1 2.7.4): one
 * past the ring or 0xffff is no index and no error, and goes back as it came.
 * A chain's id is its last descriptor's (2.7.6), whatever the others say.
 */
static void
test_buffer_ids_any(void **state)
{
	static const uint16_t ids[] = {QSIZE, QSIZE + 3, 0x7fff, 0xffff};
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(QSIZE, F_PK);
		uint8_t pkt[12 + 64] = {0}, got[12 + 64];
		struct rte_mbuf *pkts[VHD_BURST_MAX];
		uint16_t dir = pass ? VRING_DESC_F_WRITE : 0;
		struct pd chain[2];
		uint64_t gpa[5];
		size_t i;

		fg_use_eventfd(fg);
		fg_frame(pkt + 12, 64, 5);
		for (i = 0; i < 4; i++) {
			gpa[i] = fg_alloc(fg, FG_R0, sizeof(pkt));
			if (!pass)
				fg_write(fg, gpa[i], pkt, sizeof(pkt));
			chain[0] = (struct pd){gpa[i], sizeof(pkt), dir};
			pk_post_id(fg, chain, 1, ids[i]);
		}
		/* a chain with id 0x1234 in its head, QSIZE + 5 in its last descriptor */
		gpa[4] = fg_alloc(fg, FG_R0, sizeof(pkt));
		if (!pass)
			fg_write(fg, gpa[4], pkt, sizeof(pkt));
		chain[0] = (struct pd){gpa[4], 12, dir | VRING_DESC_F_NEXT};
		chain[1] = (struct pd){gpa[4] + 12, 64, dir};
		pk_post_id(fg, chain, 2, QSIZE + 5);
		fg->pdesc[(fg->p_avail + QSIZE - 2) % QSIZE].id = 0x1234;

		if (pass) {
			struct rte_mbuf *m[5];

			for (i = 0; i < 5; i++)
				m[i] = fg_mbuf(pkt + 12, 64, NULL, 0);
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 5), 5);
			for (i = 0; i < 5; i++)
				rte_pktmbuf_free(m[i]);
		} else {
			assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX),
					 5);
			for (i = 0; i < 5; i++)
				assert_memory_equal(rte_pktmbuf_mtod(pkts[i], uint8_t *), pkt + 12,
						    64);
			rte_pktmbuf_free_bulk(pkts, 5);
		}
		check_only_error(&fg->vq, VHD_DESC_ERR_MAX, 0);
		check_caught_up(fg);
		for (i = 0; i < 4; i++)
			pk_expect_used_raw(fg, ids[i], pass ? sizeof(pkt) : 0, 1);
		pk_expect_used_raw(fg, QSIZE + 5, pass ? sizeof(pkt) : 0, 2);
		check_all_popped(fg);
		if (pass) {
			for (i = 0; i < 5; i++) {
				fg_read(fg, gpa[i], got, sizeof(got));
				assert_memory_equal(got + 12, pkt + 12, 64);
			}
		}
		assert_int_equal(fg_interrupts(fg), 1);
		no_leak();
		fg_free(fg);
	}
}

/*
 * A head whose AVAIL/USED bits do not say "available in the device's lap":
 * both clear, both set (a used descriptor of either lap), or available in the
 * other lap. It is not available: nothing is consumed, nothing counted, no
 * used descriptor, no interrupt, and a good buffer behind it is not taken
 * either (buffers are consumed in ring order). Once the driver sets the
 * right bits, both go through. At both wrap counters.
 */
static void
test_head_wrong_lap(void **state)
{
	static const uint16_t bits[] = {0, FG_PACKED_F_AVAIL | FG_PACKED_F_USED, 0xffff};
	unsigned int pass, b, w;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		for (w = 0; w < 2; w++) {
			for (b = 0; b < 3; b++) {
				struct fake_guest *fg = fg_new_at(QSIZE, F_PK,
								  FG_PACKED_BASE(QSIZE - 1, w));
				struct rte_mbuf *pkts[VHD_BURST_MAX], *m[2];
				uint8_t frame[64];
				uint16_t id[2], slot = QSIZE - 1, good_bits, next_bits, wrong;
				uint32_t good_len;
				int i;

				fg_use_eventfd(fg);
				fg_frame(frame, sizeof(frame), 9);
				for (i = 0; i < 2; i++) {
					if (pass)
						id[i] = fg_post_rx_buf(fg, FG_R0, 2048, NULL);
					else
						id[i] = fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0,
								       FG_R0, false);
				}
				good_bits = fg->pdesc[slot].flags;
				good_len = fg->pdesc[slot].len;
				next_bits = fg->pdesc[0].flags;
				wrong = bits[b] == 0xffff ? fg_packed_avail_bits(!w) : bits[b];
				wrong |= good_bits & ~(FG_PACKED_F_AVAIL | FG_PACKED_F_USED);
				fg->pdesc[slot].flags = wrong;
				for (i = 0; i < 2; i++)
					m[i] = fg_mbuf(frame, sizeof(frame), NULL, 0);
				if (pass) {
					assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 0);
					assert_int_equal(fg->vq.stats.no_room, 2);
				} else {
					assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts,
									    VHD_BURST_MAX), 0);
				}
				check_only_error(&fg->vq, VHD_DESC_ERR_MAX, 0);
				assert_int_equal(fg->vq.last_avail_idx, slot);
				assert_int_equal(fg->vq.avail_wrap, w);
				assert_int_equal(fg->vq.last_used_idx, slot);
				/* no used descriptor written (fg_used_pending would take 11 for one) */
				assert_int_equal(fg->pdesc[slot].flags, wrong);
				assert_int_equal(fg->pdesc[slot].len, good_len);
				assert_int_equal(fg->pdesc[slot].id, id[0]);
				assert_int_equal(fg->pdesc[0].flags, next_bits);
				assert_int_equal(fg_interrupts(fg), 0);
				assert_int_equal(rte_mempool_avail_count(fg_pool), pool_base - 2);

				__atomic_store_n(&fg->pdesc[slot].flags, good_bits, __ATOMIC_RELEASE);
				if (pass) {
					assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 2);
				} else {
					assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts,
									    VHD_BURST_MAX), 2);
					rte_pktmbuf_free_bulk(pkts, 2);
				}
				rte_pktmbuf_free_bulk(m, 2);
				check_caught_up(fg);
				assert_int_equal(fg->vq.avail_wrap, !w);
				fg_expect_used(fg, id[0], pass ? 12 + sizeof(frame) : 0);
				fg_expect_used(fg, id[1], pass ? 12 + sizeof(frame) : 0);
				check_all_popped(fg);
				check_only_error(&fg->vq, VHD_DESC_ERR_MAX, 0);
				assert_int_equal(fg_interrupts(fg), 1);
				no_leak();
				fg_free(fg);
			}
		}
	}
}

/*
 * Only the head's bits make a buffer available (the driver stores them last,
 * 2.7.21.3): a chain whose second descriptor still carries the previous lap's
 * bits is walked by its NEXT flags all the same, its contents checked as
 * any. A slot past a buffer's end that looks available is not part of it.
 */
static void
test_chain_tail_bits_ignored(void **state)
{
	struct fake_guest *fg = fg_new(QSIZE, F_PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[64], hdr[12] = {0};
	uint64_t h = fg_alloc(fg, FG_R0, 12), f = fg_alloc(fg, FG_R0, 64);
	struct pd d[2] = {{h, 12, VRING_DESC_F_NEXT}, {f, 64, 0}};
	uint16_t id;

	(void)state;
	fg_frame(frame, sizeof(frame), 11);
	fg_write(fg, h, hdr, 12);
	fg_write(fg, f, frame, 64);
	id = pk_post(fg, d, 2);
	fg->pdesc[1].flags = fg_packed_avail_bits(false); /* the lap before */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, 64);
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, 64);
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, id, 0);
	check_caught_up(fg);
	check_all_popped(fg);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	no_leak();
	fg_free(fg);
}

/*
 * The guest rewrites a buffer's address and length while the device reads
 * it: a second thread flips them between a sound buffer ending exactly at
 * the last region's end and one running 1 byte (address + 1) or 64 KiB
 * (length) past it, into the guard page. Each burst must take the buffer
 * (the head's flags are left alone) and either deliver the frame whole or
 * count one address error; any use of a value other than the one checked
 * faults.
 */
struct flipper {
	struct vring_packed_desc *d;
	uint64_t addr;
	uint32_t len;
	uint64_t flips;
	bool stop;
};

static void *
flip(void *arg)
{
	struct flipper *f = arg;
	uint64_t i = 0;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(&f->d->addr, f->addr + (i & 1), __ATOMIC_RELAXED);
		__atomic_store_n(&f->d->len, (i & 2) ? 0x10000 : f->len, __ATOMIC_RELAXED);
		__atomic_store_n(&f->flips, ++i, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Runs bursts until both outcomes were seen 100 times: at most 2,000,000
 * bursts, or, while no refusal was seen yet, up to 20 s (on a loaded machine
 * the other thread rarely runs while a burst reads the descriptor).
 */
static void
rewrite_while_reading(bool tx)
{
	struct fake_guest *fg = fg_new(1, F_PK);
	const uint32_t len = 12 + 64;
	struct flipper f = {&fg->pdesc[0], FG_R3_END - len, len, 0, false};
	uint8_t pkt[12 + 64] = {0}, got[12 + 64];
	struct rte_mbuf *pkts[VHD_BURST_MAX], *m;
	uint64_t sent = 0, errs = 0, it;
	time_t deadline;
	pthread_t t;

	fg_frame(pkt + 12, 64, 13);
	if (!tx)
		fg_write(fg, f.addr, pkt, len);
	m = fg_mbuf(pkt + 12, 64, NULL, 0);
	assert_int_equal(pthread_create(&t, NULL, flip, &f), 0);
	while (__atomic_load_n(&f.flips, __ATOMIC_RELAXED) < 1000)
		;
	deadline = time(NULL) + 20;
	for (it = 0; (it < 2000000 || (errs == 0 && time(NULL) < deadline)) &&
		     (sent < 100 || errs < 100);
	     it++) {
		/*
		 * The driver makes slot 0 available again, in the lap the device
		 * is in, with the sound buffer (the used descriptor put a length
		 * there); the other thread may change it at any time from now.
		 */
		__atomic_store_n(&fg->pdesc[0].addr, f.addr, __ATOMIC_RELAXED);
		__atomic_store_n(&fg->pdesc[0].len, f.len, __ATOMIC_RELAXED);
		fg->pdesc[0].id = 0;
		__atomic_store_n(&fg->pdesc[0].flags,
				 fg_packed_avail_bits(fg->vq.avail_wrap) |
					 (tx ? VRING_DESC_F_WRITE : 0),
				 __ATOMIC_RELEASE);
		if (tx) {
			sent += vhd_virtq_tx_burst(&fg->vq, &m, 1);
		} else if (vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX) == 1) {
			assert_int_equal(pkts[0]->pkt_len, 64);
			assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), pkt + 12, 64);
			rte_pktmbuf_free(pkts[0]);
			sent++;
		}
		errs = fg->vq.stats.errors[VHD_DESC_ERR_ADDR];
		assert_int_equal(sent + errs, it + 1);
		assert_int_equal(fg_errors_total(&fg->vq), errs);
		assert_int_equal(fg->vq.stats.too_big + fg->vq.stats.no_room, 0);
		/* the device moved one slot: back to 0, the other lap */
		assert_int_equal(fg->vq.last_avail_idx, 0);
		assert_int_equal(fg->vq.avail_wrap, (it & 1) != 0);
		assert_int_equal(fg->vq.used_wrap, (it & 1) != 0);
	}
	__atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	print_message("%s: %" PRIu64 " bursts, %" PRIu64 " delivered, %" PRIu64 " refused\n",
		      tx ? "tx" : "rx", it, sent, errs);
	/* the other thread did change the buffer under the device */
	assert_true(errs > 0);
	if (tx && sent > 0) {
		fg_read(fg, f.addr, got, len);
		assert_memory_equal(got + 12, pkt + 12, 64);
	}
	rte_pktmbuf_free(m);
	no_leak();
	fg_free(fg);
}

static void
test_rewrite_while_reading_rx(void **state)
{
	(void)state;
	rewrite_while_reading(false);
}

static void
test_rewrite_while_reading_tx(void **state)
{
	(void)state;
	rewrite_while_reading(true);
}

/* Several different bad buffers interleaved with good packets in one burst. */
static void
test_rx_mixed_burst(void **state)
{
	struct fake_guest *fg = fg_new(64, F_PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frames[4][100];
	uint16_t ids[9];
	unsigned int i;

	(void)state;
	nbad = 0;
	for (i = 0; i < 4; i++)
		fg_frame(frames[i], 100, 200 + i);
	ids[0] = b_zero_len_middle(fg, 0);
	ids[1] = fg_post_tx_pkt(fg, frames[0], 100, NULL, 0, FG_R0, false);
	ids[2] = b_gap_between(fg, 0);
	ids[3] = b_wrong_dir_head(fg, 0);
	ids[4] = fg_post_tx_pkt(fg, frames[1], 100, NULL, 0, FG_R1, true);
	ids[5] = fg_post_tx_pkt(fg, frames[2], 100, NULL, 0, FG_R2, false);
	ids[6] = b_rx_too_long(fg, 0);
	ids[7] = b_nested_indirect_first(fg, 0);
	ids[8] = fg_post_tx_pkt(fg, frames[3], 100, NULL, 0, FG_R3, false);

	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pkts[i]->pkt_len, 100);
		assert_memory_equal(rte_pktmbuf_mtod(pkts[i], uint8_t *), frames[i], 100);
	}
	rte_pktmbuf_free_bulk(pkts, 4);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_LEN], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
	assert_int_equal(fg->vq.stats.too_big, 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDIRECT], 1);
	assert_int_equal(fg_errors_total(&fg->vq), 4);
	check_caught_up(fg);
	assert_int_equal(fg_used_pending(fg), 9);
	for (i = 0; i < 9; i++)
		fg_expect_used(fg, ids[i], 0);
	check_all_popped(fg);
	assert_int_equal(fg->vq.stats.packets, 4);
	check_bad_bufs_untouched(fg);
	no_leak();
	fg_free(fg);
}

/* A burst of nothing but bad buffers: all returned, one interrupt, no mbuf kept. */
static void
test_rx_all_bad(void **state)
{
	struct fake_guest *fg = fg_new_at(ODD_QSIZE, F_PK, FG_PACKED_BASE(ODD_QSIZE - 2, 1));
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint16_t ids[4];
	unsigned int i;

	(void)state;
	nbad = 0;
	fg_use_eventfd(fg);
	ids[0] = b_gap_second_desc(fg, 0);
	ids[1] = b_zero_len_head(fg, 0);
	ids[2] = b_indirect_len_24(fg, 0);
	ids[3] = b_rx_frame_13(fg, 0);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 0);
	assert_int_equal(fg_used_pending(fg), 4);
	for (i = 0; i < 4; i++)
		fg_expect_used(fg, ids[i], 0);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_LEN], 2);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDIRECT], 1);
	assert_int_equal(fg->vq.stats.packets, 0);
	check_caught_up(fg);
	check_all_popped(fg);
	assert_int_equal(fg->vq.last_avail_idx, 3);
	assert_int_equal(fg->vq.avail_wrap, 0);
	assert_int_equal(fg_interrupts(fg), 1);
	no_leak();
	fg_free(fg);
}

/* Same for tx: each bad buffer costs the packet that met it, and only that one. */
static void
test_tx_mixed_burst(void **state)
{
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(QSIZE, F_PK | (pass ? FG_F_MRG : 0));
		uint8_t frames[6][1000], got[1012];
		struct rte_mbuf *m[6];
		uint16_t ids[6];
		uint64_t gpas[6];
		unsigned int i;

		nbad = 0;
		for (i = 0; i < 6; i++) {
			fg_frame(frames[i], 1000, 300 + i);
			m[i] = fg_mbuf(frames[i], 1000, NULL, 0);
		}
		ids[0] = fg_post_rx_buf(fg, FG_R0, 2048, &gpas[0]);
		ids[1] = b_zero_len_middle(fg, VRING_DESC_F_WRITE);
		ids[2] = b_past_end_last_region(fg, VRING_DESC_F_WRITE);
		ids[3] = fg_post_rx_buf(fg, FG_R1, 2048, &gpas[3]);
		ids[4] = b_wrong_dir_second(fg, VRING_DESC_F_WRITE);
		ids[5] = fg_post_rx_buf(fg, FG_R2, 2048, &gpas[5]);

		/* packets 0, 3 and 5 are delivered; 1, 2, 4 meet bad buffers */
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 6), 3);
		fg_expect_used(fg, ids[0], 1012);
		fg_expect_used(fg, ids[1], 0);
		fg_expect_used(fg, ids[2], 0);
		fg_expect_used(fg, ids[3], 1012);
		fg_expect_used(fg, ids[4], 0);
		fg_expect_used(fg, ids[5], 1012);
		assert_int_equal(fg_used_pending(fg), 0);
		check_caught_up(fg);
		check_all_popped(fg);
		for (i = 0; i < 6; i += (i == 0 ? 3 : 2)) {
			fg_read(fg, gpas[i], got, sizeof(got));
			assert_memory_equal(got + 12, frames[i], 1000);
		}
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_LEN], 1);
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
		assert_int_equal(fg_errors_total(&fg->vq), 3);
		assert_int_equal(fg->vq.stats.no_room, 0);
		assert_int_equal(fg->vq.stats.packets, 3);
		check_bad_bufs_untouched(fg);
		for (i = 0; i < 6; i++)
			rte_pktmbuf_free(m[i]);
		no_leak();
		fg_free(fg);
	}
}

/*
 * Mergeable: a packet that needs three buffers gets a good one, then a bad
 * one. Every buffer it took goes back empty, the good one included, and
 * nothing is written to the good one; the next packet uses the next buffer.
 * The bad buffer wraps the ring's end.
 */
static void
test_tx_mergeable_bad_second_chain(void **state)
{
	struct fake_guest *fg = fg_new_at(ODD_QSIZE, F_PK | FG_F_MRG,
					  FG_PACKED_BASE(ODD_QSIZE - 2, 1));
	uint8_t frame_a[1400], frame_b[300], got[312];
	struct rte_mbuf *m[2];
	uint16_t h0, h1, h2;
	uint64_t g0, g2;

	(void)state;
	nbad = 0;
	fg_use_eventfd(fg);
	h0 = fg_post_rx_buf(fg, FG_R0, 512, &g0);
	h1 = b_gap_second_desc(fg, VRING_DESC_F_WRITE);
	h2 = fg_post_rx_buf(fg, FG_R0, 512, &g2);
	fg_frame(frame_a, sizeof(frame_a), 1);
	fg_frame(frame_b, sizeof(frame_b), 2);
	m[0] = fg_mbuf(frame_a, sizeof(frame_a), NULL, 0);
	m[1] = fg_mbuf(frame_b, sizeof(frame_b), NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 1);
	fg_expect_used(fg, h0, 0);
	fg_expect_used(fg, h1, 0);
	fg_expect_used(fg, h2, 312);
	check_caught_up(fg);
	check_all_popped(fg);
	assert_true(fg_untouched(fg, g0, 512));
	check_bad_bufs_untouched(fg);
	fg_read(fg, g2, got, sizeof(got));
	assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers, 1);
	assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
	check_only_error(&fg->vq, VHD_DESC_ERR_ADDR, 1);
	assert_int_equal(fg_interrupts(fg), 1);
	rte_pktmbuf_free(m[0]);
	rte_pktmbuf_free(m[1]);
	no_leak();
	fg_free(fg);
}

/*
 * Rings of any size, for many laps: 1 (every buffer wraps the ring), 3, 13
 * and 255 slots. Each round the guest posts a good buffer and, where there is
 * room, a bad one; the device must take both every time, with the wrap
 * counters flipping at each lap.
 */
static void
test_odd_sizes(void **state)
{
	static const uint16_t sizes[] = {1, 3, 13, 255};
	size_t s;

	(void)state;
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint16_t qsize = sizes[s];
		unsigned int pass;

		for (pass = 0; pass < 2; pass++) {
			struct fake_guest *fg = fg_new(qsize, F_PK);
			uint64_t bad = 0, delivered = 0;
			uint8_t frame[64];
			unsigned int round, rounds = 2u * qsize + 3;

			nbad = 0;
			fg_frame(frame, sizeof(frame), 21);
			for (round = 0; round < rounds; round++) {
				struct rte_mbuf *pkts[VHD_BURST_MAX], *m[2];
				uint16_t good_id, bad_id = 0;
				bool with_bad = qsize > 1;

				if (pass) {
					good_id = fg_post_rx_buf(fg, FG_R1, 128, NULL);
					if (with_bad)
						bad_id = b_gap_low(fg, VRING_DESC_F_WRITE);
					m[0] = fg_mbuf(frame, sizeof(frame), NULL, 0);
					m[1] = fg_mbuf(frame, sizeof(frame), NULL, 0);
					assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m,
									    with_bad ? 2 : 1), 1);
					rte_pktmbuf_free_bulk(m, 2);
				} else {
					good_id = fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0,
								 FG_R1, false);
					if (with_bad)
						bad_id = b_gap_low(fg, 0);
					assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts,
									    VHD_BURST_MAX), 1);
					assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *),
							    frame, sizeof(frame));
					rte_pktmbuf_free(pkts[0]);
				}
				delivered++;
				bad += with_bad;
				check_caught_up(fg);
				fg_expect_used(fg, good_id, pass ? 12 + sizeof(frame) : 0);
				if (with_bad)
					fg_expect_used(fg, bad_id, 0);
				check_all_popped(fg);
			}
			check_only_error(&fg->vq, bad ? VHD_DESC_ERR_ADDR : VHD_DESC_ERR_MAX, bad);
			assert_int_equal(fg->vq.stats.packets, delivered);
			no_leak();
			fg_free(fg);
		}
	}
}

/* A vring base whose slot is past the ring is no position: the queue is refused. */
static void
test_base_out_of_range(void **state)
{
	static const uint16_t bad[] = {ODD_QSIZE, 0x7fff, FG_PACKED_BASE(ODD_QSIZE, 1), 0xffff};
	size_t i, side;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (side = 0; side < 2; side++) {
			struct fake_guest *fg = fg_new(ODD_QSIZE, F_PK);

			fg->vq.last_avail_idx = side ? FG_PACKED_BASE(ODD_QSIZE - 1, 1) : bad[i];
			fg->vq.last_used_idx = side ? bad[i] : FG_PACKED_BASE(ODD_QSIZE - 1, 1);
			assert_int_equal(vhd_virtq_init(&fg->vq, F_PK), -EINVAL);
			/* the same queue with sound bases is taken */
			fg->vq.last_avail_idx = FG_PACKED_BASE(ODD_QSIZE - 1, 1);
			fg->vq.last_used_idx = FG_PACKED_BASE(ODD_QSIZE - 1, 1);
			assert_int_equal(vhd_virtq_init(&fg->vq, F_PK), 0);
			fg_free(fg);
		}
	}
}

/* The limits themselves are legal: no off-by-one turns them into errors. */
static void
test_limits_accepted(void **state)
{
	struct fake_guest *fg = fg_new_at(QSIZE, F_PK, FG_PACKED_BASE(QSIZE - 3, 1));
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[QSIZE * 16 - 12];
	uint32_t lens[QSIZE];
	struct vring_packed_desc t[QSIZE];
	struct fg_buf b[2];
	uint16_t id;
	unsigned int i;

	(void)state;
	/* a buffer using every slot of the ring, wrapping its end */
	fg_frame(frame, sizeof(frame), 3);
	for (i = 0; i < QSIZE; i++)
		lens[i] = 16;
	id = fg_post_tx_pkt(fg, frame, sizeof(frame), lens, QSIZE, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, id, 0);
	check_caught_up(fg);

	/* an indirect table using every entry; NEXT and ids in a table mean nothing */
	for (i = 0; i < QSIZE; i++) {
		uint64_t gpa = fg_alloc(fg, FG_R1, 16);

		fg_write(fg, gpa, i == 0 ? (const uint8_t[16]){0} : frame + 16 * i - 12, 16);
		if (i == 0)
			fg_write(fg, gpa + 12, frame, 4);
		t[i] = (struct vring_packed_desc){gpa, 16, (uint16_t)(0xabc0 + i),
						  (uint16_t)(i % 2 ? VRING_DESC_F_NEXT : 0)};
	}
	{
		struct pd d = {table(fg, FG_R0, t, QSIZE), sizeof(t), VRING_DESC_F_INDIRECT};

		id = pk_post(fg, &d, 1);
	}
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, id, 0);

	/* WRITE on the descriptor pointing to a table means nothing (2.7.7.1) */
	b[0] = (struct fg_buf){fg_alloc(fg, FG_R1, 12), 12};
	b[1] = (struct fg_buf){fg_alloc(fg, FG_R1, 64), 64};
	fg_write(fg, b[0].gpa, (const uint8_t[12]){0}, 12);
	fg_write(fg, b[1].gpa, frame, 64);
	{
		uint64_t tg = fg_alloc(fg, FG_R0, 32);
		struct vring_packed_desc t2[2] = {{b[0].gpa, 12, 0, 0}, {b[1].gpa, 64, 0, 0}};
		struct pd d = {tg, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE};

		fg_write(fg, tg, t2, sizeof(t2));
		id = pk_post(fg, &d, 1);
	}
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, 64);
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, id, 0);

	/* the header split 1 + 11 over two descriptors, the frame in a third */
	{
		uint32_t split[3] = {1, 11, 64};

		id = fg_post_tx_pkt(fg, frame, 64, split, 3, FG_R2, false);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
		assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, 64);
		rte_pktmbuf_free(pkts[0]);
		fg_expect_used(fg, id, 0);
	}

	/* a buffer ending exactly at the last region's end */
	{
		uint8_t pkt[12 + 64] = {0};

		memcpy(pkt + 12, frame, 64);
		fg_write(fg, FG_R3_END - sizeof(pkt), pkt, sizeof(pkt));
		id = one(fg, FG_R3_END - sizeof(pkt), sizeof(pkt), 0);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
		assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, 64);
		rte_pktmbuf_free(pkts[0]);
		fg_expect_used(fg, id, 0);
	}
	check_caught_up(fg);
	check_all_popped(fg);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	no_leak();
	fg_free(fg);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test_setup(test_buffer_ids_any, count_pool),
	cmocka_unit_test_setup(test_head_wrong_lap, count_pool),
	cmocka_unit_test_setup(test_chain_tail_bits_ignored, count_pool),
	cmocka_unit_test_setup(test_rewrite_while_reading_rx, count_pool),
	cmocka_unit_test_setup(test_rewrite_while_reading_tx, count_pool),
	cmocka_unit_test_setup(test_rx_mixed_burst, count_pool),
	cmocka_unit_test_setup(test_rx_all_bad, count_pool),
	cmocka_unit_test_setup(test_tx_mixed_burst, count_pool),
	cmocka_unit_test_setup(test_tx_mergeable_bad_second_chain, count_pool),
	cmocka_unit_test_setup(test_odd_sizes, count_pool),
	cmocka_unit_test_setup(test_base_out_of_range, count_pool),
	cmocka_unit_test_setup(test_limits_accepted, count_pool),
};

int
main(void)
{
	static const struct {
		unsigned int mode;
		unsigned int applies; /* the case bit it follows */
		const char *prefix;
	} modes[] = {
		{RX, RX, "rx"},
		{TX, TX, "tx"},
		{TX_MRG, TX_MRG, "tx_mrg"},
		{FWD_SRC, RX, "fwd_src"},
		{FWD_DST, TX, "fwd_dst"},
		{FWD_DST_MRG, TX_MRG, "fwd_dst_mrg"},
	};
#define NMODES (sizeof(modes) / sizeof(modes[0]))
#define NFIXED (sizeof(fixed_tests) / sizeof(fixed_tests[0]))
	static struct instance inst[NCASES * NMODES * NRINGS];
	static struct CMUnitTest tests[NCASES * NMODES * NRINGS + NFIXED];
	size_t n = 0, ni = 0, i, m, r;

	for (r = 0; r < NRINGS; r++) {
		for (i = 0; i < NCASES; i++) {
			for (m = 0; m < NMODES; m++) {
				struct instance *in;

				if (!(cases[i].where & modes[m].applies))
					continue;
				in = &inst[ni++];
				in->c = &cases[i];
				in->ring = &rings[r];
				in->mode = modes[m].mode;
				snprintf(in->name, sizeof(in->name), "%s%s/%s", modes[m].prefix,
					 rings[r].suffix, cases[i].name);
				tests[n++] = (struct CMUnitTest){in->name, run_case, count_pool, NULL,
								 in};
			}
		}
	}
	for (i = 0; i < NFIXED; i++)
		tests[n++] = fixed_tests[i];
	return _cmocka_run_group_tests("virtq_packed_hostile", tests, n, fg_eal_setup,
				       fg_eal_teardown);
}
