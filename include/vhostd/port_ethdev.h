/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ethdev port kind (port_ethdev.c): an uplink, any DPDK ethdev named by
 * its devargs (--uplink). What the rest of vhostd needs to know of it.
 */
#ifndef VHOSTD_PORT_ETHDEV_H
#define VHOSTD_PORT_ETHDEV_H

#include "vhostd/virtq.h"

/* Descriptors asked for; the device's limits may round them. */
#define VHD_ETHDEV_RX_DESC 1024
#define VHD_ETHDEV_TX_DESC 1024

/*
 * mbufs of vhostd's pool one uplink may hold at once: a full receive ring,
 * a full transmit ring, and a burst of segments or copies on the way to
 * it. The pools must have this many per uplink beyond what vhost ports
 * need (main.c).
 */
#define VHD_ETHDEV_MBUFS (VHD_ETHDEV_RX_DESC + VHD_ETHDEV_TX_DESC + 2 * VHD_BURST_MAX)

/* The largest MTU vhostd asks of a device (fewer if the device allows fewer). */
#define VHD_ETHDEV_MTU_MAX 9000

#endif /* VHOSTD_PORT_ETHDEV_H */
