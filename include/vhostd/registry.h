/* SPDX-License-Identifier: BSD-3-Clause */
/* Registry: vhostd's only caller of librte_vhost (see registry.c). */
#ifndef VHOSTD_REGISTRY_H
#define VHOSTD_REGISTRY_H

/* Registers and starts every port's socket. Returns 0 or a negative errno. */
int vhd_registry_start(void);

/*
 * Unregisters every socket: connected devices are stopped and their ring
 * positions saved; server socket files are removed. Lcores must still run.
 * Never call it from a vhost callback.
 */
void vhd_registry_stop(void);

#endif /* VHOSTD_REGISTRY_H */
