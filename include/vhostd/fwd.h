/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding decisions: for each packet received on a port, where it goes.
 * Pure decisions, no packet I/O, so they can be tested without lcores.
 */
#ifndef VHOSTD_FWD_H
#define VHOSTD_FWD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "vhostd/config.h"

#define VHD_FWD_DROP UINT16_MAX        /* filtered: never back out of its own port */
#define VHD_FWD_FLOOD (UINT16_MAX - 1) /* every other port that is up */

struct vhd_mac_table;

/*
 * mac may be NULL in pair mode. Pairs are port slots 2k and 2k+1; a packet
 * for a slot with no port now is dropped and counted by the transmit.
 */
int vhd_fwd_init(enum vhd_fwd_mode mode, struct vhd_mac_table *mac);

/*
 * A port was added: in l2 mode it carries one VLAN untagged (vlan, 0 for
 * the default VLAN) or, as a trunk, every VLAN tagged. -ENOTSUP for a
 * VLAN in pair mode.
 */
int vhd_fwd_port_added(uint16_t port, uint16_t vlan, bool trunk);

/* A port was removed: nothing is forwarded to it by what was learned before. */
void vhd_fwd_port_removed(uint16_t port);

/* Whether a flood in vlan reaches port. */
bool vhd_fwd_port_in_vlan(uint16_t port, uint16_t vlan);

/* Tagged frames dropped from port: it is no trunk. Since the port's slot was first used. */
uint64_t vhd_fwd_vlan_drops(uint16_t port);

/* The port every packet from port goes to (pair mode), or -1 (l2 mode). */
int vhd_fwd_fixed_peer(uint16_t port);

/* Fills dst[i] for pkts[i] received on src_port. now is in seconds. */
void vhd_fwd_decide(uint16_t src_port, struct rte_mbuf **pkts, uint16_t n, uint16_t *dst,
		    uint32_t now);

#endif /* VHOSTD_FWD_H */
