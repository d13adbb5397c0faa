/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory that disappears under us. A frontend may shrink the file
 * behind a memory region after vhostd mapped it; the next access to the
 * removed part raises SIGBUS, which would kill the whole daemon. vhostd
 * contains it: the faulting page is replaced by a private zero page so the
 * access completes, and the port that owns the memory is marked faulted
 * (counted in mem_faults) so nothing touches it again until its frontend
 * maps new memory or reconnects. A SIGBUS outside every guest region keeps
 * its default action.
 */
#ifndef VHOSTD_GUEST_FAULT_H
#define VHOSTD_GUEST_FAULT_H

#include <stdint.h>

#include "vhostd/guest_mem.h"

/* Installs the SIGBUS handler. Returns 0 or a negative errno. */
int vhd_guest_fault_init(void);

/* The port's guest memory is now mem's regions (host addresses). */
void vhd_guest_fault_track(uint16_t port_id, const struct vhd_mem_table *mem);

/* The port's guest memory is gone (unmapped by the library). */
void vhd_guest_fault_untrack(uint16_t port_id);

#endif /* VHOSTD_GUEST_FAULT_H */
