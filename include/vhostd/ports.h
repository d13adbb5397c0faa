/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port table: ports are added and removed while the daemon runs, from
 * the command line at start and from the control socket later. Slots are
 * reused; a slot's generation tells a packet queued for an old port from
 * one for the port that took its slot since.
 *
 * Control threads only (main, control socket): one lock serialises adds,
 * removes and walks. The lcores never take it; they learn of a port
 * through their control ring (lcore.h).
 */
#ifndef VHOSTD_PORTS_H
#define VHOSTD_PORTS_H

#include <stdbool.h>
#include <stdio.h>

#include "vhostd/config.h"
#include "vhostd/port.h"

/* Sets up the table (after EAL); before any other call. 0 or -ENOMEM. */
int vhd_ports_init(void);
void vhd_ports_free(void);

/*
 * Adds a port of cfg->kind ("vhost", "ethdev") and opens it: a vhost
 * port's socket listens or connects, an ethdev is probed and started.
 * cfg is copied. Returns the port's id, or a negative errno after one line
 * on err naming the port; then nothing changed.
 */
int vhd_port_add(const struct vhd_port_config *cfg, FILE *err);

/*
 * Closes and removes the port named name (socket path or devargs): its
 * frontend is disconnected, its MACs forgotten, and no packet queued for
 * it reaches whoever takes its slot. 0, or -ENOENT after one line on err.
 */
int vhd_port_del(const char *name, FILE *err);

/*
 * At shutdown: closes every port, last added first, and leaves them in the
 * table so that the final counters can still be printed.
 */
void vhd_ports_close_all(void);

/* Holds the table still while a control thread walks it. */
void vhd_ports_lock(void);
void vhd_ports_unlock(void);

/* The port named name, or NULL; call with the table locked. */
struct vhd_port *vhd_port_find(const char *name);

/* Ports now in the table. */
uint16_t vhd_ports_count(void);

#endif /* VHOSTD_PORTS_H */
