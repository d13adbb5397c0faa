/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port kinds behind one interface. The lcores and stats see a port only
 * through its ops: receive, transmit, take or let go of what the control
 * plane handed over, and counters. Each kind is one file (port_vhost.c
 * today) that registers its ops table; a port points to its kind's table
 * from creation on.
 */
#ifndef VHOSTD_PORT_OPS_H
#define VHOSTD_PORT_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>

struct vhd_port;
struct vhd_port_config;
struct vhd_dev_snapshot;
struct vhd_port_totals;

struct vhd_port_ops {
	const char *kind; /* "vhost", "ethdev" */
	/*
	 * Carries every VLAN, tagged (an uplink): receive strips the tag into
	 * vlan_tci with RTE_MBUF_F_RX_VLAN_STRIPPED; transmit tags packets that
	 * have RTE_MBUF_F_TX_VLAN. Otherwise the port is in one VLAN, untagged.
	 */
	bool vlan_trunk;

	/*
	 * Control thread, port in the table and on its lcore's list but not
	 * polled: starts the port. vhost registers its socket (a device then
	 * attaches when a frontend is ready); ethdev probes, configures and
	 * starts the device and attaches it. 0, or a negative errno after one
	 * line on err naming the port.
	 */
	int (*open)(struct vhd_port *p, FILE *err);
	/*
	 * Control thread: undoes open. When it returns, no lcore polls the
	 * port and its device is released.
	 */
	void (*close)(struct vhd_port *p);

	/* Queue pairs (polling units) a port of this kind has, at least 1. */
	uint16_t (*nr_queues)(const struct vhd_port_config *cfg);

	/*
	 * Queue q's lcore only, unit q attached and port not faulted.
	 * Receives up to n packets from receive queue q into pkts.
	 */
	uint16_t (*rx_burst)(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
	/*
	 * Queue q's lcore only, in any state: sends pkts into transmit queue
	 * q, or counts them as dropped if it cannot take them. Takes all n:
	 * what it does not pass on, it frees.
	 */
	void (*tx_burst)(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
	/*
	 * Queue q's lcore (or with no lcore running): starts using queue q of
	 * what the control plane handed over. The caller publishes
	 * port->unit_active[q] afterwards.
	 */
	void (*attach)(struct vhd_port *p, uint16_t q, struct vhd_dev_snapshot *snap);
	/*
	 * Same thread as attach: stops using queue q of port->unit_active[q]
	 * and leaves in it what the control plane needs back (where q's rings
	 * stopped). The caller has flushed what it held for queue q and
	 * clears port->unit_active[q] afterwards.
	 */
	void (*detach)(struct vhd_port *p, uint16_t q);
	/* Any thread: packets received from and sent into queue q so far. */
	void (*queue_counters)(const struct vhd_port *p, uint16_t q, uint64_t *rx_pkts,
			       uint64_t *tx_pkts);

	/* Any thread: adds the kind's counters to t (zeroed by the caller). */
	void (*counters)(const struct vhd_port *p, struct vhd_port_totals *t);
	/*
	 * Any thread: malformed input of counter set i (a vring for vhost),
	 * by kind (VHD_ERR_KINDS entries). False once i is past the last set.
	 */
	bool (*errors)(const struct vhd_port *p, uint16_t i, uint64_t *by_kind);
};

/* Registers a kind, normally from an RTE_INIT constructor in its file. */
void vhd_port_kind_register(const struct vhd_port_ops *ops);
/* The ops of a registered kind, or NULL. */
const struct vhd_port_ops *vhd_port_kind_find(const char *kind);

/*
 * The vhost-user port (port_vhost.c). Exported for the one place that must
 * know a port's kind: the vhost-to-vhost single-copy path in lcore.c.
 */
extern const struct vhd_port_ops vhd_port_vhost_ops;

#endif /* VHOSTD_PORT_OPS_H */
