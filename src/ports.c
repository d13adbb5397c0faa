/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port table: adds ports to a free slot and removes them while the
 * daemon runs. Adding touches no other port: the new port goes onto one
 * worker's list through its control ring, then its kind opens it. Removing
 * closes it (the lcore lets go of it), takes it off the list, forgets its
 * MACs and waits until no lcore holds a packet for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "vhostd/fwd.h"
#include "vhostd/lcore.h"
#include "vhostd/log.h"
#include "vhostd/port_ops.h"
#include "vhostd/ports.h"
#include "vhostd/stats.h"

VHD_LOG_REGISTER(ports);

struct vhd_port *vhd_ports;
uint16_t vhd_nports;

/* each slot's configuration: only written while the slot is free */
static struct vhd_port_config cfgs[VHD_MAX_PORTS];
static uint16_t count;
/* recursive: a walk may call what locks again (stats inside a request) */
static pthread_mutex_t table_lock;

int
vhd_ports_init(void)
{
	pthread_mutexattr_t attr;

	vhd_ports = rte_zmalloc("vhd_ports", sizeof(*vhd_ports) * VHD_MAX_PORTS,
				RTE_CACHE_LINE_SIZE);
	if (vhd_ports == NULL)
		return -ENOMEM;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&table_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return 0;
}

void
vhd_ports_free(void)
{
	rte_free(vhd_ports);
	vhd_ports = NULL;
	vhd_nports = 0;
}

void
vhd_ports_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void
vhd_ports_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

uint16_t
vhd_ports_count(void)
{
	return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

struct vhd_port *
vhd_port_find(const char *name)
{
	uint16_t i;

	for (i = 0; i < vhd_nports; i++)
		if (vhd_ports[i].present && strcmp(vhd_ports[i].cfg->path, name) == 0)
			return &vhd_ports[i];
	return NULL;
}

/*
 * The lowest free slot. In pair mode the pairs are slots 2k, 2k+1, so a
 * port added at runtime fills a gap left by a removed one.
 */
static int
slot_find_free(void)
{
	uint16_t i;

	for (i = 0; i < VHD_MAX_PORTS; i++)
		if (!vhd_ports[i].present)
			return i;
	return -1;
}

int
vhd_port_add(const struct vhd_port_config *cfg, FILE *err)
{
	const struct vhd_port_ops *ops = vhd_port_kind_find(cfg->kind);
	struct vhd_port *p;
	int slot, rc;

	if (ops == NULL) {
		fprintf(err, "%s: unknown port kind '%s'\n", cfg->path, cfg->kind);
		return -EINVAL;
	}
	vhd_ports_lock();
	if (vhd_port_find(cfg->path) != NULL) {
		fprintf(err, "%s: already a port\n", cfg->path);
		rc = -EEXIST;
		goto out;
	}
	slot = slot_find_free();
	if (slot < 0) {
		fprintf(err, "%s: no free port (at most %d)\n", cfg->path, VHD_MAX_PORTS);
		rc = -ENOSPC;
		goto out;
	}
	p = &vhd_ports[slot];
	cfgs[slot] = *cfg;
	/* what a previous port of the slot left: counters and state start anew */
	memset(p, 0, offsetof(struct vhd_port, gen));
	memset(&p->cfg, 0, sizeof(*p) - offsetof(struct vhd_port, cfg));
	p->id = slot;
	p->cfg = &cfgs[slot];
	p->ops = ops;
	rc = vhd_fwd_port_added(slot, cfg->vlan, ops->vlan_trunk);
	if (rc != 0) {
		fprintf(err, "%s: vlan=%u needs --fwd l2\n", cfg->path, cfg->vlan);
		goto out;
	}
	rc = vhd_lcore_port_add(p);
	if (rc != 0) {
		fprintf(err, "%s: no forwarding lcore can take it\n", cfg->path);
		goto out;
	}
	if (slot >= vhd_nports)
		__atomic_store_n(&vhd_nports, slot + 1, __ATOMIC_RELEASE);
	/* release: cfg and ops are set before anyone sees the port */
	__atomic_store_n(&p->present, true, __ATOMIC_RELEASE);
	rc = ops->open(p, err);
	if (rc != 0) {
		__atomic_store_n(&p->present, false, __ATOMIC_RELEASE);
		vhd_lcore_port_remove(p);
		goto out;
	}
	__atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
	VHD_LOG(INFO, "port %d: %s %s added on lcore %u", slot, cfg->kind, cfg->path,
		p->lcore_id);
	rc = slot;
out:
	vhd_ports_unlock();
	return rc;
}

static void
port_remove(struct vhd_port *p)
{
	struct vhd_port_totals t;

	p->ops->close(p);
	/* its counters go with it: the last word on them is in the log */
	vhd_port_totals(p, &t);
	VHD_LOG(INFO,
		"port %u final: rx_pkts=%" PRIu64 " tx_pkts=%" PRIu64 " drops=%" PRIu64
		" errors=%" PRIu64,
		p->id, t.rx_pkts, t.tx_pkts, t.drops, t.errors);
	__atomic_store_n(&p->present, false, __ATOMIC_RELEASE);
	vhd_fwd_port_removed(p->id);
	vhd_lcore_port_remove(p);
	__atomic_fetch_sub(&count, 1, __ATOMIC_RELAXED);
	VHD_LOG(INFO, "port %u: %s %s removed", p->id, p->cfg->kind, p->cfg->path);
}

int
vhd_port_del(const char *name, FILE *err)
{
	struct vhd_port *p;
	int rc = 0;

	vhd_ports_lock();
	p = vhd_port_find(name);
	if (p != NULL)
		port_remove(p);
	else {
		fprintf(err, "%s: no such port\n", name);
		rc = -ENOENT;
	}
	vhd_ports_unlock();
	return rc;
}

void
vhd_ports_close_all(void)
{
	int i;

	vhd_ports_lock();
	for (i = vhd_nports - 1; i >= 0; i--)
		if (vhd_ports[i].present)
			vhd_ports[i].ops->close(&vhd_ports[i]);
	vhd_ports_unlock();
}
