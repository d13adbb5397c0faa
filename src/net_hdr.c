/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header: its size, and its mapping to mbuf offload fields
 * and back (see net_hdr.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vhostd/net_hdr.h"

const struct virtio_net_hdr vhd_net_hdr_none;

uint16_t
vhd_net_hdr_len(uint64_t virtio_features)
{
	/* virtio 1.0 always carries num_buffers; legacy only with MRG_RXBUF */
	if (virtio_features & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_F_VERSION_1)))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}

const char *
vhd_hdr_error_name(enum vhd_hdr_error e)
{
	static const char *const names[VHD_HDR_ERR_MAX] = {
#define VHD_HDR_NAME(name, str) [VHD_HDR_ERR_##name] = str,
		VHD_HDR_ERRORS(VHD_HDR_NAME)
#undef VHD_HDR_NAME
	};

	return (unsigned int)e < VHD_HDR_ERR_MAX ? names[e] : "unknown";
}

#define REFUSE(kind) (-(VHD_HDR_ERR_##kind) - 1)
#define HAS(features, bit) (((features) >> (bit)) & 1)

/* Reads len bytes at off of m, wherever its segments put them. */
static const void *
frame_bytes(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *buf)
{
	return rte_pktmbuf_read(m, off, len, buf);
}

/* Writes the 16-bit value v at off of m (it lies inside the frame). */
static void
frame_put16(struct rte_mbuf *m, uint32_t off, uint16_t v)
{
	uint8_t *b = (uint8_t *)&v;
	uint32_t i;

	for (i = 0; i < 2; i++) {
		struct rte_mbuf *seg = m;
		uint32_t o = off + i;

		while (o >= seg->data_len) {
			o -= seg->data_len;
			seg = seg->next;
		}
		*rte_pktmbuf_mtod_offset(seg, uint8_t *, o) = b[i];
	}
}

/*
 * The one's complement sum of len bytes at off of m (inside the frame),
 * unfolded. Not rte_raw_cksum_mbuf(): in DPDK 22.11 it truncates a
 * segment's sum to 16 bits before the byte swap that follows an odd-length
 * segment, and gets such frames wrong.
 */
static uint32_t
frame_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	const struct rte_mbuf *seg = m;
	uint32_t sum = 0, done = 0;

	while (seg != NULL && off >= seg->data_len) {
		off -= seg->data_len;
		seg = seg->next;
	}
	for (; seg != NULL && done < len; seg = seg->next, off = 0) {
		uint32_t n = RTE_MIN((uint32_t)seg->data_len - off, len - done);
		uint16_t part = rte_raw_cksum(rte_pktmbuf_mtod_offset(seg, const void *, off), n);

		/* after an odd number of bytes, this segment's words are shifted */
		sum += (done & 1) ? rte_bswap16(part) : part;
		done += n;
	}
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

int
vhd_net_hdr_check(const struct virtio_net_hdr *hdr, uint32_t frame_len, uint64_t features)
{
	/* each field once: callers trust only what this checked */
	uint8_t flags = hdr->flags, gso_type = hdr->gso_type;
	uint32_t csum_start = hdr->csum_start, csum_offset = hdr->csum_offset;
	uint8_t gso = gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (likely(flags == 0 && gso_type == 0))
		return 0;
	if (flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return REFUSE(FLAGS);
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !HAS(features, VIRTIO_NET_F_CSUM))
		return REFUSE(FLAGS);
	if ((gso_type & VIRTIO_NET_HDR_GSO_ECN) && !HAS(features, VIRTIO_NET_F_HOST_ECN))
		return REFUSE(ECN);
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!HAS(features, VIRTIO_NET_F_HOST_TSO4))
			return REFUSE(GSO_TYPE);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!HAS(features, VIRTIO_NET_F_HOST_TSO6))
			return REFUSE(GSO_TYPE);
		break;
	default:
		return REFUSE(GSO_TYPE);
	}
	/* a segment needs its checksum: Linux always asks along with GSO */
	if (gso != VIRTIO_NET_HDR_GSO_NONE && !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return REFUSE(FLAGS);
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && csum_start + csum_offset + 2 > frame_len)
		return REFUSE(CSUM);
	if (gso != VIRTIO_NET_HDR_GSO_NONE) {
		if (hdr->hdr_len > frame_len)
			return REFUSE(HDR_LEN);
		if (hdr->gso_size == 0 || hdr->gso_size > frame_len)
			return REFUSE(GSO_SIZE);
	}
	return 0;
}

/*
 * What TSO asks of the frame's own headers, parsed into ptype and hl: TCP
 * over the IP version gso names, a TCP header of at least 20 bytes (data
 * offset >= 5), all inside the frame, and the checksum at TCP's.
 */
static int
tso_frame_check(uint8_t gso, uint32_t csum_start, uint32_t csum_offset, uint32_t ptype,
		const struct rte_net_hdr_lens *hl, uint32_t frame_len)
{
	uint32_t headers = (uint32_t)hl->l2_len + hl->l3_len + hl->l4_len;

	if ((ptype & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_TCP ||
	    hl->l4_len < sizeof(struct rte_tcp_hdr) || headers > frame_len ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV4 ? !RTE_ETH_IS_IPV4_HDR(ptype) :
					       !RTE_ETH_IS_IPV6_HDR(ptype)))
		return REFUSE(NOT_L4);
	if (csum_start != (uint32_t)hl->l2_len + hl->l3_len ||
	    csum_offset != offsetof(struct rte_tcp_hdr, cksum))
		return REFUSE(CSUM);
	return 0;
}

int
vhd_net_hdr_check_frame(const struct virtio_net_hdr *hdr, const uint8_t *head, uint32_t head_len,
			uint32_t frame_len)
{
	uint8_t gso = hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	struct rte_net_hdr_lens hl = {0};
	struct rte_mbuf m;
	uint32_t ptype;

	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	/* the parser reads mbufs: one over the bytes given, nothing past them */
	memset(&m, 0, sizeof(m));
	m.buf_addr = (void *)(uintptr_t)head;
	m.buf_len = head_len;
	m.data_len = head_len;
	m.pkt_len = head_len;
	m.nb_segs = 1;
	ptype = rte_net_get_ptype(&m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
					    RTE_PTYPE_L4_MASK);
	return tso_frame_check(gso, hdr->csum_start, hdr->csum_offset, ptype, &hl, frame_len);
}

int
vhd_net_hdr_to_mbuf(const struct virtio_net_hdr *hdr, struct rte_mbuf *m, uint64_t features)
{
	uint8_t flags = hdr->flags, gso = hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	uint16_t gso_size = hdr->gso_size;
	uint32_t csum_start = hdr->csum_start, csum_offset = hdr->csum_offset;
	struct rte_net_hdr_lens hl = {0};
	uint32_t ptype, l4, headers;
	bool ipv4, ipv6;
	int rc;

	if (likely(flags == 0 && hdr->gso_type == 0))
		return 0;
	rc = vhd_net_hdr_check(hdr, m->pkt_len, features);
	if (rc != 0)
		return rc;

	ptype = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
					   RTE_PTYPE_L4_MASK);
	l4 = ptype & RTE_PTYPE_L4_MASK;
	ipv4 = RTE_ETH_IS_IPV4_HDR(ptype);
	ipv6 = RTE_ETH_IS_IPV6_HDR(ptype);
	headers = (uint32_t)hl.l2_len + hl.l3_len + hl.l4_len;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;

	if (gso != VIRTIO_NET_HDR_GSO_NONE) {
		rc = tso_frame_check(gso, csum_start, csum_offset, ptype, &hl, m->pkt_len);
		if (rc != 0)
			return rc;
		/* as Linux does: a payload that fits one segment is no GSO frame */
		if (gso_size >= m->pkt_len - headers) {
			m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM |
				       (ipv4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6);
			return 0;
		}
		m->tso_segsz = gso_size;
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG |
			       (ipv4 ? RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM :
				       RTE_MBUF_F_TX_IPV6);
		return 0;
	}
	if (!(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0; /* DATA_VALID alone means nothing from a guest */
	if ((ipv4 || ipv6) && csum_start == (uint32_t)hl.l2_len + hl.l3_len &&
	    ((l4 == RTE_PTYPE_L4_TCP && csum_offset == offsetof(struct rte_tcp_hdr, cksum)) ||
	     (l4 == RTE_PTYPE_L4_UDP && csum_offset == offsetof(struct rte_udp_hdr, dgram_cksum)))) {
		m->ol_flags |= (l4 == RTE_PTYPE_L4_TCP ? RTE_MBUF_F_TX_TCP_CKSUM :
							 RTE_MBUF_F_TX_UDP_CKSUM) |
			       (ipv4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6);
		return 0;
	}
	/* a checksum vhostd cannot describe in ol_flags: complete it now, as
	 * the spec words it (the sum from csum_start on, stored at the offset) */
	frame_put16(m, csum_start + csum_offset,
		    (uint16_t)~fold(frame_sum(m, csum_start, m->pkt_len - csum_start)));
	return 0;
}

bool
vhd_net_offloads_fit(uint64_t sender, uint64_t receiver)
{
	static const struct {
		int sent, taken;
	} pairs[] = {
		{VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM},
		{VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_GUEST_TSO4},
		{VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_GUEST_TSO6},
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(pairs); i++)
		if (HAS(sender, pairs[i].sent) && !HAS(receiver, pairs[i].taken))
			return false;
	return true;
}

enum vhd_hdr_tx_need
vhd_net_hdr_from_mbuf(const struct rte_mbuf *m, uint64_t features, struct virtio_net_hdr *hdr)
{
	uint64_t ol = m->ol_flags;
	bool tcp = (ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM ||
		   (ol & RTE_MBUF_F_TX_TCP_SEG);

	memset(hdr, 0, sizeof(*hdr));
	if (likely(!(ol & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK))))
		return VHD_HDR_TX_AS_IS;
	if (ol & RTE_MBUF_F_TX_TCP_SEG) {
		bool v4 = ol & RTE_MBUF_F_TX_IPV4;

		if (!HAS(features, VIRTIO_NET_F_GUEST_CSUM) ||
		    !HAS(features, v4 ? VIRTIO_NET_F_GUEST_TSO4 : VIRTIO_NET_F_GUEST_TSO6))
			return VHD_HDR_TX_SEGMENT;
		hdr->gso_type = v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		hdr->gso_size = m->tso_segsz;
		hdr->hdr_len = m->l2_len + m->l3_len + m->l4_len;
	} else if (!HAS(features, VIRTIO_NET_F_GUEST_CSUM)) {
		return VHD_HDR_TX_CSUM;
	}
	hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr->csum_start = m->l2_len + m->l3_len;
	hdr->csum_offset = tcp ? offsetof(struct rte_tcp_hdr, cksum) :
				 offsetof(struct rte_udp_hdr, dgram_cksum);
	return VHD_HDR_TX_AS_IS;
}

/*
 * The IPv6 pseudo-header's sum for an L4 part of l4_len bytes, by hand:
 * with extension headers, payload_len (which rte_ipv6_phdr_cksum uses) is
 * not the L4 length.
 */
static uint32_t
ipv6_phdr_sum(const struct rte_ipv6_hdr *ip, uint32_t l4_len, uint8_t proto)
{
	struct {
		uint8_t src[16], dst[16];
		rte_be32_t len;
		uint8_t zero[3], next;
	} phdr = {.next = proto};

	memcpy(phdr.src, ip->src_addr, sizeof(phdr.src));
	memcpy(phdr.dst, ip->dst_addr, sizeof(phdr.dst));
	phdr.len = rte_cpu_to_be_32(l4_len);
	return rte_raw_cksum(&phdr, sizeof(phdr));
}

uint16_t
vhd_net_csum_value(const struct rte_mbuf *m, uint32_t *at)
{
	uint32_t l3_off = m->l2_len, l4_off = m->l2_len + m->l3_len, l4_len, sum;
	bool tcp = (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM ||
		   (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
	uint8_t buf[sizeof(struct rte_ipv6_hdr)];
	uint16_t field, csum;
	const void *l3;

	*at = l4_off + (tcp ? offsetof(struct rte_tcp_hdr, cksum) :
			      offsetof(struct rte_udp_hdr, dgram_cksum));
	l4_len = m->pkt_len - l4_off;
	/*
	 * From scratch over the pseudo-header and the L4 bytes, taking the
	 * field as 0 whatever it holds: a partial sum for this frame, or for
	 * the whole TSO frame a segment came from.
	 */
	memcpy(&field, frame_bytes(m, *at, 2, &csum), sizeof(field));
	sum = frame_sum(m, l4_off, l4_len) + (uint16_t)~field;
	if (m->ol_flags & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr ip4;

		l3 = frame_bytes(m, l3_off, sizeof(ip4), &ip4);
		sum += rte_ipv4_phdr_cksum(l3, 0);
	} else {
		l3 = frame_bytes(m, l3_off, sizeof(struct rte_ipv6_hdr), buf);
		sum += ipv6_phdr_sum(l3, l4_len, tcp ? IPPROTO_TCP : IPPROTO_UDP);
	}
	csum = (uint16_t)~fold(sum);
	/* a UDP checksum of 0 means "none": send its equivalent */
	if (!tcp && csum == 0)
		csum = 0xffff;
	return csum;
}

uint32_t
vhd_net_seg_count(const struct rte_mbuf *m)
{
	uint32_t hdrs = m->l2_len + m->l3_len + m->l4_len;

	if (m->tso_segsz == 0 || m->pkt_len <= hdrs)
		return 1;
	return (m->pkt_len - hdrs + m->tso_segsz - 1) / m->tso_segsz;
}

uint32_t
vhd_net_seg_headers(const struct rte_mbuf *m, uint32_t i, uint8_t *out, uint32_t *payload_off,
		    uint32_t *payload_len)
{
	uint32_t l3_off = m->l2_len, l4_off = m->l2_len + m->l3_len;
	uint32_t hdrs = l4_off + m->l4_len, n = vhd_net_seg_count(m), sum;
	bool last = i + 1 == n;
	struct rte_tcp_hdr tcp;
	const void *h;
	uint16_t csum;

	if (hdrs > VHD_NET_SEG_HDR_MAX || m->l4_len < sizeof(tcp))
		return 0;
	h = rte_pktmbuf_read(m, 0, hdrs, out);
	if (h != out)
		memcpy(out, h, hdrs);
	*payload_off = hdrs + i * m->tso_segsz;
	*payload_len = last ? m->pkt_len - *payload_off : m->tso_segsz;

	if (m->ol_flags & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr ip;

		memcpy(&ip, out + l3_off, sizeof(ip));
		ip.total_length = rte_cpu_to_be_16(m->l3_len + m->l4_len + *payload_len);
		ip.packet_id = rte_cpu_to_be_16(rte_be_to_cpu_16(ip.packet_id) + i);
		ip.hdr_checksum = 0;
		memcpy(out + l3_off, &ip, sizeof(ip));
		ip.hdr_checksum = rte_ipv4_cksum((const void *)(out + l3_off));
		memcpy(out + l3_off, &ip, sizeof(ip));
		sum = rte_ipv4_phdr_cksum((const void *)(out + l3_off), 0);
	} else {
		struct rte_ipv6_hdr ip;

		memcpy(&ip, out + l3_off, sizeof(ip));
		ip.payload_len = rte_cpu_to_be_16(m->l3_len - sizeof(ip) + m->l4_len + *payload_len);
		memcpy(out + l3_off, &ip, sizeof(ip));
		sum = ipv6_phdr_sum(&ip, m->l4_len + *payload_len, IPPROTO_TCP);
	}
	memcpy(&tcp, out + l4_off, sizeof(tcp));
	tcp.sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp.sent_seq) + i * m->tso_segsz);
	if (!last)
		tcp.tcp_flags &= ~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
	if (i > 0)
		tcp.tcp_flags &= ~RTE_TCP_CWR_FLAG;
	tcp.cksum = 0;
	memcpy(out + l4_off, &tcp, sizeof(tcp));
	/* a TCP header is a multiple of 4 bytes: the payload's sum adds as is */
	sum += rte_raw_cksum(out + l4_off, m->l4_len) + frame_sum(m, *payload_off, *payload_len);
	csum = (uint16_t)~fold(sum);
	memcpy(out + l4_off + offsetof(struct rte_tcp_hdr, cksum), &csum, sizeof(csum));
	return hdrs;
}
