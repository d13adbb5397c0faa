/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datapath microbenchmark: no frontend, no sockets. A simulated guest driver
 * keeps two rings in process memory full: ring A carries packets the guest
 * transmits, ring B the guest's receive buffers. vhostd's datapath moves
 * packets A -> B, either through mbufs (rx_burst + tx_burst, the path every
 * peer uses) or, with -d, straight from guest to guest. Both rings are split
 * rings, or with -P packed rings (VIRTIO_F_RING_PACKED), one descriptor per
 * buffer either way; the output says which (layout=). The simulated driver
 * checks what the device hands back (buffer ids, used lengths) and counts
 * it: at the end the counts must match vhostd's on both rings, and B's last
 * buffer must hold the frame.
 *
 * Reports ns/packet from the TSC over the datapath calls only (dp_burst).
 * Under `valgrind --tool=callgrind --toggle-collect=dp_burst` the instruction
 * count divided by the packets printed gives instructions per packet,
 * mbuf allocation and freeing included (freed with vhd_mbuf_free_bulk and
 * counted, as vhostd does).
 *
 * With -t 2 the mbuf path is split over two lcores, as vhostd splits it when
 * the two ports' units are on different lcores: the main lcore receives from
 * ring A into mbufs and enqueues them to an rte_ring (vhostd's inbound ring),
 * a worker lcore dequeues them, transmits into ring B and frees them. Each
 * lcore runs its own simulated guest (A's transmit ring, B's receive ring).
 * A receives only while the ring has room for a burst (vhostd would drop):
 * the rate is the slower lcore's. Give a time with -T; the lcores are pinned
 * to CPUs 0 and 1 (-t 1: CPU 0).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vhostd/pool.h"
#include "vhostd/virtq.h"

#define RING_SIZE 256
#define BUF_SIZE 2048
#define GUEST_GPA 0x100000000ULL
static unsigned int xfer_ring_size = 4096; /* vhostd's INBOUND_RING_SIZE; -r */
static bool return_to_a; /* -R */
static bool ring_packed; /* -P */
#define NB_MBUFS 8192

#define PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_F_USED (1u << VRING_PACKED_DESC_F_USED)
/* librte_vhost's vring base of a packed ring: the wrap counter in bit 15 */
#define PACKED_BASE_WRAP (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

struct sim_ring {
	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t guest_used_seen; /* used entries the simulated driver consumed */
	/* packed (-P): the driver's next slot to post and to read used from, and their wrap counters */
	struct vring_packed_desc *pdesc;
	uint16_t avail_slot;
	uint16_t used_slot;
	bool avail_wrap;
	bool used_wrap;
	/* both: buffer id i is at bufs + i * BUF_SIZE */
	uint64_t bufs;
	uint32_t buf_len;    /* what each descriptor offers */
	uint16_t buf_flags;  /* VRING_DESC_F_WRITE on a receive ring */
	uint32_t used_len;   /* what the device must say it wrote into each buffer */
	uint16_t last_id;    /* the last buffer the device returned */
	uint64_t guest_used; /* used buffers the simulated driver consumed */
	uint64_t bad_used;   /* of which with an id past the ring or a wrong length */
	struct vhd_virtq vq;
};

static uint8_t *guest_mem;
static uint64_t guest_size;
static struct vhd_mem_table mem_table;

static void *
gpa_ptr(uint64_t gpa)
{
	return guest_mem + (gpa - GUEST_GPA);
}

/*
 * Packed ring (virtio 1.1 section 2.7), the driver's side: fills its next
 * slot with buffer id, AVAIL set to its avail wrap counter and USED to the
 * inverse. The flags of a batch's first descriptor (first true) are not
 * stored but returned: the caller stores them last, with release, and the
 * device sees the batch at once, as a split ring's avail->idx shows it.
 */
static uint16_t
sim_packed_put(struct sim_ring *r, uint16_t id, bool first)
{
	struct vring_packed_desc *d = &r->pdesc[r->avail_slot];
	uint16_t flags = r->buf_flags | (r->avail_wrap ? PACKED_F_AVAIL : PACKED_F_USED);

	d->addr = r->bufs + (uint64_t)id * BUF_SIZE;
	d->len = r->buf_len;
	d->id = id;
	if (!first)
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
	if (++r->avail_slot == RING_SIZE) {
		r->avail_slot = 0;
		r->avail_wrap = !r->avail_wrap;
	}
	return flags;
}

/* Lays out one ring and its buffers at guest offset base. */
static void
sim_ring_init(struct sim_ring *r, uint64_t base, bool guest_writes, uint32_t frame_len,
	      uint16_t hdr_len, uint64_t features)
{
	uint64_t desc_gpa = base, avail_gpa = base + 16 * RING_SIZE,
		 used_gpa = base + 32 * RING_SIZE, bufs = base + 64 * RING_SIZE;
	uint16_t i, head_flags = 0;

	memset(r, 0, sizeof(*r));
	r->bufs = bufs;
	r->buf_len = guest_writes ? BUF_SIZE : hdr_len + frame_len;
	r->buf_flags = guest_writes ? VRING_DESC_F_WRITE : 0;
	/* a transmit buffer comes back with 0, a receive buffer with the header and frame */
	r->used_len = guest_writes ? hdr_len + frame_len : 0;
	for (i = 0; i < RING_SIZE && !guest_writes; i++) {
		uint8_t *p = gpa_ptr(bufs + (uint64_t)i * BUF_SIZE);

		memset(p, 0, hdr_len);
		memset(p + hdr_len, 0xab, frame_len);
	}
	r->vq.size = RING_SIZE;
	r->vq.callfd = -1;
	r->vq.mem = &mem_table;
	if (ring_packed) {
		struct vring_packed_desc_event *driver_event = gpa_ptr(avail_gpa);

		r->pdesc = gpa_ptr(desc_gpa);
		driver_event->flags = VRING_PACKED_EVENT_FLAG_DISABLE; /* a polling driver */
		/* both sides start at slot 0 in the lap of wrap counter 1; every flag is 0 */
		r->avail_wrap = r->used_wrap = true;
		/* the guest posts the whole ring once */
		for (i = 0; i < RING_SIZE; i++) {
			uint16_t flags = sim_packed_put(r, i, i == 0);

			if (i == 0)
				head_flags = flags;
		}
		__atomic_store_n(&r->pdesc[0].flags, head_flags, __ATOMIC_RELEASE);
		r->vq.desc_packed = r->pdesc;
		r->vq.driver_event = driver_event;
		r->vq.device_event = gpa_ptr(used_gpa);
		r->vq.last_avail_idx = PACKED_BASE_WRAP;
		r->vq.last_used_idx = PACKED_BASE_WRAP;
	} else {
		r->desc = gpa_ptr(desc_gpa);
		r->avail = gpa_ptr(avail_gpa);
		r->used = gpa_ptr(used_gpa);
		for (i = 0; i < RING_SIZE; i++) {
			r->desc[i].addr = bufs + (uint64_t)i * BUF_SIZE;
			r->desc[i].len = r->buf_len;
			r->desc[i].flags = r->buf_flags;
			r->desc[i].next = 0;
			r->avail->ring[i] = i;
		}
		/* the guest posts the whole ring once */
		r->avail->idx = RING_SIZE;
		r->avail->flags = VRING_AVAIL_F_NO_INTERRUPT; /* a polling driver */
		r->vq.desc = r->desc;
		r->vq.avail = r->avail;
		r->vq.used = r->used;
	}
	if (vhd_virtq_init(&r->vq, features) != 0)
		abort();
}

/* The simulated driver's look at one used buffer: counted, and checked. */
static inline uint16_t
sim_guest_take(struct sim_ring *r, uint32_t id, uint32_t len)
{
	if (unlikely(id >= RING_SIZE || len != r->used_len)) {
		r->bad_used++;
		id &= RING_SIZE - 1;
	}
	r->last_id = id;
	r->guest_used++;
	return id;
}

/*
 * Packed: reads the used descriptors in ring order (AVAIL and USED both equal
 * to the driver's used wrap counter) and posts each buffer again at once, the
 * batch's first flags last.
 */
static void
sim_guest_recycle_packed(struct sim_ring *r)
{
	const uint16_t used_bits = PACKED_F_AVAIL | PACKED_F_USED;
	uint16_t head = r->avail_slot, head_flags = 0, n;

	for (n = 0; n < RING_SIZE; n++) {
		struct vring_packed_desc *d = &r->pdesc[r->used_slot];
		uint16_t flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE), id;

		if ((flags & used_bits) != (r->used_wrap ? used_bits : 0))
			break;
		id = sim_guest_take(r, d->id, d->len);
		if (++r->used_slot == RING_SIZE) {
			r->used_slot = 0;
			r->used_wrap = !r->used_wrap;
		}
		flags = sim_packed_put(r, id, n == 0);
		if (n == 0)
			head_flags = flags;
	}
	if (n != 0)
		__atomic_store_n(&r->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
}

/* The simulated driver re-posts every chain the device returned. */
static void
sim_guest_recycle(struct sim_ring *r)
{
	uint16_t used_idx, avail_idx;

	if (ring_packed) {
		sim_guest_recycle_packed(r);
		return;
	}
	used_idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	avail_idx = r->avail->idx;
	while (r->guest_used_seen != used_idx) {
		const struct vring_used_elem *u = &r->used->ring[r->guest_used_seen & (RING_SIZE - 1)];
		uint16_t id = sim_guest_take(r, u->id, u->len);

		r->avail->ring[avail_idx & (RING_SIZE - 1)] = id;
		avail_idx++;
		r->guest_used_seen++;
	}
	__atomic_store_n(&r->avail->idx, avail_idx, __ATOMIC_RELEASE);
}

/*
 * What the simulated guests saw: every packet vhostd counted on a ring came
 * back to its driver, with a buffer id in the ring and the right length, and
 * B's last buffer holds the frame A sent (B's buffers start zeroed).
 */
static bool
sim_guests_check(struct sim_ring *a, struct sim_ring *b, uint32_t frame_len)
{
	const uint8_t *p = gpa_ptr(b->bufs + (uint64_t)b->last_id * BUF_SIZE);
	const struct virtio_net_hdr_mrg_rxbuf *hdr = (const void *)p;
	uint32_t i;

	if (a->guest_used != a->vq.stats.packets || b->guest_used != b->vq.stats.packets ||
	    a->bad_used != 0 || b->bad_used != 0) {
		fprintf(stderr, "dp_bench: guests saw used %" PRIu64 " (bad %" PRIu64 ") on A, %" PRIu64
			" (bad %" PRIu64 ") on B; vhostd counted %" PRIu64 " and %" PRIu64 "\n",
			a->guest_used, a->bad_used, b->guest_used, b->bad_used, a->vq.stats.packets,
			b->vq.stats.packets);
		return false;
	}
	if (b->guest_used == 0)
		return true;
	for (i = 0; i < frame_len && p[b->vq.hdr_len + i] == 0xab; i++)
		;
	if (i < frame_len || ((b->vq.flags & VHD_VQ_F_MRG_RXBUF) && hdr->num_buffers != 1)) {
		fprintf(stderr, "dp_bench: B's buffer %u does not hold the frame\n", b->last_id);
		return false;
	}
	return true;
}

/* One burst of vhostd's work: everything measured, nothing of the simulated guest. */
static uint16_t __attribute__((noinline))
dp_burst(struct sim_ring *a, struct sim_ring *b, struct rte_mempool *mp, bool direct)
{
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint16_t n;

	if (direct)
		return vhd_virtq_forward_burst(&a->vq, &b->vq, VHD_BURST_MAX);
	n = vhd_virtq_rx_burst(&a->vq, mp, pkts, VHD_BURST_MAX);
	vhd_virtq_tx_burst(&b->vq, pkts, n);
	vhd_mbuf_free_bulk(pkts, n);
	return n;
}

/* The two-lcore split (-t 2): one side per lcore, each timed over its own calls. */
struct side {
	struct sim_ring *r;
	struct rte_mempool *mp;
	struct rte_ring *xfer;
	struct rte_ring *back; /* -R: B returns the mbufs to A, which frees them */
	uint64_t packets; /* received (A) or transmitted (B) */
	uint64_t drops;   /* A: transfer ring full, freed as vhostd does */
	uint64_t busy_cycles; /* calls that moved packets */
	uint64_t busy_bursts;
	unsigned int cache_len; /* this lcore's mempool cache fill at the end */
};

static uint64_t run_until; /* TSC */
static bool a_done;

static uint16_t __attribute__((noinline))
side_a_burst(struct side *s)
{
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	unsigned int n, sent;

	/*
	 * Back-pressure, unlike vhostd (which drops when the ring is full): the
	 * pipeline's rate is the slower lcore's, with no packet freed on A.
	 */
	if (rte_ring_free_count(s->xfer) < VHD_BURST_MAX)
		return 0;
	/* timed with the receive that follows (the back ring holds them meanwhile) */
	if (s->back != NULL) {
		n = rte_ring_dequeue_burst(s->back, (void **)pkts, VHD_BURST_MAX, NULL);
		vhd_mbuf_free_bulk(pkts, n);
	}
	n = vhd_virtq_rx_burst(&s->r->vq, s->mp, pkts, VHD_BURST_MAX);
	if (n == 0)
		return 0;
	sent = rte_ring_enqueue_burst(s->xfer, (void **)pkts, n, NULL);
	if (unlikely(sent < n)) {
		vhd_mbuf_free_bulk(&pkts[sent], n - sent);
		s->drops += n - sent;
	}
	return n;
}

static uint16_t __attribute__((noinline))
side_b_burst(struct side *s)
{
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	unsigned int n;

	n = rte_ring_dequeue_burst(s->xfer, (void **)pkts, VHD_BURST_MAX, NULL);
	if (n == 0)
		return 0;
	vhd_virtq_tx_burst(&s->r->vq, pkts, n);
	/* the back ring has room for every mbuf of the pool: it never refuses */
	if (s->back != NULL)
		rte_ring_enqueue_bulk(s->back, (void **)pkts, n, NULL);
	else
		vhd_mbuf_free_bulk(pkts, n);
	return n;
}

static void
side_account(struct side *s, uint16_t n, uint64_t spent)
{
	if (n == 0)
		return;
	s->packets += n;
	s->busy_cycles += spent;
	s->busy_bursts++;
}

static int
side_b_main(void *arg)
{
	struct side *s = arg;

	for (;;) {
		/* read before the ring: A's last enqueue is seen with its flag */
		bool done = __atomic_load_n(&a_done, __ATOMIC_ACQUIRE);
		uint64_t t0 = rte_rdtsc();
		uint16_t n = side_b_burst(s);

		side_account(s, n, rte_rdtsc() - t0);
		sim_guest_recycle(s->r);
		/* after A stopped, what is still in the ring is delivered */
		if (n == 0 && done)
			break;
	}
	s->cache_len = rte_mempool_default_cache(s->mp, rte_lcore_id())->len;
	return 0;
}

static void
side_a_run(struct side *s)
{
	while (rte_rdtsc() < run_until) {
		uint64_t t0 = rte_rdtsc();
		uint16_t n = side_a_burst(s);

		side_account(s, n, rte_rdtsc() - t0);
		sim_guest_recycle(s->r);
	}
	s->cache_len = rte_mempool_default_cache(s->mp, rte_lcore_id())->len;
}

static void
guest_mem_init(struct sim_ring *a, struct sim_ring *b, uint32_t frame_len, uint64_t features)
{
	guest_size = 2 * (64 * RING_SIZE + (uint64_t)RING_SIZE * BUF_SIZE);
	guest_mem = aligned_alloc(4096, guest_size);
	memset(guest_mem, 0, guest_size);
	mem_table.nregions = 1;
	mem_table.regions[0].guest_phys_addr = GUEST_GPA;
	mem_table.regions[0].size = guest_size;
	mem_table.regions[0].host_addr = (uintptr_t)guest_mem;
	sim_ring_init(a, GUEST_GPA, false, frame_len, 12, features);
	sim_ring_init(b, GUEST_GPA + guest_size / 2, true, frame_len, 12, features);
}

/* -t 2: returns the exit status. */
static int
run_two_lcores(struct sim_ring *a, struct sim_ring *b, struct rte_mempool *mp, double seconds,
	       uint32_t frame_len, unsigned int cache_size)
{
	struct side sa = {.r = a, .mp = mp}, sb = {.r = b, .mp = mp};
	unsigned int worker = rte_get_next_lcore(-1, 1, 0);
	uint64_t hz = rte_get_tsc_hz(), t0;
	double elapsed;

	if (worker >= RTE_MAX_LCORE) {
		fprintf(stderr, "dp_bench: -t 2 needs a worker lcore\n");
		return 1;
	}
	sa.xfer = sb.xfer = rte_ring_create("xfer", xfer_ring_size, rte_socket_id(),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (sa.xfer == NULL)
		return 1;
	if (return_to_a) {
		sa.back = sb.back = rte_ring_create("back", 2 * NB_MBUFS, rte_socket_id(),
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (sa.back == NULL)
			return 1;
	}
	t0 = rte_rdtsc();
	run_until = t0 + (uint64_t)(seconds * hz);
	if (rte_eal_remote_launch(side_b_main, &sb, worker) != 0)
		return 1;
	side_a_run(&sa);
	elapsed = (double)(rte_rdtsc() - t0) / hz;
	__atomic_store_n(&a_done, true, __ATOMIC_RELEASE);
	rte_eal_wait_lcore(worker);
	if (sa.back != NULL) {
		void *m = NULL;

		while (rte_ring_dequeue(sa.back, &m) == 0)
			vhd_mbuf_free(m);
		rte_ring_free(sa.back);
	}
	if (sb.packets + sa.drops != sa.packets || a->vq.stats.packets != sa.packets ||
	    b->vq.stats.packets != sb.packets) {
		fprintf(stderr, "dp_bench: lost packets: rx %" PRIu64 " tx %" PRIu64 " drops %" PRIu64 "\n",
			sa.packets, sb.packets, sa.drops);
		return 1;
	}
	if (!sim_guests_check(a, b, frame_len))
		return 1;
	if (rte_mempool_in_use_count(mp) != 0) {
		fprintf(stderr, "dp_bench: %u mbufs leaked\n", rte_mempool_in_use_count(mp));
		return 1;
	}
	printf("dp_bench: layout=%s mode=mbuf lcores=2%s frame=%u cache=%u ring=%u seconds=%.2f"
	       " packets=%" PRIu64
	       " drops=%" PRIu64 " mpps=%.3f rx_cyc_pkt=%.1f tx_cyc_pkt=%.1f rx_busy_pct=%.1f"
	       " tx_busy_pct=%.1f rx_cache_len=%u tx_cache_len=%u\n",
	       ring_packed ? "packed" : "split", return_to_a ? " return=1" : "", frame_len, cache_size,
	       xfer_ring_size, elapsed, sb.packets, sa.drops, sb.packets / elapsed / 1e6,
	       (double)sa.busy_cycles / sa.packets, (double)sb.busy_cycles / sb.packets,
	       100.0 * sa.busy_cycles / (elapsed * hz), 100.0 * sb.busy_cycles / (elapsed * hz),
	       sa.cache_len, sb.cache_len);
	rte_ring_free(sa.xfer);
	return 0;
}

int
main(int argc, char **argv)
{
	char *eal_argv[16] = {"dp_bench", "--no-huge", "--no-shconf", "--no-pci",
			      "--no-telemetry", "-m", "256", "--log-level=error",
			      "--file-prefix=dp_bench"};
	int eal_argc = 9;
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	uint32_t frame_len = 64;
	uint64_t packets = 2000000, moved = 0, cycles = 0, t_start, t_end = 0;
	unsigned int lcores = 0, cache_size = 256;
	double seconds = 0;
	bool direct = false;
	struct sim_ring a, b;
	struct rte_mempool *mp;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "s:n:dPot:T:c:r:R")) != -1) {
		switch (opt) {
		case 's':
			frame_len = atoi(optarg);
			break;
		case 'n':
			packets = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			direct = true;
			break;
		case 'P':
			features |= 1ULL << VIRTIO_F_RING_PACKED;
			ring_packed = true;
			break;
		case 'o':
			/* what Linux guests and virtio-user negotiate by default */
			features |= VHD_NET_OFFLOAD_FEATURES;
			break;
		case 't':
			lcores = atoi(optarg);
			break;
		case 'T':
			seconds = atof(optarg);
			break;
		case 'c':
			cache_size = atoi(optarg);
			break;
		case 'r':
			xfer_ring_size = atoi(optarg);
			break;
		case 'R':
			return_to_a = true;
			break;
		default:
			goto usage;
		}
	}
	if (lcores > 2 || (lcores == 2 && (direct || seconds <= 0)) ||
	    cache_size > RTE_MEMPOOL_CACHE_MAX_SIZE || !rte_is_power_of_2(xfer_ring_size) ||
	    xfer_ring_size < 2 * VHD_BURST_MAX)
		goto usage;
	if (frame_len < 14 || frame_len + 12 > BUF_SIZE) {
		fprintf(stderr, "dp_bench: -s %u: frame must be 14-%u bytes\n", frame_len,
			BUF_SIZE - 12);
		return 2;
	}
	if (lcores == 1)
		eal_argv[eal_argc++] = "--lcores=0@0";
	else if (lcores == 2)
		eal_argv[eal_argc++] = "--lcores=0@0,1@1";
	if (rte_eal_init(eal_argc, eal_argv) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("bench", NB_MBUFS, cache_size, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (mp == NULL)
		return 1;
	guest_mem_init(&a, &b, frame_len, features);
	if (lcores == 2) {
		rc = run_two_lcores(&a, &b, mp, seconds, frame_len, cache_size);
		rte_eal_cleanup();
		return rc;
	}

	t_start = rte_rdtsc();
	if (seconds > 0) {
		packets = UINT64_MAX;
		t_end = t_start + (uint64_t)(seconds * rte_get_tsc_hz());
	}
	while (moved < packets) {
		uint64_t t0 = rte_rdtsc();
		uint16_t n = dp_burst(&a, &b, mp, direct);

		cycles += rte_rdtsc() - t0;
		moved += n;
		sim_guest_recycle(&a);
		sim_guest_recycle(&b);
		if (t_end != 0 && t0 >= t_end)
			break;
	}
	if (b.vq.stats.packets != moved || a.vq.stats.packets != moved) {
		fprintf(stderr, "dp_bench: lost packets: rx %" PRIu64 " tx %" PRIu64 "\n",
			a.vq.stats.packets, b.vq.stats.packets);
		return 1;
	}
	if (!sim_guests_check(&a, &b, frame_len))
		return 1;
	if (rte_mempool_in_use_count(mp) != 0) {
		fprintf(stderr, "dp_bench: %u mbufs leaked\n", rte_mempool_in_use_count(mp));
		return 1;
	}
	if (seconds > 0) {
		double elapsed = (double)(rte_rdtsc() - t_start) / rte_get_tsc_hz();

		printf("dp_bench: layout=%s mode=%s lcores=1 frame=%u cache=%u seconds=%.2f"
		       " packets=%" PRIu64 " mpps=%.3f cyc_pkt=%.1f\n",
		       ring_packed ? "packed" : "split", direct ? "direct" : "mbuf", frame_len,
		       cache_size, elapsed, moved, moved / elapsed / 1e6, (double)cycles / moved);
	} else {
		printf("dp_bench: layout=%s mode=%s frame=%u packets=%" PRIu64 " ns/pkt=%.2f\n",
		       ring_packed ? "packed" : "split", direct ? "direct" : "mbuf", frame_len, moved,
		       (double)cycles * 1e9 / rte_get_tsc_hz() / moved);
	}
	rte_eal_cleanup();
	return 0;
usage:
	fprintf(stderr, "usage: dp_bench [-s FRAME_BYTES] [-n PACKETS] [-d] [-P] [-o] [-t 1|2 -T SECONDS]"
			" [-c CACHE] [-r RING] [-R]\n"
			"  -d  guest-to-guest single copy instead of via mbufs\n"
			"  -P  both rings packed (VIRTIO_F_RING_PACKED) instead of split\n"
			"  -o  both guests negotiate the checksum and TSO offloads\n"
			"  -t  lcores: 1 pinned to CPU 0; 2 splits the mbuf path over CPUs 0 and 1\n"
			"  -T  run this many seconds (instead of -n); -t 2 needs it\n"
			"  -c  the mempool's per-lcore cache size (default 256, as vhostd)\n"
			"  -r  -t 2: the ring between the lcores (default 4096, vhostd's inbound ring)\n"
			"  -R  -t 2: the transmitting lcore returns the mbufs to the receiving one,\n"
			"      which frees them into its own cache\n");
	return 2;
}
