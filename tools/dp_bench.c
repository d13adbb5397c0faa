/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datapath microbenchmark: no frontend, no sockets. A simulated guest driver
 * keeps two split rings in process memory full: ring A carries packets the
 * guest transmits, ring B the guest's receive buffers. vhostd's datapath
 * moves packets A -> B, either through mbufs (rx_burst + tx_burst, the path
 * every peer uses) or, with --mode direct, straight from guest to guest.
 *
 * Reports ns/packet from the TSC over the datapath calls only (dp_burst).
 * Under `valgrind --tool=callgrind --toggle-collect=dp_burst` the instruction
 * count divided by the packets printed gives instructions per packet,
 * mbuf allocation and freeing included.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "vhostd/virtq.h"

#define RING_SIZE 256
#define BUF_SIZE 2048
#define GUEST_GPA 0x100000000ULL

struct sim_ring {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t guest_used_seen; /* used entries the simulated driver consumed */
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

/* Lays out one ring and its buffers at guest offset base. */
static void
sim_ring_init(struct sim_ring *r, uint64_t base, bool guest_writes, uint32_t frame_len,
	      uint16_t hdr_len, uint64_t features)
{
	uint64_t desc_gpa = base, avail_gpa = base + 16 * RING_SIZE,
		 used_gpa = base + 32 * RING_SIZE, bufs = base + 64 * RING_SIZE;
	uint16_t i;

	r->desc = gpa_ptr(desc_gpa);
	r->avail = gpa_ptr(avail_gpa);
	r->used = gpa_ptr(used_gpa);
	for (i = 0; i < RING_SIZE; i++) {
		r->desc[i].addr = bufs + (uint64_t)i * BUF_SIZE;
		r->desc[i].len = guest_writes ? BUF_SIZE : hdr_len + frame_len;
		r->desc[i].flags = guest_writes ? VRING_DESC_F_WRITE : 0;
		r->desc[i].next = 0;
		if (!guest_writes) {
			uint8_t *p = gpa_ptr(r->desc[i].addr);

			memset(p, 0, hdr_len);
			memset(p + hdr_len, 0xab, frame_len);
		}
		r->avail->ring[i] = i;
	}
	/* the guest posts the whole ring once */
	r->avail->idx = RING_SIZE;
	r->avail->flags = VRING_AVAIL_F_NO_INTERRUPT; /* a polling driver */
	r->guest_used_seen = 0;

	memset(&r->vq, 0, sizeof(r->vq));
	r->vq.desc = r->desc;
	r->vq.avail = r->avail;
	r->vq.used = r->used;
	r->vq.size = RING_SIZE;
	r->vq.callfd = -1;
	r->vq.mem = &mem_table;
	if (vhd_virtq_init(&r->vq, features) != 0)
		abort();
}

/* The simulated driver re-posts every chain the device returned. */
static void
sim_guest_recycle(struct sim_ring *r)
{
	uint16_t used_idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	uint16_t avail_idx = r->avail->idx;

	while (r->guest_used_seen != used_idx) {
		uint16_t id = r->used->ring[r->guest_used_seen & (RING_SIZE - 1)].id;

		r->avail->ring[avail_idx & (RING_SIZE - 1)] = id;
		avail_idx++;
		r->guest_used_seen++;
	}
	__atomic_store_n(&r->avail->idx, avail_idx, __ATOMIC_RELEASE);
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
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

int
main(int argc, char **argv)
{
	static char *eal_argv[] = {"dp_bench", "--no-huge", "--no-shconf", "--no-pci",
				   "--no-telemetry", "-m", "256", "--log-level=error",
				   "--file-prefix=dp_bench"};
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	uint32_t frame_len = 64;
	uint64_t packets = 2000000, moved = 0, cycles = 0;
	bool direct = false;
	struct sim_ring a, b;
	struct rte_mempool *mp;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:do")) != -1) {
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
		case 'o':
			/* what Linux guests and virtio-user negotiate by default */
			features |= VHD_NET_OFFLOAD_FEATURES;
			break;
		default:
			fprintf(stderr, "usage: dp_bench [-s FRAME_BYTES] [-n PACKETS] [-d] [-o]\n"
					"  -d  guest-to-guest single copy instead of via mbufs\n"
					"  -o  both guests negotiate the checksum and TSO offloads\n");
			return 2;
		}
	}
	if (frame_len < 14 || frame_len + 12 > BUF_SIZE) {
		fprintf(stderr, "dp_bench: -s %u: frame must be 14-%u bytes\n", frame_len,
			BUF_SIZE - 12);
		return 2;
	}
	if (rte_eal_init(RTE_DIM(eal_argv), eal_argv) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("bench", 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (mp == NULL)
		return 1;

	guest_size = 2 * (64 * RING_SIZE + (uint64_t)RING_SIZE * BUF_SIZE);
	guest_mem = aligned_alloc(4096, guest_size);
	memset(guest_mem, 0, guest_size);
	mem_table.nregions = 1;
	mem_table.regions[0].guest_phys_addr = GUEST_GPA;
	mem_table.regions[0].size = guest_size;
	mem_table.regions[0].host_addr = (uintptr_t)guest_mem;
	sim_ring_init(&a, GUEST_GPA, false, frame_len, 12, features);
	sim_ring_init(&b, GUEST_GPA + guest_size / 2, true, frame_len, 12, features);

	while (moved < packets) {
		uint64_t t0 = rte_rdtsc();
		uint16_t n = dp_burst(&a, &b, mp, direct);

		cycles += rte_rdtsc() - t0;
		moved += n;
		sim_guest_recycle(&a);
		sim_guest_recycle(&b);
	}
	if (b.vq.stats.packets != moved || a.vq.stats.packets != moved) {
		fprintf(stderr, "dp_bench: lost packets: rx %" PRIu64 " tx %" PRIu64 "\n",
			a.vq.stats.packets, b.vq.stats.packets);
		return 1;
	}
	if (rte_mempool_in_use_count(mp) != 0) {
		fprintf(stderr, "dp_bench: %u mbufs leaked\n", rte_mempool_in_use_count(mp));
		return 1;
	}
	printf("dp_bench: mode=%s frame=%u packets=%" PRIu64 " ns/pkt=%.2f\n",
	       direct ? "direct" : "mbuf", frame_len, moved,
	       (double)cycles * 1e9 / rte_get_tsc_hz() / moved);
	rte_eal_cleanup();
	return 0;
}
