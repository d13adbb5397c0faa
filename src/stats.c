/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "vhostd/fwd.h"
#include "vhostd/lcore.h"
#include "vhostd/log.h"
#include "vhostd/pool.h"
#include "vhostd/ports.h"
#include "vhostd/stats.h"

VHD_LOG_REGISTER(stats);

/* Malformed input, one index for both kinds: descriptor chains, then headers. */
static const char *
error_kind_name(unsigned int k)
{
	return k < VHD_DESC_ERR_MAX ? vhd_desc_error_name(k) :
				      vhd_hdr_error_name(k - VHD_DESC_ERR_MAX);
}

void
vhd_port_totals(const struct vhd_port *p, struct vhd_port_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->link = -1; /* an uplink's kind says up or down */
	p->ops->counters(p, t);
	/* other lcores' rings into ours and VLANs are not the port kind's business */
	t->drops += __atomic_load_n(&p->ring_full_drops, __ATOMIC_RELAXED);
	t->vlan_drops = vhd_fwd_vlan_drops(p->id);
	t->drops += t->vlan_drops;
}

const char *
vhd_port_state(const struct vhd_port *p)
{
	if (vhd_port_is_faulted(p))
		return "faulted";
	return vhd_port_is_up(p) ? "up" : "down";
}

/* Resident set size in KiB, for spotting leaks from outside. */
static unsigned long
rss_kib(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * One line per worker lcore for the time since the previous call: the share
 * of time spent in loops that moved packets, packets per such loop, and TSC
 * cycles per packet. busy_pct near 100 means the lcore is the bottleneck.
 */
static void
print_lcore_load(FILE *out)
{
	static struct vhd_lcore_load prev[RTE_MAX_LCORE];
	struct vhd_lcore_load now[RTE_MAX_LCORE];
	unsigned int n, i;

	n = vhd_lcores_load(now, RTE_DIM(now));
	for (i = 0; i < n; i++) {
		struct vhd_lcore_load *was = &prev[now[i].lcore_id];
		uint64_t busy = now[i].busy_cycles - was->busy_cycles;
		uint64_t idle = now[i].idle_cycles - was->idle_cycles;
		uint64_t loops = now[i].busy_loops - was->busy_loops;
		uint64_t pkts = now[i].packets - was->packets;

		fprintf(out,
			"stats: lcore=%u busy_pct=%.1f pkts_per_busy_loop=%.1f cycles_per_pkt=%" PRIu64
			"\n",
			now[i].lcore_id, busy + idle ? 100.0 * busy / (busy + idle) : 0.0,
			loops ? (double)pkts / loops : 0.0, pkts ? busy / pkts : 0);
		*was = now[i];
	}
}

/*
 * Which pool counter slots to show: every worker lcore, and any other slot
 * (main lcore, control thread, threads with no lcore id) that counted
 * something. Returns how many, worker lcores first.
 */
static unsigned int
pool_slots(unsigned int *slots)
{
	struct vhd_lcore_load load[RTE_MAX_LCORE];
	bool shown[RTE_MAX_LCORE + 1] = {false};
	struct vhd_pool_counts c;
	unsigned int n, i, k = 0;

	n = vhd_lcores_load(load, RTE_DIM(load));
	for (i = 0; i < n; i++) {
		slots[k++] = load[i].lcore_id;
		shown[load[i].lcore_id] = true;
	}
	for (i = 0; i <= VHD_POOL_SLOT_OTHER; i++) {
		if (shown[i])
			continue;
		vhd_pool_counts_read(i, &c);
		if (c.alloc != 0 || c.freed != 0 || c.alloc_fail != 0)
			slots[k++] = i;
	}
	return k;
}

/* "stats: pool" lines: see pool.h for what is counted. */
static void
print_pool(FILE *out)
{
	unsigned int slots[RTE_MAX_LCORE + 1];
	struct vhd_pool_counts c;
	unsigned int n, i;

	n = pool_slots(slots);
	for (i = 0; i < n; i++) {
		vhd_pool_counts_read(slots[i], &c);
		if (slots[i] == VHD_POOL_SLOT_OTHER)
			fprintf(out, "stats: pool lcore=other");
		else
			fprintf(out, "stats: pool lcore=%u", slots[i]);
		fprintf(out,
			" alloc=%" PRIu64 " alloc_fail=%" PRIu64 " freed=%" PRIu64 " in_flight=%" PRId64
			" cache=%u\n",
			c.alloc, c.alloc_fail, c.freed, (int64_t)(c.alloc - c.freed),
			slots[i] == VHD_POOL_SLOT_OTHER ? 0 : vhd_pools_cache_len(slots[i]));
	}
}

/* Packets dropped because their port was gone (lcore.c), over all lcores. */
static uint64_t
no_port_drops(void)
{
	struct vhd_lcore_load load[RTE_MAX_LCORE];
	unsigned int n, i;
	uint64_t sum = 0;

	n = vhd_lcores_load(load, RTE_DIM(load));
	for (i = 0; i < n; i++)
		sum += load[i].no_port_drops;
	return sum;
}

/* " link=up" or " link=down" for an uplink, nothing for other ports. */
static const char *
link_field(const struct vhd_port_totals *t)
{
	return t->link < 0 ? "" : t->link > 0 ? " link=up" : " link=down";
}

/*
 * Interrupts to the guest over the packets it sent and received: what event
 * suppression (EVENT_IDX, NAPI) saves it shows here.
 */
static double
interrupts_per_pkt(const struct vhd_port_totals *t)
{
	uint64_t pkts = t->rx_pkts + t->tx_pkts;

	return pkts == 0 ? 0.0 : (double)t->interrupts / (double)pkts;
}

/* A multi-queue port's queues: which lcore polls each, what each carried. */
static void
print_queues(FILE *out, const struct vhd_port *p)
{
	uint64_t rx, tx;
	uint16_t q;

	if (p->nr_queues < 2)
		return;
	for (q = 0; q < p->nr_queues; q++) {
		p->ops->queue_counters(p, q, &rx, &tx);
		fprintf(out, " q%u_lcore=%u q%u_rx=%" PRIu64 " q%u_tx=%" PRIu64, q, p->unit_lcore[q],
			q, rx, q, tx);
	}
}

void
vhd_stats_print(FILE *out)
{
	struct vhd_port_totals t;
	uint16_t i;

	fprintf(out, "stats: daemon mbufs_in_use=%u rss_kib=%lu ports=%u no_port_drops=%" PRIu64 "\n",
		vhd_pools_in_use(), rss_kib(), vhd_ports_count(), no_port_drops());
	print_lcore_load(out);
	print_pool(out);
	vhd_ports_lock();
	for (i = 0; i < vhd_nports; i++) {
		const struct vhd_port *p = &vhd_ports[i];

		if (!p->present)
			continue;

		vhd_port_totals(p, &t);
		fprintf(out,
			"stats: port=%u path=%s state=%s rx_pkts=%" PRIu64 " rx_bytes=%" PRIu64
			" tx_pkts=%" PRIu64 " tx_bytes=%" PRIu64 " drops=%" PRIu64
			" errors=%" PRIu64 " no_mbuf=%" PRIu64 " msg_refused=%" PRIu64
			" mem_faults=%" PRIu64 " interrupt_stalls=%" PRIu64 " too_big=%" PRIu64
			" vlan_drops=%" PRIu64 " interrupts=%" PRIu64 " interrupts_per_pkt=%.4f%s",
			p->id, p->cfg->path, vhd_port_state(p), t.rx_pkts, t.rx_bytes, t.tx_pkts,
			t.tx_bytes, t.drops, t.errors, t.no_mbuf, t.msg_refused, t.mem_faults,
			t.interrupt_stalls, t.too_big, t.vlan_drops, t.interrupts,
			interrupts_per_pkt(&t), link_field(&t));
		print_queues(out, p);
		fputc('\n', out);
	}
	vhd_ports_unlock();
	fflush(out);
}

void
vhd_stats_report_errors(void)
{
	static uint64_t reported[VHD_MAX_PORTS][VHD_MAX_VRINGS][VHD_ERR_KINDS];
	static uint32_t reported_gen[VHD_MAX_PORTS]; /* whose counts reported[i] holds */
	uint64_t counts[VHD_ERR_KINDS];
	uint16_t i, r, k;

	vhd_ports_lock();
	for (i = 0; i < vhd_nports; i++) {
		const struct vhd_port *p = &vhd_ports[i];

		if (!p->present)
			continue;
		/* another port in the slot: its counters started at zero */
		if (reported_gen[i] != p->gen) {
			reported_gen[i] = p->gen;
			memset(reported[i], 0, sizeof(reported[i]));
		}
		/* a counter set per queue (vring for vhost); no kind has more than vrings */
		for (r = 0; r < VHD_MAX_VRINGS && p->ops->errors(p, r, counts); r++) {
			char detail[512] = "";
			uint64_t total = 0;
			size_t len = 0;

			for (k = 0; k < VHD_ERR_KINDS; k++) {
				uint64_t now = counts[k];
				uint64_t delta = now - reported[i][r][k];

				if (delta == 0)
					continue;
				reported[i][r][k] = now;
				total += delta;
				if (len < sizeof(detail))
					len += snprintf(detail + len, sizeof(detail) - len,
							" %s=%" PRIu64, error_kind_name(k), delta);
			}
			if (total > 0)
				VHD_LOG(WARNING,
					"port %u (%s) queue %u: dropped %" PRIu64
					" malformed descriptor chains or headers:%s",
					p->id, p->cfg->path, r, total, detail);
		}
	}
	vhd_ports_unlock();
}

/* One port's counters as a telemetry dict. */
/* A port's queues as a telemetry dict "queues": q0 {lcore, rx_pkts, tx_pkts}, ... */
static int
telemetry_queues(const struct vhd_port *p, struct rte_tel_data *d)
{
	struct rte_tel_data *qs = rte_tel_data_alloc();
	char name[8];
	uint64_t rx, tx;
	uint16_t q;

	if (qs == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(qs);
	for (q = 0; q < p->nr_queues; q++) {
		struct rte_tel_data *one = rte_tel_data_alloc();

		if (one == NULL) {
			rte_tel_data_free(qs);
			return -ENOMEM;
		}
		p->ops->queue_counters(p, q, &rx, &tx);
		rte_tel_data_start_dict(one);
		rte_tel_data_add_dict_u64(one, "lcore", p->unit_lcore[q]);
		rte_tel_data_add_dict_u64(one, "rx_pkts", rx);
		rte_tel_data_add_dict_u64(one, "tx_pkts", tx);
		snprintf(name, sizeof(name), "q%u", q);
		if (rte_tel_data_add_dict_container(qs, name, one, 0) != 0) {
			rte_tel_data_free(one);
			rte_tel_data_free(qs);
			return -ENOMEM;
		}
	}
	if (rte_tel_data_add_dict_container(d, "queues", qs, 0) != 0) {
		rte_tel_data_free(qs);
		return -ENOMEM;
	}
	return 0;
}

static int
telemetry_port_dict(const struct vhd_port *p, struct rte_tel_data *d)
{
	struct vhd_port_totals t;
	uint16_t k;
	int rc;

	vhd_port_totals(p, &t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "path", p->cfg->path);
	rte_tel_data_add_dict_string(d, "state", vhd_port_state(p));
	if (t.link >= 0) {
		rte_tel_data_add_dict_string(d, "link", t.link > 0 ? "up" : "down");
		rte_tel_data_add_dict_u64(d, "link_speed", t.link_speed);
	}
	rte_tel_data_add_dict_u64(d, "rx_pkts", t.rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", t.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_pkts", t.tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", t.tx_bytes);
	rte_tel_data_add_dict_u64(d, "drops", t.drops);
	rte_tel_data_add_dict_u64(d, "too_big", t.too_big);
	rte_tel_data_add_dict_u64(d, "vlan_drops", t.vlan_drops);
	rte_tel_data_add_dict_u64(d, "no_mbuf", t.no_mbuf);
	rte_tel_data_add_dict_u64(d, "errors", t.errors);
	for (k = 0; k < VHD_ERR_KINDS; k++)
		rte_tel_data_add_dict_u64(d, error_kind_name(k), t.errors_by_kind[k]);
	rte_tel_data_add_dict_u64(d, "msg_refused", t.msg_refused);
	rte_tel_data_add_dict_u64(d, "mem_faults", t.mem_faults);
	rte_tel_data_add_dict_u64(d, "interrupt_stalls", t.interrupt_stalls);
	rte_tel_data_add_dict_u64(d, "interrupts", t.interrupts);
	rte_tel_data_add_dict_u64(d, "interrupts_failed", t.interrupts_failed);
	rc = telemetry_queues(p, d);
	if (rc != 0)
		return rc;
	return 0;
}

/*
 * Telemetry "/vhostd/ports": each port's state, keyed "portN". Telemetry
 * answers are at most 16 KiB and dicts at most 256 entries: the counters of
 * 256 ports would not fit, so they are per port (/vhostd/port,N), as in
 * DPDK's own /ethdev/list and /ethdev/stats,N.
 */
static int
telemetry_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char name[16];
	uint16_t i;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	RTE_BUILD_BUG_ON(VHD_MAX_PORTS > RTE_TEL_MAX_DICT_ENTRIES);
	rte_tel_data_start_dict(d);
	vhd_ports_lock();
	for (i = 0; i < vhd_nports; i++) {
		if (!vhd_ports[i].present)
			continue;
		snprintf(name, sizeof(name), "port%u", i);
		rte_tel_data_add_dict_string(d, name, vhd_port_state(&vhd_ports[i]));
	}
	vhd_ports_unlock();
	return 0;
}

/* Telemetry "/vhostd/port,N": one port's path, state and counters. */
static int
telemetry_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *end;
	unsigned long id;
	int rc = -EINVAL;

	RTE_SET_USED(cmd);
	if (params == NULL || *params == '\0')
		return -EINVAL;
	errno = 0;
	id = strtoul(params, &end, 10);
	if (errno != 0 || *end != '\0' || id >= VHD_MAX_PORTS)
		return -EINVAL;
	vhd_ports_lock();
	if (id < vhd_nports && vhd_ports[id].present)
		rc = telemetry_port_dict(&vhd_ports[id], d);
	vhd_ports_unlock();
	return rc;
}

/* Telemetry "/vhostd/daemon": what is not per port. */
static int
telemetry_daemon(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", vhd_pools_in_use());
	rte_tel_data_add_dict_u64(d, "ports", vhd_ports_count());
	rte_tel_data_add_dict_u64(d, "no_port_drops", no_port_drops());
	rte_tel_data_add_dict_u64(d, "rss_kib", rss_kib());
	return 0;
}

/* Telemetry "/vhostd/lcores": each worker's load counters since start. */
static int
telemetry_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vhd_lcore_load load[RTE_MAX_LCORE];
	unsigned int n, i;
	char name[16];

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	n = vhd_lcores_load(load, RTE_DIM(load));
	rte_tel_data_start_dict(d);
	for (i = 0; i < n; i++) {
		struct rte_tel_data *l = rte_tel_data_alloc();

		if (l == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(l);
		rte_tel_data_add_dict_u64(l, "busy_cycles", load[i].busy_cycles);
		rte_tel_data_add_dict_u64(l, "idle_cycles", load[i].idle_cycles);
		rte_tel_data_add_dict_u64(l, "busy_loops", load[i].busy_loops);
		rte_tel_data_add_dict_u64(l, "packets", load[i].packets);
		snprintf(name, sizeof(name), "lcore%u", load[i].lcore_id);
		rte_tel_data_add_dict_container(d, name, l, 0);
	}
	return 0;
}

/* Telemetry "/vhostd/pool": print_pool()'s counters, one dict per lcore. */
static int
telemetry_pool(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned int slots[RTE_MAX_LCORE + 1];
	struct vhd_pool_counts c;
	unsigned int n, i;
	char name[16];

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	n = pool_slots(slots);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", vhd_pools_in_use());
	for (i = 0; i < n; i++) {
		struct rte_tel_data *l = rte_tel_data_alloc();

		if (l == NULL)
			return -ENOMEM;
		vhd_pool_counts_read(slots[i], &c);
		rte_tel_data_start_dict(l);
		rte_tel_data_add_dict_u64(l, "alloc", c.alloc);
		rte_tel_data_add_dict_u64(l, "alloc_fail", c.alloc_fail);
		rte_tel_data_add_dict_u64(l, "freed", c.freed);
		rte_tel_data_add_dict_int(l, "in_flight", (int)(int64_t)(c.alloc - c.freed));
		rte_tel_data_add_dict_u64(l, "cache",
					  slots[i] == VHD_POOL_SLOT_OTHER ? 0 :
					  vhd_pools_cache_len(slots[i]));
		if (slots[i] == VHD_POOL_SLOT_OTHER)
			snprintf(name, sizeof(name), "other");
		else
			snprintf(name, sizeof(name), "lcore%u", slots[i]);
		rte_tel_data_add_dict_container(d, name, l, 0);
	}
	return 0;
}

void
vhd_stats_telemetry_register(void)
{
	rte_telemetry_register_cmd("/vhostd/ports", telemetry_ports,
				   "Every port's state (up, down, faulted). No parameters.");
	rte_telemetry_register_cmd("/vhostd/port", telemetry_port,
				   "One port's counters. Parameter: port id.");
	rte_telemetry_register_cmd("/vhostd/daemon", telemetry_daemon,
				   "mbufs in use, ports, resident memory. No parameters.");
	rte_telemetry_register_cmd("/vhostd/lcores", telemetry_lcores,
				   "Per-lcore busy/idle TSC cycles, busy loops, packets. No parameters.");
	rte_telemetry_register_cmd("/vhostd/pool", telemetry_pool,
				   "Per-lcore mbufs allocated, failed, freed, in flight, cached. No parameters.");
}
