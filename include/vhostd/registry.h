/* SPDX-License-Identifier: BSD-3-Clause */
/* Registry: vhostd's only caller of librte_vhost (see registry.c). */
#ifndef VHOSTD_REGISTRY_H
#define VHOSTD_REGISTRY_H

#include <stdio.h>

#include "vhostd/port.h"

/* Sets up the per-slot state; once, before any port opens. */
void vhd_registry_init(void);

/*
 * The vhost kind's open: registers and starts the port's socket (listen,
 * or connect as a client). 0, or a negative errno after one line on err.
 */
int vhd_registry_port_open(struct vhd_port *p, FILE *err);

/*
 * Unregisters the port's socket: a connected device is stopped and its
 * ring positions saved; a server socket file is removed. Lcores must still
 * run. Never call it from a vhost callback.
 */
void vhd_registry_port_close(struct vhd_port *p);

#endif /* VHOSTD_REGISTRY_H */
