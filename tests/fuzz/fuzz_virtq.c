/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the virtqueue datapath, split and packed rings
 * (src/virtq.c, src/virtq_split.c, src/virtq_packed.c and the translation in
 * include/vhostd/guest_mem.h).
 *
 * The input is the guest: ring layout, features, ring size and positions, the
 * memory table (1..4 regions with gaps), the descriptor table, the avail ring
 * (packed: the driver's event area) and the
 * contents of guest memory, then a short script of bursts: rx (guest to
 * mbufs), tx (mbufs to guest) and forward (guest to guest, no mbuf) between
 * the main queue and a second "peer" queue with rings of its own in the same
 * guest memory. Every guest region, and each ring not inside region 0, is a
 * separate malloc of exactly its size, so AddressSanitizer reports any access
 * just outside one. After each burst the target checks invariants and
 * abort()s when one fails; after each input, that every mbuf is back.
 *
 * Input format (little endian; bytes past the end of the input read as 0, so
 * any input, even empty, is valid). tests/fuzz/make_seeds.py writes the same.
 *
 *   off  size  field
 *   0    1     features: bit0 MRG_RXBUF, bit1 INDIRECT_DESC, bit2 VERSION_1,
 *              bit3 main rings inside region 0 (desc at 0, avail after it,
 *              used after that 4-aligned; separate buffers if region 0 is too
 *              small), bit4 callfds are an eventfd (else -1), bits 5-7 the
 *              offload features (offload_sets[] below)
 *   1    1     ring size = 2 << (b % 8)                         (2..256)
 *              packed: 1 + b, any size                          (1..256)
 *   2    2     last_avail_idx (the vq's); packed: the vring base of both
 *              positions, wrap counter in bit 15, slot (b & 0x7fff) % size
 *   4    2     last_used_idx (the vq's, and used->idx); packed: unused
 *   6    1     regions = 1 + b % 4
 *   7    1     fill byte for guest memory the input does not give
 *   8    8     guest-physical address of region 0
 *   16   4x10  per region: u32 gap (region i > 0 starts gap bytes after the end
 *              of region i - 1; 0 = back to back), u16 size - 1 (& 0x3fff, so
 *              1..16384 bytes), u16 offset (% size) and u16 length of the part
 *              of the region given below; the rest of the region is fill
 *   56   6     peer queue: features (bits 0-2 as above, bits 3-5 its
 *              offload features as bits 5-7 above; bit6: both queues use
 *              the packed ring layout (VIRTIO_F_RING_PACKED), bit7: both
 *              negotiate VIRTIO_RING_F_EVENT_IDX), ring size,
 *              last_avail_idx, last_used_idx; its rings are always separate
 *   62   1     mbufs = b % 9, for tx bursts
 *   63   1     ops = 1 + b % 8
 *   64   8     op[i]: 0x00|n  rx burst of n (0..63) from the main queue
 *                     0x40|n  tx burst of the first n % (mbufs + 1) mbufs
 *                     0x80|n  the guest makes n (0..31) more main entries available
 *                             (packed: marks the n slots from the device's
 *                             position available in their lap, other flag
 *                             bits kept: its buffers posted again)
 *                     0xa0|d<<4|n  forward burst of 3n packets, main to peer
 *                             (d = 0) or peer to main (d = 1)
 *                     0xc0|b  misc: bit0 toggle avail->flags NO_INTERRUPT
 *                             (packed: the driver event flags' bit 0, DISABLE),
 *                             bit1 set the main mem_hint to (b >> 2) & 7 (stale),
 *                             bit5 the next rx burst finds the mempool empty
 *   72   3x8   mbuf[i]: u16 pkt_len (& 0x1fff; bits 13-15 pick the MSS of a
 *              TSO mbuf from mss_sizes[]), u8 segments: 1 + (b & 3), or
 *              65 if bit6 (more than the datapath takes), bit7 an extra
 *              empty first segment, bits 2-4 offloads: 0 none, 1-4 a TCP/UDP
 *              over IPv4/IPv6 frame asking for its checksum
 *              (RTE_MBUF_F_TX_{TCP,UDP}_CKSUM), 5 and 6 a TCP/IPv4 and
 *              TCP/IPv6 frame asking for TSO (RTE_MBUF_F_TX_TCP_SEG), 7 the
 *              same as 5 with IPv4 options; the frame's headers are written
 *              over the mbuf's bytes and the flags set by vhd_net_hdr_to_mbuf
 *              from a guest's header (a frame too short for its headers
 *              keeps none)
 *   96   16*N  main descriptor table (N = ring size)
 *   ..   6+2*N main avail ring: flags, idx, ring[N], used_event
 *              (packed: 4 bytes, the driver event area: flags, off_wrap)
 *   ..   16*P  peer descriptor table (P = peer ring size)
 *   ..   6+2*P peer avail ring (packed: 4 bytes, its driver event area)
 *   ..         region parts in order, each min(length, size - offset) bytes
 *
 * Packed mode: rings inside region 0 (bit3) put the descriptor ring at its
 * start and the two event areas after it; otherwise each of the three is a
 * malloc of its exact size. The device event area starts zeroed.
 *
 * Set FUZZ_VIRTQ_DEBUG=1 to print what each input does (for seeds).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vhostd/guest_mem.h"
#include "vhostd/net_hdr.h"
#include "vhostd/virtq.h"

#define HDR_LEN 96
#define MAX_REGIONS 4
#define MAX_OPS 8
#define MAX_MBUFS 8
#define REGION_SIZE_MASK 0x3fff
#define PKT_LEN_MASK 0x1fff
#define POOL_SIZE 1024
/* what vhd_virtq_rx_burst promises about a frame */
#define MIN_FRAME_LEN 14

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_virtq: invariant failed at %s:%d: %s\n",   \
				__FILE__, __LINE__, #cond);                              \
			abort();                                                         \
		}                                                                        \
	} while (0)

static struct rte_mempool *pool;
static int efd = -1;
static bool debug;

struct reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static uint8_t
rd8(struct reader *r)
{
	return r->off < r->len ? r->p[r->off++] : (r->off++, 0);
}

static uint16_t
rd16(struct reader *r)
{
	uint16_t v = rd8(r);

	return v | (uint16_t)(rd8(r) << 8);
}

static uint32_t
rd32(struct reader *r)
{
	uint32_t v = rd16(r);

	return v | (uint32_t)rd16(r) << 16;
}

static uint64_t
rd64(struct reader *r)
{
	uint64_t v = rd32(r);

	return v | (uint64_t)rd32(r) << 32;
}

/* Copies len input bytes to dst; what the input lacks becomes fill. */
static void
rd_bytes(struct reader *r, void *dst, size_t len, uint8_t fill)
{
	size_t have = r->off < r->len ? r->len - r->off : 0;

	if (have > len)
		have = len;
	memcpy(dst, r->p + (r->off < r->len ? r->off : 0), have);
	memset((uint8_t *)dst + have, fill, len - have);
	r->off += len;
}

static void
eal_cleanup(void)
{
	if (efd >= 0)
		close(efd);
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *eal_argv[] = {
		"fuzz_virtq", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry",
		"-m", "128", "--log-level=error", prefix, NULL,
	};
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;

	(void)argc;
	(void)argv;
	debug = getenv("FUZZ_VIRTQ_DEBUG") != NULL;
	snprintf(prefix, sizeof(prefix), "--file-prefix=fuzz%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "fuzz_virtq: rte_eal_init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	/*
	 * With --no-shconf EAL leaves its runtime directory empty and never uses
	 * it again: remove it now, so that a run ended by a crash leaves nothing.
	 */
	rmdir(rte_eal_get_runtime_dir());
	/* no per-lcore cache: rte_mempool_avail_count() is then exact */
	pool = rte_pktmbuf_pool_create("fuzz_pool", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "fuzz_virtq: mbuf pool: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		perror("fuzz_virtq: eventfd");
		exit(1);
	}
	atexit(eal_cleanup);
	return 0;
}

/* One virtqueue of the guest and its rings. */
struct queue {
	struct vhd_virtq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* packed mode (desc, avail, used NULL) */
	bool packed;
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_event;
	struct vring_packed_desc_event *device_event;
	uint8_t *buf[3]; /* desc, avail, used (packed: desc, two event areas) when not inside region 0 */
	bool in_guest;   /* rings inside region 0: tx may write over them */
	const char *name;
};

/* The guest one input describes, and the host buffers holding it. */
struct guest {
	struct vhd_mem_table mem;
	uint8_t *region[MAX_REGIONS];
	struct queue main, peer;
	bool packed;
	struct rte_mbuf *mbufs[MAX_MBUFS];
	uint32_t nmbufs;
};

static uint32_t
mbuf_seg_sum(const struct rte_mbuf *m)
{
	uint32_t sum = 0;

	for (; m != NULL; m = m->next)
		sum += m->data_len;
	return sum;
}

/* pkt_len pieces of near-equal length over nsegs segments (first one empty if asked). */
static struct rte_mbuf *
make_mbuf(uint32_t len, uint8_t segs_byte, uint8_t seed)
{
	uint32_t nfull = (segs_byte & 0x40) ? 65 : 1 + (segs_byte & 3);
	bool empty_first = segs_byte & 0x80;
	uint32_t nsegs = nfull + (empty_first ? 1 : 0);
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t i, done = 0;

	if (len > nfull * (uint32_t)(RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM))
		len = nfull * (RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM);
	for (i = 0; i < nsegs; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t k = empty_first ? i : i + 1; /* full pieces done after this one */
		uint32_t seg = (empty_first && i == 0) ? 0 : (uint32_t)((uint64_t)len * k / nfull) - done;
		char *p;

		CHECK(m != NULL);
		p = rte_pktmbuf_append(m, seg);
		CHECK(p != NULL);
		memset(p, seed + i, seg);
		done += seg;
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += seg;
		}
		last = m;
	}
	CHECK(done == len && head->pkt_len == len && mbuf_seg_sum(head) == len);
	return head;
}

#define OFF(bit) (1ULL << VIRTIO_NET_F_##bit)
/* The offload features a queue negotiates (3 bits of its feature byte). */
static const uint64_t offload_sets[8] = {
	0,
	OFF(CSUM) | OFF(GUEST_CSUM) | OFF(HOST_TSO4) | OFF(HOST_TSO6) | OFF(GUEST_TSO4) |
		OFF(GUEST_TSO6),                       /* what Linux negotiates */
	OFF(CSUM) | OFF(HOST_TSO4) | OFF(HOST_TSO6),   /* sends offloads, takes none */
	OFF(GUEST_CSUM) | OFF(GUEST_TSO4) | OFF(GUEST_TSO6), /* takes them, sends none */
	OFF(CSUM) | OFF(GUEST_CSUM),
	OFF(CSUM) | OFF(GUEST_CSUM) | OFF(HOST_TSO4) | OFF(GUEST_TSO4),
	OFF(CSUM) | OFF(GUEST_CSUM) | OFF(HOST_TSO6) | OFF(GUEST_TSO6),
	OFF(CSUM) | OFF(HOST_TSO4) | OFF(GUEST_TSO4) | OFF(GUEST_TSO6), /* TSO, no GUEST_CSUM */
};
static const uint16_t mss_sizes[8] = {1448, 1, 7, 100, 536, 1000, 1460, 4000};

/* Writes len bytes at off of m's frame, wherever its segments put them. */
static void
mbuf_put(struct rte_mbuf *m, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	for (; m != NULL && len > 0; m = m->next) {
		uint32_t n;

		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		n = RTE_MIN((uint32_t)m->data_len - off, len);
		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, off), s, n);
		s += n;
		len -= n;
		off = 0;
	}
}

/*
 * Makes m a frame asking for offloads (kind, see the input format): its
 * headers written over its bytes, then the ol_flags a guest's header for it
 * gives (vhd_net_hdr_to_mbuf, as rx does). A frame too short keeps none.
 */
static void
mbuf_offloads(struct rte_mbuf *m, uint8_t kind, uint16_t mss)
{
	bool v6 = kind == 3 || kind == 4 || kind == 6, tcp = kind != 2 && kind != 4;
	uint32_t l3 = v6 ? sizeof(struct rte_ipv6_hdr) : kind == 7 ? 24 : 20;
	uint32_t l4 = tcp ? sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr);
	uint32_t len = m->pkt_len, hdrs = 14 + l3 + l4;
	uint8_t h[14 + 40 + 20];
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};
	uint16_t phdr;

	if (kind == 0 || len < hdrs)
		return;
	memset(h, 0, sizeof(h));
	h[12] = v6 ? 0x86 : 0x08;
	h[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		struct rte_ipv6_hdr ip = {0};

		ip.vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip.payload_len = rte_cpu_to_be_16(len - 14 - l3);
		ip.proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		ip.hop_limits = 64;
		ip.src_addr[15] = 1;
		ip.dst_addr[15] = 2;
		memcpy(h + 14, &ip, sizeof(ip));
		phdr = rte_ipv6_phdr_cksum(&ip, 0);
	} else {
		struct rte_ipv4_hdr ip = {0};

		ip.version_ihl = 0x40 | (l3 / 4);
		ip.total_length = rte_cpu_to_be_16(len - 14);
		ip.time_to_live = 64;
		ip.next_proto_id = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		ip.src_addr = rte_cpu_to_be_32(0x0a000001);
		ip.dst_addr = rte_cpu_to_be_32(0x0a000002);
		memcpy(h + 14, &ip, sizeof(ip));
		phdr = rte_ipv4_phdr_cksum(&ip, 0);
	}
	if (tcp) {
		struct rte_tcp_hdr t = {0};

		t.sent_seq = rte_cpu_to_be_32(0xfffffff0);
		t.data_off = 5 << 4;
		t.tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
		t.cksum = phdr;
		memcpy(h + 14 + l3, &t, sizeof(t));
	} else {
		struct rte_udp_hdr u = {0};

		u.dgram_len = rte_cpu_to_be_16(len - 14 - l3);
		u.dgram_cksum = phdr;
		memcpy(h + 14 + l3, &u, sizeof(u));
	}
	mbuf_put(m, 0, h, hdrs);
	vh.csum_start = 14 + l3;
	vh.csum_offset = tcp ? offsetof(struct rte_tcp_hdr, cksum) :
			       offsetof(struct rte_udp_hdr, dgram_cksum);
	if (kind >= 5) {
		vh.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh.gso_size = mss;
		vh.hdr_len = hdrs;
	}
	/* refused (an MSS over the frame): the mbuf stays plain */
	(void)vhd_net_hdr_to_mbuf(&vh, m, offload_sets[1]);
}

static void
guest_free(struct guest *g)
{
	uint32_t i;

	for (i = 0; i < MAX_REGIONS; i++)
		free(g->region[i]);
	for (i = 0; i < 3; i++) {
		free(g->main.buf[i]);
		free(g->peer.buf[i]);
	}
	for (i = 0; i < g->nmbufs; i++)
		rte_pktmbuf_free(g->mbufs[i]);
}

static uint64_t
features_of(uint8_t b, uint8_t offload, uint8_t peer_feat)
{
	uint64_t f = offload_sets[offload & 7];

	if (peer_feat & 0x40)
		f |= 1ULL << VIRTIO_F_RING_PACKED;
	if (peer_feat & 0x80)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (b & 1)
		f |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (b & 2)
		f |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (b & 4)
		f |= 1ULL << VIRTIO_F_VERSION_1;
	return f;
}

/* Places q's rings (in region 0 if asked and it fits) and fills them from r. */
static void
queue_rings(struct guest *g, struct queue *q, struct reader *r, bool in_region0)
{
	uint16_t size = q->vq.size;
	size_t desc_sz = 16u * size, avail_sz = 6u + 2u * size, used_sz = 6u + 8u * size;
	size_t used_off = RTE_ALIGN_CEIL(desc_sz + avail_sz, 4);

	if (q->packed) {
		/* descriptors 16-aligned, event areas 4-aligned (the rings check's rules) */
		q->in_guest = in_region0 && g->mem.regions[0].size >= desc_sz + 8;
		if (q->in_guest) {
			q->pdesc = (struct vring_packed_desc *)g->region[0];
			q->driver_event = (struct vring_packed_desc_event *)(g->region[0] + desc_sz);
			q->device_event = q->driver_event + 1;
		} else {
			q->buf[0] = malloc(desc_sz);
			q->buf[1] = malloc(4);
			q->buf[2] = malloc(4);
			CHECK(q->buf[0] && q->buf[1] && q->buf[2]);
			q->pdesc = (struct vring_packed_desc *)q->buf[0];
			q->driver_event = (struct vring_packed_desc_event *)q->buf[1];
			q->device_event = (struct vring_packed_desc_event *)q->buf[2];
		}
		rd_bytes(r, q->pdesc, desc_sz, 0);
		rd_bytes(r, q->driver_event, 4, 0);
		memset(q->device_event, 0, 4);
		return;
	}
	q->in_guest = in_region0 && g->mem.regions[0].size >= used_off + used_sz;
	if (q->in_guest) {
		q->desc = (struct vring_desc *)g->region[0];
		q->avail = (struct vring_avail *)(g->region[0] + desc_sz);
		q->used = (struct vring_used *)(g->region[0] + used_off);
	} else {
		q->buf[0] = malloc(desc_sz);
		q->buf[1] = malloc(avail_sz);
		q->buf[2] = malloc(used_sz);
		CHECK(q->buf[0] && q->buf[1] && q->buf[2]);
		q->desc = (struct vring_desc *)q->buf[0];
		q->avail = (struct vring_avail *)q->buf[1];
		q->used = (struct vring_used *)q->buf[2];
	}
	rd_bytes(r, q->desc, desc_sz, 0);
	rd_bytes(r, q->avail, avail_sz, 0);
	memset(q->used, 0, used_sz);
	q->used->idx = q->vq.last_used_idx;
}

static void
queue_init(struct guest *g, struct queue *q, uint8_t feat, uint8_t offload, uint8_t peer_feat,
	   int callfd)
{
	q->vq.callfd = callfd;
	q->vq.mem = &g->mem;
	if (q->packed) {
		q->vq.desc_packed = q->pdesc;
		q->vq.driver_event = q->driver_event;
		q->vq.device_event = q->device_event;
		CHECK(vhd_virtq_init(&q->vq, features_of(feat, offload, peer_feat)) == 0);
		CHECK(q->vq.hdr_len == ((feat & 5) ? 12 : 10));
		/* we poll: no kicks wanted */
		CHECK(q->device_event->flags == VRING_PACKED_EVENT_FLAG_DISABLE);
		CHECK(q->vq.last_avail_idx < q->vq.size && q->vq.last_used_idx < q->vq.size);
		return;
	}
	q->vq.desc = q->desc;
	q->vq.avail = q->avail;
	q->vq.used = q->used;
	CHECK(vhd_virtq_init(&q->vq, features_of(feat, offload, peer_feat)) == 0);
	CHECK(q->vq.hdr_len == ((feat & 5) ? 12 : 10));
	CHECK(q->used->flags == VRING_USED_F_NO_NOTIFY);
}

/*
 * A packed ring's vring base from the input's u16: the wrap counter in bit
 * 15, the slot made one of the ring's (any other is refused at init, as
 * test_virtq_packed_hostile shows).
 */
static uint16_t
packed_base(uint16_t v, uint16_t size)
{
	return (uint16_t)((v & 0x8000) | ((v & 0x7fff) % size));
}

/* Builds the guest from the input; false: skip it (a table vhostd refuses). */
static bool
guest_build(struct guest *g, struct reader *r, uint8_t *ops, uint32_t *nops)
{
	uint32_t gap[MAX_REGIONS], coff[MAX_REGIONS], clen[MAX_REGIONS], i;
	uint16_t mlen[MAX_MBUFS];
	uint8_t msegs[MAX_MBUFS];
	uint8_t feat, peer_feat, fill;
	uint64_t gpa;
	struct reader rings;

	g->main.name = "main";
	g->peer.name = "peer";
	feat = rd8(r);
	g->main.vq.size = rd8(r); /* the size once the layout is known, below */
	g->main.vq.last_avail_idx = rd16(r);
	g->main.vq.last_used_idx = rd16(r);
	g->mem.nregions = 1 + rd8(r) % MAX_REGIONS;
	fill = rd8(r);
	gpa = rd64(r);
	for (i = 0; i < MAX_REGIONS; i++) {
		gap[i] = rd32(r);
		g->mem.regions[i].size = (rd16(r) & REGION_SIZE_MASK) + 1u;
		coff[i] = rd16(r);
		clen[i] = rd16(r);
	}
	peer_feat = rd8(r);
	g->peer.vq.size = rd8(r);
	g->peer.vq.last_avail_idx = rd16(r);
	g->peer.vq.last_used_idx = rd16(r);
	g->packed = peer_feat & 0x40;
	g->main.packed = g->packed;
	g->peer.packed = g->packed;
	if (g->packed) {
		g->main.vq.size = 1u + g->main.vq.size;
		g->peer.vq.size = 1u + g->peer.vq.size;
		/* one vring base for both positions, as SET_VRING_BASE gives */
		g->main.vq.last_avail_idx = packed_base(g->main.vq.last_avail_idx, g->main.vq.size);
		g->main.vq.last_used_idx = g->main.vq.last_avail_idx;
		g->peer.vq.last_avail_idx = packed_base(g->peer.vq.last_avail_idx, g->peer.vq.size);
		g->peer.vq.last_used_idx = g->peer.vq.last_avail_idx;
	} else {
		g->main.vq.size = (uint16_t)(2u << (g->main.vq.size % 8));
		g->peer.vq.size = (uint16_t)(2u << (g->peer.vq.size % 8));
	}
	g->nmbufs = rd8(r) % (MAX_MBUFS + 1);
	*nops = 1 + rd8(r) % MAX_OPS;
	for (i = 0; i < MAX_OPS; i++)
		ops[i] = rd8(r);
	for (i = 0; i < MAX_MBUFS; i++) {
		mlen[i] = rd16(r);
		msegs[i] = rd8(r);
	}
	CHECK(r->off == HDR_LEN);

	/* memory table: region i > 0 starts gap[i] after the previous one's end */
	for (i = 0; i < g->mem.nregions; i++) {
		struct vhd_mem_region *reg = &g->mem.regions[i];

		if (i > 0)
			gpa = g->mem.regions[i - 1].guest_phys_addr + g->mem.regions[i - 1].size +
			      gap[i];
		reg->guest_phys_addr = gpa;
		g->region[i] = malloc(reg->size);
		CHECK(g->region[i] != NULL);
		reg->host_addr = (uint64_t)(uintptr_t)g->region[i];
	}
	for (; i < MAX_REGIONS; i++)
		g->mem.regions[i].size = 0;
	/* what vhostd's registry refuses (a region wrapping 2^64) never reaches the datapath */
	if (vhd_mem_table_check(&g->mem) != 0)
		return false;

	/* guest memory first, so that rings the input gives win inside region 0 */
	rings = *r;
	if (g->packed) {
		r->off += 16u * g->main.vq.size + 4u;
		r->off += 16u * g->peer.vq.size + 4u;
	} else {
		r->off += 16u * g->main.vq.size + 6u + 2u * g->main.vq.size;
		r->off += 16u * g->peer.vq.size + 6u + 2u * g->peer.vq.size;
	}
	for (i = 0; i < g->mem.nregions; i++) {
		size_t sz = g->mem.regions[i].size;
		size_t off = coff[i] % sz;
		size_t n = clen[i] < sz - off ? clen[i] : sz - off;

		memset(g->region[i], fill, off);
		rd_bytes(r, g->region[i] + off, n, fill);
		memset(g->region[i] + off + n, fill, sz - off - n);
	}
	queue_rings(g, &g->main, &rings, feat & 8);
	queue_rings(g, &g->peer, &rings, false);
	queue_init(g, &g->main, feat, feat >> 5, peer_feat, (feat & 16) ? efd : -1);
	queue_init(g, &g->peer, peer_feat, peer_feat >> 3, peer_feat, (feat & 16) ? efd : -1);

	for (i = 0; i < g->nmbufs; i++) {
		g->mbufs[i] = make_mbuf(mlen[i] & PKT_LEN_MASK, msegs[i], (uint8_t)(i * 16));
		mbuf_offloads(g->mbufs[i], (msegs[i] >> 2) & 7, mss_sizes[mlen[i] >> 13]);
	}
	return true;
}

struct before {
	uint16_t avail_idx;
	uint16_t last_avail;
	uint16_t last_used;
	struct vhd_virtq_stats stats;
};

static void
snap(const struct queue *q, struct before *b)
{
	b->avail_idx = q->avail->idx;
	b->last_avail = q->vq.last_avail_idx;
	b->last_used = q->vq.last_used_idx;
	b->stats = q->vq.stats;
}

/*
 * Chains or packets refused since b: malformed (errors), a refused
 * virtio-net header (hdr_errors) or too big for a side.
 */
static uint64_t
errors_since_stats(const struct queue *q, const struct vhd_virtq_stats *b, bool with_avail_idx)
{
	uint64_t sum = q->vq.stats.too_big - b->too_big;
	int e;

	for (e = with_avail_idx ? 0 : 1; e < VHD_DESC_ERR_MAX; e++)
		sum += q->vq.stats.errors[e] - b->errors[e];
	for (e = 0; e < VHD_HDR_ERR_MAX; e++)
		sum += q->vq.stats.hdr_errors[e] - b->hdr_errors[e];
	return sum;
}

static uint64_t
errors_since(const struct queue *q, const struct before *b, bool with_avail_idx)
{
	return errors_since_stats(q, &b->stats, with_avail_idx);
}

/* One line per queue and burst for FUZZ_VIRTQ_DEBUG; make_seeds.py --check parses it. */
static void
debug_op_stats(const char *what, const struct queue *q, const struct vhd_virtq_stats *bs,
	       uint16_t ret, uint16_t consumed)
{
	const char *sep = "";
	int e;

	if (!debug)
		return;
	fprintf(stderr, "op %s ret=%u consumed=%u no_room=%" PRIu64 " no_mbuf=%" PRIu64 " errs=",
		what, ret, consumed, q->vq.stats.no_room - bs->no_room,
		q->vq.stats.no_mbuf - bs->no_mbuf);
	for (e = 0; e < VHD_DESC_ERR_MAX; e++) {
		uint64_t d = q->vq.stats.errors[e] - bs->errors[e];

		if (d > 0) {
			fprintf(stderr, "%s%s:%" PRIu64, sep, vhd_desc_error_name(e), d);
			sep = ",";
		}
	}
	for (e = 0; e < VHD_HDR_ERR_MAX; e++) {
		uint64_t d = q->vq.stats.hdr_errors[e] - bs->hdr_errors[e];

		if (d > 0) {
			fprintf(stderr, "%s%s:%" PRIu64, sep, vhd_hdr_error_name(e), d);
			sep = ",";
		}
	}
	/* not an error, but refused all the same: listed with them */
	if (q->vq.stats.too_big != bs->too_big)
		fprintf(stderr, "%stoo_big:%" PRIu64, sep, q->vq.stats.too_big - bs->too_big);
	fprintf(stderr, "\n");
}

static void
debug_op(const char *what, const struct queue *q, const struct before *b, uint16_t ret,
	 uint16_t consumed)
{
	debug_op_stats(what, q, &b->stats, ret, consumed);
}

/*
 * Position invariants of every burst on q. avail_checked: the burst read q's
 * avail->idx (and counts one error if it is implausible). Returns how many
 * entries the burst consumed, which is also how many used entries it published.
 */
static uint16_t
check_positions(const struct queue *q, const struct before *b, bool avail_checked)
{
	uint16_t navail = (uint16_t)(b->avail_idx - b->last_avail);
	uint16_t consumed = (uint16_t)(q->vq.last_avail_idx - b->last_avail);
	uint16_t published = (uint16_t)(q->used->idx - b->last_used);

	/* used->idx is what the vq says it published */
	CHECK(q->used->idx == q->vq.last_used_idx);
	if (navail > q->vq.size) {
		/* an implausible avail->idx: nothing moves, one error */
		CHECK(consumed == 0 && published == 0);
		CHECK(q->vq.stats.errors[VHD_DESC_ERR_AVAIL_IDX] ==
		      b->stats.errors[VHD_DESC_ERR_AVAIL_IDX] + (avail_checked ? 1 : 0));
		return 0;
	}
	CHECK(q->vq.stats.errors[VHD_DESC_ERR_AVAIL_IDX] == b->stats.errors[VHD_DESC_ERR_AVAIL_IDX]);
	/* never more than available (so never more than the ring), each one given back */
	CHECK(consumed <= navail && consumed <= q->vq.size);
	CHECK(published == consumed);
	return consumed;
}

/* Used entries [from, from + n) of q: their lengths' sum and how many are not 0. */
static uint64_t
used_len_sum(const struct queue *q, uint16_t from, uint16_t n, uint16_t *nonzero)
{
	uint64_t sum = 0;
	uint16_t i;

	*nonzero = 0;
	for (i = 0; i < n; i++) {
		uint32_t len = q->used->ring[(uint16_t)(from + i) & (q->vq.size - 1)].len;

		sum += len;
		*nonzero += len > 0;
	}
	return sum;
}

/*
 * What rx promises about a received mbuf's offload fields: none from a guest
 * without offloads; otherwise requests that fit the frame, which the
 * software checksum and segmentation of tx then rely on.
 */
static void
check_rx_offloads(const struct queue *q, const struct rte_mbuf *m)
{
	uint64_t ol = m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK;
	uint32_t l4_off = m->l2_len + m->l3_len, hdrs = l4_off + m->l4_len;

	if (!(q->vq.flags & VHD_VQ_F_OFFLOAD)) {
		CHECK(ol == 0);
		return;
	}
	if (ol & RTE_MBUF_F_TX_TCP_SEG) {
		CHECK(q->vq.features & ((1ULL << VIRTIO_NET_F_HOST_TSO4) |
					(1ULL << VIRTIO_NET_F_HOST_TSO6)));
		CHECK(m->tso_segsz > 0 && m->l4_len >= sizeof(struct rte_tcp_hdr));
		/* a payload that fits one segment is a checksum request */
		CHECK(hdrs < m->pkt_len && m->tso_segsz < m->pkt_len - hdrs);
		CHECK(!!(ol & RTE_MBUF_F_TX_IPV4) + !!(ol & RTE_MBUF_F_TX_IPV6) == 1);
	} else if (ol & RTE_MBUF_F_TX_L4_MASK) {
		uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;

		CHECK(q->vq.features & (1ULL << VIRTIO_NET_F_CSUM));
		CHECK(l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM);
		CHECK(l4_off + (l4 == RTE_MBUF_F_TX_TCP_CKSUM ? offsetof(struct rte_tcp_hdr, cksum) :
				offsetof(struct rte_udp_hdr, dgram_cksum)) + 2 <= m->pkt_len);
		CHECK(!!(ol & RTE_MBUF_F_TX_IPV4) + !!(ol & RTE_MBUF_F_TX_IPV6) == 1);
	} else {
		CHECK(ol == 0);
	}
}

/* A hash of m's bytes: tx must leave the caller's mbufs alone (they may be shared). */
static uint64_t
mbuf_hash(const struct rte_mbuf *m)
{
	uint64_t h = 1469598103934665603ULL;

	for (; m != NULL; m = m->next) {
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t i;

		for (i = 0; i < m->data_len; i++)
			h = (h ^ p[i]) * 1099511628211ULL;
	}
	return h;
}

/* Frames beyond one that tx makes of m for q: the segments of a TSO frame. */
static uint32_t
extra_segments(const struct queue *q, const struct rte_mbuf *m)
{
	struct virtio_net_hdr h;

	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) ||
	    vhd_net_hdr_from_mbuf(m, q->vq.features, &h) != VHD_HDR_TX_SEGMENT)
		return 0;
	return vhd_net_seg_count(m) - 1;
}

/* What rx promises about the mbufs it returns; their bytes. */
static uint64_t
check_rx_mbufs(const struct queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t bytes = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i], *seg;
		uint32_t segs = 0, sum = 0;

		CHECK(m != NULL);
		CHECK(m->pkt_len >= MIN_FRAME_LEN && m->pkt_len <= VHD_MAX_FRAME_LEN);
		/* a frame over one mbuf is a chain of full mbufs from the same pool */
		for (seg = m; seg != NULL; seg = seg->next) {
			CHECK(seg->pool == pool && seg->data_len > 0);
			CHECK(seg->data_off + seg->data_len <= seg->buf_len);
			CHECK(seg->next == NULL || seg->data_off + seg->data_len == seg->buf_len);
			segs++;
			sum += seg->data_len;
		}
		CHECK(segs == m->nb_segs && sum == m->pkt_len);
		check_rx_offloads(q, m);
		bytes += m->pkt_len;
	}
	return bytes;
}

static void
do_rx(struct guest *g, uint16_t count, bool starve)
{
	struct queue *q = &g->main;
	struct rte_mbuf *pkts[64];
	struct rte_mbuf *held[POOL_SIZE];
	unsigned int nheld = 0;
	struct before b;
	uint64_t bytes = 0;
	uint16_t n, consumed, navail, nonzero, i;

	if (starve) {
		while (nheld < POOL_SIZE && (held[nheld] = rte_pktmbuf_alloc(pool)) != NULL)
			nheld++;
	}
	snap(q, &b);
	navail = (uint16_t)(b.avail_idx - b.last_avail);
	n = vhd_virtq_rx_burst(&q->vq, pool, pkts, count);
	consumed = check_positions(q, &b, true);

	CHECK(n <= count && n <= VHD_BURST_MAX && n <= consumed);
	if (navail <= q->vq.size) {
		uint16_t want = RTE_MIN(navail, RTE_MIN(count, (uint16_t)VHD_BURST_MAX));

		if (starve && want > 0)
			CHECK(consumed == 0 && q->vq.stats.no_mbuf == b.stats.no_mbuf + 1);
		else if (q->vq.stats.no_mbuf != b.stats.no_mbuf)
			/* a big frame's chain found no mbufs: it and the rest stay */
			CHECK(q->vq.stats.no_mbuf == b.stats.no_mbuf + 1 && consumed < want);
		else
			CHECK(consumed == want);
		/* each refused chain is counted once */
		CHECK(errors_since(q, &b, true) == (uint64_t)(consumed - n));
	}
	bytes = check_rx_mbufs(q, pkts, n);
	CHECK(q->vq.stats.bytes - b.stats.bytes == bytes);
	CHECK(q->vq.stats.packets - b.stats.packets == n);
	/* a guest tx buffer is given back with length 0 */
	if (!q->in_guest)
		CHECK(used_len_sum(q, b.last_used, consumed, &nonzero) == 0);
	debug_op("rx", q, &b, n, consumed);
	rte_pktmbuf_free_bulk(pkts, n);
	for (i = 0; i < nheld; i++)
		rte_pktmbuf_free(held[i]);
}

static void
do_tx(struct guest *g, uint16_t count)
{
	struct queue *q = &g->main;
	uint32_t lens[MAX_MBUFS];
	uint16_t nsegs[MAX_MBUFS];
	uint64_t hash[MAX_MBUFS], ol[MAX_MBUFS];
	struct before b;
	uint16_t sent, consumed, navail, nonzero, i;
	uint64_t accounted, frames, extra = 0;

	for (i = 0; i < count; i++) {
		lens[i] = g->mbufs[i]->pkt_len;
		nsegs[i] = g->mbufs[i]->nb_segs;
		hash[i] = mbuf_hash(g->mbufs[i]);
		ol[i] = g->mbufs[i]->ol_flags;
		extra += extra_segments(q, g->mbufs[i]);
	}
	snap(q, &b);
	navail = (uint16_t)(b.avail_idx - b.last_avail);
	sent = vhd_virtq_tx_burst(&q->vq, g->mbufs, count);
	consumed = check_positions(q, &b, true);

	CHECK(sent <= count && sent <= consumed);
	/* the caller's mbufs are left alone, bytes and flags: a software checksum
	 * goes into the guest's copy only */
	for (i = 0; i < count; i++)
		CHECK(g->mbufs[i]->pkt_len == lens[i] && g->mbufs[i]->nb_segs == nsegs[i] &&
		      mbuf_seg_sum(g->mbufs[i]) == lens[i] && mbuf_hash(g->mbufs[i]) == hash[i] &&
		      g->mbufs[i]->ol_flags == ol[i]);
	/*
	 * Frames the guest got: one per packet sent, and for a TSO packet cut
	 * into segments up to one per segment (a packet with some segments in
	 * counts as sent, one dropped on a bad chain or as too big after some
	 * as dropped).
	 */
	frames = q->vq.stats.packets - b.stats.packets;
	CHECK(frames >= sent && frames - sent <= extra);
	/*
	 * Each packet is sent, dropped for a bad chain (one error), too big, or
	 * lacks room; the segments of a TSO packet partly sent that found no
	 * room count in no_room too.
	 */
	accounted = q->vq.stats.no_room - b.stats.no_room + errors_since(q, &b, true) + sent;
	if (navail <= q->vq.size)
		CHECK(accounted >= count && accounted - count <= extra);
	/* tx may have written packet data over the rings when they live in guest memory */
	if (!q->in_guest) {
		/* bytes written to the guest == headers + frames sent */
		CHECK(used_len_sum(q, b.last_used, consumed, &nonzero) ==
		      q->vq.stats.bytes - b.stats.bytes + frames * q->vq.hdr_len);
		if (q->vq.flags & VHD_VQ_F_MRG_RXBUF)
			CHECK(nonzero >= frames);
		else
			CHECK(nonzero == frames);
	}
	debug_op("tx", q, &b, sent, consumed);
}

static void
do_forward(struct guest *g, struct queue *from, struct queue *to, uint16_t count)
{
	struct before bf, bt;
	uint16_t navail, recv, consumed, to_consumed, nonzero;
	uint64_t to_sent;

	snap(from, &bf);
	snap(to, &bt);
	navail = (uint16_t)(bf.avail_idx - bf.last_avail);
	recv = vhd_virtq_forward_burst(&from->vq, &to->vq, count);

	/* source side: like rx, without mbufs */
	consumed = check_positions(from, &bf, true);
	CHECK(recv <= count && recv <= VHD_BURST_MAX && recv <= consumed);
	CHECK(from->vq.stats.packets - bf.stats.packets == recv);
	CHECK(from->vq.stats.bytes - bf.stats.bytes >= (uint64_t)recv * MIN_FRAME_LEN);
	CHECK(from->vq.stats.bytes - bf.stats.bytes <= (uint64_t)recv * VHD_MAX_FRAME_LEN);
	if (navail <= from->vq.size) {
		CHECK(consumed == RTE_MIN(navail, RTE_MIN(count, (uint16_t)VHD_BURST_MAX)));
		CHECK(errors_since(from, &bf, true) == (uint64_t)(consumed - recv));
	}
	/* source buffers are given back with length 0 (unless the copy overwrote them) */
	if (!from->in_guest)
		CHECK(used_len_sum(from, bf.last_used, consumed, &nonzero) == 0);

	/* destination side: its avail->idx is read only when the source had packets */
	to_consumed = check_positions(to, &bt, navail > 0 && navail <= from->vq.size);
	to_sent = to->vq.stats.packets - bt.stats.packets;
	/* each packet received is sent, dropped for a bad chain or too big, or lacks room */
	CHECK(to_sent + errors_since(to, &bt, false) + to->vq.stats.no_room - bt.stats.no_room ==
	      recv);
	CHECK(to->vq.stats.bytes - bt.stats.bytes <= from->vq.stats.bytes - bf.stats.bytes);
	if (!to->in_guest) {
		CHECK(used_len_sum(to, bt.last_used, to_consumed, &nonzero) ==
		      to->vq.stats.bytes - bt.stats.bytes + to_sent * to->vq.hdr_len);
		CHECK(nonzero >= to_sent);
	}
	debug_op("fwd", from, &bf, recv, consumed);
	debug_op("to", to, &bt, (uint16_t)to_sent, to_consumed);
}

/*
 * ---- packed mode ----
 *
 * A packed ring has no avail->idx and no used->idx: what the driver made
 * available is in each descriptor's AVAIL/USED bits against the wrap
 * counters, and the device writes a used descriptor at the first slot of
 * each buffer it completes. The checks: the device's used position always
 * equals its avail position (buffers complete in order, each burst
 * completes what it takes, a packet that finds no room or is too big gives
 * its buffers back), it moved over whole buffers that were available, each
 * used descriptor is marked used in its lap and carries the id of its
 * buffer's last descriptor, and the counts and lengths add up as in split
 * mode.
 */
#define PK_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PK_USED (1u << VRING_PACKED_DESC_F_USED)
#define PK_RING_MAX 256
/* buffers completed: not known (the burst may have read slots it had completed) */
#define PK_UNKNOWN 0xffff

static bool
pk_avail(uint16_t flags, bool wrap)
{
	return (flags & (PK_AVAIL | PK_USED)) == (wrap ? PK_AVAIL : PK_USED);
}

static void
pk_advance(uint16_t size, uint16_t *slot, bool *wrap, uint32_t n)
{
	uint32_t s = *slot + n;

	while (s >= size) {
		s -= size;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)s;
}

/*
 * A packed queue before a burst: the device's position, the ring as it was,
 * and the model of what is available there: the buffers from the position
 * on whose first slot is available in its lap, each as many slots as its
 * NEXT flags chain (at most the ring size, as the datapath walks), as long
 * as they fit one lap together. Past that (cut) a buffer would read slots the
 * burst has already completed, which the copy no longer tells.
 */
struct pk_before {
	uint16_t slot;
	bool wrap;
	bool cut;
	uint16_t nbufs;
	struct vhd_virtq_stats stats;
	struct vring_packed_desc ring[PK_RING_MAX];
	uint16_t ndesc[PK_RING_MAX];
};

static void
pk_snap(const struct queue *q, struct pk_before *b)
{
	uint16_t size = q->vq.size, slot, k, s;
	uint32_t total = 0;
	bool wrap;

	b->slot = q->vq.last_avail_idx;
	b->wrap = q->vq.avail_wrap;
	b->stats = q->vq.stats;
	memcpy(b->ring, q->pdesc, 16u * size);
	b->nbufs = 0;
	b->cut = false;
	slot = b->slot;
	wrap = b->wrap;
	while (total < size && pk_avail(b->ring[slot].flags, wrap)) {
		for (k = 1, s = slot; k < size && (b->ring[s].flags & VRING_DESC_F_NEXT); k++)
			s = (uint16_t)((s + 1) % size);
		if (total + k > size) {
			b->cut = true;
			break;
		}
		b->ndesc[b->nbufs++] = k;
		total += k;
		pk_advance(size, &slot, &wrap, k);
	}
}

/*
 * Position invariants of a burst on packed q, and its used descriptors
 * walked buffer by buffer (check_used: unless packet data may have been
 * copied over a ring inside guest memory). Returns the buffers completed
 * (PK_UNKNOWN if the model cannot tell), their used lengths' sum and how
 * many are not 0.
 */
static uint16_t
pk_check(const struct queue *q, const struct pk_before *b, bool check_used, uint64_t *len_sum,
	 uint16_t *nonzero)
{
	uint16_t size = q->vq.size, slot = b->slot, j;
	bool wrap = b->wrap;
	uint32_t moved, acc = 0;

	*len_sum = 0;
	*nonzero = 0;
	CHECK(q->vq.last_avail_idx < size && q->vq.last_used_idx < size);
	/* completed in order: the used position follows the avail one exactly */
	CHECK(q->vq.last_used_idx == q->vq.last_avail_idx && q->vq.used_wrap == q->vq.avail_wrap);
	/* a packed ring never counts an implausible avail->idx */
	CHECK(q->vq.stats.errors[VHD_DESC_ERR_AVAIL_IDX] == b->stats.errors[VHD_DESC_ERR_AVAIL_IDX]);
	if (b->cut)
		return PK_UNKNOWN;
	moved = (q->vq.last_avail_idx + (q->vq.avail_wrap ? size : 0) + 2u * size - b->slot -
		 (b->wrap ? size : 0)) % (2u * size);
	for (j = 0; j < b->nbufs && acc < moved; j++) {
		const struct vring_packed_desc *d = &q->pdesc[slot];
		uint16_t last = (uint16_t)((slot + b->ndesc[j] - 1u) % size);

		if (check_used) {
			uint16_t flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);

			CHECK((flags & (PK_AVAIL | PK_USED)) == (wrap ? PK_AVAIL | PK_USED : 0));
			CHECK(d->id == b->ring[last].id);
			*len_sum += d->len;
			*nonzero += d->len > 0;
		}
		acc += b->ndesc[j];
		pk_advance(size, &slot, &wrap, b->ndesc[j]);
	}
	/* it took whole buffers, and only ones the driver had made available */
	CHECK(acc == moved);
	return j;
}

static void
pk_do_rx(struct guest *g, uint16_t count, bool starve)
{
	static struct pk_before b;
	struct queue *q = &g->main;
	struct rte_mbuf *pkts[64];
	struct rte_mbuf *held[POOL_SIZE];
	unsigned int nheld = 0, i;
	uint16_t n, bufs, nonzero;
	uint64_t errs, lens;

	if (starve) {
		while (nheld < POOL_SIZE && (held[nheld] = rte_pktmbuf_alloc(pool)) != NULL)
			nheld++;
	}
	pk_snap(q, &b);
	n = vhd_virtq_rx_burst(&q->vq, pool, pkts, count);
	bufs = pk_check(q, &b, true, &lens, &nonzero);
	errs = errors_since_stats(q, &b.stats, true);

	CHECK(n <= count && n <= VHD_BURST_MAX);
	/* each refused buffer is counted once, and a burst takes at most 32 */
	CHECK(n + errs <= (uint64_t)RTE_MIN(count, (uint16_t)VHD_BURST_MAX));
	if (bufs != PK_UNKNOWN) {
		CHECK(bufs == n + errs);
		/* a guest tx buffer is given back with length 0 */
		CHECK(lens == 0);
		if (count > 0 && b.nbufs > 0) {
			if (starve)
				CHECK(bufs == 0 && q->vq.stats.no_mbuf == b.stats.no_mbuf + 1);
			else if (q->vq.stats.no_mbuf == b.stats.no_mbuf)
				CHECK(bufs > 0); /* never stalls */
		}
	}
	CHECK(q->vq.stats.bytes - b.stats.bytes == check_rx_mbufs(q, pkts, n));
	CHECK(q->vq.stats.packets - b.stats.packets == n);
	debug_op_stats("rx", q, &b.stats, n, bufs);
	rte_pktmbuf_free_bulk(pkts, n);
	for (i = 0; i < nheld; i++)
		rte_pktmbuf_free(held[i]);
}

static void
pk_do_tx(struct guest *g, uint16_t count)
{
	static struct pk_before b;
	struct queue *q = &g->main;
	uint32_t lens[MAX_MBUFS];
	uint16_t nsegs[MAX_MBUFS];
	uint64_t hash[MAX_MBUFS], ol[MAX_MBUFS];
	uint16_t sent, bufs, nonzero, i;
	uint64_t accounted, frames, extra = 0, used_lens;

	for (i = 0; i < count; i++) {
		lens[i] = g->mbufs[i]->pkt_len;
		nsegs[i] = g->mbufs[i]->nb_segs;
		hash[i] = mbuf_hash(g->mbufs[i]);
		ol[i] = g->mbufs[i]->ol_flags;
		extra += extra_segments(q, g->mbufs[i]);
	}
	pk_snap(q, &b);
	sent = vhd_virtq_tx_burst(&q->vq, g->mbufs, count);
	/* tx may have written packet data over the ring when it lives in guest memory */
	bufs = pk_check(q, &b, !q->in_guest, &used_lens, &nonzero);

	CHECK(sent <= count);
	for (i = 0; i < count; i++)
		CHECK(g->mbufs[i]->pkt_len == lens[i] && g->mbufs[i]->nb_segs == nsegs[i] &&
		      mbuf_seg_sum(g->mbufs[i]) == lens[i] && mbuf_hash(g->mbufs[i]) == hash[i] &&
		      g->mbufs[i]->ol_flags == ol[i]);
	/* as in split mode (do_tx) */
	frames = q->vq.stats.packets - b.stats.packets;
	CHECK(frames >= sent && frames - sent <= extra);
	accounted = q->vq.stats.no_room - b.stats.no_room + errors_since_stats(q, &b.stats, true) +
		    sent;
	CHECK(accounted >= count && accounted - count <= extra);
	/*
	 * Never stalls: without MRG_RXBUF a packet finds no room only when no
	 * buffer is available, so with one available the first packet is sent,
	 * refused or too big (the segments of a TSO packet that did not fit
	 * count in no_room as well).
	 */
	if (count > 0 && b.nbufs > 0 && !(q->vq.flags & VHD_VQ_F_MRG_RXBUF))
		CHECK(accounted - (q->vq.stats.no_room - b.stats.no_room) > 0);
	if (bufs != PK_UNKNOWN && !q->in_guest) {
		CHECK(used_lens == q->vq.stats.bytes - b.stats.bytes + frames * q->vq.hdr_len);
		if (q->vq.flags & VHD_VQ_F_MRG_RXBUF)
			CHECK(nonzero >= frames);
		else
			CHECK(nonzero == frames);
	}
	debug_op_stats("tx", q, &b.stats, sent, bufs);
}

static void
pk_do_forward(struct guest *g, struct queue *from, struct queue *to, uint16_t count)
{
	static struct pk_before bf, bt;
	/* the copy may land on the main ring when it lives in guest memory */
	bool check_used = !g->main.in_guest;
	uint16_t recv, bufs, to_bufs, nonzero;
	uint64_t errs, lens, to_sent;

	pk_snap(from, &bf);
	pk_snap(to, &bt);
	recv = vhd_virtq_forward_burst(&from->vq, &to->vq, count);

	/* source side: like rx, without mbufs */
	bufs = pk_check(from, &bf, check_used, &lens, &nonzero);
	errs = errors_since_stats(from, &bf.stats, true);
	CHECK(recv <= count && recv <= VHD_BURST_MAX);
	CHECK(recv + errs <= (uint64_t)RTE_MIN(count, (uint16_t)VHD_BURST_MAX));
	CHECK(from->vq.stats.packets - bf.stats.packets == recv);
	CHECK(from->vq.stats.bytes - bf.stats.bytes >= (uint64_t)recv * MIN_FRAME_LEN);
	CHECK(from->vq.stats.bytes - bf.stats.bytes <= (uint64_t)recv * VHD_MAX_FRAME_LEN);
	if (bufs != PK_UNKNOWN) {
		CHECK(bufs == recv + errs);
		if (check_used)
			CHECK(lens == 0);
		/* never stalls: no mbuf is needed here */
		if (count > 0 && bf.nbufs > 0)
			CHECK(bufs > 0);
	}

	/* destination side: each packet received is sent, dropped or lacks room */
	to_bufs = pk_check(to, &bt, check_used, &lens, &nonzero);
	to_sent = to->vq.stats.packets - bt.stats.packets;
	CHECK(to_sent + errors_since_stats(to, &bt.stats, true) + to->vq.stats.no_room -
	      bt.stats.no_room == recv);
	CHECK(to->vq.stats.bytes - bt.stats.bytes <= from->vq.stats.bytes - bf.stats.bytes);
	if (to_bufs != PK_UNKNOWN && check_used) {
		CHECK(lens == to->vq.stats.bytes - bt.stats.bytes + to_sent * to->vq.hdr_len);
		CHECK(nonzero >= to_sent);
	}
	debug_op_stats("fwd", from, &bf.stats, recv, bufs);
	debug_op_stats("to", to, &bt.stats, (uint16_t)to_sent, to_bufs);
}

/* The guest posts its buffers again: n slots from the device's position made available. */
static void
pk_post(struct queue *q, uint16_t n)
{
	uint16_t slot = q->vq.last_avail_idx, i;
	bool wrap = q->vq.avail_wrap;

	for (i = 0; i < n && i < q->vq.size; i++) {
		uint16_t f = q->pdesc[slot].flags & ~(PK_AVAIL | PK_USED);

		q->pdesc[slot].flags = f | (wrap ? PK_AVAIL : PK_USED);
		pk_advance(q->vq.size, &slot, &wrap, 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, size, 0};
	struct guest g;
	uint8_t ops[MAX_OPS];
	uint32_t nops, i;
	bool starve = false;

	memset(&g, 0, sizeof(g));
	if (!guest_build(&g, &r, ops, &nops)) {
		if (debug)
			fprintf(stderr, "guest refused\n");
		guest_free(&g);
		return 0;
	}
	if (debug && g.packed)
		fprintf(stderr, "guest packed size=%u/%u regions=%u flags=0x%x/0x%x avail=%u/%u "
			"rings=%s\n", g.main.vq.size, g.peer.vq.size, g.mem.nregions, g.main.vq.flags,
			g.peer.vq.flags, g.main.vq.last_avail_idx, g.main.vq.avail_wrap,
			g.main.in_guest ? "in guest" : "separate");
	else if (debug)
		fprintf(stderr, "guest size=%u/%u regions=%u flags=0x%x/0x%x avail=%u-%u rings=%s\n",
			g.main.vq.size, g.peer.vq.size, g.mem.nregions, g.main.vq.flags,
			g.peer.vq.flags, g.main.vq.last_avail_idx, g.main.avail->idx,
			g.main.in_guest ? "in guest" : "separate");
	for (i = 0; i < nops; i++) {
		uint8_t op = ops[i];

		switch (op >> 6) {
		case 0:
			if (g.packed)
				pk_do_rx(&g, op & 0x3f, starve);
			else
				do_rx(&g, op & 0x3f, starve);
			starve = false;
			break;
		case 1:
			if (g.packed)
				pk_do_tx(&g, (uint16_t)((op & 0x3f) % (g.nmbufs + 1)));
			else
				do_tx(&g, (uint16_t)((op & 0x3f) % (g.nmbufs + 1)));
			break;
		case 2:
			if (!(op & 0x20) && g.packed)
				pk_post(&g.main, op & 0x1f);
			else if (!(op & 0x20))
				g.main.avail->idx += op & 0x1f;
			else if (g.packed)
				pk_do_forward(&g, (op & 0x10) ? &g.peer : &g.main,
					      (op & 0x10) ? &g.main : &g.peer, 3 * (op & 0xf));
			else if (!(op & 0x10))
				do_forward(&g, &g.main, &g.peer, 3 * (op & 0xf));
			else
				do_forward(&g, &g.peer, &g.main, 3 * (op & 0xf));
			break;
		default:
			if ((op & 1) && g.packed)
				g.main.driver_event->flags ^= VRING_PACKED_EVENT_FLAG_DISABLE;
			else if (op & 1)
				g.main.avail->flags ^= VRING_AVAIL_F_NO_INTERRUPT;
			if (op & 2)
				g.main.vq.mem_hint = (op >> 2) & 7;
			if (op & 0x20)
				starve = true;
			break;
		}
	}
	guest_free(&g);
	/* every mbuf is back: nothing leaked by the datapath (or by us) */
	CHECK(rte_mempool_avail_count(pool) == POOL_SIZE);
	return 0;
}
