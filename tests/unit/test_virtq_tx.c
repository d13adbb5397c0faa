/* SPDX-License-Identifier: BSD-3-Clause */
/* vhd_virtq_tx_burst: copying packets into a well-behaved guest's receive buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fake_guest.h"

#define MRG_V1 (FG_F_DEFAULT | FG_F_MRG)

/* Checks a virtio-net header: all zero but num_buffers when it is there. */
static void
expect_hdr(const uint8_t *hdr, uint16_t hdr_len, uint16_t num_buffers)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	static const uint8_t zero[10];

	memcpy(&h, hdr, hdr_len);
	assert_memory_equal(&h.hdr, zero, sizeof(zero));
	if (hdr_len == 12)
		assert_int_equal(h.num_buffers, num_buffers);
}

/*
 * One packet in one guest buffer at gpa: header, frame, and nothing written
 * past hdr_len + frame_len up to the buffer's end.
 */
static void
expect_in_buffer(struct fake_guest *fg, uint64_t gpa, uint32_t buf_len, const uint8_t *frame,
		 uint32_t frame_len)
{
	uint16_t hl = fg->vq.hdr_len;
	uint8_t got[4096];

	fg_read(fg, gpa, got, hl + frame_len);
	expect_hdr(got, hl, 1);
	assert_memory_equal(got + hl, frame, frame_len);
	assert_true(fg_untouched(fg, gpa + hl + frame_len, buf_len - hl - frame_len));
}

static void
tx_single(uint64_t features, uint32_t frame_len, int region)
{
	struct fake_guest *fg = fg_new(256, features);
	uint8_t frame[2048];
	struct rte_mbuf *m;
	uint16_t head;
	uint64_t gpa;

	fg_frame(frame, frame_len, frame_len);
	m = fg_mbuf(frame, frame_len, NULL, 0);
	head = fg_post_rx_buf(fg, region, 2048, &gpa);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(fg_used_pending(fg), 1);
	fg_expect_used(fg, head, fg->vq.hdr_len + frame_len);
	expect_in_buffer(fg, gpa, 2048, frame, frame_len);
	assert_int_equal(fg->vq.last_avail_idx, 1);
	assert_int_equal(fg->vq.last_used_idx, 1);
	assert_int_equal(fg->vq.stats.packets, 1);
	assert_int_equal(fg->vq.stats.bytes, frame_len);
	assert_int_equal(fg->vq.stats.no_room, 0);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_single_buffer(void **state)
{
	(void)state;
	/* virtio 1.0 without mergeable: 12-byte header, num_buffers 1 */
	tx_single(FG_F_DEFAULT, 60, FG_R0);
	tx_single(FG_F_DEFAULT, 1518, FG_R3);
	/* legacy without mergeable: 10-byte header */
	tx_single(0, 60, FG_R0);
	tx_single(FG_F_INDIRECT, 1518, FG_R1);
	/* legacy with mergeable: 12 bytes */
	tx_single(FG_F_MRG, 60, FG_R0);
	tx_single(MRG_V1, 2000, FG_R2);
}

/* Reads back what the used entries say was written, in order, into out. */
static uint32_t
gather_used(struct fake_guest *fg, unsigned int n, const uint16_t *heads, const uint64_t *gpas,
	    const uint32_t *expect_len, uint8_t *out)
{
	uint32_t off = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct vring_used_elem e = fg_used_pop(fg);

		assert_int_equal(e.id, heads[i]);
		assert_int_equal(e.len, expect_len[i]);
		fg_read(fg, gpas[i], out + off, e.len);
		off += e.len;
	}
	return off;
}

static void
mergeable_1518(uint64_t features)
{
	struct fake_guest *fg = fg_new(256, features);
	static const uint32_t lens[3] = {512, 512, 1518 + 12 - 1024};
	uint8_t frame[1518], got[2048], small[100];
	struct rte_mbuf *m;
	uint16_t heads[5];
	uint64_t gpas[5];
	unsigned int i;

	fg_frame(frame, sizeof(frame), 7);
	fg_frame(small, sizeof(small), 8);
	for (i = 0; i < 5; i++)
		heads[i] = fg_post_rx_buf(fg, FG_R0, 512, &gpas[i]);
	m = fg_mbuf(frame, sizeof(frame), NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	/* three buffers taken, two left for later */
	assert_int_equal(fg->vq.last_avail_idx, 3);
	assert_int_equal(fg_used_pending(fg), 3);
	assert_int_equal(gather_used(fg, 3, heads, gpas, lens, got), 12 + 1518);
	expect_hdr(got, 12, 3);
	assert_memory_equal(got + 12, frame, sizeof(frame));
	assert_true(fg_untouched(fg, gpas[2] + lens[2], 512 - lens[2]));
	assert_true(fg_untouched(fg, gpas[3], 512));

	/* the next packet fits in one: num_buffers 1 */
	m = fg_mbuf(small, sizeof(small), NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	fg_expect_used(fg, heads[3], 12 + sizeof(small));
	expect_in_buffer(fg, gpas[3], 512, small, sizeof(small));
	assert_int_equal(fg->vq.stats.packets, 2);
	assert_int_equal(fg->vq.stats.bytes, 1518 + 100);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_mergeable_spans_buffers(void **state)
{
	(void)state;
	mergeable_1518(MRG_V1);
	mergeable_1518(FG_F_MRG); /* legacy mergeable: same 12-byte header */
}

/* Mergeable buffers that are themselves chains of two descriptors. */
static void
test_mergeable_multi_desc_chains(void **state)
{
	struct fake_guest *fg = fg_new(256, MRG_V1);
	static const uint32_t lens[3] = {200, 200, 12 + 500 - 400};
	uint8_t frame[500], got[1024];
	struct rte_mbuf *m;
	uint16_t heads[4];
	uint64_t gpas[4];
	unsigned int i;

	(void)state;
	fg_frame(frame, sizeof(frame), 9);
	for (i = 0; i < 4; i++) {
		struct fg_buf b[2];

		/* two halves of one contiguous 200-byte area */
		gpas[i] = fg_alloc(fg, FG_R1, 200);
		b[0] = (struct fg_buf){gpas[i], 100};
		b[1] = (struct fg_buf){gpas[i] + 100, 100};
		heads[i] = fg_chain(fg, b, 2, VRING_DESC_F_WRITE);
		fg_post(fg, heads[i]);
	}
	m = fg_mbuf(frame, sizeof(frame), NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(fg_used_pending(fg), 3);
	assert_int_equal(gather_used(fg, 3, heads, gpas, lens, got), 12 + 500);
	expect_hdr(got, 12, 3);
	assert_memory_equal(got + 12, frame, sizeof(frame));
	assert_int_equal(fg->vq.last_avail_idx, 3);
	fg_assert_no_leak();
	fg_free(fg);
}

/* Without mergeable a packet may still use a multi-descriptor chain. */
static void
test_chain_without_mergeable(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	uint8_t frame[1518], got[12 + 1518];
	struct fg_buf b[3];
	struct rte_mbuf *m;
	uint16_t head;
	unsigned int i;

	(void)state;
	fg_frame(frame, sizeof(frame), 10);
	for (i = 0; i < 3; i++)
		b[i] = (struct fg_buf){fg_alloc(fg, FG_R0, 512), 512};
	head = fg_chain(fg, b, 3, VRING_DESC_F_WRITE);
	fg_post(fg, head);
	m = fg_mbuf(frame, sizeof(frame), NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	/* one used entry for the chain, the whole length */
	assert_int_equal(fg_used_pending(fg), 1);
	fg_expect_used(fg, head, 12 + 1518);
	fg_read(fg, b[0].gpa, got, 512);
	fg_read(fg, b[1].gpa, got + 512, 512);
	fg_read(fg, b[2].gpa, got + 1024, 12 + 1518 - 1024);
	expect_hdr(got, 12, 1);
	assert_memory_equal(got + 12, frame, sizeof(frame));
	assert_true(fg_untouched(fg, b[2].gpa + 12 + 1518 - 1024, 1536 - 12 - 1518));
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_multiseg_mbuf(void **state)
{
	static const uint32_t segs[] = {100, 700, 1, 717};
	uint8_t frame[1518], got[12 + 1518];
	unsigned int pass;

	(void)state;
	fg_frame(frame, sizeof(frame), 11);
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(256, pass ? MRG_V1 : FG_F_DEFAULT);
		uint32_t lens[3] = {512, 512, 1518 + 12 - 1024};
		uint16_t heads[4];
		uint64_t gpas[4];
		struct rte_mbuf *m = fg_mbuf(frame, sizeof(frame), segs, 4);
		unsigned int i;

		assert_int_equal(m->nb_segs, 4);
		if (pass == 0) {
			/* one big buffer */
			heads[0] = fg_post_rx_buf(fg, FG_R0, 2048, &gpas[0]);
			lens[0] = 12 + 1518;
		} else {
			/* 512-byte buffers: segment and buffer edges never line up */
			for (i = 0; i < 4; i++)
				heads[i] = fg_post_rx_buf(fg, FG_R0, 512, &gpas[i]);
		}
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		rte_pktmbuf_free(m);
		assert_int_equal(gather_used(fg, pass ? 3 : 1, heads, gpas, lens, got), 12 + 1518);
		expect_hdr(got, 12, pass ? 3 : 1);
		if (pass) {
			/* the fourth buffer was not needed and is still available */
			assert_int_equal(fg->vq.last_avail_idx, 3);
			assert_true(fg_untouched(fg, gpas[3], 512));
		}
		assert_memory_equal(got + 12, frame, sizeof(frame));
		assert_int_equal(fg->vq.stats.bytes, 1518);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

/* Guest buffers across R1's end into R2 (separate host blocks). */
static void
test_straddle_regions(void **state)
{
	static const uint64_t back[] = {100, 12, 5, 1};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		struct fake_guest *fg = fg_new(256, i & 1 ? MRG_V1 : FG_F_DEFAULT);
		struct fg_buf b = {FG_R2_GPA - back[i], 2048};
		uint8_t frame[1000];
		struct rte_mbuf *m;
		uint16_t head;

		fg_frame(frame, sizeof(frame), 12 + i);
		head = fg_chain(fg, &b, 1, VRING_DESC_F_WRITE);
		fg_post(fg, head);
		m = fg_mbuf(frame, sizeof(frame), NULL, 0);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		rte_pktmbuf_free(m);
		fg_expect_used(fg, head, 12 + sizeof(frame));
		expect_in_buffer(fg, b.gpa, b.len, frame, sizeof(frame));
		fg_assert_no_leak();
		fg_free(fg);
	}
}

static void
test_no_room_mergeable(void **state)
{
	struct fake_guest *fg = fg_new(256, MRG_V1);
	static const uint32_t lens[3] = {512, 512, 1518 + 12 - 1024};
	uint8_t frame[1518], got[2048];
	struct rte_mbuf *m;
	uint16_t heads[3];
	uint64_t gpas[3];

	(void)state;
	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 13);
	heads[0] = fg_post_rx_buf(fg, FG_R0, 512, &gpas[0]);
	heads[1] = fg_post_rx_buf(fg, FG_R0, 512, &gpas[1]);
	m = fg_mbuf(frame, sizeof(frame), NULL, 0);
	/* two buffers cannot hold it: not sent, and both stay available */
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 0);
	assert_int_equal(fg->vq.stats.no_room, 1);
	assert_int_equal(fg->vq.stats.packets, 0);
	assert_int_equal(fg->vq.last_avail_idx, 0);
	assert_int_equal(fg->vq.last_used_idx, 0);
	assert_int_equal(fg_used_pending(fg), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_true(fg_untouched(fg, gpas[0], 512));
	assert_int_equal(fg_errors_total(&fg->vq), 0);

	/* one more buffer: the same chains are used, in order */
	heads[2] = fg_post_rx_buf(fg, FG_R0, 512, &gpas[2]);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	rte_pktmbuf_free(m);
	assert_int_equal(gather_used(fg, 3, heads, gpas, lens, got), 12 + 1518);
	expect_hdr(got, 12, 3);
	assert_memory_equal(got + 12, frame, sizeof(frame));
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.no_room, 1);
	assert_int_equal(fg->vq.last_avail_idx, 3);
	fg_assert_no_leak();
	fg_free(fg);
}

/* A burst where the first packets fit and the rest wait: counts and order. */
static void
test_no_room_partial_burst(void **state)
{
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(256, pass ? MRG_V1 : FG_F_DEFAULT);
		uint8_t frames[4][600];
		struct rte_mbuf *m[4];
		uint16_t heads[4];
		uint64_t gpas[4];
		unsigned int i;

		for (i = 0; i < 4; i++) {
			fg_frame(frames[i], 600, 20 + i);
			m[i] = fg_mbuf(frames[i], 600, NULL, 0);
		}
		/* nothing posted: everything counted as no room */
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 4), 0);
		assert_int_equal(fg->vq.stats.no_room, 4);
		assert_int_equal(fg_used_pending(fg), 0);

		/* room for 2 packets of 612 bytes with their header */
		heads[0] = fg_post_rx_buf(fg, FG_R0, 1024, &gpas[0]);
		heads[1] = fg_post_rx_buf(fg, FG_R0, 1024, &gpas[1]);
		if (pass) {
			heads[2] = fg_post_rx_buf(fg, FG_R0, 100, &gpas[2]);
			/* packet 2 would need 612: 100 is not enough, so it waits */
		}
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 4), 2);
		assert_int_equal(fg->vq.stats.no_room, 4 + 2);
		assert_int_equal(fg->vq.stats.packets, 2);
		assert_int_equal(fg->vq.last_avail_idx, 2);
		fg_expect_used(fg, heads[0], 612);
		fg_expect_used(fg, heads[1], 612);
		assert_int_equal(fg_used_pending(fg), 0);
		expect_in_buffer(fg, gpas[0], 1024, frames[0], 600);
		expect_in_buffer(fg, gpas[1], 1024, frames[1], 600);
		if (pass)
			assert_true(fg_untouched(fg, gpas[2], 100));
		for (i = 0; i < 4; i++)
			rte_pktmbuf_free(m[i]);
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

static void
test_indirect_rx_chain(void **state)
{
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(256, pass ? MRG_V1 : FG_F_DEFAULT);
		uint8_t frame[1000], got[1100];
		struct fg_buf b[3];
		struct rte_mbuf *m;
		uint16_t head;

		fg_frame(frame, sizeof(frame), 30 + pass);
		b[0] = (struct fg_buf){fg_alloc(fg, FG_R1, 5), 5};     /* header split */
		b[1] = (struct fg_buf){fg_alloc(fg, FG_R2, 507), 507};
		b[2] = (struct fg_buf){fg_alloc(fg, FG_R3, 1024), 1024};
		head = fg_indirect(fg, b, 3, VRING_DESC_F_WRITE, FG_R0);
		fg_post(fg, head);
		m = fg_mbuf(frame, sizeof(frame), NULL, 0);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		rte_pktmbuf_free(m);
		fg_expect_used(fg, head, 12 + 1000);
		fg_read(fg, b[0].gpa, got, 5);
		fg_read(fg, b[1].gpa, got + 5, 507);
		fg_read(fg, b[2].gpa, got + 512, 1012 - 512);
		expect_hdr(got, 12, 1);
		assert_memory_equal(got + 12, frame, sizeof(frame));
		assert_true(fg_untouched(fg, b[2].gpa + 500, 524));
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

static void
test_burst_used_lengths(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	static uint8_t frames[40][1600];
	struct rte_mbuf *m[40];
	uint32_t flen[40];
	uint16_t heads[40];
	uint64_t gpas[40];
	uint64_t bytes = 0;
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	for (i = 0; i < 40; i++) {
		flen[i] = 14 + (i * 131) % 1500;
		fg_frame(frames[i], flen[i], 40 + i);
		m[i] = fg_mbuf(frames[i], flen[i], NULL, 0);
		heads[i] = fg_post_rx_buf(fg, i % 2 ? FG_R1 : FG_R2, 1600, &gpas[i]);
		bytes += flen[i];
	}
	/* transmit is not capped at a burst: all 40 go, one interrupt */
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 40), 40);
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.interrupts, 1);
	assert_int_equal(fg_used_pending(fg), 40);
	for (i = 0; i < 40; i++) {
		fg_expect_used(fg, heads[i], 12 + flen[i]);
		expect_in_buffer(fg, gpas[i], 1600, frames[i], flen[i]);
		rte_pktmbuf_free(m[i]);
	}
	assert_int_equal(fg->vq.stats.packets, 40);
	assert_int_equal(fg->vq.stats.bytes, bytes);
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * A burst that returns more used entries than the queue's shadow array holds
 * (32 packets over 6 mergeable buffers each: 192 entries, the shadow takes
 * 64): every entry still reaches the ring, in order, with its length.
 */
static void
test_burst_more_used_than_shadow(void **state)
{
	enum { PKTS = 32, BUFS = 6 };
	struct fake_guest *fg = fg_new(512, MRG_V1);
	static const uint32_t lens[BUFS] = {256, 256, 256, 256, 256, 12 + 1518 - 5 * 256};
	static uint8_t frames[PKTS][1518];
	uint16_t heads[PKTS * BUFS];
	uint64_t gpas[PKTS * BUFS];
	struct rte_mbuf *m[PKTS];
	uint8_t got[2048];
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	for (i = 0; i < PKTS * BUFS; i++)
		heads[i] = fg_post_rx_buf(fg, i % 2 ? FG_R1 : FG_R2, 256, &gpas[i]);
	for (i = 0; i < PKTS; i++) {
		fg_frame(frames[i], sizeof(frames[i]), 200 + i);
		m[i] = fg_mbuf(frames[i], sizeof(frames[i]), NULL, 0);
	}
	assert_true(PKTS * BUFS > VHD_USED_SHADOW);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, PKTS), PKTS);
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg_used_pending(fg), PKTS * BUFS);
	assert_int_equal(fg->vq.last_used_idx, PKTS * BUFS);
	for (i = 0; i < PKTS; i++) {
		assert_int_equal(gather_used(fg, BUFS, &heads[i * BUFS], &gpas[i * BUFS], lens, got),
				 12 + 1518);
		expect_hdr(got, 12, BUFS);
		assert_memory_equal(got + 12, frames[i], sizeof(frames[i]));
		rte_pktmbuf_free(m[i]);
	}
	assert_int_equal(fg->vq.stats.packets, PKTS);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_interrupt_suppression(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	uint8_t frame[64];
	struct rte_mbuf *m[3];
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 50);
	for (i = 0; i < 3; i++)
		m[i] = fg_mbuf(frame, sizeof(frame), NULL, 0);

	fg->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	for (i = 0; i < 3; i++)
		fg_post_rx_buf(fg, FG_R0, 256, NULL);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 3), 3);
	assert_int_equal(fg_used_pending(fg), 3);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(fg->vq.stats.interrupts, 0);

	fg->avail->flags = 0;
	for (i = 0; i < 3; i++)
		fg_post_rx_buf(fg, FG_R0, 256, NULL);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 3), 3);
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.interrupts, 1);

	/* nothing sent: nothing to signal */
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 3), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 0), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(fg->vq.stats.interrupts, 1);
	for (i = 0; i < 3; i++)
		rte_pktmbuf_free(m[i]);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_index_wrap(void **state)
{
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new_at(8, pass ? MRG_V1 : FG_F_DEFAULT, 65531);
		unsigned int round, i;

		for (round = 0; round < 6; round++) {
			uint8_t frames[4][300];
			struct rte_mbuf *m[4];
			uint16_t heads[8];
			uint64_t gpas[8];

			/* mergeable: 8 x 160-byte buffers, 2 per packet; else 4 x 400 */
			for (i = 0; i < (pass ? 8u : 4u); i++)
				heads[i] = fg_post_rx_buf(fg, FG_R0, pass ? 160 : 400, &gpas[i]);
			for (i = 0; i < 4; i++) {
				fg_frame(frames[i], 300, round * 4 + i);
				m[i] = fg_mbuf(frames[i], 300, NULL, 0);
			}
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 4), 4);
			for (i = 0; i < 4; i++) {
				uint8_t got[400];

				if (pass) {
					fg_expect_used(fg, heads[2 * i], 160);
					fg_expect_used(fg, heads[2 * i + 1], 312 - 160);
					fg_read(fg, gpas[2 * i], got, 160);
					fg_read(fg, gpas[2 * i + 1], got + 160, 312 - 160);
					expect_hdr(got, 12, 2);
					assert_memory_equal(got + 12, frames[i], 300);
				} else {
					fg_expect_used(fg, heads[i], 312);
					expect_in_buffer(fg, gpas[i], 400, frames[i], 300);
				}
				rte_pktmbuf_free(m[i]);
			}
			assert_int_equal(fg->vq.last_avail_idx,
					 (uint16_t)(65531 + (pass ? 8 : 4) * (round + 1)));
		}
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		assert_int_equal(fg->vq.stats.no_room, 0);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_buffer),
		cmocka_unit_test(test_mergeable_spans_buffers),
		cmocka_unit_test(test_mergeable_multi_desc_chains),
		cmocka_unit_test(test_chain_without_mergeable),
		cmocka_unit_test(test_multiseg_mbuf),
		cmocka_unit_test(test_straddle_regions),
		cmocka_unit_test(test_no_room_mergeable),
		cmocka_unit_test(test_no_room_partial_burst),
		cmocka_unit_test(test_indirect_rx_chain),
		cmocka_unit_test(test_burst_used_lengths),
		cmocka_unit_test(test_burst_more_used_than_shadow),
		cmocka_unit_test(test_interrupt_suppression),
		cmocka_unit_test(test_index_wrap),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
