/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transmit offloads done in software for an uplink (src/mbuf_offload.c):
 * checksums completed in the frame, shared mbufs copied before any write,
 * TCP segmentation into new mbufs. The mbufs come as the datapath makes
 * them: a frame with the partial checksum a guest leaves, its header turned
 * into ol_flags by vhd_net_hdr_to_mbuf(). Checksums are checked with DPDK's
 * own rte_ipv4_cksum / rte_ipv*_udptcp_cksum_verify on a flat copy, and
 * segments by reassembling their payload byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "fake_guest.h"
#include "vhostd/mbuf_offload.h"
#include "vhostd/net_hdr.h"

#define F(bit) (1ULL << (bit))
#define HOST_OFFLOADS                                                                     \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))
#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))
#define L3V4 ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define L3V6 ((uint32_t)sizeof(struct rte_ipv6_hdr))
#define TCP_LEN ((uint32_t)sizeof(struct rte_tcp_hdr))
#define UDP_LEN ((uint32_t)sizeof(struct rte_udp_hdr))
#define MAX_FRAME 66000
#define SEQ0 0xfffff000u /* wraps during a 64 KiB frame */
#define IPID0 0xfff0

enum kind { TCP4, UDP4, TCP6, UDP6 };

static bool
is_v6(enum kind k)
{
	return k == TCP6 || k == UDP6;
}

static bool
is_tcp(enum kind k)
{
	return k == TCP4 || k == TCP6;
}

static uint32_t
l3_len(enum kind k)
{
	return is_v6(k) ? L3V6 : L3V4;
}

/*
 * Ethernet + IPv4/IPv6 + TCP (with opt bytes of options: NOPs) or UDP +
 * payload (fg_frame bytes). The L4 checksum field holds the pseudo-header
 * sum, as a guest leaves it when it asks for the checksum; TCP flags are
 * CWR|PSH|ACK|FIN, so segmentation has flags to split.
 */
static uint32_t
build_frame(uint8_t *f, enum kind k, uint32_t opt, uint32_t payload, uint32_t seed)
{
	struct rte_ether_hdr *eth = (void *)f;
	uint32_t l3 = l3_len(k), l4 = is_tcp(k) ? TCP_LEN + opt : UDP_LEN;
	uint32_t len = L2 + l3 + l4 + payload, i;
	uint8_t *ip = f + L2, *th = f + L2 + l3;
	uint16_t phdr;

	memset(f, 0, L2 + l3 + l4);
	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++) {
		eth->dst_addr.addr_bytes[i] = 0x02 + i;
		eth->src_addr.addr_bytes[i] = 0x52 + i;
	}
	eth->ether_type = rte_cpu_to_be_16(is_v6(k) ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (is_v6(k)) {
		struct rte_ipv6_hdr *h = (void *)ip;

		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16(l4 + payload);
		h->proto = is_tcp(k) ? IPPROTO_TCP : IPPROTO_UDP;
		h->hop_limits = 64;
		for (i = 0; i < 16; i++) {
			h->src_addr[i] = 0xfd + i;
			h->dst_addr[i] = 0x80 + 3 * i;
		}
	} else {
		struct rte_ipv4_hdr *h = (void *)ip;

		h->version_ihl = RTE_IPV4_VHL_DEF;
		h->total_length = rte_cpu_to_be_16(l3 + l4 + payload);
		h->packet_id = rte_cpu_to_be_16(IPID0);
		h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		h->time_to_live = 64;
		h->next_proto_id = is_tcp(k) ? IPPROTO_TCP : IPPROTO_UDP;
		h->src_addr = rte_cpu_to_be_32(0x0a010203);
		h->dst_addr = rte_cpu_to_be_32(0xc0a80a02);
		h->hdr_checksum = rte_ipv4_cksum(h);
	}
	if (is_tcp(k)) {
		struct rte_tcp_hdr *t = (void *)th;

		t->src_port = rte_cpu_to_be_16(40000);
		t->dst_port = rte_cpu_to_be_16(5001);
		t->sent_seq = rte_cpu_to_be_32(SEQ0);
		t->recv_ack = rte_cpu_to_be_32(77);
		t->data_off = ((TCP_LEN + opt) / 4) << 4;
		t->tcp_flags = RTE_TCP_CWR_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG |
			       RTE_TCP_FIN_FLAG;
		t->rx_win = rte_cpu_to_be_16(1000);
		memset(th + TCP_LEN, 1, opt); /* NOP options */
	} else {
		struct rte_udp_hdr *u = (void *)th;

		u->src_port = rte_cpu_to_be_16(40000);
		u->dst_port = rte_cpu_to_be_16(5001);
		u->dgram_len = rte_cpu_to_be_16(l4 + payload);
	}
	fg_frame(f + L2 + l3 + l4, payload, seed);
	/* the partial sum a guest leaves with NEEDS_CSUM: the pseudo-header's */
	if (is_v6(k))
		phdr = rte_ipv6_phdr_cksum((const void *)ip, 0);
	else
		phdr = rte_ipv4_phdr_cksum((const void *)ip, 0);
	memcpy(th + (is_tcp(k) ? offsetof(struct rte_tcp_hdr, cksum) :
				 offsetof(struct rte_udp_hdr, dgram_cksum)),
	       &phdr, sizeof(phdr));
	return len;
}

/* The header of a guest asking for frame k's L4 checksum, or TSO at mss. */
static struct virtio_net_hdr
guest_hdr(enum kind k, uint32_t opt, uint16_t mss)
{
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};

	h.csum_start = L2 + l3_len(k);
	h.csum_offset = is_tcp(k) ? offsetof(struct rte_tcp_hdr, cksum) :
				    offsetof(struct rte_udp_hdr, dgram_cksum);
	if (mss > 0) {
		h.gso_type = is_v6(k) ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		h.gso_size = mss;
		h.hdr_len = L2 + l3_len(k) + TCP_LEN + opt;
	}
	return h;
}

/* frame in mbuf segments of at most seg bytes, with the guest's header applied. */
static struct rte_mbuf *
guest_mbuf(const uint8_t *frame, uint32_t len, uint32_t seg, const struct virtio_net_hdr *h)
{
	uint32_t segs[512], n = 0, off;
	struct rte_mbuf *m;

	for (off = 0; off < len; off += seg)
		segs[n++] = RTE_MIN(seg, len - off);
	assert_true(n <= RTE_DIM(segs));
	m = fg_mbuf(frame, len, segs, n);
	assert_int_equal(vhd_net_hdr_to_mbuf(h, m, HOST_OFFLOADS), 0);
	return m;
}

/* A flat copy of m's bytes. */
static uint8_t *
flat(const struct rte_mbuf *m)
{
	static uint8_t buf[MAX_FRAME];
	const void *p;

	assert_true(m->pkt_len <= sizeof(buf));
	p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
	if (p != buf)
		memcpy(buf, p, m->pkt_len);
	return buf;
}

/* DPDK's verdict on the L4 checksum of the frame f (its IP header at L2). */
static void
assert_l4_csum_valid(const uint8_t *f, enum kind k)
{
	const void *ip = f + L2;
	const void *l4 = f + L2 + l3_len(k);

	if (is_v6(k))
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, l4), 0);
	else
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, l4), 0);
}

static uint32_t
csum_field_at(enum kind k)
{
	return L2 + l3_len(k) +
	       (is_tcp(k) ? offsetof(struct rte_tcp_hdr, cksum) :
			    offsetof(struct rte_udp_hdr, dgram_cksum));
}

/*
 * Checksum completion for every kind, in one mbuf and cut into segments of
 * 7 bytes (the field split over two of them) and 61 bytes: the frame's
 * bytes unchanged but for the field, the field what DPDK checks as valid,
 * no offload flag left.
 */
static void
test_csum_complete(void **state)
{
	static const uint32_t cuts[] = {2048, 7, 61};
	static uint8_t frame[4096], want[4096];
	unsigned int c;
	int k;

	(void)state;
	for (k = TCP4; k <= UDP6; k++) {
		for (c = 0; c < RTE_DIM(cuts); c++) {
			uint32_t len = build_frame(frame, k, 0, 1001, k * 10 + c);
			struct virtio_net_hdr h = guest_hdr(k, 0, 0);
			struct rte_mbuf *m = guest_mbuf(frame, len, cuts[c], &h);
			uint32_t at = csum_field_at(k);
			uint8_t *out;

			assert_true(m->ol_flags & RTE_MBUF_F_TX_L4_MASK);
			vhd_mbuf_csum_complete(m);
			assert_int_equal(m->ol_flags & (VHD_MBUF_TX_OFFLOADS | RTE_MBUF_F_TX_IPV4 |
							RTE_MBUF_F_TX_IPV6),
					 0);
			assert_int_equal(m->pkt_len, len);
			out = flat(m);
			assert_l4_csum_valid(out, k);
			memcpy(want, frame, len);
			memcpy(want + at, out + at, 2);
			assert_memory_equal(out, want, len);
			/* the guest's partial sum was not the final one */
			assert_memory_not_equal(out + at, frame + at, 2);
			rte_pktmbuf_free(m);
		}
	}
	fg_assert_no_leak();
}

/* Whatever the field holds (not the pseudo-header sum), the result is right. */
static void
test_csum_ignores_field(void **state)
{
	static uint8_t frame[2048];
	int k;

	(void)state;
	for (k = TCP4; k <= UDP6; k++) {
		uint32_t len = build_frame(frame, k, 0, 200, 99);
		struct virtio_net_hdr h = guest_hdr(k, 0, 0);
		struct rte_mbuf *m;

		frame[csum_field_at(k)] = 0xa5;
		frame[csum_field_at(k) + 1] = 0x5a;
		m = guest_mbuf(frame, len, 2048, &h);
		vhd_mbuf_csum_complete(m);
		assert_l4_csum_valid(flat(m), k);
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

/* RTE_MBUF_F_TX_IP_CKSUM: the IPv4 header's checksum, options included. */
static void
test_ip_csum(void **state)
{
	static uint8_t frame[2048];
	static const uint32_t cuts[] = {2048, 5};
	unsigned int c;

	(void)state;
	for (c = 0; c < RTE_DIM(cuts); c++) {
		uint32_t len = build_frame(frame, UDP4, 0, 100, 5);
		struct rte_ipv4_hdr *ip = (void *)(frame + L2);
		struct rte_mbuf *m;
		uint8_t *out;

		ip->hdr_checksum = rte_cpu_to_be_16(0x1234); /* wrong */
		m = guest_mbuf(frame, len, cuts[c], &(struct virtio_net_hdr){0});
		m->l2_len = L2;
		m->l3_len = L3V4;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		vhd_mbuf_csum_complete(m);
		assert_int_equal(m->ol_flags & VHD_MBUF_TX_OFFLOADS, 0);
		out = flat(m);
		assert_int_equal(rte_ipv4_cksum((const void *)(out + L2)), 0);
		/* only the header's checksum changed: the UDP one was not asked for */
		assert_memory_equal(out + L2 + L3V4, frame + L2 + L3V4, len - L2 - L3V4);
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

/* A request whose field lies outside the frame is not written anywhere. */
static void
test_csum_out_of_frame_left_alone(void **state)
{
	static uint8_t frame[256];
	uint32_t len = build_frame(frame, TCP4, 0, 0, 1);
	struct rte_mbuf *m = guest_mbuf(frame, len, 2048, &(struct virtio_net_hdr){0});

	(void)state;
	m->l2_len = L2;
	m->l3_len = 127; /* the TCP field would be past the end */
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
	vhd_mbuf_csum_complete(m);
	assert_int_equal(m->ol_flags & VHD_MBUF_TX_OFFLOADS, 0);
	assert_memory_equal(flat(m), frame, len);
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
}

/*
 * A flooded mbuf (refcnt 2, as lcore.c's flood makes) is copied, never
 * written: the other holder still sees the guest's bytes and flags.
 */
static void
test_private_copies_shared(void **state)
{
	static uint8_t frame[4096];
	uint32_t len = build_frame(frame, TCP6, 0, 3000, 3);
	struct virtio_net_hdr h = guest_hdr(TCP6, 0, 0);
	struct rte_mbuf *m = guest_mbuf(frame, len, 2048, &h), *c, *ind;
	uint64_t flags = m->ol_flags;

	(void)state;
	assert_false(vhd_mbuf_is_shared(m));
	assert_ptr_equal(vhd_mbuf_private(m, fg_pool), m);

	/* as a flood must: every segment (rte_pktmbuf_free frees per segment) */
	rte_pktmbuf_refcnt_update(m, 1);
	assert_true(vhd_mbuf_is_shared(m));
	c = vhd_mbuf_private(m, fg_pool);
	assert_non_null(c);
	assert_ptr_not_equal(c, m);
	assert_int_equal(rte_mbuf_refcnt_read(m), 1); /* our reference went */
	assert_int_equal(c->ol_flags, flags);
	assert_int_equal(c->l2_len, m->l2_len);
	assert_int_equal(c->l3_len, m->l3_len);
	assert_int_equal(c->l4_len, m->l4_len);
	vhd_mbuf_csum_complete(c);
	assert_l4_csum_valid(flat(c), TCP6);
	assert_memory_equal(flat(m), frame, len);
	assert_int_equal(m->ol_flags, flags);
	rte_pktmbuf_free(c);

	/* a segment attached from elsewhere is shared too */
	ind = rte_pktmbuf_alloc(fg_pool);
	assert_non_null(ind);
	rte_pktmbuf_attach(ind, m->next);
	assert_true(vhd_mbuf_is_shared(m));
	rte_pktmbuf_free(ind);
	assert_false(vhd_mbuf_is_shared(m));
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
}

/* No mbuf for the copy: NULL, and the reference is still the caller's. */
static void
test_private_pool_dry(void **state)
{
	static uint8_t frame[256];
	struct rte_mempool *tiny;
	struct rte_mbuf *m, *held;
	uint32_t len = build_frame(frame, UDP4, 0, 50, 4);

	(void)state;
	tiny = rte_pktmbuf_pool_create("tiny_dry", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(tiny);
	held = rte_pktmbuf_alloc(tiny);
	assert_non_null(held);
	m = guest_mbuf(frame, len, 2048, &(struct virtio_net_hdr){0});
	rte_pktmbuf_refcnt_update(m, 1);
	assert_null(vhd_mbuf_private(m, tiny));
	assert_int_equal(rte_mbuf_refcnt_read(m), 2);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(held);
	rte_mempool_free(tiny);
	fg_assert_no_leak();
}

/*
 * Checks segments out[0..n), the first n of the total a TSO frame (len
 * bytes, kind k, opt bytes of TCP options) makes at seg_size: each a whole
 * frame of at most seg_size payload, no flags, the IP length, IPv4 id and
 * header checksum, TCP sequence, flags and checksum right; their payloads
 * put together are the frame's, byte for byte (all of it when n == total).
 */
/* RTE_MBUF_F_TX_VLAN if the frame segmented asked for VLAN 100's tag */
static uint64_t vlan_flag;

static void
check_segments(struct rte_mbuf **out, uint32_t n, uint32_t total, const uint8_t *frame,
	       uint32_t len, enum kind k, uint32_t opt, uint32_t seg_size)
{
	static uint8_t joined[MAX_FRAME];
	uint32_t hdrs = L2 + l3_len(k) + TCP_LEN + opt, got = 0, i;

	for (i = 0; i < n; i++) {
		const uint8_t *s = flat(out[i]);
		const struct rte_tcp_hdr *t = (const void *)(s + L2 + l3_len(k));
		uint32_t pay = out[i]->pkt_len - hdrs;
		bool last = i + 1 == total;
		uint8_t flags = RTE_TCP_ACK_FLAG;

		assert_true(out[i]->pkt_len > hdrs);
		assert_true(pay <= seg_size);
		if (!last)
			assert_int_equal(pay, seg_size);
		/* nothing left for a NIC but a VLAN tag a trunk is to add */
		assert_int_equal(out[i]->ol_flags, vlan_flag);
		if (vlan_flag != 0)
			assert_int_equal(out[i]->vlan_tci, 100);
		/* the Ethernet header and the TCP options as they were */
		assert_memory_equal(s, frame, L2);
		assert_memory_equal(s + hdrs - opt, frame + hdrs - opt, opt);
		if (is_v6(k)) {
			const struct rte_ipv6_hdr *ip = (const void *)(s + L2);

			assert_int_equal(rte_be_to_cpu_16(ip->payload_len), TCP_LEN + opt + pay);
		} else {
			const struct rte_ipv4_hdr *ip = (const void *)(s + L2);

			assert_int_equal(rte_be_to_cpu_16(ip->total_length), L3V4 + TCP_LEN + opt + pay);
			assert_int_equal(rte_be_to_cpu_16(ip->packet_id), (uint16_t)(IPID0 + i));
			assert_int_equal(rte_ipv4_cksum(ip), 0);
		}
		assert_int_equal(rte_be_to_cpu_32(t->sent_seq), (uint32_t)(SEQ0 + got));
		if (i == 0)
			flags |= RTE_TCP_CWR_FLAG;
		if (last)
			flags |= RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
		assert_int_equal(t->tcp_flags, flags);
		assert_l4_csum_valid(s, k);
		memcpy(joined + got, s + hdrs, pay);
		got += pay;
	}
	if (n == total)
		assert_int_equal(got, len - hdrs);
	assert_memory_equal(joined, frame + hdrs, got);
}

/*
 * A 60000-byte TSO frame (as 2 KiB mbufs), IPv4 and IPv6, with and without
 * TCP options, segmented in runs of up to 32 as the uplink sends them; the
 * segments keep a VLAN tag request.
 */
static void
test_segment(void **state)
{
	static uint8_t frame[MAX_FRAME];
	static const uint32_t opts[] = {0, 12};
	static const enum kind kinds[] = {TCP4, TCP6};
	struct rte_mbuf *out[2048];
	unsigned int a, b;

	(void)state;
	for (a = 0; a < RTE_DIM(kinds); a++) {
		for (b = 0; b < RTE_DIM(opts); b++) {
			enum kind k = kinds[a];
			uint32_t len = build_frame(frame, k, opts[b], 60000, a * 2 + b);
			/* the MSS of a guest at MTU 1500 */
			uint16_t mss = 1500 - l3_len(k) - TCP_LEN - opts[b];
			struct virtio_net_hdr h = guest_hdr(k, opts[b], mss);
			struct rte_mbuf *m = guest_mbuf(frame, len, 2048, &h);
			uint16_t seg = vhd_mbuf_seg_size(m, 1500);
			uint32_t n, made = 0, i;

			assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
			assert_int_equal(seg, mss);
			/* in VLAN 100 on the way to a trunk, for every other frame */
			vlan_flag = (a + b) % 2 ? RTE_MBUF_F_TX_VLAN : 0;
			m->ol_flags |= vlan_flag;
			m->vlan_tci = vlan_flag ? 100 : 0;
			n = vhd_mbuf_seg_count(m, seg);
			assert_int_equal(n, (60000 + mss - 1) / mss);
			while (made < n) {
				uint16_t got = vhd_mbuf_segment(m, seg, made, out + made, 32, fg_pool);

				assert_int_equal(got, RTE_MIN(32u, n - made));
				made += got;
			}
			/* past the last segment: nothing */
			assert_int_equal(vhd_mbuf_segment(m, seg, n, out + n, 32, fg_pool), 0);
			check_segments(out, n, n, frame, len, k, opts[b], seg);
			for (i = 0; i < n; i++)
				assert_true(out[i]->pkt_len <= 1500 + L2);
			rte_pktmbuf_free_bulk(out, n);
			/* the source frame was only read */
			assert_memory_equal(flat(m), frame, len);
			rte_pktmbuf_free(m);
			vlan_flag = 0;
		}
	}
	fg_assert_no_leak();
}

/*
 * A guest at MTU 9000 (gso_size 8948) behind an uplink of MTU 1500: the
 * segments shrink to what the uplink's MTU holds; at MTU 9000 they are
 * chains of mbufs. An MTU too small for the headers gives no segment.
 */
static void
test_segment_mtu(void **state)
{
	static uint8_t frame[MAX_FRAME];
	static const struct {
		enum kind k;
		uint32_t opt;
		uint16_t mtu, want;
	} cases[] = {
		{TCP4, 0, 1500, 1460},
		{TCP4, 12, 1500, 1448},
		{TCP6, 12, 1500, 1428},
		{TCP6, 0, 9000, 8940},
		{TCP4, 0, 9000, 8948}, /* the guest's own size: smaller than 8960 */
	};
	struct rte_mbuf *out[64];
	unsigned int c;

	(void)state;
	for (c = 0; c < RTE_DIM(cases); c++) {
		uint32_t len = build_frame(frame, cases[c].k, cases[c].opt, 50000, c);
		struct virtio_net_hdr h = guest_hdr(cases[c].k, cases[c].opt, 8948);
		struct rte_mbuf *m = guest_mbuf(frame, len, 2048, &h);
		uint16_t seg = vhd_mbuf_seg_size(m, cases[c].mtu);
		uint32_t n, i;

		assert_int_equal(seg, cases[c].want);
		n = vhd_mbuf_seg_count(m, seg);
		assert_true(n <= RTE_DIM(out));
		assert_int_equal(vhd_mbuf_segment(m, seg, 0, out, n, fg_pool), n);
		check_segments(out, n, n, frame, len, cases[c].k, cases[c].opt, seg);
		for (i = 0; i < n; i++) {
			assert_true(out[i]->pkt_len <= cases[c].mtu + L2);
			if (cases[c].mtu == 9000 && i + 1 < n)
				assert_true(out[i]->nb_segs > 1);
		}
		rte_pktmbuf_free_bulk(out, n);
		/* no room for a payload byte: nothing made, nothing leaked */
		assert_int_equal(vhd_mbuf_seg_size(m, l3_len(cases[c].k) + TCP_LEN + cases[c].opt), 0);
		assert_int_equal(vhd_mbuf_segment(m, 0, 0, out, 8, fg_pool), 0);
		rte_pktmbuf_free(m);
	}
	fg_assert_no_leak();
}

/* The pool runs dry mid-frame: the segments made are whole, none leaks. */
static void
test_segment_pool_dry(void **state)
{
	static uint8_t frame[MAX_FRAME];
	uint32_t len = build_frame(frame, TCP4, 0, 20000, 8);
	struct virtio_net_hdr h = guest_hdr(TCP4, 0, 1000);
	struct rte_mbuf *m = guest_mbuf(frame, len, 2048, &h), *out[32];
	struct rte_mempool *tiny;
	uint16_t made;

	(void)state;
	tiny = rte_pktmbuf_pool_create("tiny_seg", 5, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(tiny);
	made = vhd_mbuf_segment(m, 1000, 0, out, 32, tiny);
	assert_int_equal(made, 5);
	check_segments(out, made, 20, frame, len, TCP4, 0, 1000);
	rte_pktmbuf_free_bulk(out, made);
	/* 3054-byte segments take two mbufs each: two made, the third finds one */
	made = vhd_mbuf_segment(m, 3000, 0, out, 32, tiny);
	assert_int_equal(made, 2);
	rte_pktmbuf_free_bulk(out, made);
	assert_int_equal(rte_mempool_avail_count(tiny), 5);
	rte_mempool_free(tiny);
	rte_pktmbuf_free(m);
	fg_assert_no_leak();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_csum_ignores_field),
		cmocka_unit_test(test_ip_csum),
		cmocka_unit_test(test_csum_out_of_frame_left_alone),
		cmocka_unit_test(test_private_copies_shared),
		cmocka_unit_test(test_private_pool_dry),
		cmocka_unit_test(test_segment),
		cmocka_unit_test(test_segment_mtu),
		cmocka_unit_test(test_segment_pool_dry),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
