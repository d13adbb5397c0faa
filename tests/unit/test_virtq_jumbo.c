/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames of any legal size, up to 65535 bytes: guest to mbuf chains (rx),
 * multi-segment mbufs into one big or many small receive buffers (tx),
 * guest to guest (forward), and what a side cannot take (too_big: an MTU,
 * too few buffers without MRG_RXBUF), which is never counted as malformed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"

#define MRG_V1 (FG_F_DEFAULT | FG_F_MRG)
#define ROOM (RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM)

static const uint32_t sizes[] = {ROOM + 1, 9000, VHD_MAX_FRAME_LEN};

static uint8_t *
frame_new(uint32_t len, uint32_t seed)
{
	uint8_t *f = malloc(len);

	assert_non_null(f);
	fg_frame(f, len, seed);
	return f;
}

/* A received mbuf chain: well formed, from fg_pool, holding frame. */
static void
expect_mbuf(const struct rte_mbuf *m, const uint8_t *frame, uint32_t len)
{
	uint32_t off = 0, segs = 0;

	assert_int_equal(m->pkt_len, len);
	assert_int_equal(m->nb_segs, (len + ROOM - 1) / ROOM);
	for (; m != NULL; m = m->next) {
		assert_ptr_equal(m->pool, fg_pool);
		assert_true(m->data_len > 0 && m->data_len <= ROOM);
		assert_true(m->data_off + m->data_len <= m->buf_len);
		assert_memory_equal(rte_pktmbuf_mtod(m, const uint8_t *), frame + off, m->data_len);
		off += m->data_len;
		segs++;
	}
	assert_int_equal(off, len);
}

/* An mbuf of len bytes in segments of at most 2000 bytes. */
static struct rte_mbuf *
mbuf_segs(const uint8_t *frame, uint32_t len)
{
	uint32_t segs[64], n = 0, off;

	for (off = 0; off < len; off += segs[n++])
		segs[n] = RTE_MIN(len - off, 2000u);
	return fg_mbuf(frame, len, segs, n);
}

/* Reads what a guest received over the buffers at gpas[] of lens[] bytes each. */
static void
expect_received(struct fake_guest *fg, const uint64_t *gpas, const uint32_t *lens,
		unsigned int n, const uint8_t *frame, uint32_t len)
{
	uint32_t total = fg->vq.hdr_len + len, off = 0;
	uint8_t *got = malloc(total);
	unsigned int i;

	assert_non_null(got);
	for (i = 0; i < n && off < total; i++) {
		uint32_t k = RTE_MIN(lens[i], total - off);

		fg_read(fg, gpas[i], got + off, k);
		off += k;
	}
	assert_int_equal(off, total);
	assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers,
			 fg->vq.flags & VHD_VQ_F_MRG_RXBUF ? i : 1);
	assert_memory_equal(got + fg->vq.hdr_len, frame, len);
	free(got);
}

/* Guest to mbuf chain: one descriptor, a chain over regions, an indirect table. */
static void
test_rx_jumbo(void **state)
{
	size_t s;
	int layout;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		for (layout = 0; layout < 3; layout++) {
			struct fake_guest *fg = fg_new(64, FG_F_DEFAULT);
			uint32_t len = sizes[s];
			uint8_t *frame = frame_new(len, len + layout);
			uint32_t lens[3] = {5, len / 2, 12 - 5 + len - len / 2};
			struct rte_mbuf *pkts[VHD_BURST_MAX];
			uint16_t head;

			if (layout == 0)
				head = fg_post_tx_pkt(fg, frame, len, NULL, 0, FG_R1, false);
			else
				head = fg_post_tx_pkt(fg, frame, len, lens, 3, FG_R1, layout == 2);
			assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
			expect_mbuf(pkts[0], frame, len);
			fg_expect_used(fg, head, 0);
			assert_int_equal(fg->vq.stats.bytes, len);
			assert_int_equal(fg_errors_total(&fg->vq), 0);
			assert_int_equal(fg->vq.stats.too_big, 0);
			rte_pktmbuf_free(pkts[0]);
			fg_assert_no_leak();
			free(frame);
			fg_free(fg);
		}
	}
}

/* Small and big frames in one burst keep their order; 64 B stays one mbuf. */
static void
test_rx_jumbo_mixed(void **state)
{
	struct fake_guest *fg = fg_new(64, FG_F_DEFAULT);
	uint32_t lens[5] = {64, 9000, 1518, VHD_MAX_FRAME_LEN, 60};
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t *frames[5];
	unsigned int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		frames[i] = frame_new(lens[i], 40 + i);
		fg_post_tx_pkt(fg, frames[i], lens[i], NULL, 0, i % 2 ? FG_R1 : FG_R2, false);
	}
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 5);
	for (i = 0; i < 5; i++) {
		expect_mbuf(pkts[i], frames[i], lens[i]);
		free(frames[i]);
	}
	rte_pktmbuf_free_bulk(pkts, 5);
	assert_int_equal(fg->vq.stats.packets, 5);
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * The pool has mbufs for the burst's heads but not for a big frame's chain:
 * the frames before it go out, it and the ones after stay in the ring
 * (no_mbuf), and the next poll takes them once mbufs are back.
 */
static void
test_rx_jumbo_no_mbuf(void **state)
{
	struct fake_guest *fg = fg_new(64, FG_F_DEFAULT);
	static struct rte_mbuf *held[FG_NB_MBUFS + 1];
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t *small = frame_new(64, 1), *big = frame_new(9000, 2);
	unsigned int nheld = 0, i;
	uint16_t h[3];

	(void)state;
	fg_use_eventfd(fg);
	h[0] = fg_post_tx_pkt(fg, small, 64, NULL, 0, FG_R1, false);
	h[1] = fg_post_tx_pkt(fg, big, 9000, NULL, 0, FG_R1, false);
	h[2] = fg_post_tx_pkt(fg, small, 64, NULL, 0, FG_R1, false);
	while ((held[nheld] = rte_pktmbuf_alloc(fg_pool)) != NULL)
		nheld++;
	/* three mbufs: one per chain, none for the big frame's chain */
	rte_pktmbuf_free_bulk(&held[nheld - 3], 3);
	nheld -= 3;

	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
	expect_mbuf(pkts[0], small, 64);
	assert_int_equal(fg->vq.stats.no_mbuf, 1);
	assert_int_equal(fg->vq.last_avail_idx, 1);
	assert_int_equal(fg_used_pending(fg), 1);
	fg_expect_used(fg, h[0], 0);
	assert_int_equal(fg_interrupts(fg), 1);
	/* the two spare heads went back */
	assert_int_equal(rte_mempool_avail_count(fg_pool), 2);
	rte_pktmbuf_free(pkts[0]);

	/* still short: nothing moves, nothing is published */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 0);
	assert_int_equal(fg->vq.stats.no_mbuf, 2);
	assert_int_equal(fg_used_pending(fg), 0);
	assert_int_equal(fg_interrupts(fg), 0);

	rte_pktmbuf_free_bulk(held, nheld);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 2);
	expect_mbuf(pkts[0], big, 9000);
	expect_mbuf(pkts[1], small, 64);
	fg_expect_used(fg, h[1], 0);
	fg_expect_used(fg, h[2], 0);
	assert_int_equal(fg->vq.stats.packets, 3);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	for (i = 0; i < 2; i++)
		rte_pktmbuf_free(pkts[i]);
	fg_assert_no_leak();
	free(small);
	free(big);
	fg_free(fg);
}

/* A multi-segment mbuf into one buffer big enough for it (no MRG_RXBUF). */
static void
test_tx_jumbo_one_buffer(void **state)
{
	size_t s;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		struct fake_guest *fg = fg_new(16, FG_F_DEFAULT);
		uint32_t len = sizes[s], blen = 12 + VHD_MAX_FRAME_LEN;
		uint8_t *frame = frame_new(len, 7 + s);
		struct rte_mbuf *m = mbuf_segs(frame, len);
		uint64_t gpa;
		uint16_t head = fg_post_rx_buf(fg, FG_R1, blen, &gpa);

		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		fg_expect_used(fg, head, 12 + len);
		expect_received(fg, &gpa, &blen, 1, frame, len);
		assert_true(len == VHD_MAX_FRAME_LEN || fg_untouched(fg, gpa + 12 + len, 1));
		assert_int_equal(fg->vq.stats.bytes, len);
		rte_pktmbuf_free(m);
		fg_assert_no_leak();
		free(frame);
		fg_free(fg);
	}
}

/* With MRG_RXBUF, a big frame spreads over as many small buffers as it needs. */
static void
test_tx_jumbo_mergeable(void **state)
{
	size_t s;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		struct fake_guest *fg = fg_new(64, MRG_V1);
		uint32_t len = sizes[s], lens[40];
		uint8_t *frame = frame_new(len, 17 + s);
		struct rte_mbuf *m = mbuf_segs(frame, len);
		uint32_t need = (12 + len + 2047) / 2048, i;
		uint64_t gpas[40];
		uint16_t heads[40];

		for (i = 0; i < 40; i++) {
			lens[i] = 2048;
			heads[i] = fg_post_rx_buf(fg, i % 2 ? FG_R1 : FG_R2, 2048, &gpas[i]);
		}
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		for (i = 0; i < need; i++)
			fg_expect_used(fg, heads[i], i + 1 < need ? 2048 : 12 + len - 2048 * i);
		assert_int_equal(fg_used_pending(fg), 0);
		expect_received(fg, gpas, lens, need, frame, len);
		assert_int_equal(fg->vq.last_avail_idx, need);
		rte_pktmbuf_free(m);
		fg_assert_no_leak();
		free(frame);
		fg_free(fg);
	}
}

/*
 * Without MRG_RXBUF, a frame bigger than the next chain is too_big, not a
 * malformed chain: the chain stays and the next packet fills it. With
 * MRG_RXBUF, too few buffers posted is no_room: they stay for later.
 */
static void
test_tx_jumbo_too_few_buffers(void **state)
{
	uint8_t *big = frame_new(9000, 3), *small = frame_new(1000, 4);
	unsigned int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *fg = fg_new(16, pass ? MRG_V1 : FG_F_DEFAULT);
		struct rte_mbuf *m[2] = {mbuf_segs(big, 9000), mbuf_segs(small, 1000)};
		struct fg_buf b[2];
		uint32_t blen = 2048;
		uint64_t gpa;
		uint16_t head;

		fg_use_eventfd(fg);
		if (pass) {
			head = fg_post_rx_buf(fg, FG_R1, 2048, &gpa);
			fg_post_rx_buf(fg, FG_R1, 2048, NULL);
			/* 8 KiB would hold the frame: the burst stops, nothing dropped yet */
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 0);
			assert_int_equal(fg->vq.stats.no_room, 2);
			assert_int_equal(fg->vq.stats.too_big, 0);
			assert_int_equal(fg->vq.last_avail_idx, 0);
			assert_int_equal(fg_used_pending(fg), 0);
			assert_true(fg_untouched(fg, gpa, 2048));
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m[1], 1), 1);
		} else {
			/* two descriptors of 1024: 2048 bytes, legal, too small */
			b[0] = (struct fg_buf){fg_alloc(fg, FG_R1, 1024), 1024};
			b[1] = (struct fg_buf){fg_alloc(fg, FG_R1, 1024), 1024};
			gpa = b[0].gpa;
			head = fg_chain(fg, b, 2, VRING_DESC_F_WRITE);
			fg_post(fg, head);
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 2), 1);
			assert_int_equal(fg->vq.stats.too_big, 1);
			assert_int_equal(fg->vq.stats.no_room, 0);
		}
		fg_expect_used(fg, head, 12 + 1000);
		expect_received(fg, &gpa, &blen, 1, small, 1000);
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		assert_int_equal(fg->vq.stats.packets, 1);
		rte_pktmbuf_free(m[0]);
		rte_pktmbuf_free(m[1]);
		fg_assert_no_leak();
		fg_free(fg);
	}
	free(big);
	free(small);
}

/* Guest to guest, single copy: one big buffer, or small ones with MRG_RXBUF. */
static void
test_forward_jumbo(void **state)
{
	size_t s;
	unsigned int pass;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		for (pass = 0; pass < 2; pass++) {
			struct fake_guest *src = fg_new(16, FG_F_DEFAULT);
			struct fake_guest *dst = fg_new(64, pass ? MRG_V1 : FG_F_DEFAULT);
			uint32_t len = sizes[s], lens[3] = {12, 1000, len - 1000}, blens[40];
			uint8_t *frame = frame_new(len, 30 + s);
			uint32_t nbuf = pass ? (12 + len + 2047) / 2048 : 1, i;
			uint64_t gpas[40];
			uint16_t heads[40], sh;

			sh = fg_post_tx_pkt(src, frame, len, lens, 3, FG_R2, false);
			for (i = 0; i < (pass ? 40 : 1); i++) {
				blens[i] = pass ? 2048 : 12 + VHD_MAX_FRAME_LEN;
				heads[i] = fg_post_rx_buf(dst, FG_R1, blens[i], &gpas[i]);
			}
			assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 1);
			fg_expect_used(src, sh, 0);
			for (i = 0; i < nbuf; i++)
				fg_expect_used(dst, heads[i],
					       i + 1 < nbuf ? blens[i] : 12 + len - blens[0] * i);
			expect_received(dst, gpas, blens, nbuf, frame, len);
			assert_int_equal(src->vq.stats.bytes, len);
			assert_int_equal(dst->vq.stats.bytes, len);
			assert_int_equal(fg_errors_total(&src->vq) + fg_errors_total(&dst->vq), 0);
			free(frame);
			fg_free(src);
			fg_free(dst);
		}
	}
}

/*
 * A destination with an MTU takes frames up to MTU + 18 (Ethernet header
 * and a VLAN tag), on the mbuf path and the single-copy one, even into
 * buffers big enough for more; a 65535-byte MTU is the frame limit itself.
 */
static void
test_mtu(void **state)
{
	uint32_t lens[4] = {1518, 1519, 64, 9000};
	uint8_t *frames[4];
	unsigned int i, pass;

	(void)state;
	for (i = 0; i < 4; i++)
		frames[i] = frame_new(lens[i], 50 + i);
	for (pass = 0; pass < 2; pass++) {
		struct fake_guest *src = fg_new(16, FG_F_DEFAULT);
		struct fake_guest *dst = fg_new(16, FG_F_DEFAULT);
		uint32_t blen = 10000;
		uint64_t gpas[4];
		uint16_t heads[4];

		vhd_virtq_set_mtu(&dst->vq, 1500);
		assert_int_equal(dst->vq.max_frame, 1518);
		for (i = 0; i < 4; i++)
			heads[i] = fg_post_rx_buf(dst, FG_R1, blen, &gpas[i]);
		if (pass) {
			for (i = 0; i < 4; i++)
				fg_post_tx_pkt(src, frames[i], lens[i], NULL, 0, FG_R2, false);
			assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 4);
		} else {
			struct rte_mbuf *m[4];

			for (i = 0; i < 4; i++)
				m[i] = mbuf_segs(frames[i], lens[i]);
			assert_int_equal(vhd_virtq_tx_burst(&dst->vq, m, 4), 2);
			for (i = 0; i < 4; i++)
				rte_pktmbuf_free(m[i]);
		}
		assert_int_equal(dst->vq.stats.too_big, 2);
		assert_int_equal(dst->vq.stats.packets, 2);
		assert_int_equal(fg_errors_total(&dst->vq), 0);
		fg_expect_used(dst, heads[0], 12 + 1518);
		fg_expect_used(dst, heads[1], 12 + 64);
		assert_int_equal(fg_used_pending(dst), 0);
		expect_received(dst, &gpas[0], &blen, 1, frames[0], 1518);
		expect_received(dst, &gpas[1], &blen, 1, frames[2], 64);
		fg_assert_no_leak();
		fg_free(src);
		fg_free(dst);
	}
	for (i = 0; i < 4; i++)
		free(frames[i]);
	{
		struct fake_guest *fg = fg_new(16, FG_F_DEFAULT);

		assert_int_equal(fg->vq.max_frame, VHD_MAX_FRAME_LEN);
		vhd_virtq_set_mtu(&fg->vq, 65535);
		assert_int_equal(fg->vq.max_frame, VHD_MAX_FRAME_LEN);
		vhd_virtq_set_mtu(&fg->vq, 9000);
		assert_int_equal(fg->vq.max_frame, 9018);
		vhd_virtq_set_mtu(&fg->vq, 0);
		assert_int_equal(fg->vq.max_frame, VHD_MAX_FRAME_LEN);
		fg_free(fg);
	}
}

/* 65536 bytes: too_big where vhostd receives it, on both paths. */
static void
test_over_64k(void **state)
{
	uint8_t *frame = frame_new(VHD_MAX_FRAME_LEN + 1, 9);
	uint32_t lens[2] = {12 + 40000, VHD_MAX_FRAME_LEN + 1 - 40000};
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	struct fake_guest *src = fg_new(16, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(16, FG_F_DEFAULT);
	uint16_t h;

	(void)state;
	h = fg_post_tx_pkt(src, frame, VHD_MAX_FRAME_LEN + 1, lens, 2, FG_R1, false);
	assert_int_equal(vhd_virtq_rx_burst(&src->vq, fg_pool, pkts, 32), 0);
	fg_expect_used(src, h, 0);
	h = fg_post_tx_pkt(src, frame, VHD_MAX_FRAME_LEN + 1, NULL, 0, FG_R2, false);
	fg_post_rx_buf(dst, FG_R1, 0x20000, NULL);
	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 0);
	fg_expect_used(src, h, 0);
	assert_int_equal(src->vq.stats.too_big, 2);
	assert_int_equal(fg_errors_total(&src->vq), 0);
	assert_int_equal(dst->vq.last_avail_idx, 0);
	assert_int_equal(dst->vq.stats.too_big, 0);
	fg_assert_no_leak();
	free(frame);
	fg_free(src);
	fg_free(dst);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_jumbo),
		cmocka_unit_test(test_rx_jumbo_mixed),
		cmocka_unit_test(test_rx_jumbo_no_mbuf),
		cmocka_unit_test(test_tx_jumbo_one_buffer),
		cmocka_unit_test(test_tx_jumbo_mergeable),
		cmocka_unit_test(test_tx_jumbo_too_few_buffers),
		cmocka_unit_test(test_forward_jumbo),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_over_64k),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
