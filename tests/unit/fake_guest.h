/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake guest for datapath unit tests: guest memory, a split or packed ring
 * and the driver-side helpers to post buffers and read used entries, all in
 * ordinary process memory. No sockets, no librte_vhost. A guest whose
 * features have FG_F_PACKED gets a packed ring (virtio 1.1 section 2.7);
 * the helpers marked "both layouts" work on either, the others on one.
 *
 * Guest-physical layout (the gaps are deliberate):
 *
 *   [0, R0)            gap (gpa 0 is never mapped)
 *   R0  1 MiB          rings, then buffers
 *   (R0 end, R1)       gap
 *   R1  1 MiB  \       guest-physically back to back, but two separate host
 *   R2  1 MiB  /       blocks: a buffer across R1's end straddles regions
 *   (R2 end, R3)       gap
 *   R3  256 KiB        the highest region, at 2^64 - 4 GiB
 *   (R3 end, 2^64)     gap
 *
 * Each region's host block is mmap'd between two PROT_NONE pages, so any
 * access just outside a region faults instead of passing silently, and is
 * filled with FG_FILL so tests can check that nothing but the expected bytes
 * was written.
 */
#ifndef VHOSTD_TESTS_FAKE_GUEST_H
#define VHOSTD_TESTS_FAKE_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vhostd/virtq.h"

enum { FG_R0, FG_R1, FG_R2, FG_R3, FG_NREGIONS };

#define FG_R0_GPA 0x100000ULL
#define FG_R0_SIZE 0x100000ULL
#define FG_R1_GPA 0x100000000ULL
#define FG_R1_SIZE 0x100000ULL
#define FG_R2_GPA (FG_R1_GPA + FG_R1_SIZE)
#define FG_R2_SIZE 0x100000ULL
#define FG_R3_GPA 0xFFFFFFFF00000000ULL
#define FG_R3_SIZE 0x40000ULL
#define FG_R3_END (FG_R3_GPA + FG_R3_SIZE)

/* gpas that are in no region */
#define FG_GAP_LOW 0x1000ULL
#define FG_GAP_01 (FG_R0_GPA + FG_R0_SIZE + 0x1000)
#define FG_GAP_23 0x800000000ULL

/* what untouched guest memory holds */
#define FG_FILL 0xEE

#define FG_NB_MBUFS 4096
/* features most tests negotiate */
#define FG_F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define FG_F_MRG (1ULL << VIRTIO_NET_F_MRG_RXBUF)
#define FG_F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define FG_F_DEFAULT (FG_F_V1 | FG_F_INDIRECT)
#define FG_F_PACKED (1ULL << VIRTIO_F_RING_PACKED)
#define FG_F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)

/* A packed ring position as librte_vhost's vring base has it: wrap counter in bit 15. */
#define FG_PACKED_BASE(idx, wrap) ((uint16_t)(((wrap) ? 0x8000u : 0u) | ((idx) & 0x7fffu)))
/* Descriptor flags' AVAIL and USED bits, as masks. */
#define FG_PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define FG_PACKED_F_USED (1u << VRING_PACKED_DESC_F_USED)

struct fg_buf {
	uint64_t gpa;
	uint32_t len;
};

struct fake_guest {
	struct vhd_mem_table mem;
	uint8_t *map[FG_NREGIONS];  /* mmap base, guard page first */
	size_t map_len[FG_NREGIONS];
	uint64_t brk[FG_NREGIONS];  /* next free gpa of each region */
	uint16_t qsize;
	uint16_t next_desc;         /* next descriptor slot handed out */
	uint16_t avail_idx;         /* driver's copy of avail->idx */
	uint16_t used_seen;         /* used entries already popped */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vhd_virtq vq;        /* the device side under test */
	int callfd;                 /* eventfd given to vq, or -1 */
	/*
	 * Packed ring (packed true; desc, avail and used are then NULL): the
	 * driver's side. Buffer ids are handed out round robin (< qsize);
	 * p_id_ndesc[id] is how many ring slots that buffer took, which is
	 * how far the driver moves past its used descriptor.
	 */
	bool packed;
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_event; /* the driver's: interrupts it wants */
	struct vring_packed_desc_event *device_event; /* the device's: kicks it wants */
	uint16_t p_avail;           /* next slot the driver fills */
	bool p_avail_wrap;          /* its wrap counter */
	uint16_t p_used;            /* next slot the driver reads a used descriptor at */
	bool p_used_wrap;           /* its wrap counter */
	uint16_t p_next_id;         /* next buffer id handed out */
	uint32_t p_inflight;        /* ring slots posted and not yet seen used */
	uint16_t *p_id_ndesc;       /* qsize entries */
};

/* EAL + mbuf pool, once per executable (cmocka group setup/teardown). */
extern struct rte_mempool *fg_pool;
int fg_eal_setup(void **state);
int fg_eal_teardown(void **state);
/* Fails the test unless every mbuf is back in fg_pool. */
void fg_assert_no_leak(void);

/*
 * A guest with a ring of qsize entries and the vq initialized with features;
 * avail->idx, used->idx and both vq positions start at start_idx. Packed:
 * start_idx is a vring base (FG_PACKED_BASE) at which both the driver and the
 * device start, and every slot looks used in the lap before (so neither side
 * sees anything until the driver posts). fg_new starts a packed ring at slot
 * 0 with wrap counters 1, as a fresh device does.
 */
struct fake_guest *fg_new_at(uint16_t qsize, uint64_t features, uint16_t start_idx);
struct fake_guest *fg_new(uint16_t qsize, uint64_t features);
void fg_free(struct fake_guest *fg);

/* The helper's own translation; fails the test for a gpa in no region. */
void *fg_hva(struct fake_guest *fg, uint64_t gpa);
/* Bump allocation of guest memory in one region (16-byte aligned). */
uint64_t fg_alloc(struct fake_guest *fg, int region, uint32_t len);
/* Copies to/from guest memory; may straddle regions. */
void fg_write(struct fake_guest *fg, uint64_t gpa, const void *src, uint32_t len);
void fg_read(struct fake_guest *fg, uint64_t gpa, void *dst, uint32_t len);
/* True when [gpa, gpa + len) still holds FG_FILL everywhere. */
bool fg_untouched(struct fake_guest *fg, uint64_t gpa, uint32_t len);

/* Split ring only, up to fg_post. */
/* Descriptor slots are handed out round robin, never reused in a test. */
uint16_t fg_desc_alloc(struct fake_guest *fg);
void fg_set_desc(struct fake_guest *fg, uint16_t idx, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next);
/* A chain of n descriptors linked with NEXT, each with flags (0 or WRITE). */
uint16_t fg_chain(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
		  uint16_t flags);
/* One ring descriptor pointing to an indirect table (in region) of n entries. */
uint16_t fg_indirect(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
		     uint16_t flags, int region);
/* Makes head available and publishes avail->idx. */
void fg_post(struct fake_guest *fg, uint16_t head);

/*
 * Packed ring only. Descriptors of a buffer take consecutive slots from
 * p_avail on (wrapping, the wrap counter flipping there); each gets the
 * AVAIL/USED bits of its own lap, and the first one's flags are stored last,
 * with release, which makes the whole buffer available at once.
 */
/* The most descriptors fg_packed_post_chain writes for one buffer. */
#define FG_PACKED_CHAIN_MAX 256
/* The AVAIL/USED bits that make a descriptor available in the lap with wrap counter wrap. */
uint16_t fg_packed_avail_bits(bool wrap);
/* Raw write of slot: addr, len, id, then flags (release). No position moves. */
void fg_packed_set_desc(struct fake_guest *fg, uint16_t slot, uint64_t addr, uint32_t len,
			uint16_t id, uint16_t flags);
/*
 * Posts one buffer of n descriptors chained with NEXT, each with flags (0 or
 * WRITE) and a new buffer id in every descriptor. Returns the id.
 */
uint16_t fg_packed_post_chain(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
			      uint16_t flags);
/* Posts one ring descriptor pointing to an indirect table (in region) of n entries. */
uint16_t fg_packed_post_indirect(struct fake_guest *fg, const struct fg_buf *bufs, unsigned int n,
				 uint16_t flags, int region);
/* The driver's positions, encoded like a vring base. */
void fg_packed_positions(const struct fake_guest *fg, uint16_t *avail, uint16_t *used);
/* Sets the driver's event area: flags (VRING_PACKED_EVENT_FLAG_*), and the slot/wrap for DESC. */
void fg_packed_set_event(struct fake_guest *fg, uint16_t flags, uint16_t slot, bool wrap);

/*
 * Guest transmit (both layouts): writes a zeroed virtio-net header of vq.hdr_len bytes and
 * frame into buffers allocated in region, cut into n descriptors of lens[i]
 * bytes (sum must be hdr_len + frame_len; lens NULL means one descriptor).
 * With indirect, the chain goes into an indirect table. Posts it; returns head
 * (packed: the buffer id).
 */
uint16_t fg_post_tx_pkt(struct fake_guest *fg, const uint8_t *frame, uint32_t frame_len,
			const uint32_t *lens, unsigned int n, int region, bool indirect);
/* The same with hdr's offload fields in the header (num_buffers 0; NULL: zeroed). */
uint16_t fg_post_tx_pkt_hdr(struct fake_guest *fg, const struct virtio_net_hdr *hdr,
			    const uint8_t *frame, uint32_t frame_len, const uint32_t *lens,
			    unsigned int n, int region, bool indirect);
/* Guest receive (both layouts): one writable buffer of len bytes; *gpa gets its address. */
uint16_t fg_post_rx_buf(struct fake_guest *fg, int region, uint32_t len, uint64_t *gpa);

/* Gives the vq a real (non-blocking) eventfd as callfd. */
void fg_use_eventfd(struct fake_guest *fg);
/* How many interrupts the device wrote since the last read (0 if none). */
uint64_t fg_interrupts(struct fake_guest *fg);

/*
 * Used entries the device published and the test has not popped yet (both
 * layouts; packed: the used descriptors from p_used on, each skipping the
 * slots its buffer took).
 */
uint16_t fg_used_pending(struct fake_guest *fg);
/* Both layouts; packed: .id is the buffer id, .len the used length. */
struct vring_used_elem fg_used_pop(struct fake_guest *fg);
/* Pops one used entry and checks it is {id, len}. */
void fg_expect_used(struct fake_guest *fg, uint32_t id, uint32_t len);

/* Deterministic frame contents: a different byte stream for each seed. */
void fg_frame(uint8_t *buf, uint32_t len, uint32_t seed);
/* An mbuf from fg_pool holding data, cut into segments of seg_lens (or one). */
struct rte_mbuf *fg_mbuf(const uint8_t *data, uint32_t len, const uint32_t *seg_lens,
			 unsigned int nsegs);

/* Sum of all stats.errors counters. */
uint64_t fg_errors_total(const struct vhd_virtq *vq);

#endif /* VHOSTD_TESTS_FAKE_GUEST_H */
