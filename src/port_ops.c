/* SPDX-License-Identifier: BSD-3-Clause */
/* The table of port kinds: filled by constructors before main(), read-only after. */
#include <string.h>

#include <rte_common.h>
#include <rte_debug.h>

#include "vhostd/port_ops.h"

#define MAX_KINDS 4

static const struct vhd_port_ops *kinds[MAX_KINDS];
static unsigned int nkinds;

void
vhd_port_kind_register(const struct vhd_port_ops *ops)
{
	/* a programming error, found at the first start */
	if (nkinds == MAX_KINDS || vhd_port_kind_find(ops->kind) != NULL)
		rte_panic("cannot register port kind %s\n", ops->kind);
	kinds[nkinds++] = ops;
}

const struct vhd_port_ops *
vhd_port_kind_find(const char *kind)
{
	unsigned int i;

	for (i = 0; i < nkinds; i++)
		if (strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}
