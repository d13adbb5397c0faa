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

/*
 * The decision for a frame from a trunk with VLAN tag vlan stripped on
 * receive (vlan 0: untagged); *out gets the mbuf's VLAN flags afterwards.
 */
static uint16_t
decide_from_trunk(uint16_t src_port, uint16_t vlan, const struct rte_ether_addr *dst,
		  const struct rte_ether_addr *src, uint64_t *tx_vlan_flag, uint16_t *tci)
{
	struct rte_mbuf *m = frame(dst, src);
	uint16_t d;

	if (vlan != 0) {
		m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
		m->vlan_tci = vlan | (5 << 13); /* a priority, which is not the VLAN */
	}
	vhd_fwd_decide(src_port, &m, 1, &d, 100);
	*tx_vlan_flag = m->ol_flags & RTE_MBUF_F_TX_VLAN;
	*tci = m->vlan_tci;
	rte_pktmbuf_free(m);
	return d;
}

/*
 * VLANs: ports 0 and 1 are access ports of VLAN 10, port 2 of VLAN 20,
 * port 3 is in the default VLAN, port 4 is a trunk (an uplink).
 */
static void
test_l2_vlans(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_vlan", 64, 8, SOCKET_ID_ANY);
	struct rte_mbuf *m;
	uint64_t flag;
	uint16_t tci, d;

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);
	assert_int_equal(vhd_fwd_port_added(0, 10, false), 0);
	assert_int_equal(vhd_fwd_port_added(1, 10, false), 0);
	assert_int_equal(vhd_fwd_port_added(2, 20, false), 0);
	assert_int_equal(vhd_fwd_port_added(3, 0, false), 0);
	assert_int_equal(vhd_fwd_port_added(4, 0, true), 0);

	/* a floods reach only its own VLAN and the trunk */
	assert_true(vhd_fwd_port_in_vlan(1, 10));
	assert_false(vhd_fwd_port_in_vlan(2, 10));
	assert_false(vhd_fwd_port_in_vlan(3, 10));
	assert_true(vhd_fwd_port_in_vlan(4, 10));
	assert_true(vhd_fwd_port_in_vlan(3, 0));
	assert_false(vhd_fwd_port_in_vlan(0, 0));

	/* a learned in VLAN 10 is known there ... */
	assert_int_equal(decide(0, &bcast, &mac_a, 100), VHD_FWD_FLOOD);
	assert_int_equal(decide(1, &mac_a, &mac_b, 100), 0);
	/* ... and unknown in VLAN 20 and the default VLAN: flooded there, never sent to 0 */
	assert_int_equal(decide(2, &mac_a, &mac_c, 100), VHD_FWD_FLOOD);
	assert_int_equal(decide(3, &mac_a, &mac_c, 100), VHD_FWD_FLOOD);
	/* the same MAC in VLAN 20 is another station: VLAN 10 still goes to port 0 */
	assert_int_equal(decide(1, &mac_a, &mac_b, 100), 0);
	assert_int_equal(decide(2, &mac_b, &mac_a, 100), VHD_FWD_FLOOD);
	assert_int_equal(decide(1, &mac_a, &mac_b, 100), 0);

	/* the mbuf carries its VLAN for trunks to tag */
	m = frame(&mac_a, &mac_b);
	vhd_fwd_decide(1, &m, 1, &d, 100);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_VLAN);
	assert_int_equal(m->vlan_tci, 10);
	rte_pktmbuf_free(m);
	m = frame(&mac_c, &mac_b);
	m->ol_flags |= RTE_MBUF_F_TX_VLAN; /* whatever was there before */
	vhd_fwd_decide(3, &m, 1, &d, 100);
	assert_false(m->ol_flags & RTE_MBUF_F_TX_VLAN);
	assert_int_equal(m->vlan_tci, 0);
	rte_pktmbuf_free(m);

	/* from the trunk: the stripped tag is the VLAN, priority bits aside */
	d = decide_from_trunk(4, 10, &mac_a, &mac_c, &flag, &tci);
	assert_int_equal(d, 0);
	assert_true(flag);
	assert_int_equal(tci, 10);
	d = decide_from_trunk(4, 20, &mac_a, &mac_b, &flag, &tci);
	assert_int_equal(d, 2); /* a in VLAN 20 is the station on port 2 */
	/* c was learned on the trunk in VLAN 10: replies in VLAN 10 go there */
	assert_int_equal(decide(0, &mac_c, &mac_a, 100), 4);
	/* untagged on the trunk is the default VLAN */
	d = decide_from_trunk(4, 0, &mac_a, &mac_c, &flag, &tci);
	assert_int_equal(d, VHD_FWD_FLOOD);
	assert_false(flag);
	vhd_mac_table_free(t);
	fg_assert_no_leak();
}

/* A guest on an access port cannot pick its VLAN by tagging: dropped and counted. */
static void
test_l2_vlan_tagged_from_access(void **state)
{
	struct vhd_mac_table *t = vhd_mac_table_create("t_vtag", 64, 8, SOCKET_ID_ANY);
	static const uint16_t types[] = {RTE_ETHER_TYPE_VLAN, RTE_ETHER_TYPE_QINQ};
	uint64_t before;
	unsigned int i;

	(void)state;
	assert_int_equal(vhd_fwd_init(VHD_FWD_L2, t), 0);
	assert_int_equal(vhd_fwd_port_added(0, 10, false), 0);
	assert_int_equal(vhd_fwd_port_added(1, 20, false), 0);
	assert_int_equal(vhd_fwd_port_added(2, 0, false), 0);
	decide(1, &bcast, &mac_b, 100); /* b in VLAN 20 */
	for (i = 0; i < 2; i++) {
		uint16_t port = i == 0 ? 0 : 2;
		struct rte_mbuf *m = frame(&mac_b, &mac_a);
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		uint16_t d;

		eth->ether_type = rte_cpu_to_be_16(types[i]);
		before = vhd_fwd_vlan_drops(port);
		vhd_fwd_decide(port, &m, 1, &d, 100);
		assert_int_equal(d, VHD_FWD_DROP);
		assert_int_equal(vhd_fwd_vlan_drops(port), before + 1);
		rte_pktmbuf_free(m);
	}
	/* nothing from them was learned */
	assert_int_equal(decide(1, &mac_a, &mac_b, 100), VHD_FWD_FLOOD);
	/* pair mode has no VLANs to give */
	assert_int_equal(vhd_fwd_init(VHD_FWD_PAIR, NULL), 0);
	assert_int_equal(vhd_fwd_port_added(0, 10, false), -ENOTSUP);
	assert_int_equal(vhd_fwd_port_added(0, 0, false), 0);
	vhd_mac_table_free(t);
	fg_assert_no_leak();
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
		cmocka_unit_test(test_l2_vlans),
		cmocka_unit_test(test_l2_vlan_tagged_from_access),
		cmocka_unit_test(test_l2_ageing),
		cmocka_unit_test(test_l2_table_full),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
