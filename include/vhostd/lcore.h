/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Polling lcores. Each worker lcore polls the ports assigned to it, forwards
 * what it receives, and owns an inbound rte_ring for packets that other lcores
 * forward to its ports. The control plane talks to a worker only through its
 * control ring: ATTACH hands over a device snapshot, DETACH takes it back.
 */
#ifndef VHOSTD_LCORE_H
#define VHOSTD_LCORE_H

#include <stdint.h>

#include "vhostd/config.h"
#include "vhostd/port.h"

struct vhd_mac_table;

/* Where a worker lcore's time goes, since it started (TSC cycles). */
struct vhd_lcore_load {
	unsigned int lcore_id;
	uint64_t busy_cycles; /* loops that moved at least one packet */
	uint64_t idle_cycles; /* loops that found nothing */
	uint64_t busy_loops;
	uint64_t packets;     /* received from guests or other lcores */
	uint64_t no_port_drops; /* sent to a slot with no port, or to a port removed on the way */
};

/*
 * Creates worker state and spreads the ports over the EAL worker lcores.
 * mac is the l2 switch's table (NULL in pair mode): workers are its readers.
 */
int vhd_lcores_init(const struct vhd_config *cfg, struct vhd_mac_table *mac);
int vhd_lcores_launch(void);
/* Stops and joins the workers, then frees every mbuf they still hold. */
void vhd_lcores_stop(void);
void vhd_lcores_free(void);

/* Fills out with up to max workers' load counters; returns how many. */
unsigned int vhd_lcores_load(struct vhd_lcore_load *out, unsigned int max);

/*
 * Puts a new port on the list of the worker with the fewest ports (and sets
 * port->lcore_id). It is polled once attached. 0 or -ENOSPC.
 */
int vhd_lcore_port_add(struct vhd_port *port);

/*
 * Takes a detached port off its worker's list, then waits until no worker
 * holds a packet for it; packets still in flight to it are dropped as
 * stale, even if another port takes its slot.
 */
void vhd_lcore_port_remove(struct vhd_port *port);

/*
 * Hands snap to the port's lcore and waits until the lcore polls it.
 * Returns 0 or -ETIMEDOUT.
 */
int vhd_lcore_attach(struct vhd_port *port, struct vhd_dev_snapshot *snap);

/*
 * Takes the port's snapshot back and waits until the lcore no longer touches
 * it or the guest's memory; the rings' final positions are then in the
 * snapshot. Returns the snapshot (NULL if none was attached).
 */
struct vhd_dev_snapshot *vhd_lcore_detach(struct vhd_port *port);

#endif /* VHOSTD_LCORE_H */
