/* SPDX-License-Identifier: BSD-3-Clause */
/* vhd_virtq_init: ring size validation, header length, NO_NOTIFY. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"

struct rings {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vhd_mem_table mem;
};

static struct rings *
rings_new(void)
{
	struct rings *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->desc = calloc(VHD_VIRTQ_SIZE_MAX, sizeof(*r->desc));
	r->avail = calloc(1, sizeof(*r->avail) + 2 * VHD_VIRTQ_SIZE_MAX + 2);
	r->used = calloc(1, sizeof(*r->used) + sizeof(struct vring_used_elem) * VHD_VIRTQ_SIZE_MAX + 2);
	assert_non_null(r->desc);
	assert_non_null(r->avail);
	assert_non_null(r->used);
	return r;
}

static void
rings_free(struct rings *r)
{
	free(r->desc);
	free(r->avail);
	free(r->used);
	free(r);
}

static void
vq_fill(struct vhd_virtq *vq, struct rings *r, uint16_t size)
{
	memset(vq, 0, sizeof(*vq));
	vq->desc = r->desc;
	vq->avail = r->avail;
	vq->used = r->used;
	vq->size = size;
	vq->callfd = -1;
	vq->mem = &r->mem;
}

static void
test_ring_sizes(void **state)
{
	static const uint16_t bad[] = {0, 3, 6, 100, 1000, 32767, 32769, 40000, 49152, 65535};
	static const uint16_t good[] = {1, 2, 4, 256, 1024, 32768};
	struct rings *r = rings_new();
	struct vhd_virtq vq;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vq_fill(&vq, r, bad[i]);
		r->used->flags = 0;
		assert_int_equal(vhd_virtq_init(&vq, FG_F_DEFAULT), -EINVAL);
		/* a refused ring is left alone */
		assert_int_equal(r->used->flags, 0);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		vq_fill(&vq, r, good[i]);
		assert_int_equal(vhd_virtq_init(&vq, FG_F_DEFAULT), 0);
	}
	rings_free(r);
}

static void
test_missing_pointers(void **state)
{
	struct rings *r = rings_new();
	struct vhd_virtq vq;

	(void)state;
	vq_fill(&vq, r, 256);
	vq.desc = NULL;
	assert_int_equal(vhd_virtq_init(&vq, 0), -EINVAL);
	vq_fill(&vq, r, 256);
	vq.avail = NULL;
	assert_int_equal(vhd_virtq_init(&vq, 0), -EINVAL);
	vq_fill(&vq, r, 256);
	vq.used = NULL;
	assert_int_equal(vhd_virtq_init(&vq, 0), -EINVAL);
	vq_fill(&vq, r, 256);
	vq.mem = NULL;
	assert_int_equal(vhd_virtq_init(&vq, 0), -EINVAL);
	rings_free(r);
}

static void
test_sets_no_notify(void **state)
{
	struct rings *r = rings_new();
	struct vhd_virtq vq;

	(void)state;
	vq_fill(&vq, r, 256);
	r->used->flags = 0;
	assert_int_equal(vhd_virtq_init(&vq, 0), 0);
	assert_int_equal(r->used->flags, VRING_USED_F_NO_NOTIFY);
	rings_free(r);
}

static void
test_header_and_flags(void **state)
{
	static const struct {
		uint64_t features;
		uint16_t hdr_len;
		uint32_t flags;
	} cases[] = {
		{0, 10, 0},
		{FG_F_MRG, 12, VHD_VQ_F_MRG_RXBUF},
		{FG_F_V1, 12, VHD_VQ_F_VERSION_1},
		{FG_F_V1 | FG_F_MRG, 12, VHD_VQ_F_VERSION_1 | VHD_VQ_F_MRG_RXBUF},
		{FG_F_INDIRECT, 10, VHD_VQ_F_INDIRECT},
		{FG_F_V1 | FG_F_MRG | FG_F_INDIRECT, 12,
		 VHD_VQ_F_VERSION_1 | VHD_VQ_F_MRG_RXBUF | VHD_VQ_F_INDIRECT},
		/* unrelated features change nothing */
		{(1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS), 10, 0},
		/* any offload means headers carry requests */
		{(1ULL << VIRTIO_NET_F_CSUM), 10, VHD_VQ_F_OFFLOAD},
		{(1ULL << VIRTIO_NET_F_GUEST_TSO6), 10, VHD_VQ_F_OFFLOAD},
		{FG_F_V1 | (1ULL << VIRTIO_NET_F_HOST_TSO4), 12, VHD_VQ_F_VERSION_1 | VHD_VQ_F_OFFLOAD},
	};
	struct rings *r = rings_new();
	struct vhd_virtq vq;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vq_fill(&vq, r, 256);
		vq.flags = 0xFFFFFFFF; /* stale flags from a previous negotiation */
		vq.hdr_len = 99;
		assert_int_equal(vhd_virtq_init(&vq, cases[i].features), 0);
		assert_int_equal(vq.hdr_len, cases[i].hdr_len);
		assert_int_equal(vq.flags, cases[i].flags);
	}
	rings_free(r);
}

static void
test_keeps_positions(void **state)
{
	struct rings *r = rings_new();
	struct vhd_virtq vq;

	(void)state;
	/* a reconnect resumes where the last session stopped */
	vq_fill(&vq, r, 256);
	vq.last_avail_idx = 65000;
	vq.last_used_idx = 64990;
	vq.callfd = 42;
	vq.mem_hint = 5;
	assert_int_equal(vhd_virtq_init(&vq, FG_F_DEFAULT), 0);
	assert_int_equal(vq.last_avail_idx, 65000);
	assert_int_equal(vq.last_used_idx, 64990);
	assert_int_equal(vq.callfd, 42);
	assert_int_equal(vq.size, 256);
	/* the hint may belong to another table */
	assert_int_equal(vq.mem_hint, 0);
	rings_free(r);
}

/*
 * Rings laid out in one 64 KiB region: a frontend that grows the ring
 * (SET_VRING_NUM after the addresses were checked) pushes the used ring past
 * the region's end, which vhd_virtq_rings_check must catch.
 */
static void
test_rings_inside_region(void **state)
{
	const uint64_t region_size = 65536;
	uint8_t *base = aligned_alloc(4096, region_size);
	struct vhd_mem_table mem = {.nregions = 1};
	struct vring_desc *desc = (void *)base;
	struct vring_avail *avail;
	struct vring_used *used;

	(void)state;
	assert_non_null(base);
	mem.regions[0].guest_phys_addr = 0x100000;
	mem.regions[0].size = region_size;
	mem.regions[0].host_addr = (uint64_t)(uintptr_t)base;
	/* 256 entries: desc 4096 B, avail 518 B, used 2054 B (with the event indexes) */
	avail = (void *)(base + 4096);
	used = (void *)(base + 8192);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 256), 0);
	/* the same pointers at 32768 entries reach far past the region */
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 32768), -EINVAL);
	/* the used ring (with avail_event) inside the region, then past its end */
	used = (void *)(base + region_size - (6 + 8 * 256) - 2);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 256), 0);
	/* 4-byte aligned, so its avail_event lies 2 bytes past the end */
	used = (void *)(base + region_size - (6 + 8 * 256) + 2);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 256), -EINVAL);
	used = (void *)(base + 8192);
	/* before the region, and straddling its start */
	assert_int_equal(vhd_virtq_rings_check(&mem, desc - 1, avail, used, 256), -EINVAL);
	/* misaligned parts */
	assert_int_equal(vhd_virtq_rings_check(&mem, (void *)(base + 8), avail, used, 256),
			 -EINVAL);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, (void *)(base + 4097), used, 256),
			 -EINVAL);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, (void *)(base + 8194), 256),
			 -EINVAL);
	/* bad sizes, missing parts, no table */
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 0), -EINVAL);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 100), -EINVAL);
	assert_int_equal(vhd_virtq_rings_check(&mem, NULL, avail, used, 256), -EINVAL);
	assert_int_equal(vhd_virtq_rings_check(NULL, desc, avail, used, 256), -EINVAL);
	/* a ring that straddles two adjacent regions is refused: the datapath
	 * indexes rings as one host array */
	mem.nregions = 2;
	mem.regions[0].size = 4096;
	mem.regions[1].guest_phys_addr = 0x101000;
	mem.regions[1].size = region_size - 4096;
	mem.regions[1].host_addr = (uint64_t)(uintptr_t)(base + 4096);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 256), 0);
	assert_int_equal(vhd_virtq_rings_check(&mem, desc, avail, used, 512), -EINVAL);
	free(base);
}

static void
test_error_names(void **state)
{
	int e;

	(void)state;
	for (e = 0; e < VHD_DESC_ERR_MAX; e++) {
		const char *n = vhd_desc_error_name((enum vhd_desc_error)e);
		int f;

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (f = 0; f < e; f++)
			assert_string_not_equal(n, vhd_desc_error_name((enum vhd_desc_error)f));
	}
	assert_string_equal(vhd_desc_error_name(VHD_DESC_ERR_MAX), "unknown");
	assert_string_equal(vhd_desc_error_name((enum vhd_desc_error)-1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_sizes),
		cmocka_unit_test(test_missing_pointers),
		cmocka_unit_test(test_sets_no_notify),
		cmocka_unit_test(test_header_and_flags),
		cmocka_unit_test(test_keeps_positions),
		cmocka_unit_test(test_rings_inside_region),
		cmocka_unit_test(test_error_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
