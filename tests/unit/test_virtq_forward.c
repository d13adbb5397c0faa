/* SPDX-License-Identifier: BSD-3-Clause */
/* vhd_virtq_forward_burst: guest-to-guest single copy, no mbuf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fake_guest.h"

#define MRG_V1 (FG_F_DEFAULT | FG_F_MRG)

/* Reads the packet the destination guest got in one buffer and compares. */
static void
expect_delivered(struct fake_guest *dst, uint64_t gpa, const uint8_t *frame, uint32_t len,
		 uint16_t num_buffers)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint8_t got[2048];

	fg_read(dst, gpa, &hdr, sizeof(hdr));
	assert_int_equal(hdr.hdr.flags, 0);
	assert_int_equal(hdr.hdr.gso_type, 0);
	assert_int_equal(hdr.num_buffers, num_buffers);
	fg_read(dst, gpa + dst->vq.hdr_len, got, len);
	assert_memory_equal(got, frame, len);
}

static void
test_forward_basic(void **state)
{
	struct fake_guest *src = fg_new(256, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(256, FG_F_DEFAULT);
	static const uint32_t split[] = {5, 7, 30, 30}; /* header over two descriptors */
	uint8_t f1[64], f2[60], f3[1518];
	uint16_t h1, h2, h3, b1, b2, b3;
	uint64_t g1, g2, g3;

	(void)state;
	fg_frame(f1, sizeof(f1), 1);
	fg_frame(f2, sizeof(f2), 2);
	fg_frame(f3, sizeof(f3), 3);
	h1 = fg_post_tx_pkt(src, f1, sizeof(f1), NULL, 0, FG_R0, false);
	h2 = fg_post_tx_pkt(src, f2, sizeof(f2), split, 4, FG_R1, false);
	h3 = fg_post_tx_pkt(src, f3, sizeof(f3), NULL, 0, FG_R3, true);
	b1 = fg_post_rx_buf(dst, FG_R0, 2048, &g1);
	b2 = fg_post_rx_buf(dst, FG_R2, 2048, &g2);
	b3 = fg_post_rx_buf(dst, FG_R3, 2048, &g3);

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 3);
	/* source chains all come back, read-only: length 0 */
	fg_expect_used(src, h1, 0);
	fg_expect_used(src, h2, 0);
	fg_expect_used(src, h3, 0);
	fg_expect_used(dst, b1, 12 + sizeof(f1));
	fg_expect_used(dst, b2, 12 + sizeof(f2));
	fg_expect_used(dst, b3, 12 + sizeof(f3));
	expect_delivered(dst, g1, f1, sizeof(f1), 1);
	expect_delivered(dst, g2, f2, sizeof(f2), 1);
	expect_delivered(dst, g3, f3, sizeof(f3), 1);
	assert_int_equal(src->vq.stats.packets, 3);
	assert_int_equal(src->vq.stats.bytes, sizeof(f1) + sizeof(f2) + sizeof(f3));
	assert_int_equal(dst->vq.stats.packets, 3);
	assert_int_equal(dst->vq.stats.bytes, sizeof(f1) + sizeof(f2) + sizeof(f3));
	assert_int_equal(fg_errors_total(&src->vq) + fg_errors_total(&dst->vq), 0);
	fg_assert_no_leak();
	fg_free(src);
	fg_free(dst);
}

/*
 * Legacy guests without MRG_RXBUF use a 10-byte header: forwarding between
 * them and modern guests takes the generic variant, not the one specialised
 * for 12 bytes, and must strip and write each side's own header size.
 */
static void
test_forward_mixed_header_sizes(void **state)
{
	static const uint64_t features[][2] = {{0, FG_F_DEFAULT}, {FG_F_DEFAULT, 0}, {0, 0}};
	unsigned int k;

	(void)state;
	for (k = 0; k < sizeof(features) / sizeof(features[0]); k++) {
		struct fake_guest *src = fg_new(256, features[k][0]);
		struct fake_guest *dst = fg_new(256, features[k][1]);
		uint16_t dst_hdr = dst->vq.hdr_len;
		uint8_t f[1000], got[1000], hdr[12];
		uint16_t h, b;
		uint64_t g;

		fg_frame(f, sizeof(f), (uint8_t)k);
		h = fg_post_tx_pkt(src, f, sizeof(f), NULL, 0, FG_R0, false);
		b = fg_post_rx_buf(dst, FG_R1, 2048, &g);
		assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 1);
		fg_expect_used(src, h, 0);
		fg_expect_used(dst, b, dst_hdr + sizeof(f));
		fg_read(dst, g, hdr, dst_hdr);
		/* a 12-byte header says one buffer; the legacy 10 bytes are all zero */
		assert_int_equal(hdr[0] | hdr[1] | hdr[2] | hdr[3] | hdr[4], 0);
		if (dst_hdr == 12)
			assert_int_equal(hdr[10] | (hdr[11] << 8), 1);
		fg_read(dst, g + dst_hdr, got, sizeof(f));
		assert_memory_equal(got, f, sizeof(f));
		assert_int_equal(fg_errors_total(&src->vq) + fg_errors_total(&dst->vq), 0);
		fg_assert_no_leak();
		fg_free(src);
		fg_free(dst);
	}
}

static void
test_forward_mergeable(void **state)
{
	struct fake_guest *src = fg_new(256, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(256, MRG_V1);
	uint8_t frame[1518], got[1518];
	uint64_t gpa[3];
	uint16_t bufs[3];
	int i;

	(void)state;
	fg_frame(frame, sizeof(frame), 7);
	fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	for (i = 0; i < 3; i++)
		bufs[i] = fg_post_rx_buf(dst, FG_R1, 512, &gpa[i]);

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 1);
	fg_expect_used(dst, bufs[0], 512);
	fg_expect_used(dst, bufs[1], 512);
	fg_expect_used(dst, bufs[2], 12 + 1518 - 1024);
	expect_delivered(dst, gpa[0], frame, 500, 3);
	fg_read(dst, gpa[1], got, 512);
	assert_memory_equal(got, frame + 500, 512);
	fg_read(dst, gpa[2], got, 1518 - 1012);
	assert_memory_equal(got, frame + 1012, 1518 - 1012);
	fg_assert_no_leak();
	fg_free(src);
	fg_free(dst);
}

/* No receive buffer: the source is still drained, the drop counted at the destination. */
static void
test_forward_no_room(void **state)
{
	struct fake_guest *src = fg_new(256, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(256, FG_F_DEFAULT);
	uint8_t frame[64];
	uint16_t h1, h2, b1;
	uint64_t g1;

	(void)state;
	fg_frame(frame, sizeof(frame), 9);
	h1 = fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	h2 = fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	b1 = fg_post_rx_buf(dst, FG_R0, 2048, &g1);

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 2);
	fg_expect_used(src, h1, 0);
	fg_expect_used(src, h2, 0);
	fg_expect_used(dst, b1, 12 + sizeof(frame));
	assert_int_equal(fg_used_pending(dst), 0);
	assert_int_equal(dst->vq.stats.packets, 1);
	assert_int_equal(dst->vq.stats.no_room, 1);
	assert_int_equal(src->vq.last_avail_idx, 2);
	fg_free(src);
	fg_free(dst);
}

/* A bad source chain is dropped and counted; the next packet still goes through. */
static void
test_forward_bad_source(void **state)
{
	struct fake_guest *src = fg_new(256, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(256, FG_F_DEFAULT);
	struct fg_buf gap = {.gpa = FG_GAP_01, .len = 100};
	uint8_t frame[64];
	uint16_t bad, good, b1;
	uint64_t g1;

	(void)state;
	fg_frame(frame, sizeof(frame), 4);
	bad = fg_chain(src, &gap, 1, 0);
	fg_post(src, bad);
	good = fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	b1 = fg_post_rx_buf(dst, FG_R0, 2048, &g1);

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 1);
	fg_expect_used(src, bad, 0);
	fg_expect_used(src, good, 0);
	fg_expect_used(dst, b1, 12 + sizeof(frame));
	expect_delivered(dst, g1, frame, sizeof(frame), 1);
	assert_int_equal(src->vq.stats.errors[VHD_DESC_ERR_ADDR], 1);
	assert_int_equal(fg_errors_total(&src->vq), 1);
	fg_free(src);
	fg_free(dst);
}

/* A bad destination chain drops one packet; the next one lands in the next buffer. */
static void
test_forward_bad_destination(void **state)
{
	struct fake_guest *src = fg_new(256, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(256, FG_F_DEFAULT);
	uint8_t frame[64];
	struct fg_buf ro;
	uint16_t bad, good;
	uint64_t g1;

	(void)state;
	fg_frame(frame, sizeof(frame), 5);
	fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	ro.gpa = fg_alloc(dst, FG_R0, 2048);
	ro.len = 2048;
	bad = fg_chain(dst, &ro, 1, 0); /* read-only: wrong direction for a receive buffer */
	fg_post(dst, bad);
	good = fg_post_rx_buf(dst, FG_R0, 2048, &g1);

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 2);
	fg_expect_used(dst, bad, 0);
	fg_expect_used(dst, good, 12 + sizeof(frame));
	assert_true(fg_untouched(dst, ro.gpa, ro.len));
	assert_int_equal(dst->vq.stats.errors[VHD_DESC_ERR_DIRECTION], 1);
	assert_int_equal(dst->vq.stats.packets, 1);
	fg_free(src);
	fg_free(dst);
}

/* avail->idx jumping on the destination: nothing written there, source drained. */
static void
test_forward_destination_avail_jump(void **state)
{
	struct fake_guest *src = fg_new(16, FG_F_DEFAULT);
	struct fake_guest *dst = fg_new(16, FG_F_DEFAULT);
	uint8_t frame[64];

	(void)state;
	fg_frame(frame, sizeof(frame), 6);
	fg_post_tx_pkt(src, frame, sizeof(frame), NULL, 0, FG_R0, false);
	dst->avail->idx = 100; /* more than the ring holds */

	assert_int_equal(vhd_virtq_forward_burst(&src->vq, &dst->vq, 32), 1);
	assert_int_equal(dst->vq.last_avail_idx, 0);
	assert_int_equal(dst->used->idx, 0);
	assert_int_equal(dst->vq.stats.errors[VHD_DESC_ERR_AVAIL_IDX], 1);
	assert_int_equal(dst->vq.stats.no_room, 1);
	assert_int_equal(src->used->idx, 1);
	fg_free(src);
	fg_free(dst);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_basic),
		cmocka_unit_test(test_forward_mixed_header_sizes),
		cmocka_unit_test(test_forward_mergeable),
		cmocka_unit_test(test_forward_no_room),
		cmocka_unit_test(test_forward_bad_source),
		cmocka_unit_test(test_forward_bad_destination),
		cmocka_unit_test(test_forward_destination_avail_jump),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
