/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory table and inlined guest-physical -> host-virtual translation.
 *
 * The datapath sees guest memory only through this plain struct, so unit tests
 * can build one from ordinary process memory. Every address handed to
 * vhd_gpa_to_hva() comes from a hostile guest: the function never returns a
 * pointer outside a region and shortens the length at a region's end, so a
 * buffer that straddles regions is walked piece by piece by the caller.
 */
#ifndef VHOSTD_GUEST_MEM_H
#define VHOSTD_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include <rte_branch_prediction.h>

#define VHD_MAX_MEM_REGIONS 8

struct vhd_mem_region {
	uint64_t guest_phys_addr;
	uint64_t size;
	uint64_t host_addr;
};

struct vhd_mem_table {
	uint32_t nregions;
	struct vhd_mem_region regions[VHD_MAX_MEM_REGIONS];
};

/*
 * Validates a table before the datapath uses it: no empty region and no region
 * whose guest or host end wraps. Returns 0 or -EINVAL.
 */
int vhd_mem_table_check(const struct vhd_mem_table *mem);

/*
 * True when the host range [hva, hva + len) lies inside one region: what the
 * control plane checks for ring addresses the library translated for us.
 */
static inline int
vhd_mem_host_range_ok(const struct vhd_mem_table *mem, const void *hva, uint64_t len)
{
	uint64_t start = (uint64_t)(uintptr_t)hva;
	uint32_t i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhd_mem_region *r = &mem->regions[i];
		uint64_t off = start - r->host_addr;

		if (start >= r->host_addr && off < r->size && len <= r->size - off)
			return 1;
	}
	return 0;
}

/*
 * Translates [gpa, gpa + *len) to a host pointer. On return *len is the part
 * that is contiguous in one region (at most the requested length). Returns NULL
 * when gpa is in no region. *hint is the index of the last region hit: it is
 * tried first, since consecutive buffers nearly always share a region.
 */
static inline void *
vhd_gpa_to_hva(const struct vhd_mem_table *mem, uint32_t *hint, uint64_t gpa, uint64_t *len)
{
	const struct vhd_mem_region *r;
	uint64_t off;
	uint32_t i = *hint;

	/* unsigned compare also rejects gpa below the region start */
	if (likely(i < mem->nregions)) {
		r = &mem->regions[i];
		off = gpa - r->guest_phys_addr;
		if (likely(off < r->size))
			goto found;
	}
	for (i = 0; i < mem->nregions; i++) {
		r = &mem->regions[i];
		off = gpa - r->guest_phys_addr;
		if (off < r->size)
			break;
	}
	if (i == mem->nregions)
		return NULL;
	*hint = i;
found:
	if (*len > r->size - off)
		*len = r->size - off;
	return (void *)(uintptr_t)(r->host_addr + off);
}

#endif /* VHOSTD_GUEST_MEM_H */
