/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transmit offloads in software for a destination that lacks them (see
 * mbuf_offload.h): checksums completed in the frame, TCP segmentation into
 * new mbufs. The checksum and segment header arithmetic is net_hdr.c's,
 * shared with the vhost port's transmit path.
 */
#include <stddef.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vhostd/mbuf_offload.h"
#include "vhostd/net_hdr.h"
#include "vhostd/pool.h"

bool
vhd_mbuf_is_shared(const struct rte_mbuf *m)
{
	const struct rte_mbuf *seg;

	/* a flood takes one reference on the head for every port */
	if (rte_mbuf_refcnt_read(m) > 1)
		return true;
	/* data attached from elsewhere belongs to whoever else holds it */
	for (seg = m; seg != NULL; seg = seg->next)
		if (!RTE_MBUF_DIRECT(seg) || rte_mbuf_refcnt_read(seg) > 1)
			return true;
	return false;
}

struct rte_mbuf *
vhd_mbuf_private(struct rte_mbuf *m, struct rte_mempool *pool)
{
	struct rte_mbuf *c;

	if (!vhd_mbuf_is_shared(m))
		return m;
	/* the data, ol_flags and the l2/l3/l4 lengths, tso_segsz */
	c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
	if (c == NULL) {
		VHD_POOL_COUNT(alloc_fail, 1);
		return NULL;
	}
	VHD_POOL_COUNT(alloc, c->nb_segs);
	vhd_mbuf_free(m);
	return c;
}

/* Writes len bytes of src at off of m, wherever m's segments put them. */
static void
frame_write(struct rte_mbuf *m, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;
	struct rte_mbuf *seg = m;

	while (seg != NULL && off >= seg->data_len) {
		off -= seg->data_len;
		seg = seg->next;
	}
	for (; seg != NULL && len > 0; seg = seg->next, off = 0) {
		uint32_t n = RTE_MIN((uint32_t)seg->data_len - off, len);

		memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t *, off), s, n);
		s += n;
		len -= n;
	}
}

void
vhd_mbuf_csum_complete(struct rte_mbuf *m)
{
	uint64_t ol = m->ol_flags;
	uint32_t l3_off = m->l2_len, at;
	uint16_t csum;

	/*
	 * The lengths come from parsing this very frame (vhd_net_hdr_to_mbuf),
	 * which also checked that the checksum field lies inside it; checked
	 * again here, for an mbuf from anywhere else: a request that does not
	 * fit the frame is left undone, never written out of it.
	 */
	if ((ol & RTE_MBUF_F_TX_IP_CKSUM) && (ol & RTE_MBUF_F_TX_IPV4) &&
	    m->l3_len >= sizeof(struct rte_ipv4_hdr) && l3_off + m->l3_len <= m->pkt_len) {
		uint8_t buf[60]; /* the longest IPv4 header */
		struct rte_ipv4_hdr *ip;
		const void *h;

		if (m->l3_len <= sizeof(buf)) {
			h = rte_pktmbuf_read(m, l3_off, m->l3_len, buf);
			if (h != buf)
				memcpy(buf, h, m->l3_len);
			ip = (struct rte_ipv4_hdr *)buf;
			ip->hdr_checksum = 0;
			csum = rte_raw_cksum(buf, m->l3_len);
			csum = (csum == 0xffff) ? csum : (uint16_t)~csum;
			frame_write(m, l3_off + offsetof(struct rte_ipv4_hdr, hdr_checksum), &csum,
				    sizeof(csum));
		}
	}
	if ((ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM ||
	    (ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM) {
		uint32_t l4_off = (uint32_t)m->l2_len + m->l3_len;
		uint32_t field = (ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM ?
					 offsetof(struct rte_tcp_hdr, cksum) :
					 offsetof(struct rte_udp_hdr, dgram_cksum);

		if (l4_off + field + sizeof(csum) <= m->pkt_len) {
			csum = vhd_net_csum_value(m, &at);
			frame_write(m, at, &csum, sizeof(csum));
		}
	}
	m->ol_flags &= ~(VHD_MBUF_TX_OFFLOADS | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6);
}

uint16_t
vhd_mbuf_seg_size(const struct rte_mbuf *m, uint16_t mtu)
{
	uint32_t l34 = (uint32_t)m->l3_len + m->l4_len;

	/* the IP packet, headers and payload, is what the MTU limits */
	if (mtu <= l34)
		return 0;
	return RTE_MIN((uint32_t)m->tso_segsz, mtu - l34);
}

uint32_t
vhd_mbuf_seg_count(const struct rte_mbuf *m, uint16_t seg_size)
{
	uint32_t hdrs = (uint32_t)m->l2_len + m->l3_len + m->l4_len;

	if (seg_size == 0 || m->pkt_len <= hdrs)
		return 1;
	return (m->pkt_len - hdrs + seg_size - 1) / seg_size;
}

/*
 * One segment: hdrs_len bytes of headers, then len bytes of m's payload
 * from off, in a new mbuf (a chain when it exceeds one mbuf's room).
 */
static struct rte_mbuf *
seg_build(const struct rte_mbuf *m, const uint8_t *hdrs, uint32_t hdrs_len, uint32_t off,
	  uint32_t len, struct rte_mempool *pool)
{
	struct rte_mbuf *head, *last;
	uint32_t done = 0;

	head = vhd_mbuf_alloc(pool);
	if (head == NULL)
		return NULL;
	if (rte_pktmbuf_tailroom(head) < hdrs_len) {
		vhd_mbuf_free(head);
		return NULL;
	}
	memcpy(rte_pktmbuf_mtod(head, uint8_t *), hdrs, hdrs_len);
	head->data_len = hdrs_len;
	last = head;
	while (done < len) {
		uint8_t *dst;
		const void *src;
		uint32_t n;

		if (rte_pktmbuf_tailroom(last) == 0) {
			struct rte_mbuf *next = vhd_mbuf_alloc(pool);

			if (next == NULL) {
				vhd_mbuf_free(head);
				return NULL;
			}
			last->next = next;
			last = next;
			head->nb_segs++;
		}
		n = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(last), len - done);
		dst = rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len);
		/* copies into dst only when the bytes span m's segments */
		src = rte_pktmbuf_read(m, off + done, n, dst);
		if (src != dst)
			memcpy(dst, src, n);
		last->data_len += n;
		done += n;
	}
	head->pkt_len = hdrs_len + len;
	head->port = m->port;
	head->l2_len = m->l2_len;
	head->l3_len = m->l3_len;
	head->l4_len = m->l4_len;
	/* complete as it is: nothing left for a NIC to do but the frame's VLAN tag */
	head->ol_flags = m->ol_flags & RTE_MBUF_F_TX_VLAN;
	head->vlan_tci = m->vlan_tci;
	return head;
}

uint16_t
vhd_mbuf_segment(const struct rte_mbuf *m, uint16_t seg_size, uint32_t first,
		 struct rte_mbuf **out, uint16_t n, struct rte_mempool *pool)
{
	uint8_t hdrs[VHD_NET_SEG_HDR_MAX];
	uint32_t nsegs, off, len, hlen, i;
	struct rte_mbuf h;
	uint16_t made = 0;

	if (seg_size == 0)
		return 0;
	/*
	 * vhd_net_seg_headers() cuts at m->tso_segsz; m may be another port's
	 * too, so a smaller segment size goes into a copy of its first mbuf's
	 * fields (the chain behind it is only read through it).
	 */
	h = *m;
	h.tso_segsz = seg_size;
	nsegs = vhd_net_seg_count(&h);
	for (i = first; i < nsegs && made < n; i++) {
		hlen = vhd_net_seg_headers(&h, i, hdrs, &off, &len);
		if (hlen == 0)
			break;
		out[made] = seg_build(&h, hdrs, hlen, off, len, pool);
		if (out[made] == NULL)
			break;
		made++;
	}
	return made;
}
