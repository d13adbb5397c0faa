/* SPDX-License-Identifier: BSD-3-Clause */
/* Guest-physical -> host-virtual translation and memory-table validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vhostd/guest_mem.h"

#define KB 1024ULL
#define MB (1024ULL * KB)

/* host blocks; translation never dereferences, but keep pointers real */
static uint8_t block0[64 * KB], block1[64 * KB], block2[64 * KB], block3[4 * KB];

/*
 * Four regions, deliberately not sorted by gpa in the table:
 *   [0] gpa 16 MiB,   64 KiB -> block1  (back to back with [2])
 *   [1] gpa 1 MiB,    64 KiB -> block0
 *   [2] gpa 16 MiB + 64 KiB, 64 KiB -> block2
 *   [3] gpa 4 GiB,    4 KiB -> block3
 */
static void
make_table(struct vhd_mem_table *t)
{
	memset(t, 0, sizeof(*t));
	t->nregions = 4;
	t->regions[0] = (struct vhd_mem_region){16 * MB, 64 * KB, (uintptr_t)block1};
	t->regions[1] = (struct vhd_mem_region){1 * MB, 64 * KB, (uintptr_t)block0};
	t->regions[2] = (struct vhd_mem_region){16 * MB + 64 * KB, 64 * KB, (uintptr_t)block2};
	t->regions[3] = (struct vhd_mem_region){4096 * MB, 4 * KB, (uintptr_t)block3};
}

static void *
xlate(const struct vhd_mem_table *t, uint32_t *hint, uint64_t gpa, uint64_t *len)
{
	return vhd_gpa_to_hva(t, hint, gpa, len);
}

static void
test_hit_each_region(void **state)
{
	struct vhd_mem_table t;
	uint32_t hint = 0;
	uint64_t len;
	uint32_t i;

	(void)state;
	make_table(&t);
	assert_int_equal(vhd_mem_table_check(&t), 0);
	for (i = 0; i < t.nregions; i++) {
		const struct vhd_mem_region *r = &t.regions[i];
		uint8_t *host = (uint8_t *)(uintptr_t)r->host_addr;

		/* first byte, whole region */
		len = r->size;
		assert_ptr_equal(xlate(&t, &hint, r->guest_phys_addr, &len), host);
		assert_int_equal(len, r->size);
		assert_int_equal(hint, i);
		/* middle, short length untouched */
		len = 100;
		assert_ptr_equal(xlate(&t, &hint, r->guest_phys_addr + 1000, &len), host + 1000);
		assert_int_equal(len, 100);
		/* last byte */
		len = 1;
		assert_ptr_equal(xlate(&t, &hint, r->guest_phys_addr + r->size - 1, &len),
				 host + r->size - 1);
		assert_int_equal(len, 1);
	}
}

static void
test_miss_in_gaps(void **state)
{
	static const uint64_t gaps[] = {
		0, 1 * MB - 1, 1 * MB + 64 * KB, 8 * MB, 16 * MB - 1, 16 * MB + 128 * KB,
		4096 * MB - 1, 4096 * MB + 4 * KB, UINT64_MAX, UINT64_MAX - 4 * KB,
	};
	struct vhd_mem_table t;
	size_t i;

	(void)state;
	make_table(&t);
	for (i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		uint32_t hint = 3;
		uint64_t len = 16;

		assert_null(xlate(&t, &hint, gaps[i], &len));
		/* a miss is not a hit: the hint stays where it was */
		assert_int_equal(hint, 3);
	}
}

static void
test_len_shortened_at_region_end(void **state)
{
	struct vhd_mem_table t;
	uint32_t hint = 0;
	uint64_t len;

	(void)state;
	make_table(&t);
	/* 10 bytes left in region [1] */
	len = 100;
	assert_ptr_equal(xlate(&t, &hint, 1 * MB + 64 * KB - 10, &len), block0 + 64 * KB - 10);
	assert_int_equal(len, 10);
	/* an absurd length is cut, not wrapped */
	len = UINT64_MAX;
	assert_ptr_equal(xlate(&t, &hint, 1 * MB + 5, &len), block0 + 5);
	assert_int_equal(len, 64 * KB - 5);
	/* exactly up to the end is kept */
	len = 64 * KB;
	assert_ptr_equal(xlate(&t, &hint, 1 * MB, &len), block0);
	assert_int_equal(len, 64 * KB);
}

static void
test_straddle_back_to_back(void **state)
{
	struct vhd_mem_table t;
	uint32_t hint = 0;
	uint64_t gpa = 16 * MB + 64 * KB - 4;
	uint64_t len = 16;
	uint8_t *p;

	(void)state;
	make_table(&t);
	/* the first piece ends at region [0]'s end ... */
	p = xlate(&t, &hint, gpa, &len);
	assert_ptr_equal(p, block1 + 64 * KB - 4);
	assert_int_equal(len, 4);
	assert_int_equal(hint, 0);
	/* ... and the rest lives in another host block */
	gpa += len;
	len = 12;
	p = xlate(&t, &hint, gpa, &len);
	assert_ptr_equal(p, block2);
	assert_int_equal(len, 12);
	assert_int_equal(hint, 2);
}

static void
test_hint(void **state)
{
	struct vhd_mem_table t;
	uint32_t hint = 0;
	uint64_t len = 8;

	(void)state;
	make_table(&t);
	assert_non_null(xlate(&t, &hint, 4096 * MB + 8, &len));
	assert_int_equal(hint, 3);
	len = 8;
	assert_non_null(xlate(&t, &hint, 1 * MB + 8, &len));
	assert_int_equal(hint, 1);

	/* a stale hint from a larger table is ignored, then replaced */
	hint = 6;
	len = 8;
	assert_ptr_equal(xlate(&t, &hint, 16 * MB + 64 * KB, &len), block2);
	assert_int_equal(hint, 2);

	/*
	 * The hint region is tried first: with two regions covering the same
	 * gpa (never valid, but observable) the hinted one wins.
	 */
	t.regions[3] = (struct vhd_mem_region){1 * MB, 4 * KB, (uintptr_t)block3};
	hint = 3;
	len = 8;
	assert_ptr_equal(xlate(&t, &hint, 1 * MB + 16, &len), block3 + 16);
	hint = 0;
	len = 8;
	assert_ptr_equal(xlate(&t, &hint, 1 * MB + 16, &len), block0 + 16);
	assert_int_equal(hint, 1);
}

/* A table that shrank keeps its old entries behind nregions: never used. */
static void
test_stale_entries_after_shrink(void **state)
{
	struct vhd_mem_table t;
	uint32_t hint;
	uint64_t len;

	(void)state;
	make_table(&t);
	hint = 3;
	len = 8;
	assert_ptr_equal(xlate(&t, &hint, 4096 * MB + 8, &len), block3 + 8);
	assert_int_equal(hint, 3);
	t.nregions = 2; /* regions[2] and [3] still hold their old values */
	len = 8;
	assert_null(xlate(&t, &hint, 4096 * MB + 8, &len));
	len = 8;
	assert_null(xlate(&t, &hint, 16 * MB + 64 * KB, &len));
	/* and the live ones still translate from that stale hint */
	len = 8;
	assert_ptr_equal(xlate(&t, &hint, 1 * MB + 8, &len), block0 + 8);
	assert_int_equal(hint, 1);
}

static void
test_wrap_near_top(void **state)
{
	struct vhd_mem_table t;
	const uint64_t top = 0xFFFFFFFFFFFF0000ULL; /* 64 KiB below 2^64 */
	uint32_t hint = 0;
	uint64_t len;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.nregions = 2;
	t.regions[0] = (struct vhd_mem_region){top, 0xF000, (uintptr_t)block0};
	t.regions[1] = (struct vhd_mem_region){0, 4 * KB, (uintptr_t)block3};
	assert_int_equal(vhd_mem_table_check(&t), 0);

	len = UINT64_MAX;
	assert_ptr_equal(xlate(&t, &hint, top + 0x100, &len), block0 + 0x100);
	assert_int_equal(len, 0xF000 - 0x100);
	/* past the region's end, below 2^64: a gap */
	len = 1;
	assert_null(xlate(&t, &hint, top + 0xF000, &len));
	len = 1;
	assert_null(xlate(&t, &hint, UINT64_MAX, &len));
	/* gpa 0x10 must not match the top region by subtraction wrapping */
	len = 16;
	hint = 0;
	assert_ptr_equal(xlate(&t, &hint, 0x10, &len), block3 + 0x10);
	assert_int_equal(hint, 1);
	/* just below the top region start */
	len = 16;
	assert_null(xlate(&t, &hint, top - 1, &len));
}

static void
test_empty_table(void **state)
{
	struct vhd_mem_table t;
	uint32_t hint = 0;
	uint64_t len = 1;

	(void)state;
	make_table(&t);
	t.nregions = 0;
	assert_int_equal(vhd_mem_table_check(&t), 0);
	assert_null(xlate(&t, &hint, 1 * MB, &len));
}

static void
test_eight_regions(void **state)
{
	static uint8_t blocks[VHD_MAX_MEM_REGIONS][4096];
	struct vhd_mem_table t;
	uint32_t hint = 0;
	uint32_t i;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.nregions = VHD_MAX_MEM_REGIONS;
	for (i = 0; i < VHD_MAX_MEM_REGIONS; i++)
		t.regions[i] = (struct vhd_mem_region){(i + 1) * MB, 4096, (uintptr_t)blocks[i]};
	assert_int_equal(vhd_mem_table_check(&t), 0);
	for (i = VHD_MAX_MEM_REGIONS; i-- > 0;) {
		uint64_t len = 4096;

		assert_ptr_equal(xlate(&t, &hint, (i + 1) * MB + 7, &len), blocks[i] + 7);
		assert_int_equal(len, 4096 - 7);
		assert_int_equal(hint, i);
	}
}

static void
test_table_check(void **state)
{
	struct vhd_mem_table t;

	(void)state;
	make_table(&t);
	assert_int_equal(vhd_mem_table_check(&t), 0);

	make_table(&t);
	t.regions[2].size = 0;
	assert_int_equal(vhd_mem_table_check(&t), -EINVAL);

	/* guest end wraps */
	make_table(&t);
	t.regions[1].guest_phys_addr = UINT64_MAX - 100;
	assert_int_equal(vhd_mem_table_check(&t), -EINVAL);

	make_table(&t);
	t.regions[1].guest_phys_addr = 1 * MB;
	t.regions[1].size = UINT64_MAX;
	assert_int_equal(vhd_mem_table_check(&t), -EINVAL);

	/* host end wraps */
	make_table(&t);
	t.regions[3].host_addr = UINT64_MAX - 1000;
	assert_int_equal(vhd_mem_table_check(&t), -EINVAL);

	/* unmapped region */
	make_table(&t);
	t.regions[0].host_addr = 0;
	assert_int_equal(vhd_mem_table_check(&t), -EINVAL);

	/*
	 * More regions than the table holds: refused before the ninth is read,
	 * even when the memory behind the table would look like a valid one.
	 */
	{
		union {
			struct vhd_mem_table t;
			struct {
				uint32_t nregions;
				struct vhd_mem_region regions[VHD_MAX_MEM_REGIONS + 1];
			} big;
		} u;
		uint32_t i;

		memset(&u, 0, sizeof(u));
		u.big.nregions = VHD_MAX_MEM_REGIONS + 1;
		for (i = 0; i <= VHD_MAX_MEM_REGIONS; i++)
			u.big.regions[i] = (struct vhd_mem_region){(i + 1) * MB, 4096,
								   (uintptr_t)block3};
		assert_int_equal(vhd_mem_table_check(&u.t), -EINVAL);
	}

	/* a region ending just below 2^64 is fine */
	make_table(&t);
	t.regions[3].guest_phys_addr = UINT64_MAX - 4 * KB;
	assert_int_equal(vhd_mem_table_check(&t), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_each_region),
		cmocka_unit_test(test_miss_in_gaps),
		cmocka_unit_test(test_len_shortened_at_region_end),
		cmocka_unit_test(test_straddle_back_to_back),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_stale_entries_after_shrink),
		cmocka_unit_test(test_wrap_near_top),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_eight_regions),
		cmocka_unit_test(test_table_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
