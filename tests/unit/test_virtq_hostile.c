/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile guest: every malformed chain, on both directions where it applies.
 *
 * Each case builds one bad chain, then a good packet (rx) or a good buffer
 * (tx) is posted behind it, and one burst runs. Whatever the case, these must
 * hold: the bad chain is dropped and returned in the used ring with length 0,
 * exactly one error counter (or too_big, for a legal frame over 64 KiB) goes
 * up by exactly one, the good packet behind it
 * still gets through in the same burst, the bad chain's buffers are not
 * written, no mbuf leaks. Guest regions sit between PROT_NONE pages, so a
 * read or write just past a region faults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"

#define QSIZE 16

/* directions a case applies to */
#define RX (1u << 0)     /* vhd_virtq_rx_burst: guest TX chain, read-only descs */
#define TX (1u << 1)     /* vhd_virtq_tx_burst without MRG_RXBUF */
#define TX_MRG (1u << 2) /* vhd_virtq_tx_burst with MRG_RXBUF */
#define ALL (RX | TX | TX_MRG)
/*
 * The single-copy path (vhd_virtq_forward_burst) runs the same cases: a bad
 * chain in the source guest where RX applies, in the destination guest where
 * TX / TX_MRG apply. These modes are derived, never set in a case.
 */
#define FWD_SRC (1u << 3)
#define FWD_DST (1u << 4)
#define FWD_DST_MRG (1u << 5)

/* tx: the dropped packet is big, so a bad chain is walked to its bad part */
#define TX_BAD_PKT_LEN 1000
#define TX_GOOD_PKT_LEN 200

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

/* An indirect table of n entries in region, filled from t; returns its gpa. */
static uint64_t
table(struct fake_guest *fg, int region, const struct vring_desc *t, unsigned int n)
{
	uint64_t gpa = fg_alloc(fg, region, 16u * n);

	fg_write(fg, gpa, t, 16u * n);
	return gpa;
}

/* A plain two-entry indirect table of direction dir. */
static uint64_t
good_table(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{bb(fg, FG_R1, 64), 64, dir, 0},
	};

	return table(fg, FG_R0, t, 2);
}

static uint16_t
one_desc(struct fake_guest *fg, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint16_t d = fg_desc_alloc(fg);

	fg_set_desc(fg, d, addr, len, flags, next);
	return d;
}

/* ---- the cases: each returns the head to make available ---- */

static uint16_t
b_head_out_of_range(struct fake_guest *fg, uint16_t dir)
{
	(void)fg;
	(void)dir;
	return QSIZE + 3;
}

static uint16_t
b_head_ffff(struct fake_guest *fg, uint16_t dir)
{
	(void)fg;
	(void)dir;
	return 0xFFFF;
}

static uint16_t
b_next_out_of_range(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, bb(fg, FG_R0, 64), 64, dir | VRING_DESC_F_NEXT, QSIZE);
}

static uint16_t
b_next_ffff(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, 0xFFFF);
	return d0;
}

static uint16_t
b_self_loop(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d = fg_desc_alloc(fg);

	fg_set_desc(fg, d, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, d);
	return d;
}

static uint16_t
b_loop_a_b_a(struct fake_guest *fg, uint16_t dir)
{
	uint16_t a = fg_desc_alloc(fg), b = fg_desc_alloc(fg);

	fg_set_desc(fg, a, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, b);
	fg_set_desc(fg, b, bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, a);
	return a;
}

/* Every descriptor but one (kept for the good packet) in one cycle. */
static uint16_t
b_chain_longer_than_ring(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d[QSIZE - 1];
	unsigned int i;

	for (i = 0; i < QSIZE - 1; i++)
		d[i] = fg_desc_alloc(fg);
	for (i = 0; i < QSIZE - 1; i++)
		fg_set_desc(fg, d[i], bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT,
			    d[(i + 1) % (QSIZE - 1)]);
	return d[0];
}

/* 0 -> 1 -> 2 -> 3 -> 1 inside an indirect table */
static uint16_t
b_indirect_loop(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[4];
	unsigned int i;

	for (i = 0; i < 4; i++)
		t[i] = (struct vring_desc){bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT,
					   (uint16_t)(i == 3 ? 1 : i + 1)};
	return one_desc(fg, table(fg, FG_R0, t, 4), 64, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_gap_low(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_GAP_LOW, 64, dir, 0);
}

static uint16_t
b_gpa_zero(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, 0, 64, dir, 0);
}

static uint16_t
b_gap_between(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_GAP_01, 1500, dir, 0);
}

static uint16_t
b_gap_second_desc(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, FG_GAP_23, 64, dir, 0);
	return d0;
}

static uint16_t
b_above_last_region(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_R3_END + 0x1000, 64, dir, 0);
}

/* Starts in the top region; addr + len passes 2^64. */
static uint16_t
b_wrap_from_region(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_R3_GPA + 0x100, 0xFFFFFFFF, dir, 0);
}

static uint16_t
b_wrap_top(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, UINT64_MAX - 15, 64, dir, 0);
}

static uint16_t
b_past_end_last_region(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_R3_END - 64, 512, dir, 0);
}

static uint16_t
b_past_end_r0(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_R0_GPA + FG_R0_SIZE - 8, 64, dir, 0);
}

static uint16_t
b_past_end_r2_into_gap(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, FG_R2_GPA + FG_R2_SIZE - 20, 100, dir, 0);
}

static uint16_t
b_zero_len_head(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, bb(fg, FG_R0, 64), 0, dir, 0);
}

static uint16_t
b_zero_len_middle(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d2 = fg_desc_alloc(fg), d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, bb(fg, FG_R0, 16), 0, dir | VRING_DESC_F_NEXT, d2);
	fg_set_desc(fg, d2, bb(fg, FG_R0, 64), 64, dir, 0);
	return d0;
}

static uint16_t
b_zero_len_indirect_entry(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{bb(fg, FG_R1, 64), 0, dir, 0},
	};

	return one_desc(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_len_24(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, good_table(fg, dir), 24, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_len_0(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, good_table(fg, dir), 0, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_len_huge(struct fake_guest *fg, uint16_t dir)
{
	/* more entries than any ring may have; the gpa is in R0 */
	return one_desc(fg, good_table(fg, dir), 16u * (VHD_VIRTQ_SIZE_MAX + 1),
			VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_nested_indirect_first(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[1] = {{good_table(fg, dir), 32, VRING_DESC_F_INDIRECT, 0}};

	return one_desc(fg, table(fg, FG_R0, t, 1), 16, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_nested_indirect_second(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{good_table(fg, dir), 32, VRING_DESC_F_INDIRECT, 0},
	};

	return one_desc(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT, 0);
}

/* A valid indirect chain, used with a vq that did not negotiate INDIRECT_DESC. */
static uint16_t
b_indirect_plain(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, good_table(fg, dir), 32, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_with_next(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, good_table(fg, dir), 32,
			       VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, bb(fg, FG_R0, 64), 64, dir, 0);
	return d0;
}

static uint16_t
b_indirect_not_head(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, good_table(fg, dir), 32, VRING_DESC_F_INDIRECT, 0);
	return d0;
}

static uint16_t
b_indirect_table_in_gap(struct fake_guest *fg, uint16_t dir)
{
	(void)dir;
	return one_desc(fg, FG_GAP_01, 32, VRING_DESC_F_INDIRECT, 0);
}

/* The table itself straddles R1/R2: it must be contiguous in one region. */
static uint16_t
b_indirect_table_straddles(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{bb(fg, FG_R0, 64), 64, dir, 0},
	};

	fg_write(fg, FG_R2_GPA - 16, t, sizeof(t));
	return one_desc(fg, FG_R2_GPA - 16, 32, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_table_past_end(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[1] = {{bb(fg, FG_R0, 64), 64, dir, 0}};

	fg_write(fg, FG_R3_END - 16, t, sizeof(t));
	return one_desc(fg, FG_R3_END - 16, 64, VRING_DESC_F_INDIRECT, 0);
}

/* Descriptors are 8-byte loads: a table at an odd address is refused. */
static uint16_t
b_indirect_table_misaligned(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{bb(fg, FG_R1, 64), 64, dir, 0},
	};
	uint64_t gpa = fg_alloc(fg, FG_R0, 48) + 4;

	fg_write(fg, gpa, t, sizeof(t));
	return one_desc(fg, gpa, 32, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_table_wraps(struct fake_guest *fg, uint16_t dir)
{
	(void)dir;
	return one_desc(fg, UINT64_MAX - 31, 64, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_next_out_of_range(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 2},
		{bb(fg, FG_R1, 64), 64, dir, 0},
	};

	return one_desc(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT, 0);
}

static uint16_t
b_indirect_entry_in_gap(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{FG_GAP_23, 64, dir, 0},
	};

	return one_desc(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT, 0);
}

/* Wrong direction: writable in a guest TX chain, read-only in a guest RX chain. */
static uint16_t
b_wrong_dir_head(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, bb(fg, FG_R0, 1500), 1500, dir ^ VRING_DESC_F_WRITE, 0);
}

static uint16_t
b_wrong_dir_second(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 16), 16, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, bb(fg, FG_R0, 1500), 1500, dir ^ VRING_DESC_F_WRITE, 0);
	return d0;
}

static uint16_t
b_wrong_dir_indirect(struct fake_guest *fg, uint16_t dir)
{
	struct vring_desc t[2] = {
		{bb(fg, FG_R1, 16), 16, dir | VRING_DESC_F_NEXT, 1},
		{bb(fg, FG_R1, 1500), 1500, dir ^ VRING_DESC_F_WRITE, 0},
	};

	return one_desc(fg, table(fg, FG_R0, t, 2), 32, VRING_DESC_F_INDIRECT, 0);
}

/* rx only: what the guest sent is not a forwardable frame */
static uint16_t
b_rx_frame_13(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, bb(fg, FG_R0, 12 + 13), 12 + 13, dir, 0);
}

static uint16_t
b_rx_header_only(struct fake_guest *fg, uint16_t dir)
{
	return one_desc(fg, bb(fg, FG_R0, 12), 12, dir, 0);
}

static uint16_t
b_rx_header_short(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 5), 5, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, bb(fg, FG_R0, 3), 3, dir, 0);
	return d0;
}

/* legal chains, but a frame over 65535 bytes: too_big, not malformed */
static uint16_t
b_rx_too_long(struct fake_guest *fg, uint16_t dir)
{
	uint32_t len = 12 + VHD_MAX_FRAME_LEN + 1;

	return one_desc(fg, bb(fg, FG_R1, len), len, dir, 0);
}

static uint16_t
b_rx_too_long_chain(struct fake_guest *fg, uint16_t dir)
{
	uint16_t d2 = fg_desc_alloc(fg), d1 = fg_desc_alloc(fg);
	uint16_t d0 = one_desc(fg, bb(fg, FG_R0, 12), 12, dir | VRING_DESC_F_NEXT, d1);

	fg_set_desc(fg, d1, bb(fg, FG_R1, 65000), 65000, dir | VRING_DESC_F_NEXT, d2);
	fg_set_desc(fg, d2, bb(fg, FG_R2, 536), 536, dir, 0);
	return d0;
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

static const struct hostile_case cases[] = {
	{"head_out_of_range", VHD_DESC_ERR_INDEX, ALL, false, b_head_out_of_range},
	{"head_ffff", VHD_DESC_ERR_INDEX, ALL, false, b_head_ffff},
	{"next_out_of_range", VHD_DESC_ERR_INDEX, ALL, false, b_next_out_of_range},
	{"next_ffff", VHD_DESC_ERR_INDEX, ALL, false, b_next_ffff},
	{"self_loop", VHD_DESC_ERR_CHAIN, ALL, false, b_self_loop},
	{"loop_a_b_a", VHD_DESC_ERR_CHAIN, ALL, false, b_loop_a_b_a},
	{"chain_longer_than_ring", VHD_DESC_ERR_CHAIN, ALL, false, b_chain_longer_than_ring},
	{"indirect_loop", VHD_DESC_ERR_CHAIN, ALL, false, b_indirect_loop},
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
	{"indirect_next_out_of_range", VHD_DESC_ERR_INDEX, ALL, false,
	 b_indirect_next_out_of_range},
	{"indirect_entry_in_gap", VHD_DESC_ERR_ADDR, ALL, false, b_indirect_entry_in_gap},
	{"wrong_direction_head", VHD_DESC_ERR_DIRECTION, ALL, false, b_wrong_dir_head},
	{"wrong_direction_second", VHD_DESC_ERR_DIRECTION, ALL, false, b_wrong_dir_second},
	{"wrong_direction_indirect", VHD_DESC_ERR_DIRECTION, ALL, false, b_wrong_dir_indirect},
	{"frame_13_bytes", VHD_DESC_ERR_LEN, RX, false, b_rx_frame_13},
	{"header_only", VHD_DESC_ERR_LEN, RX, false, b_rx_header_only},
	{"header_incomplete", VHD_DESC_ERR_LEN, RX, false, b_rx_header_short},
	{"longer_than_64k", TOO_BIG, RX, false, b_rx_too_long},
	{"longer_than_64k_chain", TOO_BIG, RX, false, b_rx_too_long_chain},
	/* a receive chain too small without MRG_RXBUF: test_virtq_jumbo.c */
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct instance {
	const struct hostile_case *c;
	unsigned int mode; /* RX, TX or TX_MRG */
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

static void
run_rx(const struct hostile_case *c)
{
	uint64_t features = c->no_indirect ? FG_F_V1 : FG_F_DEFAULT;
	struct fake_guest *fg = fg_new(QSIZE, features);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[64];
	uint16_t bad, good;

	fg_use_eventfd(fg);
	bad = c->build(fg, 0);
	fg_post(fg, bad);
	fg_frame(frame, sizeof(frame), 77);
	good = fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);

	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(frame));
	assert_int_equal(pkts[0]->data_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);

	check_only_error(&fg->vq, c->err, 1);
	assert_int_equal(fg_used_pending(fg), 2);
	fg_expect_used(fg, bad, 0);
	fg_expect_used(fg, good, 0);
	assert_int_equal(fg->vq.last_avail_idx, 2);
	assert_int_equal(fg->vq.last_used_idx, 2);
	assert_int_equal(fg->vq.stats.packets, 1);
	assert_int_equal(fg->vq.stats.bytes, sizeof(frame));
	assert_int_equal(fg->vq.stats.no_mbuf, 0);
	assert_int_equal(fg_interrupts(fg), 1);
	check_bad_bufs_untouched(fg);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
run_tx(const struct hostile_case *c, bool mrg)
{
	uint64_t features = (c->no_indirect ? FG_F_V1 : FG_F_DEFAULT) | (mrg ? FG_F_MRG : 0);
	struct fake_guest *fg = fg_new(QSIZE, features);
	uint8_t frame_a[TX_BAD_PKT_LEN], frame_b[TX_GOOD_PKT_LEN], got[12 + TX_GOOD_PKT_LEN];
	struct rte_mbuf *m[2];
	uint16_t bad, good;
	uint64_t good_gpa;

	fg_use_eventfd(fg);
	bad = c->build(fg, VRING_DESC_F_WRITE);
	fg_post(fg, bad);
	good = fg_post_rx_buf(fg, FG_R0, 2048, &good_gpa);
	fg_frame(frame_a, sizeof(frame_a), 88);
	fg_frame(frame_b, sizeof(frame_b), 99);
	m[0] = fg_mbuf(frame_a, sizeof(frame_a), NULL, 0);
	m[1] = fg_mbuf(frame_b, sizeof(frame_b), NULL, 0);

	/* packet a meets the bad chain and is dropped; b goes to the good buffer */
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 1);
	rte_pktmbuf_free(m[0]);
	rte_pktmbuf_free(m[1]);

	check_only_error(&fg->vq, c->err, 1);
	assert_int_equal(fg_used_pending(fg), 2);
	fg_expect_used(fg, bad, 0);
	fg_expect_used(fg, good, 12 + TX_GOOD_PKT_LEN);
	fg_read(fg, good_gpa, got, sizeof(got));
	assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers, 1);
	assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
	assert_true(fg_untouched(fg, good_gpa + sizeof(got), 2048 - sizeof(got)));
	assert_int_equal(fg->vq.last_avail_idx, 2);
	assert_int_equal(fg->vq.last_used_idx, 2);
	assert_int_equal(fg->vq.stats.packets, 1);
	assert_int_equal(fg->vq.stats.bytes, TX_GOOD_PKT_LEN);
	assert_int_equal(fg->vq.stats.no_room, 0);
	assert_int_equal(fg_interrupts(fg), 1);
	check_bad_bufs_untouched(fg);
	fg_assert_no_leak();
	fg_free(fg);
}

/* Bad chain in the source guest of a single-copy forward. */
static void
run_fwd_src(const struct hostile_case *c)
{
	uint64_t features = c->no_indirect ? FG_F_V1 : FG_F_DEFAULT;
	struct fake_guest *src = fg_new(QSIZE, features);
	struct fake_guest *dst = fg_new(QSIZE, FG_F_DEFAULT);
	uint8_t frame[64], got[12 + 64];
	uint16_t bad, good, buf;
	uint64_t buf_gpa;

	fg_use_eventfd(src);
	bad = c->build(src, 0);
	fg_post(src, bad);
	fg_frame(frame, sizeof(frame), 77);
	good = fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	buf = fg_post_rx_buf(dst, FG_R0, 2048, &buf_gpa);

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, VHD_BURST_MAX), 1);
	check_only_error(&src->vq, c->err, 1);
	check_only_error(&dst->vq, VHD_DESC_ERR_MAX, 0);
	assert_int_equal(fg_used_pending(src), 2);
	fg_expect_used(src, bad, 0);
	fg_expect_used(src, good, 0);
	fg_expect_used(dst, buf, 12 + sizeof(frame));
	fg_read(dst, buf_gpa, got, sizeof(got));
	assert_memory_equal(got + 12, frame, sizeof(frame));
	assert_int_equal(src->vq.stats.packets, 1);
	assert_int_equal(dst->vq.stats.packets, 1);
	assert_int_equal(fg_interrupts(src), 1);
	check_bad_bufs_untouched(src);
	fg_free(src);
	fg_free(dst);
}

/* Bad receive chain in the destination guest of a single-copy forward. */
static void
run_fwd_dst(const struct hostile_case *c, bool mrg)
{
	uint64_t features = (c->no_indirect ? FG_F_V1 : FG_F_DEFAULT) | (mrg ? FG_F_MRG : 0);
	struct fake_guest *src = fg_new(QSIZE, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(QSIZE, features);
	uint8_t frame_a[TX_BAD_PKT_LEN], frame_b[TX_GOOD_PKT_LEN], got[12 + TX_GOOD_PKT_LEN];
	uint16_t bad, good;
	uint64_t good_gpa;

	fg_use_eventfd(dst);
	bad = c->build(dst, VRING_DESC_F_WRITE);
	fg_post(dst, bad);
	good = fg_post_rx_buf(dst, FG_R0, 2048, &good_gpa);
	fg_frame(frame_a, sizeof(frame_a), 88);
	fg_frame(frame_b, sizeof(frame_b), 99);
	fg_post_tx_pkt(src, frame_a, sizeof(frame_a), NULL, 0, FG_R0, false);
	fg_post_tx_pkt(src, frame_b, sizeof(frame_b), NULL, 0, FG_R0, false);

	/* packet a meets the bad chain and is dropped; b goes to the good buffer */
	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, VHD_BURST_MAX), 2);
	check_only_error(&dst->vq, c->err, 1);
	check_only_error(&src->vq, VHD_DESC_ERR_MAX, 0);
	assert_int_equal(fg_used_pending(dst), 2);
	fg_expect_used(dst, bad, 0);
	fg_expect_used(dst, good, 12 + TX_GOOD_PKT_LEN);
	fg_read(dst, good_gpa, got, sizeof(got));
	assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
	assert_int_equal(dst->vq.stats.packets, 1);
	assert_int_equal(dst->vq.stats.no_room, 0);
	assert_int_equal(src->used->idx, 2);
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
		run_rx(in->c);
		break;
	case TX:
	case TX_MRG:
		run_tx(in->c, in->mode == TX_MRG);
		break;
	case FWD_SRC:
		run_fwd_src(in->c);
		break;
	default:
		run_fwd_dst(in->c, in->mode == FWD_DST_MRG);
		break;
	}
	fg_assert_no_leak();
}

/* ---- hostile behaviour that does not fit the one-bad-chain pattern ---- */

/* avail->idx more than a ring ahead (or behind): refuse to consume anything. */
static void
avail_idx_jump(bool rx, uint16_t start)
{
	static const uint16_t jumps[] = {QSIZE + 1, 0x8000, 0xFFFF /* one behind */};
	struct fake_guest *fg = fg_new_at(QSIZE, FG_F_DEFAULT, start);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[64];
	uint64_t errs = 0;
	uint16_t head;
	size_t j;

	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 5);
	if (rx)
		head = fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	else
		head = fg_post_rx_buf(fg, FG_R0, 2048, NULL);
	pkts[0] = fg_mbuf(frame, sizeof(frame), NULL, 0);

	for (j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
		fg->avail->idx = (uint16_t)(start + jumps[j]);
		if (rx)
			assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts + 1, 31), 0);
		else
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, pkts, 1), 0);
		errs++;
		check_only_error(&fg->vq, VHD_DESC_ERR_AVAIL_IDX, errs);
		assert_int_equal(fg->vq.last_avail_idx, start);
		assert_int_equal(fg->vq.last_used_idx, start);
		assert_int_equal(fg_used_pending(fg), 0);
		assert_int_equal(fg_interrupts(fg), 0);
		assert_int_equal(fg->vq.stats.packets, 0);
		/* rx allocated nothing; tx still owns its one mbuf */
		assert_int_equal(rte_mempool_avail_count(fg_pool), FG_NB_MBUFS - 1);
	}
	/* exactly a ring's worth ahead is legal: it is not counted as an error */
	fg->avail->idx = (uint16_t)(start + QSIZE);
	for (j = 1; j < QSIZE; j++)
		fg->avail->ring[(uint16_t)(start + j) & (QSIZE - 1)] = head;
	if (rx) {
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts + 1, 31), QSIZE);
		rte_pktmbuf_free_bulk(pkts + 1, QSIZE);
	} else {
		/* the same buffer 16 times over: only the first packet matters here */
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, pkts, 1), 1);
	}
	check_only_error(&fg->vq, VHD_DESC_ERR_AVAIL_IDX, errs);
	assert_int_equal(fg_used_pending(fg), rx ? QSIZE : 1);
	fg_expect_used(fg, head, rx ? 0 : 12 + sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_avail_idx_jump_rx(void **state)
{
	(void)state;
	avail_idx_jump(true, 0);
	avail_idx_jump(true, 65530);
}

static void
test_avail_idx_jump_tx(void **state)
{
	(void)state;
	avail_idx_jump(false, 0);
	avail_idx_jump(false, 65530);
}

/* Several different bad chains interleaved with good packets in one burst. */
static void
test_rx_mixed_burst(void **state)
{
	struct fake_guest *fg = fg_new(64, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frames[4][100];
	uint16_t heads[9];
	unsigned int i;

	(void)state;
	nbad = 0;
	for (i = 0; i < 4; i++)
		fg_frame(frames[i], 100, 200 + i);
	heads[0] = b_self_loop(fg, 0);
	fg_post(fg, heads[0]);
	heads[1] = fg_post_tx_pkt(fg, frames[0], 100, NULL, 0, FG_R0, false);
	heads[2] = b_gap_between(fg, 0);
	fg_post(fg, heads[2]);
	heads[3] = b_wrong_dir_head(fg, 0);
	fg_post(fg, heads[3]);
	heads[4] = fg_post_tx_pkt(fg, frames[1], 100, NULL, 0, FG_R1, true);
	heads[5] = fg_post_tx_pkt(fg, frames[2], 100, NULL, 0, FG_R2, false);
	heads[6] = b_rx_too_long(fg, 0);
	fg_post(fg, heads[6]);
	heads[7] = b_nested_indirect_first(fg, 0);
	fg_post(fg, heads[7]);
	heads[8] = fg_post_tx_pkt(fg, frames[3], 100, NULL, 0, FG_R3, false);

	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pkts[i]->pkt_len, 100);
		assert_memory_equal(rte_pktmbuf_mtod(pkts[i], uint8_t *), frames[i], 100);
	}
	rte_pktmbuf_free_bulk(pkts, 4);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_CHAIN], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
	assert_int_equal(fg->vq.stats.too_big, 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDIRECT], 1);
	assert_int_equal(fg_errors_total(&fg->vq), 4);
	assert_int_equal(fg_used_pending(fg), 9);
	for (i = 0; i < 9; i++)
		fg_expect_used(fg, heads[i], 0);
	assert_int_equal(fg->vq.stats.packets, 4);
	fg_assert_no_leak();
	fg_free(fg);
}

/* A burst of nothing but bad chains: all returned, one interrupt, no mbuf kept. */
static void
test_rx_all_bad(void **state)
{
	struct fake_guest *fg = fg_new(QSIZE, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint16_t heads[4];
	unsigned int i;

	(void)state;
	nbad = 0;
	fg_use_eventfd(fg);
	heads[0] = b_head_out_of_range(fg, 0);
	heads[1] = b_zero_len_head(fg, 0);
	heads[2] = b_indirect_len_24(fg, 0);
	heads[3] = b_rx_frame_13(fg, 0);
	for (i = 0; i < 4; i++)
		fg_post(fg, heads[i]);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 0);
	assert_int_equal(fg_used_pending(fg), 4);
	for (i = 0; i < 4; i++)
		fg_expect_used(fg, heads[i], 0);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDEX], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_LEN], 2);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDIRECT], 1);
	assert_int_equal(fg->vq.stats.packets, 0);
	assert_int_equal(fg->vq.last_avail_idx, 4);
	assert_int_equal(fg_interrupts(fg), 1);
	fg_assert_no_leak();
	fg_free(fg);
}

/* Same for tx: each bad chain costs the packet that met it, and only that one. */
static void
test_tx_mixed_burst(void **state)
{
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(QSIZE, FG_F_DEFAULT | (pass ? FG_F_MRG : 0));
		uint8_t frames[6][1000];
		struct rte_mbuf *m[6];
		uint16_t heads[6];
		uint64_t gpas[6];
		unsigned int i;

		nbad = 0;
		for (i = 0; i < 6; i++) {
			fg_frame(frames[i], 1000, 300 + i);
			m[i] = fg_mbuf(frames[i], 1000, NULL, 0);
		}
		heads[0] = fg_post_rx_buf(fg, FG_R0, 2048, &gpas[0]);
		heads[1] = b_loop_a_b_a(fg, VRING_DESC_F_WRITE);
		fg_post(fg, heads[1]);
		heads[2] = b_past_end_last_region(fg, VRING_DESC_F_WRITE);
		fg_post(fg, heads[2]);
		heads[3] = fg_post_rx_buf(fg, FG_R1, 2048, &gpas[3]);
		heads[4] = b_wrong_dir_second(fg, VRING_DESC_F_WRITE);
		fg_post(fg, heads[4]);
		heads[5] = fg_post_rx_buf(fg, FG_R2, 2048, &gpas[5]);

		/* packets 0, 3 and 5 are delivered; 1, 2, 4 meet bad chains */
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 6), 3);
		fg_expect_used(fg, heads[0], 1012);
		fg_expect_used(fg, heads[1], 0);
		fg_expect_used(fg, heads[2], 0);
		fg_expect_used(fg, heads[3], 1012);
		fg_expect_used(fg, heads[4], 0);
		fg_expect_used(fg, heads[5], 1012);
		assert_int_equal(fg_used_pending(fg), 0);
		{
			uint8_t got[1012];

			fg_read(fg, gpas[0], got, sizeof(got));
			assert_memory_equal(got + 12, frames[0], 1000);
			fg_read(fg, gpas[3], got, sizeof(got));
			assert_memory_equal(got + 12, frames[3], 1000);
			fg_read(fg, gpas[5], got, sizeof(got));
			assert_memory_equal(got + 12, frames[5], 1000);
		}
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_CHAIN], 1);
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
		assert_int_equal(fg_errors_total(&fg->vq), 3);
		assert_int_equal(fg->vq.stats.no_room, 0);
		assert_int_equal(fg->vq.stats.packets, 3);
		check_bad_bufs_untouched(fg);
		for (i = 0; i < 6; i++)
			rte_pktmbuf_free(m[i]);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

/*
 * Mergeable: a packet that needs three chains gets a good one, then a bad
 * one. Every chain it took goes back empty, the good one included, and
 * nothing is written to the good one; the next packet uses the next chain.
 */
static void
test_tx_mergeable_bad_second_chain(void **state)
{
	struct fake_guest *fg = fg_new(QSIZE, FG_F_DEFAULT | FG_F_MRG);
	uint8_t frame_a[1400], frame_b[300], got[312];
	struct rte_mbuf *m[2];
	uint16_t h0, h1, h2;
	uint64_t g0, g2;

	(void)state;
	nbad = 0;
	fg_use_eventfd(fg);
	h0 = fg_post_rx_buf(fg, FG_R0, 512, &g0);
	h1 = b_gap_second_desc(fg, VRING_DESC_F_WRITE);
	fg_post(fg, h1);
	h2 = fg_post_rx_buf(fg, FG_R0, 512, &g2);
	fg_frame(frame_a, sizeof(frame_a), 1);
	fg_frame(frame_b, sizeof(frame_b), 2);
	m[0] = fg_mbuf(frame_a, sizeof(frame_a), NULL, 0);
	m[1] = fg_mbuf(frame_b, sizeof(frame_b), NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 1);
	fg_expect_used(fg, h0, 0);
	fg_expect_used(fg, h1, 0);
	fg_expect_used(fg, h2, 312);
	assert_true(fg_untouched(fg, g0, 512));
	check_bad_bufs_untouched(fg);
	fg_read(fg, g2, got, sizeof(got));
	assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers, 1);
	assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
	check_only_error(&fg->vq, VHD_DESC_ERR_ADDR, 1);
	assert_int_equal(fg_interrupts(fg), 1);
	rte_pktmbuf_free(m[0]);
	rte_pktmbuf_free(m[1]);
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * More buffer pieces than one packet may gather (128 pieces or 64 chains per
 * packet in the datapath): one chain of 200 8-byte descriptors without
 * mergeable, 200 one-piece chains with it. The packet is dropped as too_big
 * instead of overrunning the gather list; the buffers broke no rule, so they
 * stay in the ring and the next packet fills them.
 */
static void
test_tx_too_many_pieces(void **state)
{
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(256, FG_F_DEFAULT | (pass ? FG_F_MRG : 0));
		uint8_t frame_a[1518], frame_b[200], got[212];
		struct fg_buf b[200];
		struct rte_mbuf *m[2];
		uint16_t heads[200];
		unsigned int i;

		nbad = 0;
		for (i = 0; i < 200; i++)
			b[i] = (struct fg_buf){fg_alloc(fg, FG_R0, 8), 8};
		if (pass) {
			for (i = 0; i < 200; i++) {
				heads[i] = fg_chain(fg, &b[i], 1, VRING_DESC_F_WRITE);
				fg_post(fg, heads[i]);
			}
		} else {
			heads[0] = fg_chain(fg, b, 200, VRING_DESC_F_WRITE);
			fg_post(fg, heads[0]);
		}
		fg_frame(frame_a, sizeof(frame_a), 1);
		fg_frame(frame_b, sizeof(frame_b), 2);
		m[0] = fg_mbuf(frame_a, sizeof(frame_a), NULL, 0);
		m[1] = fg_mbuf(frame_b, sizeof(frame_b), NULL, 0);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 1);
		check_only_error(&fg->vq, TOO_BIG, 1);
		/* b's 212 bytes fill 27 8-byte pieces, from the first one on */
		if (pass) {
			for (i = 0; i < 27; i++)
				fg_expect_used(fg, heads[i], i < 26 ? 8 : 212 - 26 * 8);
		} else {
			fg_expect_used(fg, heads[0], 212);
		}
		for (i = 0; i < 27; i++)
			fg_read(fg, b[i].gpa, got + 8 * i, i < 26 ? 8 : 212 - 26 * 8);
		assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers,
				 pass ? 27 : 1);
		assert_memory_equal(got + 12, frame_b, sizeof(frame_b));
		assert_int_equal(fg_used_pending(fg), 0);
		assert_int_equal(fg->vq.last_avail_idx, pass ? 27 : 1);
		assert_int_equal(fg->vq.stats.no_room, 0);
		rte_pktmbuf_free(m[0]);
		rte_pktmbuf_free(m[1]);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

/* The limits themselves are legal: no off-by-one turns them into errors. */
static void
test_limits_accepted(void **state)
{
	struct fake_guest *fg = fg_new(QSIZE, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[QSIZE * 16 - 12];
	uint32_t lens[QSIZE];
	struct fg_buf b[2];
	struct vring_desc t[QSIZE];
	uint16_t head;
	unsigned int i;

	(void)state;
	/* a chain using every descriptor of the ring */
	fg_frame(frame, sizeof(frame), 3);
	for (i = 0; i < QSIZE; i++)
		lens[i] = 16;
	head = fg_post_tx_pkt(fg, frame, sizeof(frame), lens, QSIZE, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, head, 0);

	/* an indirect table whose chain uses every entry */
	for (i = 0; i < QSIZE; i++) {
		uint64_t gpa = fg_alloc(fg, FG_R1, 16);

		fg_write(fg, gpa, i == 0 ? (const uint8_t[16]){0} : frame + 16 * i - 12, 16);
		if (i == 0)
			fg_write(fg, gpa + 12, frame, 4);
		t[i] = (struct vring_desc){gpa, 16, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0,
					   (uint16_t)(i + 1 < QSIZE ? i + 1 : 0)};
	}
	head = fg_desc_alloc(fg);
	fg_set_desc(fg, head, table(fg, FG_R0, t, QSIZE), sizeof(t), VRING_DESC_F_INDIRECT, 0);
	fg_post(fg, head);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(frame));
	assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, head, 0);

	/*
	 * The WRITE flag on the descriptor that points to a table means
	 * nothing (virtio 1.x 2.7.5.3.2): the table's flags decide.
	 */
	b[0] = (struct fg_buf){fg_alloc(fg, FG_R1, 12), 12};
	b[1] = (struct fg_buf){fg_alloc(fg, FG_R1, 64), 64};
	fg_write(fg, b[0].gpa, (const uint8_t[12]){0}, 12);
	fg_write(fg, b[1].gpa, frame, 64);
	head = fg_indirect(fg, b, 2, 0, FG_R0);
	fg->desc[head].flags |= VRING_DESC_F_WRITE;
	fg_post(fg, head);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	assert_int_equal(pkts[0]->pkt_len, 64);
	rte_pktmbuf_free(pkts[0]);
	fg_expect_used(fg, head, 0);

	/* a buffer ending exactly at the last region's end */
	{
		uint8_t pkt[12 + 64] = {0};

		memcpy(pkt + 12, frame, 64);
		fg_write(fg, FG_R3_END - sizeof(pkt), pkt, sizeof(pkt));
		head = one_desc(fg, FG_R3_END - sizeof(pkt), sizeof(pkt), 0, 0);
		fg_post(fg, head);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
		assert_memory_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *), frame, 64);
		rte_pktmbuf_free(pkts[0]);
		fg_expect_used(fg, head, 0);
	}
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	fg_assert_no_leak();
	fg_free(fg);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_avail_idx_jump_rx),
	cmocka_unit_test(test_avail_idx_jump_tx),
	cmocka_unit_test(test_rx_mixed_burst),
	cmocka_unit_test(test_rx_all_bad),
	cmocka_unit_test(test_tx_mixed_burst),
	cmocka_unit_test(test_tx_mergeable_bad_second_chain),
	cmocka_unit_test(test_tx_too_many_pieces),
	cmocka_unit_test(test_limits_accepted),
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
	static struct instance inst[NCASES * NMODES];
	static struct CMUnitTest tests[NCASES * NMODES + sizeof(fixed_tests) / sizeof(fixed_tests[0])];
	size_t n = 0, ni = 0, i, m;

	for (i = 0; i < NCASES; i++) {
		for (m = 0; m < NMODES; m++) {
			struct instance *in;

			if (!(cases[i].where & modes[m].applies))
				continue;
			in = &inst[ni++];
			in->c = &cases[i];
			in->mode = modes[m].mode;
			snprintf(in->name, sizeof(in->name), "%s/%s", modes[m].prefix, cases[i].name);
			tests[n++] = (struct CMUnitTest){in->name, run_case, NULL, NULL, in};
		}
	}
	for (i = 0; i < sizeof(fixed_tests) / sizeof(fixed_tests[0]); i++)
		tests[n++] = fixed_tests[i];
	return _cmocka_run_group_tests("virtq_hostile", tests, n, fg_eal_setup, fg_eal_teardown);
}
