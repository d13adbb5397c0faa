/* SPDX-License-Identifier: BSD-3-Clause */
/* vhd_virtq_rx_burst: receiving what a well-behaved guest transmitted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fake_guest.h"

/* Checks that m holds exactly frame, in one segment. */
static void
expect_pkt(const struct rte_mbuf *m, const uint8_t *frame, uint32_t len)
{
	assert_non_null(m);
	assert_int_equal(m->nb_segs, 1);
	assert_int_equal(m->pkt_len, len);
	assert_int_equal(m->data_len, len);
	assert_memory_equal(rte_pktmbuf_mtod(m, const uint8_t *), frame, len);
}

/* Guest transmits frame cut as lens; we receive it alone and check all. */
static void
rx_one_checked(uint64_t features, uint32_t frame_len, const uint32_t *lens, unsigned int n,
	       int region, bool indirect)
{
	struct fake_guest *fg = fg_new(256, features);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[4096];
	uint16_t head;

	fg_frame(frame, frame_len, frame_len + n);
	head = fg_post_tx_pkt(fg, frame, frame_len, lens, n, region, indirect);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	expect_pkt(pkts[0], frame, frame_len);
	assert_int_equal(fg_used_pending(fg), 1);
	fg_expect_used(fg, head, 0);
	assert_int_equal(fg->vq.last_avail_idx, 1);
	assert_int_equal(fg->vq.last_used_idx, 1);
	assert_int_equal(fg->vq.stats.packets, 1);
	assert_int_equal(fg->vq.stats.bytes, frame_len);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	rte_pktmbuf_free(pkts[0]);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_single_desc(void **state)
{
	(void)state;
	rx_one_checked(FG_F_DEFAULT, 60, NULL, 0, FG_R0, false);
	rx_one_checked(FG_F_DEFAULT, 1514, NULL, 0, FG_R1, false);
}

/* Legacy without MRG_RXBUF: a 10-byte header, so the frame starts 2 bytes earlier. */
static void
test_legacy_header(void **state)
{
	static const uint32_t lens[] = {10, 64};

	(void)state;
	rx_one_checked(0, 100, NULL, 0, FG_R0, false);
	rx_one_checked(FG_F_INDIRECT, 64, lens, 2, FG_R0, false);
	/* legacy with mergeable buffers carries num_buffers: 12 bytes */
	rx_one_checked(FG_F_MRG, 100, NULL, 0, FG_R0, false);
}

static void
test_header_own_desc(void **state)
{
	static const uint32_t lens[] = {12, 60};

	(void)state;
	rx_one_checked(FG_F_DEFAULT, 60, lens, 2, FG_R0, false);
}

/* CVE-2022-2132 class: the header does not end where a descriptor ends. */
static void
test_header_split(void **state)
{
	static const uint32_t a[] = {5, 7, 60};
	static const uint32_t b[] = {5, 7 + 60};
	static const uint32_t c[] = {3, 4, 5 + 20, 40};
	static const uint32_t d[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

	(void)state;
	rx_one_checked(FG_F_DEFAULT, 60, a, 3, FG_R0, false);
	rx_one_checked(FG_F_DEFAULT, 60, b, 2, FG_R0, false);
	rx_one_checked(FG_F_DEFAULT, 60, c, 4, FG_R0, false);
	/* 12 one-byte header pieces, then the 8 first frame bytes one by one... */
	{
		uint32_t lens[21];

		memcpy(lens, d, sizeof(d));
		lens[20] = 12 + 100 - 20;
		rx_one_checked(FG_F_DEFAULT, 100, lens, 21, FG_R0, false);
	}
	/* and the same split inside an indirect table */
	rx_one_checked(FG_F_DEFAULT, 60, a, 3, FG_R1, true);
}

static void
test_many_descs(void **state)
{
	uint32_t lens[40], left = 12 + 1500;
	unsigned int n = 0;

	(void)state;
	while (left > 0) {
		uint32_t l = RTE_MIN(left, 1 + (n * 37) % 97);

		lens[n++] = l;
		left -= l;
		assert_true(n < 40);
	}
	rx_one_checked(FG_F_DEFAULT, 1500, lens, n, FG_R0, false);
	rx_one_checked(FG_F_DEFAULT, 1500, lens, n, FG_R2, true);
}

/* Buffers that are guest-physically contiguous across R1/R2 but not on the host. */
static void
test_straddle_regions(void **state)
{
	static const struct {
		uint64_t start; /* relative to R2's first byte */
		uint32_t frame_len;
	} cases[] = {
		{30, 200},   /* frame straddles */
		{5, 100},    /* header straddles (5 + 7) */
		{12, 100},   /* header ends exactly at R1's end */
		{1, 1514},   /* one byte in R1 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
		struct rte_mbuf *pkt;
		uint8_t buf[12 + 1514];
		struct fg_buf b;
		uint16_t head;

		memset(buf, 0, 12);
		fg_frame(buf + 12, cases[i].frame_len, (uint32_t)i);
		b.gpa = FG_R2_GPA - cases[i].start;
		b.len = 12 + cases[i].frame_len;
		fg_write(fg, b.gpa, buf, b.len);
		head = fg_chain(fg, &b, 1, 0);
		fg_post(fg, head);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, &pkt, 1), 1);
		expect_pkt(pkt, buf + 12, cases[i].frame_len);
		fg_expect_used(fg, head, 0);
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		rte_pktmbuf_free(pkt);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

static void
test_indirect(void **state)
{
	static const uint32_t three[] = {12, 30, 30};

	(void)state;
	rx_one_checked(FG_F_DEFAULT, 60, NULL, 0, FG_R0, true);
	rx_one_checked(FG_F_DEFAULT, 60, three, 3, FG_R0, true);
	rx_one_checked(FG_F_DEFAULT | FG_F_MRG, 60, three, 3, FG_R3, true);
}

/* Posts count packets of distinct contents, direct/indirect/split mixed. */
static void
post_many(struct fake_guest *fg, unsigned int count, uint16_t *heads, uint8_t frames[][256],
	  uint32_t *flen, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		uint32_t lens[3];

		flen[i] = 60 + (i * 7 + seed) % 190;
		fg_frame(frames[i], flen[i], seed + i);
		lens[0] = 5;
		lens[1] = 7 + 10;
		lens[2] = flen[i] - 10;
		switch (i % 3) {
		case 0:
			heads[i] = fg_post_tx_pkt(fg, frames[i], flen[i], NULL, 0, FG_R0, false);
			break;
		case 1:
			heads[i] = fg_post_tx_pkt(fg, frames[i], flen[i], lens, 3, FG_R1, false);
			break;
		default:
			heads[i] = fg_post_tx_pkt(fg, frames[i], flen[i], lens, 3, FG_R2, true);
			break;
		}
	}
}

static void
test_burst_32(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	static uint8_t frames[32][256];
	struct rte_mbuf *pkts[64];
	uint64_t bytes = 0;
	uint16_t heads[32];
	uint32_t flen[32];
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	post_many(fg, 32, heads, frames, flen, 1);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 64), 32);
	/* one publication, one interrupt, every entry in order with len 0 */
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.interrupts, 1);
	assert_int_equal(fg_used_pending(fg), 32);
	for (i = 0; i < 32; i++) {
		expect_pkt(pkts[i], frames[i], flen[i]);
		fg_expect_used(fg, heads[i], 0);
		bytes += flen[i];
	}
	assert_int_equal(fg->vq.stats.packets, 32);
	assert_int_equal(fg->vq.stats.bytes, bytes);
	assert_int_equal(fg->vq.last_avail_idx, 32);
	rte_pktmbuf_free_bulk(pkts, 32);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_burst_more_than_32(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	static uint8_t frames[45][256];
	struct rte_mbuf *pkts[64];
	uint16_t heads[45];
	uint32_t flen[45];
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	post_many(fg, 45, heads, frames, flen, 2);
	/* only a burst's worth is taken, even when more is available and asked */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 64), 32);
	assert_int_equal(fg->vq.last_avail_idx, 32);
	assert_int_equal(fg_used_pending(fg), 32);
	assert_int_equal(__atomic_load_n(&fg->used->idx, __ATOMIC_ACQUIRE), 32);
	assert_int_equal(fg_interrupts(fg), 1);
	for (i = 0; i < 32; i++) {
		expect_pkt(pkts[i], frames[i], flen[i]);
		fg_expect_used(fg, heads[i], 0);
	}
	rte_pktmbuf_free_bulk(pkts, 32);
	fg_assert_no_leak();

	/* the caller's count limits too */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 5), 5);
	assert_int_equal(fg->vq.last_avail_idx, 37);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts + 5, 64), 8);
	assert_int_equal(fg->vq.last_avail_idx, 45);
	assert_int_equal(fg_interrupts(fg), 2);
	for (i = 32; i < 45; i++) {
		expect_pkt(pkts[i - 32], frames[i], flen[i]);
		fg_expect_used(fg, heads[i], 0);
	}
	rte_pktmbuf_free_bulk(pkts, 13);

	/* drained: nothing, and no interrupt */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 64), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(fg_used_pending(fg), 0);
	assert_int_equal(fg->vq.stats.packets, 45);
	assert_int_equal(fg->vq.stats.interrupts, 3);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_count_zero(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[60];

	(void)state;
	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 3);
	fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	/* asking for nothing consumes nothing and does not interrupt */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 0), 0);
	assert_int_equal(fg->vq.last_avail_idx, 0);
	assert_int_equal(fg_used_pending(fg), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(fg->vq.stats.interrupts, 0);
	/* and is not a mempool shortage */
	assert_int_equal(fg->vq.stats.no_mbuf, 0);
	fg_assert_no_leak();
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 1), 1);
	expect_pkt(pkts[0], frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_interrupt_suppression(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[60];

	(void)state;
	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 4);
	fg->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(fg_used_pending(fg), 1);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(fg->vq.stats.interrupts, 0);

	fg->avail->flags = 0;
	fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.interrupts, 1);
	fg_assert_no_leak();
	fg_free(fg);
}

/* Small ring, indices starting near 2^16: ring slots and 16-bit indices wrap. */
static void
test_index_wrap(void **state)
{
	struct fake_guest *fg = fg_new_at(16, FG_F_DEFAULT, 65530);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	unsigned int round, i;

	(void)state;
	for (round = 0; round < 5; round++) {
		uint8_t frames[6][256];
		uint16_t heads[6];
		uint32_t flen[6];

		/* 6 packets take 10 of the 16 descriptors */
		post_many(fg, 6, heads, frames, flen, round * 10);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 6);
		for (i = 0; i < 6; i++) {
			expect_pkt(pkts[i], frames[i], flen[i]);
			fg_expect_used(fg, heads[i], 0);
		}
		rte_pktmbuf_free_bulk(pkts, 6);
		assert_int_equal(fg->vq.last_avail_idx, (uint16_t)(65530 + 6 * (round + 1)));
		assert_int_equal(fg->used->idx, (uint16_t)(65530 + 6 * (round + 1)));
	}
	/* a full ring (avail->idx - last_avail_idx == size) is legal */
	{
		uint8_t frames[16][64];
		uint16_t heads[16];

		for (i = 0; i < 16; i++) {
			fg_frame(frames[i], 64, 1000 + i);
			heads[i] = fg_post_tx_pkt(fg, frames[i], 64, NULL, 0, FG_R0, false);
		}
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 16);
		for (i = 0; i < 16; i++) {
			expect_pkt(pkts[i], frames[i], 64);
			fg_expect_used(fg, heads[i], 0);
		}
		rte_pktmbuf_free_bulk(pkts, 16);
	}
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_mempool_empty(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	static struct rte_mbuf *all[FG_NB_MBUFS];
	uint8_t frame[60];
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 5);
	for (i = 0; i < 3; i++)
		fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	/* leave 2 mbufs: fewer than the 3 packets need */
	assert_int_equal(rte_pktmbuf_alloc_bulk(fg_pool, all, FG_NB_MBUFS - 2), 0);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 0);
	assert_int_equal(fg->vq.stats.no_mbuf, 1);
	assert_int_equal(fg->vq.last_avail_idx, 0);
	assert_int_equal(fg_used_pending(fg), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(rte_mempool_avail_count(fg_pool), 2);
	/* what fits is still taken */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 2), 2);
	rte_pktmbuf_free_bulk(pkts, 2);
	rte_pktmbuf_free_bulk(all, FG_NB_MBUFS - 2);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	expect_pkt(pkts[0], frame, sizeof(frame));
	rte_pktmbuf_free(pkts[0]);
	assert_int_equal(fg->vq.stats.packets, 3);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_frame_size_limits(void **state)
{
	uint32_t room = RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM;
	uint32_t lens[2] = {12 + 1000, room - 1000};

	(void)state;
	/* the shortest forwardable frame: an Ethernet header */
	rx_one_checked(FG_F_DEFAULT, 14, NULL, 0, FG_R0, false);
	/* exactly what the mbuf holds, in one piece and in two */
	rx_one_checked(FG_F_DEFAULT, room, NULL, 0, FG_R1, false);
	rx_one_checked(FG_F_DEFAULT, room, lens, 2, FG_R1, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_desc),
		cmocka_unit_test(test_legacy_header),
		cmocka_unit_test(test_header_own_desc),
		cmocka_unit_test(test_header_split),
		cmocka_unit_test(test_many_descs),
		cmocka_unit_test(test_straddle_regions),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_burst_32),
		cmocka_unit_test(test_burst_more_than_32),
		cmocka_unit_test(test_count_zero),
		cmocka_unit_test(test_interrupt_suppression),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_mempool_empty),
		cmocka_unit_test(test_frame_size_limits),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
