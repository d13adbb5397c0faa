/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packed ring (VIRTIO_F_RING_PACKED, virtio 1.1 section 2.7) through the
 * fake guest's driver side: set-up and ring checks, rx, tx with and without
 * MRG_RXBUF, frames up to 64 KiB, indirect tables, offload headers, the
 * single copy, many laps of the ring (chains wrapping at its end) at sizes
 * that are not powers of two, the vring base (wrap counter in bit 15) across
 * a detach and attach, notification suppression (event areas, EVENT_IDX's
 * DESC mode), and the counters of refused buffers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "fake_guest.h"
#include "vhostd/net_hdr.h"

#define PK (FG_F_DEFAULT | FG_F_PACKED)
#define PK_MRG (PK | FG_F_MRG)
#define HDR12 ((uint32_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))
#define ROOM (RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM)

static uint8_t *
frame_new(uint32_t len, uint32_t seed)
{
	uint8_t *f = malloc(len);

	assert_non_null(f);
	fg_frame(f, len, seed);
	return f;
}

/* m holds exactly frame[0, len), in a well-formed chain from fg_pool. */
static void
expect_mbuf(const struct rte_mbuf *m, const uint8_t *frame, uint32_t len)
{
	uint8_t *copy = malloc(len);

	assert_non_null(copy);
	assert_int_equal(m->pkt_len, len);
	assert_int_equal(m->nb_segs, (len + ROOM - 1) / ROOM);
	assert_memory_equal(rte_pktmbuf_read(m, 0, len, copy), frame, len);
	free(copy);
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

/*
 * What the guest received over the buffers at gpas[] of lens[] bytes each:
 * a header with num_buffers, then frame.
 */
static void
expect_received(struct fake_guest *fg, const uint64_t *gpas, const uint32_t *lens,
		unsigned int n, const uint8_t *frame, uint32_t len, uint16_t num_buffers)
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
	if (fg->vq.hdr_len == HDR12)
		assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers,
				 num_buffers);
	assert_memory_equal(got + fg->vq.hdr_len, frame, len);
	free(got);
}

/* The device's positions are where the driver stands, once it popped everything. */
static void
expect_positions_match(struct fake_guest *fg)
{
	uint16_t a, u, da, du;

	vhd_virtq_positions(&fg->vq, &a, &u);
	fg_packed_positions(fg, &da, &du);
	assert_int_equal(a, da);
	assert_int_equal(u, du);
}

/* ---------------------------------------------------------------- set-up */

static void
test_rings_check(void **state)
{
	static const uint16_t good[] = {1, 3, 7, 100, 256, 1000, 32767, 32768};
	static const uint16_t bad[] = {0, 32769, 65535};
	struct fake_guest *fg = fg_new(8, PK);
	uint64_t g = fg_alloc(fg, FG_R1, 16);
	const struct vring_packed_desc_event *ev = fg_hva(fg, g), *odd_ev;
	const struct vring_packed_desc *d, *odd_d;
	size_t i;

	(void)state;
	/* R0 holds the biggest ring; sizes need not be powers of two */
	d = fg_hva(fg, FG_R0_GPA);
	for (i = 0; i < RTE_DIM(good); i++)
		assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, ev + 1, good[i]), 0);
	for (i = 0; i < RTE_DIM(bad); i++)
		assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, ev + 1, bad[i]),
				 -EINVAL);
	/* missing parts */
	assert_int_equal(vhd_virtq_packed_rings_check(NULL, d, ev, ev, 8), -EINVAL);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, NULL, ev, ev, 8), -EINVAL);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, NULL, ev, 8), -EINVAL);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, NULL, 8), -EINVAL);
	/* alignment: 16 for descriptors, 4 for the event areas */
	odd_d = (const void *)((const uint8_t *)d + 8);
	odd_ev = (const void *)((const uint8_t *)ev + 2);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, odd_d, ev, ev, 8), -EINVAL);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, odd_ev, ev, 8), -EINVAL);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, odd_ev, 8), -EINVAL);
	/* a ring running past its region's end, by one descriptor */
	d = fg_hva(fg, FG_R3_END - 16u * 100);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, ev, 100), 0);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, ev, 101), -EINVAL);
	/* an event area in the last 4 bytes of a region, and across its end */
	ev = fg_hva(fg, FG_R3_END - 4);
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, ev, ev, 1), 0);
	/* memory outside every region (a host pointer not in the table) */
	assert_int_equal(vhd_virtq_packed_rings_check(&fg->mem, d, (const void *)&g, ev, 1),
			 -EINVAL);
	fg_free(fg);
}

static void
test_init(void **state)
{
	struct fake_guest *fg = fg_new(100, PK_MRG | FG_F_EVENT_IDX);
	struct vhd_virtq vq;
	uint16_t a, u;

	(void)state;
	/* fresh: slot 0, wrap counters 1; the guest is told not to kick */
	assert_int_equal(fg->device_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	assert_int_equal(fg->vq.hdr_len, 12);
	assert_true(fg->vq.flags & VHD_VQ_F_EVENT_IDX);
	vhd_virtq_positions(&fg->vq, &a, &u);
	assert_int_equal(a, 0x8000);
	assert_int_equal(u, 0x8000);
	assert_int_equal(fg->vq.last_avail_idx, 0);
	assert_true(fg->vq.avail_wrap && fg->vq.used_wrap);
	/* both layouts are joined only to their own kind */
	assert_true(vhd_virtq_can_forward(&fg->vq, &fg->vq));

	/* a vring base past the ring refused, the queue left as it was */
	vq = fg->vq;
	vq.last_avail_idx = FG_PACKED_BASE(100, 1);
	vq.last_used_idx = FG_PACKED_BASE(0, 1);
	assert_int_equal(vhd_virtq_init(&vq, PK), -EINVAL);
	assert_int_equal(vq.last_avail_idx, FG_PACKED_BASE(100, 1));
	vq.last_avail_idx = FG_PACKED_BASE(99, 0);
	vq.last_used_idx = FG_PACKED_BASE(0x7fff, 0);
	assert_int_equal(vhd_virtq_init(&vq, PK), -EINVAL);
	/* decoded: slot and wrap counter apart */
	vq.last_used_idx = FG_PACKED_BASE(99, 0);
	assert_int_equal(vhd_virtq_init(&vq, PK), 0);
	assert_int_equal(vq.last_avail_idx, 99);
	assert_false(vq.avail_wrap);
	vhd_virtq_positions(&vq, &a, &u);
	assert_int_equal(a, 99);
	assert_int_equal(u, 99);
	/* missing parts and sizes */
	vq = fg->vq;
	vq.last_avail_idx = vq.last_used_idx = 0;
	vq.driver_event = NULL;
	assert_int_equal(vhd_virtq_init(&vq, PK), -EINVAL);
	vq = fg->vq;
	vq.last_avail_idx = vq.last_used_idx = 0;
	vq.size = 0;
	assert_int_equal(vhd_virtq_init(&vq, PK), -EINVAL);
	vq.size = 32768;
	assert_int_equal(vhd_virtq_init(&vq, PK), 0);
	vq.last_avail_idx = vq.last_used_idx = 0;
	vq.size = 32769;
	assert_int_equal(vhd_virtq_init(&vq, PK), -EINVAL);
	/* a split queue is not joined to a packed one */
	{
		struct fake_guest *split = fg_new(8, FG_F_DEFAULT);

		assert_false(vhd_virtq_can_forward(&fg->vq, &split->vq));
		fg_free(split);
	}
	fg_free(fg);
}

/* -------------------------------------------------------------------- rx */

/*
 * Guest transmit: one descriptor, a chain with the header split over two
 * descriptors, an indirect table; in order, each buffer used with length 0.
 */
static void
test_rx_basic(void **state)
{
	static const uint32_t split[] = {5, 7, 30, 30};
	struct fake_guest *fg = fg_new(16, PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t f1[64], f2[60], f3[1518];
	uint16_t h1, h2, h3;

	(void)state;
	fg_frame(f1, sizeof(f1), 1);
	fg_frame(f2, sizeof(f2), 2);
	fg_frame(f3, sizeof(f3), 3);
	h1 = fg_post_tx_pkt(fg, f1, sizeof(f1), NULL, 0, FG_R0, false);
	h2 = fg_post_tx_pkt(fg, f2, sizeof(f2), split, 4, FG_R1, false);
	h3 = fg_post_tx_pkt(fg, f3, sizeof(f3), NULL, 0, FG_R3, true);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 3);
	expect_mbuf(pkts[0], f1, sizeof(f1));
	expect_mbuf(pkts[1], f2, sizeof(f2));
	expect_mbuf(pkts[2], f3, sizeof(f3));
	assert_int_equal(fg_used_pending(fg), 3);
	fg_expect_used(fg, h1, 0);
	fg_expect_used(fg, h2, 0);
	fg_expect_used(fg, h3, 0);
	/* six slots taken: 1 + 4 + 1 */
	assert_int_equal(fg->vq.last_avail_idx, 6);
	assert_int_equal(fg->vq.last_used_idx, 6);
	expect_positions_match(fg);
	assert_int_equal(fg->vq.stats.packets, 3);
	assert_int_equal(fg->vq.stats.bytes, sizeof(f1) + sizeof(f2) + sizeof(f3));
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	/* nothing more: no mbuf taken */
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 0);
	rte_pktmbuf_free_bulk(pkts, 3);
	fg_assert_no_leak();
	fg_free(fg);
}

/* A burst is cut at count; the rest stays for the next one. */
static void
test_rx_count(void **state)
{
	struct fake_guest *fg = fg_new(64, PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint16_t ids[40];
	uint8_t f[100];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		fg_frame(f, sizeof(f), i);
		ids[i] = fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R1, false);
	}
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 0), 0);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 5), 5);
	rte_pktmbuf_free_bulk(pkts, 5);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 32);
	rte_pktmbuf_free_bulk(pkts, 32);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 3);
	for (i = 0; i < 3; i++) {
		fg_frame(f, sizeof(f), 37 + i);
		expect_mbuf(pkts[i], f, sizeof(f));
	}
	rte_pktmbuf_free_bulk(pkts, 3);
	for (i = 0; i < 40; i++)
		fg_expect_used(fg, ids[i], 0);
	assert_int_equal(fg->vq.stats.packets, 40);
	fg_assert_no_leak();
	fg_free(fg);
}

/* 9000 B and 64 KiB frames into mbuf chains: one descriptor, a chain, an indirect table. */
static void
test_rx_jumbo(void **state)
{
	static const uint32_t sizes[] = {ROOM + 1, 9000, VHD_MAX_FRAME_LEN};
	size_t s;
	int how;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		for (how = 0; how < 3; how++) {
			struct fake_guest *fg = fg_new(5, PK);
			uint32_t len = sizes[s];
			uint8_t *frame = frame_new(len, len + how);
			uint32_t lens[3] = {5, len / 2, 12 - 5 + len - len / 2};
			struct rte_mbuf *pkts[VHD_BURST_MAX];
			uint16_t id;

			if (how == 0)
				id = fg_post_tx_pkt(fg, frame, len, NULL, 0, FG_R1, false);
			else
				id = fg_post_tx_pkt(fg, frame, len, lens, 3, FG_R1, how == 2);
			assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
			expect_mbuf(pkts[0], frame, len);
			fg_expect_used(fg, id, 0);
			assert_int_equal(fg->vq.stats.bytes, len);
			assert_int_equal(fg_errors_total(&fg->vq) + fg->vq.stats.too_big, 0);
			expect_positions_match(fg);
			rte_pktmbuf_free(pkts[0]);
			fg_assert_no_leak();
			free(frame);
			fg_free(fg);
		}
	}
}

/* -------------------------------------------------------------------- tx */

static void
test_tx_single(void **state)
{
	static const uint64_t features[] = {PK, PK & ~FG_F_V1};
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(features); i++) {
		struct fake_guest *fg = fg_new(8, features[i]);
		uint32_t hl = fg->vq.hdr_len, blen = 2048;
		struct rte_mbuf *m[3];
		uint8_t f[3][1518];
		uint16_t ids[3];
		uint64_t gpa[3];
		int k;

		for (k = 0; k < 3; k++) {
			fg_frame(f[k], sizeof(f[k]), k);
			m[k] = fg_mbuf(f[k], k == 2 ? 1518 : 60 + k, NULL, 0);
			ids[k] = fg_post_rx_buf(fg, k == 1 ? FG_R3 : FG_R0, blen, &gpa[k]);
		}
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 3), 3);
		for (k = 0; k < 3; k++) {
			uint32_t len = m[k]->pkt_len;

			fg_expect_used(fg, ids[k], hl + len);
			expect_received(fg, &gpa[k], &blen, 1, f[k], len, 1);
			assert_true(fg_untouched(fg, gpa[k] + hl + len, blen - hl - len));
		}
		assert_int_equal(fg->vq.stats.packets, 3);
		assert_int_equal(fg->vq.stats.bytes, 60 + 61 + 1518);
		assert_int_equal(fg->vq.stats.no_room, 0);
		/* no buffer left: no room, nothing consumed */
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 3), 0);
		assert_int_equal(fg->vq.stats.no_room, 3);
		assert_int_equal(fg_used_pending(fg), 0);
		expect_positions_match(fg);
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		rte_pktmbuf_free_bulk(m, 3);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

/*
 * Without MRG_RXBUF a packet takes one buffer: a buffer too small is
 * too_big and stays for the next packet; a chain of two writable
 * descriptors holds one packet; the MTU drops what is over it.
 */
static void
test_tx_no_mergeable(void **state)
{
	struct fake_guest *fg = fg_new(8, PK);
	struct fg_buf bufs[2], three[3];
	uint8_t f[3000];
	int i;
	struct rte_mbuf *big, *small;
	uint64_t gpa;
	uint16_t id;

	(void)state;
	fg_frame(f, sizeof(f), 7);
	big = mbuf_segs(f, 3000);
	small = fg_mbuf(f, 100, NULL, 0);
	id = fg_post_rx_buf(fg, FG_R0, 1600, &gpa);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &big, 1), 0);
	assert_int_equal(fg->vq.stats.too_big, 1);
	assert_int_equal(fg_used_pending(fg), 0);
	/* the buffer is still there for a packet that fits */
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &small, 1), 1);
	fg_expect_used(fg, id, 12 + 100);

	/* a two-descriptor chain of 1600 + 1600 takes the 3000 B frame */
	bufs[0].gpa = fg_alloc(fg, FG_R1, 1600);
	bufs[0].len = 1600;
	bufs[1].gpa = fg_alloc(fg, FG_R2, 1600);
	bufs[1].len = 1600;
	id = fg_packed_post_chain(fg, bufs, 2, VRING_DESC_F_WRITE);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &big, 1), 1);
	fg_expect_used(fg, id, 12 + 3000);
	{
		uint64_t gpas[2] = {bufs[0].gpa, bufs[1].gpa};
		uint32_t lens[2] = {1600, 1600};

		expect_received(fg, gpas, lens, 2, f, 3000, 1);
	}
	/* a chain of three whose first descriptor holds the packet: all three taken */
	for (i = 0; i < 3; i++) {
		three[i].gpa = fg_alloc(fg, FG_R0, 500);
		three[i].len = 500;
	}
	id = fg_packed_post_chain(fg, three, 3, VRING_DESC_F_WRITE);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &small, 1), 1);
	fg_expect_used(fg, id, 12 + 100);
	assert_true(fg_untouched(fg, three[1].gpa, 500));
	expect_positions_match(fg);
	/* an MTU of 1500 drops the 3000 B frame even with room, which stays */
	vhd_virtq_set_mtu(&fg->vq, 1500);
	id = fg_post_rx_buf(fg, FG_R0, 4000, NULL);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &big, 1), 0);
	assert_int_equal(fg->vq.stats.too_big, 2);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &small, 1), 1);
	fg_expect_used(fg, id, 12 + 100);
	expect_positions_match(fg);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	rte_pktmbuf_free(big);
	rte_pktmbuf_free(small);
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * MRG_RXBUF: a 9000 B and a 64 KiB frame over many 1518 B buffers, each
 * buffer its own used descriptor, num_buffers counting them; the ring wraps
 * on the way. Too few buffers: nothing consumed, no_room.
 */
static void
test_tx_mergeable(void **state)
{
	static const uint32_t sizes[] = {9000, VHD_MAX_FRAME_LEN};
	size_t s;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		struct fake_guest *fg = fg_new(67, PK_MRG);
		uint32_t len = sizes[s], need = (12 + len + 1517) / 1518;
		uint8_t *frame = frame_new(len, len);
		struct rte_mbuf *m = mbuf_segs(frame, len);
		uint64_t gpas[64];
		uint32_t lens[64];
		uint16_t ids[64];
		uint32_t i, k;

		/* lap 1 ends in the middle of each frame's buffers */
		for (k = 0; k < 2; k++) {
			for (i = 0; i < need; i++) {
				lens[i] = 1518;
				ids[i] = fg_post_rx_buf(fg, i % 2 ? FG_R1 : FG_R2, 1518, &gpas[i]);
			}
			assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
			for (i = 0; i < need; i++)
				fg_expect_used(fg, ids[i],
					       i + 1 < need ? 1518 : 12 + len - 1518 * (need - 1));
			expect_received(fg, gpas, lens, need, frame, len, need);
			expect_positions_match(fg);
		}
		assert_int_equal(fg->vq.stats.packets, 2);
		/* one buffer short: nothing taken, all still there afterwards */
		for (i = 0; i + 1 < need; i++)
			ids[i] = fg_post_rx_buf(fg, FG_R1, 1518, &gpas[i]);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 0);
		assert_int_equal(fg->vq.stats.no_room, 1);
		assert_int_equal(fg_used_pending(fg), 0);
		ids[need - 1] = fg_post_rx_buf(fg, FG_R1, 1518, &gpas[need - 1]);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		for (i = 0; i < need; i++)
			fg_expect_used(fg, ids[i],
				       i + 1 < need ? 1518 : 12 + len - 1518 * (need - 1));
		expect_received(fg, gpas, lens, need, frame, len, need);
		assert_int_equal(fg_errors_total(&fg->vq) + fg->vq.stats.too_big, 0);
		rte_pktmbuf_free(m);
		fg_assert_no_leak();
		free(frame);
		fg_free(fg);
	}
}

/* A 64 KiB frame into one big buffer (no MRG_RXBUF), and into an indirect table's buffers. */
static void
test_tx_jumbo_one_buffer(void **state)
{
	struct fake_guest *fg = fg_new(4, PK);
	uint32_t len = VHD_MAX_FRAME_LEN, blen = 12 + VHD_MAX_FRAME_LEN;
	uint8_t *frame = frame_new(len, 99);
	struct rte_mbuf *m = mbuf_segs(frame, len);
	struct fg_buf bufs[3];
	uint64_t gpa, gpas[3];
	uint32_t lens[3];
	uint16_t id;
	int i;

	(void)state;
	id = fg_post_rx_buf(fg, FG_R1, blen, &gpa);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	fg_expect_used(fg, id, blen);
	expect_received(fg, &gpa, &blen, 1, frame, len, 1);
	/* the same frame over an indirect table of three writable buffers */
	for (i = 0; i < 3; i++) {
		lens[i] = bufs[i].len = 30000;
		gpas[i] = bufs[i].gpa = fg_alloc(fg, i == 1 ? FG_R2 : FG_R0, 30000);
	}
	id = fg_packed_post_indirect(fg, bufs, 3, VRING_DESC_F_WRITE, FG_R3);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
	fg_expect_used(fg, id, blen);
	expect_received(fg, gpas, lens, 3, frame, len, 1);
	expect_positions_match(fg);
	assert_int_equal(fg_errors_total(&fg->vq) + fg->vq.stats.too_big, 0);
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
	free(frame);
	fg_free(fg);
}

/* ------------------------------------------------------------- indirect */

/*
 * Indirect tables both ways; without the feature negotiated a table is
 * refused (counted, used with length 0) and the queue goes on.
 */
static void
test_indirect(void **state)
{
	struct fake_guest *fg = fg_new(8, PK & ~FG_F_INDIRECT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t f[200];
	uint16_t bad, good;

	(void)state;
	fg_frame(f, sizeof(f), 3);
	bad = fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R0, true);
	good = fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
	expect_mbuf(pkts[0], f, sizeof(f));
	fg_expect_used(fg, bad, 0);
	fg_expect_used(fg, good, 0);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDIRECT], 1);
	assert_int_equal(fg_errors_total(&fg->vq), 1);
	rte_pktmbuf_free(pkts[0]);
	fg_free(fg);

	/* negotiated: a table of 4 (header alone in the first) */
	fg = fg_new(8, PK);
	{
		static const uint32_t lens[] = {12, 50, 50, 100};

		good = fg_post_tx_pkt(fg, f, sizeof(f), lens, 4, FG_R2, true);
	}
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
	expect_mbuf(pkts[0], f, sizeof(f));
	fg_expect_used(fg, good, 0);
	assert_int_equal(fg_errors_total(&fg->vq), 0);
	rte_pktmbuf_free(pkts[0]);
	fg_assert_no_leak();
	fg_free(fg);
}

/* -------------------------------------------------------------- offloads */

#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))
#define L3V4 ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define TCP_LEN ((uint32_t)sizeof(struct rte_tcp_hdr))
#define F(bit) (1ULL << (bit))
#define OFFLOADS                                                                           \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_CSUM) |    \
	 F(VIRTIO_NET_F_GUEST_TSO4))

/* A TCP over IPv4 frame with payload bytes, its pseudo-header sum in place. */
static uint32_t
tcp4_frame(uint8_t *f, uint32_t payload, uint32_t seed)
{
	struct rte_ether_hdr *eth = (void *)f;
	struct rte_ipv4_hdr *ip = (void *)(f + L2);
	struct rte_tcp_hdr *t = (void *)(f + L2 + L3V4);
	uint32_t len = L2 + L3V4 + TCP_LEN + payload;
	uint16_t phdr;

	memset(f, 0, L2 + L3V4 + TCP_LEN);
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[0] = 0x12;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(L3V4 + TCP_LEN + payload);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000001);
	ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	t->src_port = rte_cpu_to_be_16(1234);
	t->dst_port = rte_cpu_to_be_16(80);
	t->data_off = (TCP_LEN / 4) << 4;
	t->tcp_flags = RTE_TCP_ACK_FLAG;
	fg_frame(f + L2 + L3V4 + TCP_LEN, payload, seed);
	phdr = rte_ipv4_phdr_cksum(ip, 0);
	memcpy(&t->cksum, &phdr, sizeof(phdr));
	return len;
}

static struct virtio_net_hdr
tso4_hdr(uint16_t mss)
{
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};

	h.csum_start = L2 + L3V4;
	h.csum_offset = offsetof(struct rte_tcp_hdr, cksum);
	if (mss != 0) {
		h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h.gso_size = mss;
		h.hdr_len = L2 + L3V4 + TCP_LEN;
	}
	return h;
}

/*
 * A guest's checksum and TSO requests become mbuf offload fields (rx); a
 * TSO mbuf reaches a GUEST_TSO4 guest as one frame with its header (tx);
 * guest to guest, the header crosses as it is (forward).
 */
static void
test_offload_headers(void **state)
{
	struct fake_guest *fg = fg_new(16, PK | OFFLOADS);
	struct fake_guest *dst = fg_new(16, PK | OFFLOADS);
	uint8_t *f = calloc(1, 12000), *got = calloc(1, 12000 + HDR12);
	struct virtio_net_hdr_mrg_rxbuf *rh = (void *)got;
	struct virtio_net_hdr h = tso4_hdr(0), ht = tso4_hdr(1448);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint32_t len = tcp4_frame(f, 300, 1), tlen;
	uint64_t gpa;
	uint16_t id, b;

	(void)state;
	/* rx: checksum request, then TSO */
	fg_post_tx_pkt_hdr(fg, &h, f, len, NULL, 0, FG_R1, false);
	tlen = tcp4_frame(f + 2000, 9000, 2);
	fg_post_tx_pkt_hdr(fg, &ht, f + 2000, tlen, NULL, 0, FG_R1, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 2);
	assert_int_equal(pkts[0]->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK,
			 RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4);
	assert_int_equal(pkts[1]->ol_flags & RTE_MBUF_F_TX_TCP_SEG, RTE_MBUF_F_TX_TCP_SEG);
	assert_int_equal(pkts[1]->tso_segsz, 1448);
	assert_int_equal(pkts[1]->l4_len, TCP_LEN);

	/* tx: the TSO mbuf as it came, into a guest that takes TSO */
	id = fg_post_rx_buf(dst, FG_R2, 12000, &gpa);
	assert_int_equal(vhd_virtq_tx_burst(&dst->vq, &pkts[1], 1), 1);
	fg_expect_used(dst, id, HDR12 + tlen);
	fg_read(dst, gpa, got, HDR12 + tlen);
	assert_int_equal(rh->hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(rh->hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(rh->hdr.gso_size, 1448);
	assert_int_equal(rh->hdr.hdr_len, L2 + L3V4 + TCP_LEN);
	assert_int_equal(rh->hdr.csum_start, L2 + L3V4);
	assert_memory_equal(got + HDR12, f + 2000, tlen);
	rte_pktmbuf_free_bulk(pkts, 2);

	/* forward: checksum request (DATA_VALID dropped) and TSO cross as they are */
	h.flags |= VIRTIO_NET_HDR_F_DATA_VALID;
	fg_post_tx_pkt_hdr(fg, &h, f, len, NULL, 0, FG_R1, false);
	fg_post_tx_pkt_hdr(fg, &ht, f + 2000, tlen, NULL, 0, FG_R1, false);
	id = fg_post_rx_buf(dst, FG_R2, 1000, &gpa);
	b = fg_post_rx_buf(dst, FG_R2, 12000, NULL);
	assert_int_equal(vhd_virtq_forward_burst(&fg->vq, &dst->vq, 32), 2);
	fg_expect_used(dst, id, HDR12 + len);
	fg_read(dst, gpa, got, HDR12 + len);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	assert_memory_equal(&rh->hdr, &h, sizeof(h));
	assert_memory_equal(got + HDR12, f, len);
	fg_expect_used(dst, b, HDR12 + tlen);
	assert_int_equal(fg_errors_total(&fg->vq) + fg_errors_total(&dst->vq), 0);
	assert_int_equal(fg->vq.stats.packets, 4);
	fg_assert_no_leak();
	free(f);
	free(got);
	fg_free(fg);
	fg_free(dst);
}

/* --------------------------------------------------------------- forward */

/*
 * Guest to guest with one copy: single descriptor, header split over a
 * chain, indirect, mixed header sizes; source buffers come back with
 * length 0 after their copy; a full destination counts no_room.
 */
static void
test_forward(void **state)
{
	static const uint32_t split[] = {5, 7, 30, 30};
	int legacy;

	(void)state;
	for (legacy = 0; legacy <= 1; legacy++) {
		struct fake_guest *src = fg_new(8, PK);
		struct fake_guest *dst = fg_new(8, legacy ? PK & ~FG_F_V1 : PK_MRG);
		uint32_t dhl = dst->vq.hdr_len, blen = 2048;
		uint8_t f1[64], f2[60], f3[1518];
		uint16_t h[4], b[3];
		uint64_t g[3];

		fg_frame(f1, sizeof(f1), 1);
		fg_frame(f2, sizeof(f2), 2);
		fg_frame(f3, sizeof(f3), 3);
		h[0] = fg_post_tx_pkt(src, f1, sizeof(f1), NULL, 0, FG_R0, false);
		h[1] = fg_post_tx_pkt(src, f2, sizeof(f2), split, 4, FG_R1, false);
		h[2] = fg_post_tx_pkt(src, f3, sizeof(f3), NULL, 0, FG_R3, true);
		h[3] = fg_post_tx_pkt(src, f1, sizeof(f1), NULL, 0, FG_R0, false);
		b[0] = fg_post_rx_buf(dst, FG_R0, blen, &g[0]);
		b[1] = fg_post_rx_buf(dst, FG_R2, blen, &g[1]);
		b[2] = fg_post_rx_buf(dst, FG_R3, blen, &g[2]);

		assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 4);
		fg_expect_used(src, h[0], 0);
		fg_expect_used(src, h[1], 0);
		fg_expect_used(src, h[2], 0);
		fg_expect_used(src, h[3], 0);
		fg_expect_used(dst, b[0], dhl + sizeof(f1));
		fg_expect_used(dst, b[1], dhl + sizeof(f2));
		fg_expect_used(dst, b[2], dhl + sizeof(f3));
		assert_int_equal(fg_used_pending(dst), 0);
		expect_received(dst, &g[0], &blen, 1, f1, sizeof(f1), 1);
		expect_received(dst, &g[1], &blen, 1, f2, sizeof(f2), 1);
		expect_received(dst, &g[2], &blen, 1, f3, sizeof(f3), 1);
		assert_int_equal(src->vq.stats.packets, 4);
		assert_int_equal(dst->vq.stats.packets, 3);
		assert_int_equal(dst->vq.stats.no_room, 1);
		assert_int_equal(fg_errors_total(&src->vq) + fg_errors_total(&dst->vq), 0);
		expect_positions_match(src);
		expect_positions_match(dst);
		fg_assert_no_leak();
		fg_free(src);
		fg_free(dst);
	}
}

/* ------------------------------------------------------ laps and sizes */

/*
 * Many laps of small rings (sizes 1, 3, 7, 8, 13, 100): guest to mbuf with
 * chains of 1 to 3 descriptors that wrap at the ring's end, mbufs into the
 * guest over 1 to 3 mergeable buffers, each lap's wrap counters right, the
 * device's positions always where the driver is.
 */
static void
test_laps(void **state)
{
	static const uint16_t sizes[] = {1, 3, 7, 8, 13, 100};
	size_t s;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		uint16_t size = sizes[s];
		struct fake_guest *rx = fg_new(size, PK);
		struct fake_guest *tx = fg_new(size, PK_MRG);
		uint32_t iter;

		for (iter = 0; iter < 700; iter++) {
			uint32_t ndesc = 1 + iter % RTE_MIN(3u, size), len = 60 + iter % 200;
			uint32_t lens[3], i, nbuf, chunk;
			struct rte_mbuf *pkts[VHD_BURST_MAX], *m;
			uint64_t gpas[3];
			uint8_t f[300];
			uint16_t id, ids[3];

			/* rx: frame and header cut over ndesc descriptors */
			fg_frame(f, len, iter);
			for (i = 0; i < ndesc; i++)
				lens[i] = (12 + len) / ndesc;
			lens[ndesc - 1] += (12 + len) % ndesc;
			id = fg_post_tx_pkt(rx, f, len, lens, ndesc, FG_R1, false);
			assert_int_equal(vhd_virtq_rx_burst(&rx->vq, fg_pool, pkts, 32), 1);
			expect_mbuf(pkts[0], f, len);
			rte_pktmbuf_free(pkts[0]);
			fg_expect_used(rx, id, 0);
			expect_positions_match(rx);

			/* tx: over nbuf buffers of chunk bytes */
			nbuf = RTE_MIN(1 + iter % 3, (uint32_t)size);
			chunk = (12 + len + nbuf - 1) / nbuf;
			for (i = 0; i < nbuf; i++) {
				lens[i] = chunk;
				ids[i] = fg_post_rx_buf(tx, FG_R2, chunk, &gpas[i]);
			}
			m = fg_mbuf(f, len, NULL, 0);
			assert_int_equal(vhd_virtq_tx_burst(&tx->vq, &m, 1), 1);
			rte_pktmbuf_free(m);
			for (i = 0; i < nbuf; i++)
				fg_expect_used(tx, ids[i], i + 1 < nbuf ? chunk :
								 12 + len - chunk * (nbuf - 1));
			expect_received(tx, gpas, lens, nbuf, f, len, nbuf);
			expect_positions_match(tx);
			if (iter % 64 == 63) {
				/* the test memory is bump-allocated: start again */
				tx->brk[FG_R2] = FG_R2_GPA + 0x10000;
				rx->brk[FG_R1] = FG_R1_GPA;
			}
		}
		/* many laps went by, each flipping the counters */
		assert_true(rx->vq.stats.packets == 700 && tx->vq.stats.packets == 700);
		assert_int_equal(fg_errors_total(&rx->vq) + fg_errors_total(&tx->vq), 0);
		fg_assert_no_leak();
		fg_free(rx);
		fg_free(tx);
	}
}

/*
 * A chain that wraps: 4 descriptors from slot 6 of 8 (slots 6, 7, 0, 1, the
 * last two in the next lap), at the start of a 32768-slot ring's last slot,
 * and an rx burst mixing wrapping chains.
 */
static void
test_chain_wraps(void **state)
{
	static const struct {
		uint16_t size;
		uint16_t base;
	} cases[] = {
		/* the transmit chain wraps */
		{8, FG_PACKED_BASE(6, 1)},
		{8, FG_PACKED_BASE(7, 0)},
		{5, FG_PACKED_BASE(3, 0)},
		{32768, FG_PACKED_BASE(32767, 1)},
		{32768, FG_PACKED_BASE(32766, 0)},
		/* the receive buffer wraps */
		{8, FG_PACKED_BASE(3, 1)},
		{32768, FG_PACKED_BASE(32763, 0)},
	};
	size_t c;

	(void)state;
	for (c = 0; c < RTE_DIM(cases); c++) {
		struct fake_guest *fg = fg_new_at(cases[c].size, PK_MRG, cases[c].base);
		static const uint32_t lens[4] = {6, 6, 100, 300}; /* 12 + 400 */
		struct rte_mbuf *pkts[VHD_BURST_MAX], *m;
		struct fg_buf bufs[3];
		uint8_t f[400];
		uint16_t id, a, u;
		uint64_t gpas[3];
		uint32_t blens[3] = {30, 30, 2000};
		uint16_t flip;
		int i;

		fg_frame(f, 400, (uint32_t)c);
		id = fg_post_tx_pkt(fg, f, 400, lens, 4, FG_R0, false);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
		expect_mbuf(pkts[0], f, 400);
		rte_pktmbuf_free(pkts[0]);
		fg_expect_used(fg, id, 0);
		expect_positions_match(fg);
		vhd_virtq_positions(&fg->vq, &a, &u);
		/* four slots on: the counters flipped if that passed the end */
		flip = (cases[c].base & 0x7fff) + 4 >= cases[c].size ? 0x8000 : 0;
		assert_int_equal(a & 0x8000, (cases[c].base & 0x8000) ^ flip);

		/* tx into one three-descriptor receive buffer that wraps too */
		for (i = 0; i < 3; i++) {
			bufs[i].len = blens[i];
			gpas[i] = bufs[i].gpa = fg_alloc(fg, FG_R1, blens[i]);
		}
		id = fg_packed_post_chain(fg, bufs, 3, VRING_DESC_F_WRITE);
		m = fg_mbuf(f, 200, NULL, 0);
		assert_int_equal(vhd_virtq_tx_burst(&fg->vq, &m, 1), 1);
		fg_expect_used(fg, id, 212);
		expect_received(fg, gpas, blens, 3, f, 200, 1);
		expect_positions_match(fg);
		assert_int_equal(fg_errors_total(&fg->vq), 0);
		rte_pktmbuf_free(m);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

/*
 * The vring base across a detach and attach: positions give the slot and
 * the wrap counter (bit 15) back; a queue set up again from them (as
 * port_vhost.c does with librte_vhost's base) goes on where it stopped,
 * mid-lap and in the second lap.
 */
static void
test_positions_roundtrip(void **state)
{
	struct fake_guest *fg = fg_new(7, PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint16_t a, u, id;
	uint8_t f[100];
	int i, round;

	(void)state;
	for (round = 0; round < 6; round++) {
		/* 3 packets each round: rounds end at slots 3, 6, 2, 5, 1, 4 */
		for (i = 0; i < 3; i++) {
			fg_frame(f, sizeof(f), round * 3 + i);
			id = fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R0, false);
			assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 1), 1);
			expect_mbuf(pkts[0], f, sizeof(f));
			rte_pktmbuf_free(pkts[0]);
			fg_expect_used(fg, id, 0);
		}
		vhd_virtq_positions(&fg->vq, &a, &u);
		assert_int_equal(a & 0x7fff, (3 * (round + 1)) % 7);
		assert_int_equal(a >> 15, (3 * (round + 1) / 7) % 2 == 0);
		expect_positions_match(fg);
		/* detach, then attach from the vring base, as a reconnect does */
		memset(&fg->vq.stats, 0, sizeof(fg->vq.stats));
		fg->vq.desc_packed = NULL;
		fg->vq.desc_packed = fg->pdesc;
		fg->vq.last_avail_idx = a;
		fg->vq.last_used_idx = u;
		assert_int_equal(vhd_virtq_init(&fg->vq, PK), 0);
		expect_positions_match(fg);
	}
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * The position read from the descriptors, as a restarted vhostd does when
 * QEMU cannot give it one: a transmit ring whose buffers the device took
 * (one descriptor each, some more posted but not yet taken), and a receive
 * ring the driver keeps full, on odd sizes and over several laps.
 */
static void
test_ring_position(void **state)
{
	static const uint16_t sizes[] = {1, 5, 13, 256};
	struct rte_mbuf *pkts[VHD_BURST_MAX], *m;
	uint16_t a, u, base;
	uint8_t f[80];
	size_t s;
	int step;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++) {
		uint16_t size = sizes[s];
		struct fake_guest *rx = fg_new(size, PK);
		struct fake_guest *tx = fg_new(size, PK_MRG);
		uint16_t posted = 0;

		/* a fresh ring: its start */
		assert_true(vhd_virtq_packed_ring_position(rx->pdesc, size, &base));
		assert_int_equal(base, FG_PACKED_BASE(0, true));
		/* the receive ring full of buffers, as Linux keeps it */
		while (posted < size) {
			fg_post_rx_buf(tx, FG_R2, 128, NULL);
			posted++;
		}
		for (step = 0; step < 3 * size + 7; step++) {
			unsigned int n = 1 + step % 3, i, got;

			/* transmit ring: n taken, then one more posted but not taken */
			for (i = 0; i < n && i < size; i++) {
				fg_frame(f, sizeof(f), step);
				fg_post_tx_pkt(rx, f, sizeof(f), NULL, 0, FG_R1, false);
			}
			got = vhd_virtq_rx_burst(&rx->vq, fg_pool, pkts, VHD_BURST_MAX);
			assert_int_equal(got, RTE_MIN(n, (unsigned int)size));
			rte_pktmbuf_free_bulk(pkts, got);
			while (fg_used_pending(rx) > 0)
				fg_used_pop(rx);
			if (size > 1)
				fg_post_tx_pkt(rx, f, sizeof(f), NULL, 0, FG_R1, false);
			vhd_virtq_positions(&rx->vq, &a, &u);
			assert_true(vhd_virtq_packed_ring_position(rx->pdesc, size, &base));
			assert_int_equal(base, a);
			if (size > 1) {
				/* take the extra one too, so the next step starts level */
				assert_int_equal(vhd_virtq_rx_burst(&rx->vq, fg_pool, pkts, 1), 1);
				rte_pktmbuf_free(pkts[0]);
				fg_used_pop(rx);
			}

			/* receive ring: one frame in, its buffer posted again */
			m = fg_mbuf(f, sizeof(f), NULL, 0);
			assert_int_equal(vhd_virtq_tx_burst(&tx->vq, &m, 1), 1);
			rte_pktmbuf_free(m);
			fg_used_pop(tx);
			fg_post_rx_buf(tx, FG_R2, 128, NULL);
			vhd_virtq_positions(&tx->vq, &a, &u);
			assert_true(vhd_virtq_packed_ring_position(tx->pdesc, size, &base));
			assert_int_equal(base, a);
		}
		fg_free(rx);
		fg_free(tx);
	}
	fg_assert_no_leak();
}

/* A ring of two-descriptor buffers at rest shows no single position. */
static void
test_ring_position_chains(void **state)
{
	struct fake_guest *fg = fg_new(16, PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint32_t lens[2] = {12 + 30, 30};
	uint16_t base;
	uint8_t f[60];
	int i;

	(void)state;
	fg_frame(f, sizeof(f), 3);
	for (i = 0; i < 5; i++)
		fg_post_tx_pkt(fg, f, sizeof(f), lens, 2, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 5);
	rte_pktmbuf_free_bulk(pkts, 5);
	assert_false(vhd_virtq_packed_ring_position(fg->pdesc, 16, &base));
	while (fg_used_pending(fg) > 0)
		fg_used_pop(fg);
	fg_assert_no_leak();
	fg_free(fg);
}

/* --------------------------------------------------------- notifications */

/* Sends n small packets into fg (posting their buffers first). */
static void
send_n(struct fake_guest *fg, unsigned int n)
{
	struct rte_mbuf *m[VHD_BURST_MAX];
	uint8_t f[64];
	unsigned int i;

	fg_frame(f, sizeof(f), n);
	for (i = 0; i < n; i++) {
		fg_post_rx_buf(fg, FG_R0, 128, NULL);
		m[i] = fg_mbuf(f, sizeof(f), NULL, 0);
	}
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, n), n);
	rte_pktmbuf_free_bulk(m, n);
	for (i = 0; i < n; i++)
		fg_used_pop(fg);
}

/*
 * Event areas: ENABLE interrupts after each burst, DISABLE never, an empty
 * burst never; DESC without EVENT_IDX negotiated means enabled.
 */
static void
test_notify_flags(void **state)
{
	struct fake_guest *fg = fg_new(8, PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];

	(void)state;
	fg_use_eventfd(fg);
	fg_packed_set_event(fg, VRING_PACKED_EVENT_FLAG_ENABLE, 0, 0);
	send_n(fg, 3);
	assert_int_equal(fg_interrupts(fg), 1);
	send_n(fg, 1);
	assert_int_equal(fg_interrupts(fg), 1);
	/* nothing to do, nothing published: no interrupt */
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, pkts, 0), 0);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 0);
	assert_int_equal(fg_interrupts(fg), 0);
	fg_packed_set_event(fg, VRING_PACKED_EVENT_FLAG_DISABLE, 0, 0);
	send_n(fg, 5);
	assert_int_equal(fg_interrupts(fg), 0);
	fg_packed_set_event(fg, VRING_PACKED_EVENT_FLAG_DESC, 0, 0);
	send_n(fg, 2);
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.interrupts, 3);
	assert_int_equal(fg->vq.stats.interrupts_failed, 0);
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * EVENT_IDX, DESC mode: an interrupt exactly for the burst whose used
 * descriptors cover the event slot in the event's lap; none before, none
 * after; an event in a lap behind or ahead is not crossed. Ring of 10.
 */
static void
test_notify_event_idx(void **state)
{
	static const struct {
		uint16_t slot;
		bool wrap;
		unsigned int bursts[4]; /* used descriptors per burst, 0 ends */
		uint64_t want[4];       /* interrupts per burst */
	} cases[] = {
		/* from slot 0 of lap wrap 1 */
		{5, 1, {3, 3, 3, 0}, {0, 1, 0}},  /* slots 0-2, 3-5 (hit), 6-8 */
		{0, 1, {1, 1, 0}, {1, 0}},        /* the very next one */
		{2, 1, {3, 1, 0}, {1, 0}},        /* last of the first burst */
		{3, 1, {3, 1, 0}, {0, 1}},        /* first after it */
		{1, 0, {8, 4, 0}, {0, 1}},        /* next lap: slots 8, 9, 0, 1 */
		{9, 1, {8, 4, 0}, {0, 1}},        /* end of this lap, in a wrapping burst */
		{4, 0, {8, 4, 4, 0}, {0, 0, 1}},  /* next lap, not before */
		{7, 0, {8, 4, 0}, {0, 0}},        /* a lap ahead of the slots used */
	};
	size_t c;

	(void)state;
	for (c = 0; c < RTE_DIM(cases); c++) {
		struct fake_guest *fg = fg_new(10, PK | FG_F_EVENT_IDX);
		int b;

		fg_use_eventfd(fg);
		fg_packed_set_event(fg, VRING_PACKED_EVENT_FLAG_DESC, cases[c].slot, cases[c].wrap);
		for (b = 0; b < 4 && cases[c].bursts[b] != 0; b++) {
			send_n(fg, cases[c].bursts[b]);
			assert_int_equal(fg_interrupts(fg), cases[c].want[b]);
		}
		fg_free(fg);
	}
	/*
	 * A chain's used descriptor stands for all its slots: an event at
	 * its second slot is crossed (rx of a 3-descriptor chain).
	 */
	{
		struct fake_guest *fg = fg_new(10, PK | FG_F_EVENT_IDX);
		static const uint32_t lens[3] = {12, 30, 30};
		struct rte_mbuf *pkts[VHD_BURST_MAX];
		uint8_t f[60];

		fg_use_eventfd(fg);
		fg_packed_set_event(fg, VRING_PACKED_EVENT_FLAG_DESC, 1, 1);
		fg_frame(f, sizeof(f), 0);
		fg_post_tx_pkt(fg, f, sizeof(f), lens, 3, FG_R0, false);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
		assert_int_equal(fg_interrupts(fg), 1);
		rte_pktmbuf_free(pkts[0]);
		/* the driver re-arms at its used position: the next one interrupts */
		fg_used_pop(fg);
		fg_packed_set_event(fg, VRING_PACKED_EVENT_FLAG_DESC, fg->p_used, fg->p_used_wrap);
		fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R0, false);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
		assert_int_equal(fg_interrupts(fg), 1);
		rte_pktmbuf_free(pkts[0]);
		fg_assert_no_leak();
		fg_free(fg);
	}
}

/* -------------------------------------------------------------- counters */

/*
 * Refused buffers, each counted in its kind, returned used with length 0,
 * the queue going on behind them: a buffer outside guest memory, a zero
 * length, a writable transmit buffer, a nested indirect table, a chain
 * running past the region, a chain refused at its first of three
 * descriptors; then a chain longer than the ring.
 */
static void
test_counters(void **state)
{
	struct fake_guest *fg = fg_new(16, PK);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	struct fg_buf b[2], b3[3];
	uint8_t f[100];
	uint16_t ids[6], good;
	uint64_t nested;
	struct vring_packed_desc *t;
	int i;

	(void)state;
	fg_frame(f, sizeof(f), 1);
	b[0].gpa = FG_GAP_01;
	b[0].len = 112;
	ids[0] = fg_packed_post_chain(fg, b, 1, 0);
	b[0].gpa = fg_alloc(fg, FG_R0, 112);
	b[0].len = 0;
	ids[1] = fg_packed_post_chain(fg, b, 1, 0);
	b[0].len = 112;
	ids[2] = fg_packed_post_chain(fg, b, 1, VRING_DESC_F_WRITE);
	nested = fg_alloc(fg, FG_R0, 16);
	ids[3] = fg_packed_post_indirect(fg, b, 1, 0, FG_R0);
	t = fg_hva(fg, fg->pdesc[(fg->p_avail + 15) % 16].addr);
	t->flags = VRING_DESC_F_INDIRECT;
	t->addr = nested;
	b[1].gpa = FG_R3_END - 50;
	b[1].len = 62;
	ids[4] = fg_packed_post_chain(fg, b, 2, 0);
	/* the first of three refused: the other two are taken with it */
	b3[0].gpa = b3[1].gpa = b3[2].gpa = b[0].gpa;
	b3[0].len = 0;
	b3[1].len = 50;
	b3[2].len = 62;
	ids[5] = fg_packed_post_chain(fg, b3, 3, 0);
	good = fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R1, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
	expect_mbuf(pkts[0], f, sizeof(f));
	rte_pktmbuf_free(pkts[0]);
	for (i = 0; i < 6; i++)
		fg_expect_used(fg, ids[i], 0);
	fg_expect_used(fg, good, 0);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 2);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_LEN], 2);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_INDIRECT], 1);
	assert_int_equal(fg_errors_total(&fg->vq), 6);
	assert_int_equal(fg->vq.stats.packets, 1);
	expect_positions_match(fg);

	/*
	 * Every slot of the ring with NEXT: longer than the ring, refused as
	 * a whole (16 slots, the id of the last one), the counters flipped.
	 */
	{
		uint16_t a0, u0, a, u;

		vhd_virtq_positions(&fg->vq, &a0, &u0);
		for (i = 0; i < 16; i++) {
			uint16_t slot = (fg->p_avail + i) % 16;
			bool wrap = fg->p_avail_wrap ^ (fg->p_avail + i >= 16);

			fg->pdesc[slot].addr = b[0].gpa;
			fg->pdesc[slot].len = 112;
			fg->pdesc[slot].id = 9;
			if (i > 0)
				fg->pdesc[slot].flags =
					fg_packed_avail_bits(wrap) | VRING_DESC_F_NEXT;
		}
		fg->p_id_ndesc[9] = 16;
		fg->p_inflight += 16;
		fg->p_avail_wrap = !fg->p_avail_wrap;
		__atomic_store_n(&fg->pdesc[a0 & 0x7fff].flags,
				 fg_packed_avail_bits(a0 >> 15) | VRING_DESC_F_NEXT,
				 __ATOMIC_RELEASE);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 0);
		fg_expect_used(fg, 9, 0);
		assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_CHAIN], 1);
		vhd_virtq_positions(&fg->vq, &a, &u);
		assert_int_equal(a, a0 ^ 0x8000);
		assert_int_equal(u, u0 ^ 0x8000);
		expect_positions_match(fg);
		/* and the queue goes on */
		good = fg_post_tx_pkt(fg, f, sizeof(f), NULL, 0, FG_R1, false);
		assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, 32), 1);
		rte_pktmbuf_free(pkts[0]);
		fg_expect_used(fg, good, 0);
	}
	fg_assert_no_leak();
	fg_free(fg);
}

/*
 * tx into bad receive buffers: a read-only one and one outside memory are
 * counted and handed back empty, the packet dropped; the next packet goes
 * into the good buffer behind them. With MRG_RXBUF a bad second buffer
 * hands back the first too.
 */
static void
test_tx_bad_buffers(void **state)
{
	struct fake_guest *fg = fg_new(8, PK_MRG);
	uint8_t f[3000];
	struct rte_mbuf *m[3];
	struct fg_buf b;
	uint16_t ro, out, first, second, good;
	uint64_t gpa;

	(void)state;
	fg_frame(f, sizeof(f), 5);
	b.gpa = fg_alloc(fg, FG_R0, 2048);
	b.len = 2048;
	ro = fg_packed_post_chain(fg, &b, 1, 0);
	b.gpa = FG_GAP_23;
	out = fg_packed_post_chain(fg, &b, 1, VRING_DESC_F_WRITE);
	good = fg_post_rx_buf(fg, FG_R1, 2048, &gpa);
	m[0] = fg_mbuf(f, 100, NULL, 0);
	m[1] = fg_mbuf(f, 100, NULL, 0);
	m[2] = fg_mbuf(f, 100, NULL, 0);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 3), 1);
	fg_expect_used(fg, ro, 0);
	fg_expect_used(fg, out, 0);
	fg_expect_used(fg, good, 12 + 100);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
	rte_pktmbuf_free_bulk(m, 3);

	/* mergeable: the first buffer good, the second outside memory */
	first = fg_post_rx_buf(fg, FG_R1, 1518, NULL);
	second = fg_packed_post_chain(fg, &b, 1, VRING_DESC_F_WRITE);
	m[0] = mbuf_segs(f, 3000);
	assert_int_equal(vhd_virtq_tx_burst(&fg->vq, m, 1), 0);
	fg_expect_used(fg, first, 0);
	fg_expect_used(fg, second, 0);
	assert_int_equal(fg->vq.stats.errors[VHD_DESC_ERR_ADDR], 2);
	expect_positions_match(fg);
	rte_pktmbuf_free(m[0]);
	fg_assert_no_leak();
	fg_free(fg);
}

/* ------------------------------------------------------------- garbage */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Somewhere a hostile guest might point: inside, across ends, outside. */
static uint64_t
random_gpa(void)
{
	switch (rnd() % 8) {
	case 0:
		return FG_GAP_01 + rnd() % 64;
	case 1:
		return FG_R3_END - rnd() % 4096;
	case 2:
		return FG_R1_GPA + FG_R1_SIZE - rnd() % 2048;
	case 3:
		return rnd();
	case 4:
		return FG_R0_GPA + rnd() % FG_R0_SIZE; /* the ring itself, perhaps */
	default:
		return FG_R2_GPA + 0x10000 + rnd() % 0x80000;
	}
}

/* A random descriptor, made available in the lap of wrap most of the time. */
static void
random_desc(struct vring_packed_desc *d, bool wrap, const uint64_t *tables)
{
	uint16_t flags = 0;

	d->addr = random_gpa();
	d->len = rnd() % 4 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 3000);
	d->id = (uint16_t)rnd();
	if (rnd() % 3 == 0)
		flags |= VRING_DESC_F_NEXT;
	if (rnd() % 2 == 0)
		flags |= VRING_DESC_F_WRITE;
	if (rnd() % 8 == 0) {
		flags |= VRING_DESC_F_INDIRECT;
		if (rnd() % 2 == 0) {
			d->addr = tables[rnd() % 4];
			d->len = 16u * (uint32_t)(rnd() % 10);
		}
	}
	flags |= rnd() % 5 != 0 ? fg_packed_avail_bits(wrap) : (uint16_t)(rnd() & 0x8080);
	d->flags = flags;
}

static void
randomize_ring(struct fake_guest *fg, const uint64_t *tables)
{
	uint16_t i;

	for (i = 0; i < fg->qsize; i++) {
		/* the slots ahead of the device are in its lap, those behind in the next */
		bool wrap = (i >= fg->vq.last_avail_idx) == fg->vq.avail_wrap;

		random_desc(&fg->pdesc[i], wrap, tables);
	}
	fg->driver_event->flags = rnd() % 4;
	fg->driver_event->off_wrap = (uint16_t)rnd();
}

/*
 * Rings full of random descriptors (chains, indirect tables, addresses in
 * gaps and across region ends, lengths 0 to 4 GiB, AVAIL/USED bits mostly
 * right), bursts of every kind over them: nothing outside guest memory is
 * touched (the fake guest's guard pages), positions stay in the ring, an
 * available buffer is always taken by rx (the queue never stalls), and no
 * mbuf is lost.
 */
static void
test_garbage(void **state)
{
	static const uint16_t sizes[] = {1, 2, 5, 16, 100};
	static const uint64_t features[] = {
		PK, PK_MRG | FG_F_EVENT_IDX | OFFLOADS, PK & ~(FG_F_V1 | FG_F_INDIRECT),
	};
	size_t s, f;

	(void)state;
	for (s = 0; s < RTE_DIM(sizes); s++)
		for (f = 0; f < RTE_DIM(features); f++) {
			struct fake_guest *src = fg_new(sizes[s], features[f]);
			struct fake_guest *dst =
				fg_new(sizes[s], features[RTE_DIM(features) - 1 - f]);
			uint8_t *frame = frame_new(9000, 1);
			uint64_t tables[4];
			int round, i, t;

			fg_use_eventfd(src);
			fg_use_eventfd(dst);
			for (t = 0; t < 4; t++) {
				struct vring_packed_desc *d;

				tables[t] = fg_alloc(src, FG_R2, 16 * 10);
				fg_alloc(dst, FG_R2, 16 * 10);
				for (i = 0; i < 10; i++) {
					d = fg_hva(src, tables[t] + 16u * i);
					random_desc(d, 1, tables);
					d = fg_hva(dst, tables[t] + 16u * i);
					random_desc(d, 1, tables);
				}
			}
			for (round = 0; round < 200; round++) {
				struct rte_mbuf *pkts[VHD_BURST_MAX];
				uint16_t n, before = src->vq.last_avail_idx;
				bool was_wrap = src->vq.avail_wrap, avail;

				randomize_ring(src, tables);
				randomize_ring(dst, tables);
				avail = (src->pdesc[before].flags &
					 (FG_PACKED_F_AVAIL | FG_PACKED_F_USED)) ==
					fg_packed_avail_bits(was_wrap);
				n = vhd_virtq_rx_burst(&src->vq, fg_pool, pkts, 32);
				rte_pktmbuf_free_bulk(pkts, n);
				if (avail)
					assert_true(src->vq.last_avail_idx != before ||
						    src->vq.avail_wrap != was_wrap);
				for (i = 0; i < 8; i++)
					pkts[i] = i % 3 ?
						fg_mbuf(frame, 60 + rnd() % 1400, NULL, 0) :
						mbuf_segs(frame, 60 + rnd() % 8900);
				vhd_virtq_tx_burst(&dst->vq, pkts, 8);
				rte_pktmbuf_free_bulk(pkts, 8);
				randomize_ring(src, tables);
				vhd_virtq_forward_burst(&src->vq, &dst->vq, 32);
				assert_true(src->vq.last_avail_idx < sizes[s]);
				assert_true(src->vq.last_used_idx < sizes[s]);
				assert_true(dst->vq.last_avail_idx < sizes[s]);
				assert_true(dst->vq.last_used_idx < sizes[s]);
				assert_int_equal(src->vq.shadow_n + dst->vq.shadow_n, 0);
			}
			assert_true(fg_errors_total(&src->vq) > 0);
			fg_interrupts(src);
			fg_interrupts(dst);
			fg_assert_no_leak();
			free(frame);
			fg_free(src);
			fg_free(dst);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rings_check),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_rx_basic),
		cmocka_unit_test(test_rx_count),
		cmocka_unit_test(test_rx_jumbo),
		cmocka_unit_test(test_tx_single),
		cmocka_unit_test(test_tx_no_mergeable),
		cmocka_unit_test(test_tx_mergeable),
		cmocka_unit_test(test_tx_jumbo_one_buffer),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_offload_headers),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_laps),
		cmocka_unit_test(test_chain_wraps),
		cmocka_unit_test(test_positions_roundtrip),
		cmocka_unit_test(test_ring_position),
		cmocka_unit_test(test_ring_position_chains),
		cmocka_unit_test(test_notify_flags),
		cmocka_unit_test(test_notify_event_idx),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_tx_bad_buffers),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
