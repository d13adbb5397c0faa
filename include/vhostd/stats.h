/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-port counters as users see them, and rate-limited error reports. */
#ifndef VHOSTD_STATS_H
#define VHOSTD_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "vhostd/port.h"

/* Kinds of malformed input: descriptor chains, then virtio-net headers. */
#define VHD_ERR_KINDS (VHD_DESC_ERR_MAX + VHD_HDR_ERR_MAX)

struct vhd_port_totals {
	uint64_t rx_pkts;  /* received from the guest */
	uint64_t rx_bytes;
	uint64_t tx_pkts;  /* sent to the guest */
	uint64_t tx_bytes;
	uint64_t drops;    /* packets lost on the way to this port, too_big included */
	uint64_t too_big;  /* frames too big for a side (MTU, buffers, 64 KiB), both ways */
	uint64_t vlan_drops; /* tagged frames from a port that is no trunk */
	uint64_t no_mbuf;  /* receive bursts deferred for lack of mbufs */
	uint64_t errors;   /* malformed descriptor chains dropped */
	uint64_t errors_by_kind[VHD_ERR_KINDS]; /* chains (vhd_desc_error), then headers */
	uint64_t msg_refused;      /* vhost-user messages and connections refused */
	uint64_t mem_faults;       /* SIGBUS on the guest's memory */
	uint64_t interrupt_stalls; /* callfd writes that blocked */
	uint64_t interrupts;       /* callfd writes */
	uint64_t interrupts_failed;
	int8_t link;         /* -1: not an uplink; an uplink's link 0: down, 1: up */
	uint32_t link_speed; /* an uplink's, Mbit/s; 0: down or unknown */
};

/* "up", "down", or "faulted" (see port.h). */
const char *vhd_port_state(const struct vhd_port *p);

void vhd_port_totals(const struct vhd_port *p, struct vhd_port_totals *t);

/*
 * One line for the daemon ("stats: daemon mbufs_in_use=N rss_kib=N"), then one
 * per port ("stats: port=N path=P state=up rx_pkts=N ... errors=N").
 */
void vhd_stats_print(FILE *out);

/* Logs, at most once per call per vring, bad chains counted since the last call. */
void vhd_stats_report_errors(void);

/* Registers the telemetry commands /vhostd/ports, /vhostd/port, /vhostd/lcores. */
void vhd_stats_telemetry_register(void);

#endif /* VHOSTD_STATS_H */
