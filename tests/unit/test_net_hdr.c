/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header <-> mbuf offload mapping (src/net_hdr.c): every
 * field of a guest's header checked against the frame, checksum and TSO
 * requests as ol_flags, the header a destination gets for its features,
 * and the software checksum, on whole and segmented mbufs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_gso.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "fake_guest.h"
#include "vhostd/net_hdr.h"

#define F(bit) (1ULL << (bit))
#define ALL_HOST                                                                          \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))
#define ALL_GUEST                                                                         \
	(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))
#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))
#define L3V4 ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define L3V6 ((uint32_t)sizeof(struct rte_ipv6_hdr))
#define TCP_LEN ((uint32_t)sizeof(struct rte_tcp_hdr))
#define UDP_LEN ((uint32_t)sizeof(struct rte_udp_hdr))
#define TCP_CSUM_OFF offsetof(struct rte_tcp_hdr, cksum)
#define UDP_CSUM_OFF offsetof(struct rte_udp_hdr, dgram_cksum)

/* Ethernet + IPv4/IPv6 + TCP/UDP + payload; the L4 checksum field as asked. */
static uint32_t
build_frame(uint8_t *f, bool v6, bool tcp, uint32_t payload, bool partial)
{
	struct rte_ether_hdr *eth = (void *)f;
	uint32_t l3 = v6 ? L3V6 : L3V4, l4 = tcp ? TCP_LEN : UDP_LEN;
	uint32_t len = L2 + l3 + l4 + payload, i;
	void *ip = f + L2;
	uint8_t *field = f + L2 + l3 + (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	uint16_t phdr;

	memset(f, 0, len);
	eth->ether_type = rte_cpu_to_be_16(v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (v6) {
		struct rte_ipv6_hdr *h = ip;

		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16(l4 + payload);
		h->proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		h->hop_limits = 64;
		for (i = 0; i < 16; i++) {
			h->src_addr[i] = i;
			h->dst_addr[i] = 0x80 + i;
		}
	} else {
		struct rte_ipv4_hdr *h = ip;

		h->version_ihl = RTE_IPV4_VHL_DEF;
		h->total_length = rte_cpu_to_be_16(l3 + l4 + payload);
		h->time_to_live = 64;
		h->next_proto_id = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		h->src_addr = rte_cpu_to_be_32(0x0a000001);
		h->dst_addr = rte_cpu_to_be_32(0x0a000002);
	}
	if (tcp) {
		struct rte_tcp_hdr *t = (void *)(f + L2 + l3);

		t->src_port = rte_cpu_to_be_16(1234);
		t->dst_port = rte_cpu_to_be_16(80);
		t->data_off = (TCP_LEN / 4) << 4;
	} else {
		struct rte_udp_hdr *u = (void *)(f + L2 + l3);

		u->src_port = rte_cpu_to_be_16(1234);
		u->dst_port = rte_cpu_to_be_16(53);
		u->dgram_len = rte_cpu_to_be_16(l4 + payload);
	}
	for (i = 0; i < payload; i++)
		f[L2 + l3 + l4 + i] = (uint8_t)(i * 7 + 3);
	/* what a guest leaves for NEEDS_CSUM: the pseudo-header sum */
	if (partial) {
		phdr = v6 ? rte_ipv6_phdr_cksum(ip, 0) : rte_ipv4_phdr_cksum(ip, 0);
		memcpy(field, &phdr, sizeof(phdr));
	}
	return len;
}

/* The correct L4 checksum of f, computed independently. */
static uint16_t
expected_csum(const uint8_t *f, bool v6, bool tcp)
{
	uint8_t copy[2048];
	uint32_t l3 = v6 ? L3V6 : L3V4;
	uint16_t c;

	memcpy(copy, f, sizeof(copy));
	memset(copy + L2 + l3 + (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF), 0, 2);
	if (v6)
		c = rte_ipv6_udptcp_cksum((void *)(copy + L2), copy + L2 + l3);
	else
		c = rte_ipv4_udptcp_cksum((void *)(copy + L2), copy + L2 + l3);
	return c;
}

static struct virtio_net_hdr
csum_hdr(uint32_t start, uint32_t offset)
{
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};

	h.csum_start = start;
	h.csum_offset = offset;
	return h;
}

static struct virtio_net_hdr
tso_hdr(bool v6, uint16_t mss)
{
	struct virtio_net_hdr h = csum_hdr(L2 + (v6 ? L3V6 : L3V4), TCP_CSUM_OFF);

	h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = mss;
	h.hdr_len = L2 + (v6 ? L3V6 : L3V4) + TCP_LEN;
	return h;
}

static int
apply(const struct virtio_net_hdr *h, const uint8_t *f, uint32_t len, uint64_t features,
      struct rte_mbuf **out)
{
	struct rte_mbuf *m = fg_mbuf(f, len, NULL, 0);
	int rc = vhd_net_hdr_to_mbuf(h, m, features);

	if (out != NULL)
		*out = m;
	else
		rte_pktmbuf_free(m);
	return rc;
}

#define REFUSED(kind) (-(VHD_HDR_ERR_##kind) - 1)

static void
test_no_header(void **state)
{
	struct virtio_net_hdr h = {0};
	uint8_t f[2048];
	uint32_t len = build_frame(f, false, true, 100, false);
	struct rte_mbuf *m;

	(void)state;
	assert_int_equal(apply(&h, f, len, 0, &m), 0);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK, 0);
	rte_pktmbuf_free(m);
	/* DATA_VALID from a guest asks nothing */
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(apply(&h, f, len, ALL_HOST, &m), 0);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK, 0);
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
}

static void
test_partial_csum_to_flags(void **state)
{
	static const struct {
		bool v6, tcp;
	} cases[] = {{false, true}, {false, false}, {true, true}, {true, false}};
	uint8_t f[2048];
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(cases); i++) {
		bool v6 = cases[i].v6, tcp = cases[i].tcp;
		uint32_t l3 = v6 ? L3V6 : L3V4, len = build_frame(f, v6, tcp, 333, true);
		struct virtio_net_hdr h = csum_hdr(L2 + l3, tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF);
		uint32_t seg_lens[3] = {40, 1, len - 41};
		struct rte_mbuf *m;
		uint32_t at;

		assert_int_equal(apply(&h, f, len, F(VIRTIO_NET_F_CSUM), &m), 0);
		assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK,
				 tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
		assert_true(m->ol_flags & (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4));
		assert_int_equal(m->l2_len, L2);
		assert_int_equal(m->l3_len, l3);
		/* the frame itself is not changed: the destination decides */
		assert_memory_equal(rte_pktmbuf_mtod(m, void *), f, len);
		assert_int_equal(vhd_net_csum_value(m, &at), expected_csum(f, v6, tcp));
		assert_int_equal(at, L2 + l3 + (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF));
		rte_pktmbuf_free(m);
		/* the same over segments that split the checksum field and the IP header */
		m = fg_mbuf(f, len, seg_lens, 3);
		assert_int_equal(vhd_net_hdr_to_mbuf(&h, m, F(VIRTIO_NET_F_CSUM)), 0);
		assert_int_equal(vhd_net_csum_value(m, &at), expected_csum(f, v6, tcp));
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

static void
test_csum_elsewhere_completed(void **state)
{
	uint8_t f[2048], want[2048];
	uint32_t len = build_frame(f, false, true, 200, false), start = L2 + L3V4 + TCP_LEN;
	struct virtio_net_hdr h = csum_hdr(start, 10);
	uint32_t seg_lens[2] = {start + 11, 0};
	struct rte_mbuf *m;
	uint16_t sum;

	(void)state;
	/* independent: the sum from start with the field at 0, complemented */
	memcpy(want, f, len);
	want[start + 10] = want[start + 11] = 0;
	sum = ~rte_raw_cksum(want + start, len - start);
	memcpy(want + start + 10, &sum, 2);
	memset(f + start + 10, 0, 2);
	assert_int_equal(apply(&h, f, len, F(VIRTIO_NET_F_CSUM), &m), 0);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, 0);
	assert_memory_equal(rte_pktmbuf_mtod(m, void *), want, len);
	rte_pktmbuf_free(m);
	/* the field straddles two segments */
	seg_lens[1] = len - seg_lens[0];
	m = fg_mbuf(f, len, seg_lens, 2);
	assert_int_equal(vhd_net_hdr_to_mbuf(&h, m, F(VIRTIO_NET_F_CSUM)), 0);
	assert_int_equal(*rte_pktmbuf_mtod_offset(m, uint8_t *, start + 10), want[start + 10]);
	assert_int_equal(*rte_pktmbuf_mtod(m->next, uint8_t *), want[start + 11]);
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
}

static void
test_tso_to_flags(void **state)
{
	uint8_t f[2048];
	int v6;

	(void)state;
	for (v6 = 0; v6 <= 1; v6++) {
		uint32_t len = build_frame(f, v6, true, 1400, true);
		struct virtio_net_hdr h = tso_hdr(v6, 536);
		struct rte_mbuf *m;

		assert_int_equal(apply(&h, f, len, ALL_HOST, &m), 0);
		assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
		assert_true(m->ol_flags & (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4));
		assert_int_equal(m->tso_segsz, 536);
		assert_int_equal(m->l4_len, TCP_LEN);
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

/* Each hostile header is refused with its own reason, and never applied. */
static void
test_hostile_headers(void **state)
{
	uint8_t f4[2048], f6[2048], fu[2048], fx[2048];
	uint32_t l4 = build_frame(f4, false, true, 1000, true);
	uint32_t l6 = build_frame(f6, true, true, 1000, true);
	uint32_t lu = build_frame(fu, false, false, 1000, true);
	uint32_t lx = 60;
	struct virtio_net_hdr h;
	struct rte_mbuf *m;

	(void)state;
	memset(fx, 0, sizeof(fx)); /* not IP at all */
	/* unknown flag bits */
	h = csum_hdr(L2 + L3V4, TCP_CSUM_OFF);
	h.flags |= 0x04;
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(FLAGS));
	/* NEEDS_CSUM without VIRTIO_NET_F_CSUM negotiated */
	h = csum_hdr(L2 + L3V4, TCP_CSUM_OFF);
	assert_int_equal(apply(&h, f4, l4, 0, NULL), REFUSED(FLAGS));
	/* csum_start / csum_offset beyond the frame (the CVE-2024-11614 class) */
	h = csum_hdr(l4, 0);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(CSUM));
	h = csum_hdr(l4 - 1, 0);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(CSUM));
	h = csum_hdr(L2, 0xffff);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(CSUM));
	h = csum_hdr(0xffff, 0xffff);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(CSUM));
	/* gso types: unknown, UFO, USO (not offered), or not negotiated */
	h = tso_hdr(false, 536);
	h.gso_type = 0x7f;
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(GSO_TYPE));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(GSO_TYPE));
	h.gso_type = 5; /* UDP_L4 */
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(GSO_TYPE));
	h = tso_hdr(false, 536);
	assert_int_equal(apply(&h, f4, l4, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO6), NULL),
			 REFUSED(GSO_TYPE));
	/* ECN without HOST_ECN */
	h = tso_hdr(false, 536);
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(ECN));
	/* segmentation without a checksum request */
	h = tso_hdr(false, 536);
	h.flags = 0;
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(FLAGS));
	/* gso_size 0, larger than the frame */
	h = tso_hdr(false, 0);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(GSO_SIZE));
	h = tso_hdr(false, l4 + 1);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(GSO_SIZE));
	h = tso_hdr(false, 0xffff);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(GSO_SIZE));
	/* a payload that fits one segment: a plain checksum request, as in Linux */
	h = tso_hdr(false, 1000);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, &m), 0);
	assert_false(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
	rte_pktmbuf_free(m);
	h = tso_hdr(false, 999);
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, &m), 0);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	rte_pktmbuf_free(m);
	/* hdr_len beyond the frame */
	h = tso_hdr(false, 536);
	h.hdr_len = l4 + 1;
	assert_int_equal(apply(&h, f4, l4, ALL_HOST, NULL), REFUSED(HDR_LEN));
	/* TSO on UDP, on a frame that is not IP, v4 TSO on an IPv6 frame */
	h = tso_hdr(false, 536);
	assert_int_equal(apply(&h, fu, lu, ALL_HOST, NULL), REFUSED(NOT_L4));
	h.csum_start = 0;
	h.csum_offset = 0;
	h.gso_size = 20;
	h.hdr_len = 54;
	assert_int_equal(apply(&h, fx, lx, ALL_HOST, NULL), REFUSED(NOT_L4));
	h = tso_hdr(false, 536);
	assert_int_equal(apply(&h, f6, l6, ALL_HOST, NULL), REFUSED(NOT_L4));
	/* TSO whose checksum is not at the TCP checksum */
	h = tso_hdr(true, 536);
	h.csum_offset = 10;
	assert_int_equal(apply(&h, f6, l6, ALL_HOST, NULL), REFUSED(CSUM));
	fg_assert_no_leak();
}

static void
test_header_for_destination(void **state)
{
	uint8_t f[2048];
	uint32_t len = build_frame(f, false, true, 1400, true);
	struct virtio_net_hdr in = tso_hdr(false, 536), out;
	struct rte_mbuf *m;

	(void)state;
	assert_int_equal(apply(&in, f, len, ALL_HOST, &m), 0);
	/* a guest with GUEST_TSO4 gets the segment whole */
	assert_int_equal(vhd_net_hdr_from_mbuf(m, ALL_GUEST, &out), VHD_HDR_TX_AS_IS);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(out.gso_size, 536);
	assert_int_equal(out.hdr_len, L2 + L3V4 + TCP_LEN);
	assert_int_equal(out.csum_start, L2 + L3V4);
	assert_int_equal(out.csum_offset, TCP_CSUM_OFF);
	/* without it, or without GUEST_CSUM, vhostd segments */
	assert_int_equal(vhd_net_hdr_from_mbuf(m, F(VIRTIO_NET_F_GUEST_CSUM), &out),
			 VHD_HDR_TX_SEGMENT);
	assert_int_equal(vhd_net_hdr_from_mbuf(m, F(VIRTIO_NET_F_GUEST_TSO4), &out),
			 VHD_HDR_TX_SEGMENT);
	rte_pktmbuf_free(m);

	/* a partial checksum: passed on with GUEST_CSUM, completed without */
	len = build_frame(f, true, false, 100, true);
	in = csum_hdr(L2 + L3V6, UDP_CSUM_OFF);
	assert_int_equal(apply(&in, f, len, F(VIRTIO_NET_F_CSUM), &m), 0);
	assert_int_equal(vhd_net_hdr_from_mbuf(m, F(VIRTIO_NET_F_GUEST_CSUM), &out),
			 VHD_HDR_TX_AS_IS);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(out.csum_start, L2 + L3V6);
	assert_int_equal(out.csum_offset, UDP_CSUM_OFF);
	assert_int_equal(vhd_net_hdr_from_mbuf(m, 0, &out), VHD_HDR_TX_CSUM);
	rte_pktmbuf_free(m);

	/* nothing asked: an empty header */
	m = fg_mbuf(f, len, NULL, 0);
	memset(&out, 0xff, sizeof(out));
	assert_int_equal(vhd_net_hdr_from_mbuf(m, ALL_GUEST, &out), VHD_HDR_TX_AS_IS);
	assert_int_equal(out.flags | out.gso_type | out.gso_size | out.csum_start, 0);
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
}

/* Cuts len bytes into segments that fit fg_pool's mbufs, odd sizes first. */
static unsigned int
odd_segments(uint32_t len, uint32_t *seg_lens)
{
	static const uint32_t first[] = {57, 1001};
	unsigned int n = 0;

	while (len > 0) {
		uint32_t l = RTE_MIN(len, n < RTE_DIM(first) ? first[n] : 1999u);

		seg_lens[n++] = l;
		len -= l;
	}
	return n;
}

/* Segment i of m, headers and payload, in one buffer; returns its length. */
static uint32_t
segment_flat(const struct rte_mbuf *m, uint32_t i, uint8_t *flat)
{
	uint32_t off, len, hdrs = vhd_net_seg_headers(m, i, flat, &off, &len);

	assert_int_not_equal(hdrs, 0);
	assert_non_null(rte_pktmbuf_read(m, off, len, flat + hdrs));
	memcpy(flat + hdrs, rte_pktmbuf_read(m, off, len, flat + hdrs), len);
	return hdrs + len;
}

static void
test_segmentation(void **state)
{
	static const struct {
		bool v6;
		uint32_t payload, mss;
		uint8_t flags;
	} cases[] = {
		{false, 4000, 1000, RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG},
		{false, 4001, 1448, RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_CWR_FLAG},
		{true, 4000, 1000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG},
		{true, 3333, 1440, RTE_TCP_FIN_FLAG | RTE_TCP_CWR_FLAG},
		{false, 1001, 1000, RTE_TCP_ACK_FLAG}, /* one byte in the last */
	};
	size_t c;

	(void)state;
	for (c = 0; c < RTE_DIM(cases); c++) {
		bool v6 = cases[c].v6;
		uint32_t l3 = v6 ? L3V6 : L3V4, hdrs = L2 + l3 + TCP_LEN, pay = cases[c].payload;
		uint32_t mss = cases[c].mss, n = (pay + mss - 1) / mss, i, len, seg_lens[16];
		static uint8_t f[8192], flat[8192];
		struct virtio_net_hdr h = tso_hdr(v6, mss);
		struct rte_tcp_hdr *t = (void *)(f + L2 + l3);
		struct rte_mbuf *m;

		len = build_frame(f, v6, true, pay, true);
		t->sent_seq = rte_cpu_to_be_32(0xfffff000); /* wraps */
		t->tcp_flags = cases[c].flags;
		if (!v6)
			((struct rte_ipv4_hdr *)(f + L2))->packet_id = rte_cpu_to_be_16(0xfffe);
		/* odd segment sizes: the payload's sum must cross them */
		m = fg_mbuf(f, len, seg_lens, odd_segments(len, seg_lens));
		assert_int_equal(vhd_net_hdr_to_mbuf(&h, m, ALL_HOST), 0);
		assert_int_equal(vhd_net_seg_count(m), n);
		for (i = 0; i < n; i++) {
			uint32_t seg = segment_flat(m, i, flat), want = i + 1 < n ? mss : pay - i * mss;
			const struct rte_tcp_hdr *st = (const void *)(flat + L2 + l3);
			uint8_t want_flags = cases[c].flags;

			assert_int_equal(seg, hdrs + want);
			assert_memory_equal(flat + hdrs, f + hdrs + i * mss, want);
			assert_int_equal(rte_be_to_cpu_32(st->sent_seq), 0xfffff000u + i * mss);
			if (i + 1 < n)
				want_flags &= ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
			if (i > 0)
				want_flags &= ~RTE_TCP_CWR_FLAG;
			assert_int_equal(st->tcp_flags, want_flags);
			if (v6) {
				const struct rte_ipv6_hdr *ip = (const void *)(flat + L2);

				assert_int_equal(rte_be_to_cpu_16(ip->payload_len), TCP_LEN + want);
				assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, st), 0);
			} else {
				const struct rte_ipv4_hdr *ip = (const void *)(flat + L2);

				assert_int_equal(rte_be_to_cpu_16(ip->total_length), l3 + TCP_LEN + want);
				assert_int_equal(rte_be_to_cpu_16(ip->packet_id), (uint16_t)(0xfffe + i));
				assert_int_equal(rte_ipv4_cksum(ip), 0);
				assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, st), 0);
			}
		}
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

/* IPv4 segments byte for byte as librte_gso cuts them (it leaves checksums). */
static void
test_segmentation_matches_librte_gso(void **state)
{
	static uint8_t f[8192], flat[8192], theirs[8192];
	uint32_t len = build_frame(f, false, true, 5000, true), hdrs = L2 + L3V4 + TCP_LEN, i;
	struct virtio_net_hdr h = tso_hdr(false, 1200);
	struct rte_gso_ctx ctx = {
		.direct_pool = fg_pool,
		.indirect_pool = fg_pool,
		.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
		.gso_size = 1200 + hdrs,
		.flag = 0,
	};
	struct rte_mbuf *m, *ours, *segs[16];
	uint32_t seg_lens[16], nsegs = odd_segments(len, seg_lens);
	int n;

	(void)state;
	ours = fg_mbuf(f, len, seg_lens, nsegs);
	assert_int_equal(vhd_net_hdr_to_mbuf(&h, ours, ALL_HOST), 0);
	m = fg_mbuf(f, len, seg_lens, nsegs);
	assert_int_equal(vhd_net_hdr_to_mbuf(&h, m, ALL_HOST), 0);
	n = rte_gso_segment(m, &ctx, segs, RTE_DIM(segs));
	assert_int_equal(n, (int)vhd_net_seg_count(ours));
	for (i = 0; i < (uint32_t)n; i++) {
		uint32_t seg = segment_flat(ours, i, flat);

		assert_int_equal(segs[i]->pkt_len, seg);
		memcpy(theirs, rte_pktmbuf_read(segs[i], 0, seg, theirs), seg);
		/* the IP and TCP checksum fields are ours to fill */
		memset(flat + L2 + offsetof(struct rte_ipv4_hdr, hdr_checksum), 0, 2);
		memset(theirs + L2 + offsetof(struct rte_ipv4_hdr, hdr_checksum), 0, 2);
		memset(flat + L2 + L3V4 + TCP_CSUM_OFF, 0, 2);
		memset(theirs + L2 + L3V4 + TCP_CSUM_OFF, 0, 2);
		assert_memory_equal(flat, theirs, seg);
		rte_pktmbuf_free(segs[i]);
	}
	/* librte_gso of 22.11 leaves the input to the caller */
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(ours);
	fg_assert_no_leak();
}

static void
test_error_names(void **state)
{
	int e, g;

	(void)state;
	for (e = 0; e < VHD_HDR_ERR_MAX; e++) {
		assert_string_not_equal(vhd_hdr_error_name(e), "unknown");
		for (g = 0; g < e; g++)
			assert_string_not_equal(vhd_hdr_error_name(e), vhd_hdr_error_name(g));
	}
	assert_string_equal(vhd_hdr_error_name(VHD_HDR_ERR_MAX), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_partial_csum_to_flags),
		cmocka_unit_test(test_csum_elsewhere_completed),
		cmocka_unit_test(test_tso_to_flags),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_header_for_destination),
		cmocka_unit_test(test_segmentation),
		cmocka_unit_test(test_segmentation_matches_librte_gso),
		cmocka_unit_test(test_error_names),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
