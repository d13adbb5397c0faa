/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIRTIO_RING_F_EVENT_IDX on the split ring: vhostd interrupts the guest only
 * when the used entries it publishes pass the guest's used_event, and keeps
 * avail_event where the guest never kicks (we poll). A guest that misses the
 * interrupt it asked for stalls, so each case checks the exact count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_guest.h"

#define FG_F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)

/* where the guest asks to be interrupted: avail->ring[size] */
static void
set_used_event(struct fake_guest *fg, uint16_t idx)
{
	fg->avail->ring[fg->qsize] = idx;
}

/* what the device asked the guest to kick at: used->ring[size] */
static uint16_t
avail_event(const struct fake_guest *fg)
{
	uint16_t v;

	memcpy(&v, &fg->used->ring[fg->qsize], sizeof(v));
	return v;
}

/* The guest's side of the kick decision (virtio 1.0 2.6.7.2, Linux vring_need_event). */
static bool
guest_would_kick(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Sends n 64-byte frames into the guest's posted receive buffers. */
static uint16_t
send_frames(struct fake_guest *fg, unsigned int n)
{
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[64];
	unsigned int i;
	uint16_t sent;

	assert_true(n <= VHD_BURST_MAX);
	fg_frame(frame, sizeof(frame), n);
	for (i = 0; i < n; i++) {
		pkts[i] = fg_mbuf(frame, sizeof(frame), NULL, 0);
		fg_post_rx_buf(fg, FG_R0, 2048, NULL);
	}
	sent = vhd_virtq_tx_burst(&fg->vq, pkts, n);
	rte_pktmbuf_free_bulk(pkts, n);
	return sent;
}

static void
drain_used(struct fake_guest *fg)
{
	while (fg_used_pending(fg) > 0)
		fg_used_pop(fg);
}

/* start: the ring position both sides begin at (across the 16-bit wrap, too) */
static void
interrupts_follow_used_event(uint16_t start)
{
	struct fake_guest *fg = fg_new_at(256, FG_F_DEFAULT | FG_F_EVENT_IDX, start);

	fg_use_eventfd(fg);
	/* the guest wants to hear once entry start+2 is used */
	set_used_event(fg, (uint16_t)(start + 2));
	assert_int_equal(send_frames(fg, 2), 2); /* entries start, start+1 */
	assert_int_equal(fg_interrupts(fg), 0);
	assert_int_equal(send_frames(fg, 1), 1); /* entry start+2: asked for */
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(send_frames(fg, 4), 4); /* event now behind: none */
	assert_int_equal(fg_interrupts(fg), 0);
	/* a burst that jumps over the event still interrupts once */
	set_used_event(fg, (uint16_t)(start + 9));
	assert_int_equal(send_frames(fg, 8), 8); /* entries start+7 .. start+14 */
	assert_int_equal(fg_interrupts(fg), 1);
	assert_int_equal(fg->vq.stats.interrupts, 2);
	drain_used(fg);
	fg_assert_no_leak();
	fg_free(fg);
}

static void
test_interrupts_follow_used_event(void **state)
{
	(void)state;
	interrupts_follow_used_event(0);
	interrupts_follow_used_event(65533);
}

/* Without EVENT_IDX the flag decides, and used_event is not looked at. */
static void
test_flags_without_event_idx(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);

	(void)state;
	fg_use_eventfd(fg);
	set_used_event(fg, 100);
	assert_int_equal(send_frames(fg, 1), 1);
	assert_int_equal(fg_interrupts(fg), 1);
	fg->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(send_frames(fg, 3), 3);
	assert_int_equal(fg_interrupts(fg), 0);
	drain_used(fg);
	fg_assert_no_leak();
	fg_free(fg);
}

/* The guest never has a reason to kick: avail_event stays behind its position. */
static void
test_avail_event_stays_behind(void **state)
{
	struct fake_guest *fg = fg_new_at(256, FG_F_DEFAULT | FG_F_EVENT_IDX, 65530);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[80];
	unsigned int round, i;

	(void)state;
	assert_int_equal(avail_event(fg), (uint16_t)(65530 - 1));
	fg_frame(frame, sizeof(frame), 5);
	for (round = 0; round < 40; round++) {
		uint16_t old = fg->avail_idx, n;

		/* up to the whole ring in one go: still no kick */
		for (i = 0; i < (round % 2 ? 7u : 1u); i++)
			fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
		assert_false(guest_would_kick(avail_event(fg), fg->avail_idx, old));
		n = vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX);
		assert_int_equal(n, round % 2 ? 7 : 1);
		rte_pktmbuf_free_bulk(pkts, n);
		assert_int_equal(avail_event(fg), (uint16_t)(fg->vq.last_avail_idx - 1));
		drain_used(fg);
	}
	/* the used flags still say so for guests without EVENT_IDX */
	assert_int_equal(fg->used->flags, VRING_USED_F_NO_NOTIFY);
	fg_assert_no_leak();
	fg_free(fg);
}

/* The guest's transmit queue: returned buffers interrupt by used_event too. */
static void
test_rx_returns_follow_used_event(void **state)
{
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT | FG_F_EVENT_IDX);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint8_t frame[64];
	unsigned int i;

	(void)state;
	fg_use_eventfd(fg);
	fg_frame(frame, sizeof(frame), 9);
	set_used_event(fg, 3);
	for (i = 0; i < 3; i++)
		fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 3);
	rte_pktmbuf_free_bulk(pkts, 3);
	assert_int_equal(fg_interrupts(fg), 0);
	fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 0, FG_R0, false);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	rte_pktmbuf_free_bulk(pkts, 1);
	assert_int_equal(fg_interrupts(fg), 1);
	drain_used(fg);
	fg_assert_no_leak();
	fg_free(fg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interrupts_follow_used_event),
		cmocka_unit_test(test_flags_without_event_idx),
		cmocka_unit_test(test_avail_event_stays_behind),
		cmocka_unit_test(test_rx_returns_follow_used_event),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
