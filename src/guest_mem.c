/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>

#include "vhostd/guest_mem.h"

int
vhd_mem_table_check(const struct vhd_mem_table *mem)
{
	uint32_t i;

	if (mem->nregions > VHD_MAX_MEM_REGIONS)
		return -EINVAL;
	for (i = 0; i < mem->nregions; i++) {
		const struct vhd_mem_region *r = &mem->regions[i];

		/* the translation relies on region ends that do not wrap */
		if (r->size == 0 || r->guest_phys_addr + r->size < r->guest_phys_addr ||
		    r->host_addr + r->size < r->host_addr || r->host_addr == 0)
			return -EINVAL;
	}
	return 0;
}
