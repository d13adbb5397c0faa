/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding decisions: pair mode and the MAC-learning switch (src/fwd.c, src/mac_table.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <rte_ether.h>

#include "fake_guest.h"
#include "vhostd/fwd.h"
#include "vhostd/mac_table.h"

static const struct rte_ether_addr mac_a = {{0x52, 0x54, 0, 0, 0, 0x0a}};
static const struct rte_ether_addr mac_b = {{0x52, 0x54, 0, 0, 0, 0x0b}};
static const struct rte_ether_addr mac_c = {{0x52, 0x54, 0, 0, 0, 0x0c}};
static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
static const struct rte_ether_addr mcast = {{0x01, 0x00, 0x5e, 0, 0, 0x01}};

static struct rte_mbuf *
frame(const struct rte_ether_addr *dst, const struct rte_ether_addr *src)
{
	struct rte_ether_hdr eth = {.dst_addr = *dst, .src_addr = *src,
				    .ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)};
	uint8_t buf[64] = {0};

	memcpy(buf, &eth, sizeof(eth));
	return fg_mbuf(buf, sizeof(buf), NULL, 0);
}

/* The decision for one frame received on port src_port at second now. */
static uint16_t
decide(uint16_t src_port, const struct rte_ether_addr *dst, const struct rte_ether_addr *src,
       uint32_t now)
{
	struct rte_mbuf *m = frame(dst, src);
	uint16_t d;

	vhd_fwd_decide(src_port, &m, 1, &d, now);
	rte_pktmbuf_free(m);
	return d;
}

static void
test_pair(void **state)
{
	struct rte_mbuf *m[4];
	uint16_t dst[4];
	int i;

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_PAIR, NULL), 0);
	for (i = 0; i < 4; i++)
		m[i] = frame(&mac_b, &mac_a);
	vhd_fwd_decide(2, m, 4, dst, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(dst[i], 3);
	assert_int_equal(decide(1, &bcast, &mac_a, 0), 0);
	assert_int_equal(vhd_fwd_fixed_peer(0), 1);
	assert_int_equal(vhd_fwd_fixed_peer(3), 2);
	for (i = 0; i < 4; i++)
		rte_pktmbuf_free(m[i]);
	fg_assert_no_leak();
}

static void
test_l2_learn_and_forward(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_learn", 64, 8, SOCKET_ID_ANY);

	(void)state;
	assert_non_null(t);
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, NULL), -EINVAL);
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);

	/* unknown destination floods, and the source is learned */
	assert_int_equal(decide(0, &mac_b, &mac_a, 10), VHD_FWD_FLOOD);
	assert_int_equal(vhd_mac_table_count(t), 1);
	/* the reply goes straight back to where a was seen */
	assert_int_equal(decide(1, &mac_a, &mac_b, 10), 0);
	assert_int_equal(decide(0, &mac_b, &mac_a, 11), 1);
	/* never back out of the port it came in on */
	assert_int_equal(decide(0, &mac_a, &mac_c, 11), VHD_FWD_DROP);
	/* broadcast and multicast always flood, even from a known source */
	assert_int_equal(decide(0, &bcast, &mac_a, 12), VHD_FWD_FLOOD);
	assert_int_equal(decide(1, &mcast, &mac_b, 12), VHD_FWD_FLOOD);
	/* a group address as source is never learned */
	assert_int_equal(decide(2, &mac_a, &mcast, 12), 0);
	assert_int_equal(decide(1, &mcast, &mac_b, 12), VHD_FWD_FLOOD);
	assert_int_equal(vhd_mac_table_count(t), 3); /* a, b, c */

	vhd_mac_table_free(t);
	fg_assert_no_leak();
}

static void
test_l2_station_moves(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_move", 64, 8, SOCKET_ID_ANY);

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);
	decide(0, &bcast, &mac_a, 100);
	assert_int_equal(decide(1, &mac_a, &mac_b, 100), 0);
	/* a moves to port 2 (a migrated guest): learned again at once */
	decide(2, &bcast, &mac_a, 100);
	assert_int_equal(decide(1, &mac_a, &mac_b, 100), 2);
	vhd_mac_table_free(t);
}

/* A removed port's stations are forgotten: their packets flood until learned again. */
static void
test_l2_port_removed(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_removed", 64, 8, SOCKET_ID_ANY);

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);
	decide(0, &bcast, &mac_a, 100);
	decide(1, &bcast, &mac_b, 100);
	decide(1, &bcast, &mac_c, 100);
	assert_int_equal(decide(0, &mac_b, &mac_a, 100), 1);
	vhd_fwd_port_removed(1);
	assert_int_equal(decide(0, &mac_b, &mac_a, 100), VHD_FWD_FLOOD);
	assert_int_equal(decide(0, &mac_c, &mac_a, 100), VHD_FWD_FLOOD);
	/* the other port's station stays */
	assert_int_equal(decide(2, &mac_a, &mac_c, 100), 0);
	vhd_mac_table_free(t);
}

static void
test_l2_ageing(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_age", 64, 8, SOCKET_ID_ANY);

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);
	decide(0, &bcast, &mac_a, 1000);
	decide(1, &bcast, &mac_b, 1200);
	assert_int_equal(vhd_mac_table_count(t), 2);

	/* 300 s of silence is still remembered, 301 s is not */
	assert_int_equal(vhd_mac_table_age(t, 1300, 300), 0);
	assert_int_equal(decide(2, &mac_a, &mac_c, 1300), 0);
	/* being a destination does not refresh an entry, only being a source */
	assert_int_equal(vhd_mac_table_age(t, 1301, 300), 1);
	assert_int_equal(decide(2, &mac_a, &mac_c, 1301), VHD_FWD_FLOOD);
	assert_int_equal(decide(2, &mac_b, &mac_c, 1301), 1);
	/* traffic from a keeps it alive */
	decide(0, &bcast, &mac_a, 1400);
	decide(0, &bcast, &mac_a, 1650);
	/* b (1200) and c (learned as a source at 1301) go, a (1650) stays */
	assert_int_equal(vhd_mac_table_age(t, 1900, 300), 2);
	assert_int_equal(decide(2, &mac_a, &mac_c, 1900), 0);
	assert_int_equal(decide(2, &mac_b, &mac_c, 1900), VHD_FWD_FLOOD);
	vhd_mac_table_free(t);
}

/* More stations than the table holds: the extra ones are flooded, nothing breaks. */
static void
test_l2_table_full(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_full", 16, 8, SOCKET_ID_ANY);
	struct rte_ether_addr m = mac_c;
	int i, known = 0;

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);
	for (i = 0; i < 200; i++) {
		m.addr_bytes[5] = i;
		m.addr_bytes[4] = 0x80;
		decide(1, &bcast, &m, 5);
	}
	assert_true(vhd_mac_table_count(t) <= 200);
	for (i = 0; i < 200; i++) {
		uint16_t d;

		m.addr_bytes[5] = i;
		d = decide(0, &m, &mac_a, 5);
		assert_true(d == 1 || d == VHD_FWD_FLOOD);
		known += d == 1;
	}
	assert_true(known >= 16);
	vhd_mac_table_free(t);
	fg_assert_no_leak();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_l2_learn_and_forward),
		cmocka_unit_test(test_l2_station_moves),
		cmocka_unit_test(test_l2_port_removed),
		cmocka_unit_test(test_l2_ageing),
		cmocka_unit_test(test_l2_table_full),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
