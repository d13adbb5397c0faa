/* SPDX-License-Identifier: BSD-3-Clause */
/* Steering into a multi-queue port by flow (src/steer.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "fake_guest.h"
#include "vhostd/steer.h"

/* An Ethernet frame carrying IPv4 (v6 false) or IPv6, proto TCP or UDP, with these ports. */
static struct rte_mbuf *
ip_frame(bool v6, uint8_t proto, uint32_t src, uint16_t sport, uint16_t dport, bool fragment)
{
	uint8_t buf[128] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	uint8_t *l4;

	eth->src_addr.addr_bytes[0] = 0x52;
	eth->dst_addr.addr_bytes[0] = 0x52;
	eth->dst_addr.addr_bytes[5] = 1;
	if (!v6) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(sizeof(buf) - sizeof(*eth));
		ip->time_to_live = 64;
		ip->next_proto_id = proto;
		ip->src_addr = rte_cpu_to_be_32(src);
		ip->dst_addr = rte_cpu_to_be_32(0x0a000001);
		if (fragment)
			ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
		l4 = (uint8_t *)(ip + 1);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16(sizeof(buf) - sizeof(*eth) - sizeof(*ip));
		ip->proto = proto;
		ip->hop_limits = 64;
		memcpy(&ip->src_addr[12], &src, 4);
		ip->dst_addr[15] = 1;
		l4 = (uint8_t *)(ip + 1);
	}
	/* TCP and UDP both start with the two ports */
	((struct rte_udp_hdr *)l4)->src_port = rte_cpu_to_be_16(sport);
	((struct rte_udp_hdr *)l4)->dst_port = rte_cpu_to_be_16(dport);
	return fg_mbuf(buf, sizeof(buf), NULL, 0);
}

static uint32_t
hash_of(struct rte_mbuf *m)
{
	uint32_t h = vhd_flow_hash(m);

	rte_pktmbuf_free(m);
	return h;
}

/* One flow, one hash: the same packet twice, or another packet of the same flow. */
static void
test_same_flow_same_hash(void **state)
{
	int v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		uint32_t a = hash_of(ip_frame(v6, IPPROTO_TCP, 0x0a000002, 40000, 80, false));
		uint32_t b = hash_of(ip_frame(v6, IPPROTO_TCP, 0x0a000002, 40000, 80, false));

		assert_int_equal(a, b);
		/* each part of the flow's identity counts */
		assert_int_not_equal(a, hash_of(ip_frame(v6, IPPROTO_TCP, 0x0a000002, 40001, 80, false)));
		assert_int_not_equal(a, hash_of(ip_frame(v6, IPPROTO_TCP, 0x0a000002, 40000, 81, false)));
		assert_int_not_equal(a, hash_of(ip_frame(v6, IPPROTO_TCP, 0x0a000003, 40000, 80, false)));
		assert_int_not_equal(a, hash_of(ip_frame(v6, IPPROTO_UDP, 0x0a000002, 40000, 80, false)));
	}
	fg_assert_no_leak();
}

/* A fragment's ports are not known: every fragment of a datagram takes one queue. */
static void
test_fragments_ignore_ports(void **state)
{
	uint32_t a = hash_of(ip_frame(false, IPPROTO_UDP, 0x0a000002, 1000, 2000, true));
	uint32_t b = hash_of(ip_frame(false, IPPROTO_UDP, 0x0a000002, 3000, 4000, true));

	(void)state;
	assert_int_equal(a, b);
	fg_assert_no_leak();
}

/* Many flows spread over every queue; one queue needs no hash at all. */
static void
test_spread(void **state)
{
	static const uint16_t queues[] = {0, 1, 2, 3};
	unsigned int count[4] = {0}, i;

	(void)state;
	for (i = 0; i < 256; i++) {
		struct rte_mbuf *m = ip_frame(i & 1, IPPROTO_TCP, 0x0a000100 + i, 30000 + i, 443, false);
		uint16_t q = vhd_steer(queues, 4, m);

		assert_true(q < 4);
		/* the same flow again: the same queue */
		assert_int_equal(q, vhd_steer(queues, 4, m));
		count[q]++;
		/* a single queue is always that queue */
		assert_int_equal(vhd_steer(&queues[2], 1, m), 2);
		rte_pktmbuf_free(m);
	}
	for (i = 0; i < 4; i++)
		assert_true(count[i] >= 32); /* 64 expected each */
	/* only the listed queues are ever chosen */
	{
		static const uint16_t odd[] = {1, 3};
		struct rte_mbuf *m = ip_frame(false, IPPROTO_UDP, 0x0a000009, 5, 6, false);
		uint16_t q = vhd_steer(odd, 2, m);

		assert_true(q == 1 || q == 3);
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

/* Not IP, or too short to parse: still a hash, from the Ethernet header. */
static void
test_not_ip(void **state)
{
	uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0, 0, 0, 0, 1, 0x08, 0x06};
	uint8_t runt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct rte_mbuf *a = fg_mbuf(arp, sizeof(arp), NULL, 0);
	struct rte_mbuf *b = fg_mbuf(arp, sizeof(arp), NULL, 0);
	struct rte_mbuf *r = fg_mbuf(runt, sizeof(runt), NULL, 0);

	(void)state;
	assert_int_equal(vhd_flow_hash(a), vhd_flow_hash(b));
	assert_int_equal(vhd_flow_hash(r), 0);
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
	rte_pktmbuf_free(r);
	fg_assert_no_leak();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_flow_same_hash),
		cmocka_unit_test(test_fragments_ignore_ports),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_not_ip),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
