/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user port: a guest's virtqueues, from the snapshot the registry
 * hands over. Queue pair q is a polling unit: we receive from vring 2q+1
 * (what the guest transmits) and transmit into vring 2q (a guest receive
 * queue); only unit q's lcore touches the two.
 */
#include <rte_common.h>
#include <rte_mbuf.h>

#include "vhostd/pool.h"
#include "vhostd/port.h"
#include "vhostd/port_ops.h"
#include "vhostd/registry.h"
#include "vhostd/stats.h"

/* The polling lcore writes these; a relaxed load reads a whole value. */
#define READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static uint16_t
vhost_nr_queues(const struct vhd_port_config *cfg)
{
	return cfg->queues;
}

static uint16_t
vhost_rx_burst(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhd_virtq *vq = &p->vq[2 * q + 1];

	/* a vring the frontend did not set up, or has not enabled */
	if (vq->desc == NULL)
		return 0;
	return vhd_virtq_rx_burst(vq, p->unit_active[q]->pool, pkts, n);
}

static void
vhost_tx_burst(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhd_virtq *vq = &p->vq[2 * q];

	/* a faulted port's memory or callfd is not to be touched again */
	if (likely(p->unit_active[q] != NULL && vq->desc != NULL && !vhd_port_is_faulted(p)))
		vhd_virtq_tx_burst(vq, pkts, n);
	else
		__atomic_fetch_add(&p->tx_down_drops, n, __ATOMIC_RELAXED);
	/* copied into the guest, or dropped: either way ours to free */
	vhd_mbuf_free_bulk(pkts, n);
}

static void
vhost_attach(struct vhd_port *p, uint16_t q, struct vhd_dev_snapshot *snap)
{
	uint16_t r;

	for (r = 2 * q; r < 2 * q + 2; r++) {
		struct vhd_virtq *vq = &p->vq[r];
		const struct vhd_vring_info *vi = &snap->vring[r];

		/* counters survive reconnects; everything else is the snapshot's */
		vq->desc = NULL;
		if (r >= snap->nr_vrings || vi->desc == NULL)
			continue;
		vq->desc = vi->desc;
		vq->avail = vi->avail;
		vq->used = vi->used;
		vq->size = vi->size;
		vq->last_avail_idx = vi->last_avail_idx;
		vq->last_used_idx = vi->last_used_idx;
		vq->callfd = vi->callfd;
		vq->mem = &snap->mem;
		/* the registry validated the ring, so this cannot fail */
		if (vhd_virtq_init(vq, snap->features) != 0)
			vq->desc = NULL;
		vhd_virtq_set_mtu(vq, snap->mtu);
	}
}

static void
vhost_detach(struct vhd_port *p, uint16_t q)
{
	struct vhd_dev_snapshot *snap = p->unit_active[q];
	uint16_t r;

	/* the registry writes these back, so a reconnect resumes here */
	for (r = 2 * q; r < 2 * q + 2 && r < snap->nr_vrings; r++) {
		if (p->vq[r].desc != NULL) {
			vhd_virtq_positions(&p->vq[r], &snap->final_avail_idx[r],
					    &snap->final_used_idx[r]);
		} else {
			snap->final_avail_idx[r] = snap->vring[r].last_avail_idx;
			snap->final_used_idx[r] = snap->vring[r].last_used_idx;
		}
		p->vq[r].desc = NULL;
	}
}

static void
vhost_queue_counters(const struct vhd_port *p, uint16_t q, uint64_t *rx_pkts, uint64_t *tx_pkts)
{
	*rx_pkts = READ(p->vq[2 * q + 1].stats.packets);
	*tx_pkts = READ(p->vq[2 * q].stats.packets);
}

/* Malformed input, one index for both kinds: descriptor chains, then headers. */
static uint64_t
error_kind_count(const struct vhd_virtq_stats *s, unsigned int k)
{
	return k < VHD_DESC_ERR_MAX ? READ(s->errors[k]) : READ(s->hdr_errors[k - VHD_DESC_ERR_MAX]);
}

static void
vhost_counters(const struct vhd_port *p, struct vhd_port_totals *t)
{
	uint16_t r, k;

	for (r = 0; r < VHD_MAX_VRINGS; r++) {
		const struct vhd_virtq_stats *s = &p->vq[r].stats;

		/* odd vrings: what the guest sends us; even: what we send it */
		if (r % 2) {
			t->rx_pkts += READ(s->packets);
			t->rx_bytes += READ(s->bytes);
			t->no_mbuf += READ(s->no_mbuf);
		} else {
			t->tx_pkts += READ(s->packets);
			t->tx_bytes += READ(s->bytes);
			t->drops += READ(s->no_room);
		}
		for (k = 0; k < VHD_ERR_KINDS; k++) {
			uint64_t n = error_kind_count(s, k);

			t->errors_by_kind[k] += n;
			t->errors += n;
		}
		t->too_big += READ(s->too_big);
		t->interrupts += READ(s->interrupts);
		t->interrupts_failed += READ(s->interrupts_failed);
	}
	t->drops += t->too_big + READ(p->tx_down_drops);
	t->msg_refused += READ(p->msg_refused);
	t->mem_faults += READ(p->mem_faults);
	t->interrupt_stalls += READ(p->interrupt_stalls);
}

static bool
vhost_errors(const struct vhd_port *p, uint16_t i, uint64_t *by_kind)
{
	unsigned int k;

	if (i >= VHD_MAX_VRINGS)
		return false;
	for (k = 0; k < VHD_ERR_KINDS; k++)
		by_kind[k] = error_kind_count(&p->vq[i].stats, k);
	return true;
}

const struct vhd_port_ops vhd_port_vhost_ops = {
	.kind = "vhost",
	.open = vhd_registry_port_open,
	.close = vhd_registry_port_close,
	.nr_queues = vhost_nr_queues,
	.rx_burst = vhost_rx_burst,
	.tx_burst = vhost_tx_burst,
	.attach = vhost_attach,
	.detach = vhost_detach,
	.counters = vhost_counters,
	.queue_counters = vhost_queue_counters,
	.errors = vhost_errors,
};

RTE_INIT(port_vhost_register)
{
	vhd_port_kind_register(&vhd_port_vhost_ops);
}
