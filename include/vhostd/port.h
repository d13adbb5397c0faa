/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port: one vhost-user socket and the device behind it, or an uplink
 * ethdev. What its kind does is behind its ops (port_ops.h); the lcores and
 * stats use only those, except the vhost-to-vhost single-copy path.
 *
 * Ownership: the control plane (registry.c) builds a device snapshot and hands
 * it to the port's polling lcore; from then on only that lcore touches the
 * port's virtqueues until it hands the snapshot back (see lcore.h). Counters
 * are written by the polling lcore and read by anyone.
 */
#ifndef VHOSTD_PORT_H
#define VHOSTD_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "vhostd/config.h"
#include "vhostd/guest_mem.h"
#include "vhostd/port_ops.h"
#include "vhostd/virtq.h"

#define VHD_MAX_VRINGS (2 * VHD_MAX_QUEUE_PAIRS)

/* What the control plane learned about a running device: never changed once sent. */
struct vhd_vring_info {
	/* as in struct vhd_virtq: a split or a packed ring; desc NULL: not polled */
	union {
		struct vring_desc *desc;
		struct vring_packed_desc *desc_packed;
	};
	union {
		struct vring_avail *avail;
		struct vring_packed_desc_event *driver_event;
	};
	union {
		struct vring_used *used;
		struct vring_packed_desc_event *device_event;
	};
	uint16_t size;
	/* librte_vhost's vring base: a packed ring's wrap counter in bit 15 */
	uint16_t last_avail_idx;
	uint16_t last_used_idx;
	int callfd; /* our own dup of the frontend's eventfd, non-blocking; -1: none */
};

struct vhd_dev_snapshot {
	int vid;
	uint64_t features;
	struct vhd_mem_table mem;
	uint16_t nr_vrings;
	struct vhd_vring_info vring[VHD_MAX_VRINGS];
	/*
	 * The queues we transmit into (a guest's enabled receive queues, in
	 * queue-pair numbers): packets are steered over them (steer.h). An
	 * ethdev has queue 0 only (tx_queues 0 counts as 1).
	 */
	uint16_t tx_queues;
	uint16_t tx_queue[VHD_MAX_QUEUE_PAIRS];
	struct rte_mempool *pool;
	/* frames sent to the guest are limited to this MTU (vhd_virtq_set_mtu); 0: none */
	uint16_t mtu;
	/* written by the lcore when it lets go: where each ring stopped */
	uint16_t final_avail_idx[VHD_MAX_VRINGS];
	uint16_t final_used_idx[VHD_MAX_VRINGS];
};

struct vhd_port {
	uint16_t id;
	/*
	 * In the table (ports.h). cfg and ops are set before present turns
	 * true and stay until the port is removed and present turns false.
	 */
	bool present;
	/* counts removals of this slot's ports: stale packets are told apart (lcore.c) */
	uint32_t gen;
	const struct vhd_port_config *cfg;
	const struct vhd_port_ops *ops; /* its kind's, set once at creation */

	/*
	 * The polling units: queue pair q (receive from it, transmit into it)
	 * is polled by lcore unit_lcore[q], which alone touches its rings
	 * (lcore.c). Set when the port is added; lcore_id is queue 0's.
	 */
	uint16_t nr_queues;
	unsigned int lcore_id;
	unsigned int unit_lcore[VHD_MAX_QUEUE_PAIRS];
	/* set by unit q's lcore: the snapshot it polls the queue with, NULL when idle */
	struct vhd_dev_snapshot *unit_active[VHD_MAX_QUEUE_PAIRS];

	/*
	 * Set by the control plane once every unit is attached, cleared
	 * before they are detached: the port takes packets (vhd_port_is_up).
	 */
	struct vhd_dev_snapshot *active;
	/*
	 * The transmit queues packets to the port are steered over, copied
	 * from the snapshot at attach (lcore.c). Never freed, so any lcore
	 * may read them.
	 */
	uint16_t steer_queues;
	uint16_t steer_queue[VHD_MAX_QUEUE_PAIRS];

	/* the vhost kind's state (port_vhost.c): vrings 2q, 2q+1 are unit q's */
	struct vhd_virtq vq[VHD_MAX_VRINGS];

	/* counters beyond the queues', written by any of the port's lcores */
	uint64_t tx_down_drops; /* packets for this port while no guest was attached */
	/* written by other lcores: their ring into our lcore was full */
	uint64_t ring_full_drops;

	/*
	 * A frontend that broke the rules at runtime: its memory faulted
	 * (SIGBUS, guest_fault.c) or its callfd stalled the lcore. The lcore
	 * stops touching the port; the registry keeps it down until the
	 * frontend maps new memory or reconnects. Set by any thread.
	 */
	bool faulted;
	uint64_t mem_faults;       /* SIGBUS on this port's guest memory */
	uint64_t interrupt_stalls; /* callfd writes that blocked and were interrupted */
	uint64_t msg_refused;      /* vhost-user messages and connections refused */

	/* hand-over with the polling lcore, see lcore.c */
	uint32_t handover_next;    /* registry only: the last request's number */
	uint32_t handover_pending; /* request the lcore may still apply, 0: none */
	uint32_t handover_done;    /* the last request the lcore applied */
};

/*
 * Every port slot, indexed by id (VHD_MAX_PORTS of them, ports.c). Slots
 * below vhd_nports have been used; only those with present set are ports now.
 */
extern struct vhd_port *vhd_ports;
extern uint16_t vhd_nports;

static inline bool
vhd_port_is_present(const struct vhd_port *p)
{
	return __atomic_load_n(&p->present, __ATOMIC_ACQUIRE);
}

static inline bool
vhd_port_is_faulted(const struct vhd_port *p)
{
	return __atomic_load_n(&p->faulted, __ATOMIC_RELAXED);
}

/* Polled and able to take packets. */
static inline bool
vhd_port_is_up(const struct vhd_port *p)
{
	return __atomic_load_n(&p->active, __ATOMIC_ACQUIRE) != NULL && !vhd_port_is_faulted(p);
}

/* Counts one event of a port from any thread. */
#define VHD_PORT_COUNT(p, field) __atomic_fetch_add(&(p)->field, 1, __ATOMIC_RELAXED)

#endif /* VHOSTD_PORT_H */
