/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker lcores: poll units (a port's queue pair), forward, and exchange
 * packets through per-lcore inbound rings. A unit belongs to one lcore,
 * which alone receives from and transmits into its queues; a packet for a
 * multi-queue port is steered to one of its queues by a hash of its flow
 * (steer.h). Ports are reached through their ops (port_ops.h), except on
 * the vhost-to-vhost single-copy path. Nothing in worker_main() logs or makes
 * a system call, except the guest interrupts inside the datapath.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "vhostd/clock.h"
#include "vhostd/fwd.h"
#include "vhostd/handover.h"
#include "vhostd/lcore.h"
#include "vhostd/pool.h"
#include "vhostd/log.h"
#include "vhostd/mac_table.h"
#include "vhostd/port_ops.h"
#include "vhostd/steer.h"

VHD_LOG_REGISTER(lcore);

#define CTRL_RING_SIZE 64
#define INBOUND_RING_SIZE 4096
/* an attach not picked up by then is cancelled; a detach is waited for */
#define ATTACH_TIMEOUT_S 2.0
#define HANDOVER_LOG_EVERY_S 5.0
/*
 * The watchdog's period: a callfd write still under way after one to two
 * periods is interrupted, and the port that made it block is faulted.
 */
#define WATCHDOG_PERIOD_US (50 * 1000)
#define WATCHDOG_SIGNAL SIGUSR2
/*
 * A port that brought nothing for IDLE_AFTER polls in a row leaves the busy
 * list and is polled only in the full pass every IDLE_POLL_EVERY loops, so
 * many idle guests cost the busy ones little; its first packet waits at most
 * that many loops (microseconds).
 */
#define IDLE_AFTER 256
#define IDLE_POLL_EVERY 16

/*
 * ATTACH/DETACH hand a unit a snapshot or take it back; ADD puts a unit on
 * the polled list, REMOVE takes every unit of a port off it.
 */
enum ctrl_type { CTRL_ATTACH, CTRL_DETACH, CTRL_ADD, CTRL_REMOVE };

struct ctrl_msg {
	uint32_t type;
	uint16_t port_id;
	uint16_t queue;
	uint32_t request; /* ATTACH/DETACH: see handover.h; ADD/REMOVE: the worker's list_seq */
	struct vhd_dev_snapshot *snap;
};

/*
 * A packet forwarded from another lcore, with its destination port and that
 * port's generation when it was sent: a port removed since is not the
 * port that may have taken its slot.
 */
struct inbound_item {
	struct rte_mbuf *m;
	uint16_t port_id;
	uint16_t queue;
	uint32_t gen;
};

/* Units: every queue pair of every port slot, numbered port-major. */
#define MAX_UNITS (VHD_MAX_PORTS * VHD_MAX_QUEUE_PAIRS)
#define UNIT(port, q) ((port) * VHD_MAX_QUEUE_PAIRS + (q))
#define UNIT_PORT(u) ((u) / VHD_MAX_QUEUE_PAIRS)
#define UNIT_QUEUE(u) ((u) % VHD_MAX_QUEUE_PAIRS)

/* Packets waiting for one destination unit. */
struct out_buf {
	uint16_t n;
	bool listed; /* in the worker's dirty list */
	struct rte_mbuf *pkts[VHD_BURST_MAX];
};

struct worker {
	unsigned int lcore_id;
	bool used;
	pthread_t thread; /* for the watchdog's signal */
	struct rte_ring *ctrl;
	struct rte_ring *inbound;
	uint32_t list_seq; /* the last ADD/REMOVE applied */
	uint16_t nunits;
	uint16_t units[MAX_UNITS];      /* the units this worker polls (UNIT numbers) */
	uint16_t idle_polls[MAX_UNITS]; /* per entry of units */
	uint16_t busy[MAX_UNITS];       /* entries of units not idle at the last full pass */
	uint16_t nbusy;
	bool full_pass_next; /* the busy list is stale: rebuild it in the next loop */
	uint32_t loops;
	uint32_t loops_done; /* loops ended: the control plane waits for one to pass */
	struct vhd_lcore_load load; /* written only by this worker */
	struct out_buf *out; /* one per unit */
	uint16_t dirty[MAX_UNITS];
	uint16_t ndirty;
	bool stop;
};

static struct worker workers[RTE_MAX_LCORE];
static unsigned int worker_ids[RTE_MAX_LCORE];
static unsigned int nworkers;
static bool workers_running;
static pthread_t watchdog_thread;
static bool watchdog_running;
static bool watchdog_stop;
static struct vhd_mac_table *fwd_mac; /* NULL in pair mode */
static bool single_copy;

static uint64_t tsc_hz;

static inline uint32_t
now_seconds(void)
{
	return rte_get_tsc_cycles() / tsc_hz;
}

static void
out_flush_one(struct worker *w, uint16_t unit)
{
	struct out_buf *b = &w->out[unit];
	uint16_t port_id = UNIT_PORT(unit), q = UNIT_QUEUE(unit);
	struct vhd_port *p = &vhd_ports[port_id];
	struct inbound_item items[VHD_BURST_MAX];
	unsigned int owner;
	uint32_t gen;
	unsigned int sent, i;

	if (b->n == 0)
		return;
	/* a pair's peer slot may be empty, or being set up for a new port */
	if (unlikely(!vhd_port_is_present(p))) {
		vhd_mbuf_free_bulk(b->pkts, b->n);
		__atomic_store_n(&w->load.no_port_drops, w->load.no_port_drops + b->n,
				 __ATOMIC_RELAXED);
		b->n = 0;
		return;
	}
	owner = p->unit_lcore[q];
	if (owner == w->lcore_id) {
		/* sends them, or counts them dropped; frees them all */
		p->ops->tx_burst(p, q, b->pkts, b->n);
		b->n = 0;
		return;
	}
	gen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
	for (i = 0; i < b->n; i++) {
		items[i].m = b->pkts[i];
		items[i].port_id = port_id;
		items[i].queue = q;
		items[i].gen = gen;
	}
	sent = rte_ring_enqueue_burst_elem(workers[owner].inbound, items, sizeof(items[0]),
					   b->n, NULL);
	if (unlikely(sent < b->n)) {
		vhd_mbuf_free_bulk(&b->pkts[sent], b->n - sent);
		__atomic_fetch_add(&p->ring_full_drops, b->n - sent, __ATOMIC_RELAXED);
	}
	b->n = 0;
}

static inline void
out_push(struct worker *w, uint16_t unit, struct rte_mbuf *m)
{
	struct out_buf *b = &w->out[unit];

	if (!b->listed) {
		b->listed = true;
		w->dirty[w->ndirty++] = unit;
	}
	b->pkts[b->n++] = m;
	if (b->n == VHD_BURST_MAX)
		out_flush_one(w, unit);
}

/*
 * The unit of port_id that m goes to: one of the port's enabled transmit
 * queues, by m's flow. The steering table is the port's own copy, never
 * freed: a reader racing a re-attach may pick a queue that just went
 * away, whose transmit then counts the packet as dropped.
 */
static inline uint16_t
dest_unit(uint16_t port_id, const struct rte_mbuf *m)
{
	const struct vhd_port *p = &vhd_ports[port_id];

	return UNIT(port_id, vhd_steer(p->steer_queue, p->steer_queues, m));
}

static void
out_flush(struct worker *w)
{
	uint16_t i;

	for (i = 0; i < w->ndirty; i++) {
		out_flush_one(w, w->dirty[i]);
		w->out[w->dirty[i]].listed = false;
	}
	w->ndirty = 0;
}

/* Sends m to every port of its VLAN that is up, except the one it came from. */
static void
flood(struct worker *w, uint16_t src_port, struct rte_mbuf *m)
{
	uint16_t targets[VHD_MAX_PORTS];
	uint16_t n = 0, i;

	for (i = 0; i < vhd_nports; i++)
		if (i != src_port && vhd_port_is_up(&vhd_ports[i]) &&
		    vhd_fwd_port_in_vlan(i, m->vlan_tci))
			targets[n++] = i;
	if (n == 0) {
		vhd_mbuf_free(m);
		return;
	}
	/* one reference per destination, on every segment: each transmit frees its own */
	rte_pktmbuf_refcnt_update(m, n - 1);
	for (i = 0; i < n; i++)
		out_push(w, dest_unit(targets[i], m), m);
}

static void
dispatch(struct worker *w, uint16_t src_port, struct rte_mbuf **pkts, uint16_t n, uint32_t now)
{
	uint16_t dst[VHD_BURST_MAX];
	uint16_t i;

	vhd_fwd_decide(src_port, pkts, n, dst, now);
	for (i = 0; i < n; i++) {
		if (dst[i] == VHD_FWD_FLOOD)
			flood(w, src_port, pkts[i]);
		else if (unlikely(dst[i] == VHD_FWD_DROP))
			vhd_mbuf_free(pkts[i]);
		else
			out_push(w, dest_unit(dst[i], pkts[i]), pkts[i]);
	}
}

/*
 * The single-copy path, a vhost-to-vhost special case that bypasses the
 * ops: when both ports of a pair are vhost ports, the peer transmits into
 * one queue only (nothing to steer) and this lcore polls both units,
 * guest buffers are copied straight into the peer guest's, with no mbuf.
 * Returns -1 when it does not apply.
 */
static int
poll_unit_direct(struct worker *w, struct vhd_port *p, uint16_t q)
{
	int peer_id = vhd_fwd_fixed_peer(p->id);
	struct vhd_dev_snapshot *peer_snap;
	struct vhd_port *peer;
	uint16_t pq;

	if (!single_copy || peer_id < 0)
		return -1;
	peer = &vhd_ports[peer_id];
	if (p->ops != &vhd_port_vhost_ops || peer->ops != &vhd_port_vhost_ops ||
	    !vhd_port_is_up(peer) || peer->steer_queues > 1)
		return -1;
	pq = peer->steer_queue[0];
	if (peer->unit_lcore[pq] != w->lcore_id)
		return -1;
	/* this lcore's own: unit pq is attached and ours to touch, or NULL */
	peer_snap = peer->unit_active[pq];
	if (peer_snap == NULL || peer->vq[2 * pq].desc == NULL)
		return -1;
	/* a peer that cannot take our offloads gets them done on the mbuf path */
	if (!vhd_net_offloads_fit(p->unit_active[q]->features, peer_snap->features))
		return -1;
	if (p->vq[2 * q + 1].desc == NULL)
		return 0;
	/* one copy needs both rings in one layout; else the mbuf path */
	if (!vhd_virtq_can_forward(&p->vq[2 * q + 1], &peer->vq[2 * pq]))
		return -1;
	/* keep the order: what the mbuf path queued for the peer goes first */
	out_flush_one(w, UNIT(peer->id, pq));
	return vhd_virtq_forward_burst(&p->vq[2 * q + 1], &peer->vq[2 * pq], VHD_BURST_MAX);
}

/* Receives from queue q of p and forwards; returns the packets. */
static unsigned int
poll_unit(struct worker *w, struct vhd_port *p, uint16_t q, uint32_t now)
{
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	uint16_t n, i;
	int direct;

	direct = poll_unit_direct(w, p, q);
	if (direct >= 0)
		return direct;
	n = p->ops->rx_burst(p, q, pkts, VHD_BURST_MAX);
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		pkts[i]->port = p->id;
	dispatch(w, p->id, pkts, n, now);
	return n;
}

/*
 * Polls entry i of the worker's units if it is attached and adds what it
 * received to *moved; false once the unit is idle.
 */
static inline bool
poll_entry(struct worker *w, uint16_t i, uint32_t now, unsigned int *moved)
{
	uint16_t unit = w->units[i], q = UNIT_QUEUE(unit);
	struct vhd_port *p = &vhd_ports[UNIT_PORT(unit)];
	unsigned int got;

	/* a faulted port's memory or callfd is not to be touched again */
	if (p->unit_active[q] == NULL || vhd_port_is_faulted(p))
		return false;
	got = poll_unit(w, p, q, now);
	*moved += got;
	if (got > 0)
		w->idle_polls[i] = 0;
	else if (w->idle_polls[i] < IDLE_AFTER)
		w->idle_polls[i]++;
	return w->idle_polls[i] < IDLE_AFTER;
}

static unsigned int
drain_inbound(struct worker *w)
{
	struct inbound_item items[VHD_BURST_MAX];
	unsigned int n, i;

	n = rte_ring_dequeue_burst_elem(w->inbound, items, sizeof(items[0]), VHD_BURST_MAX, NULL);
	for (i = 0; i < n; i++) {
		struct vhd_port *p = &vhd_ports[items[i].port_id];

		/* sent to a port removed since: never to the one in its slot now */
		if (unlikely(items[i].gen != __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) ||
			     p->unit_lcore[items[i].queue] != w->lcore_id)) {
			vhd_mbuf_free(items[i].m);
			__atomic_store_n(&w->load.no_port_drops, w->load.no_port_drops + 1,
					 __ATOMIC_RELAXED);
			continue;
		}
		out_push(w, UNIT(items[i].port_id, items[i].queue), items[i].m);
	}
	return n;
}

/*
 * Charges the time since the previous loop to busy or idle, so that users
 * can tell a saturated lcore from one that waits for its guests.
 */
static inline void
account_loop(struct worker *w, unsigned int moved, uint64_t *tsc_prev)
{
	struct vhd_lcore_load *l = &w->load;
	uint64_t tsc = rte_rdtsc();
	uint64_t spent = tsc - *tsc_prev;

	*tsc_prev = tsc;
	/* relaxed stores: the stats reader gets whole values, no ordering needed */
	if (moved > 0) {
		__atomic_store_n(&l->busy_cycles, l->busy_cycles + spent, __ATOMIC_RELAXED);
		__atomic_store_n(&l->busy_loops, l->busy_loops + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&l->packets, l->packets + moved, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&l->idle_cycles, l->idle_cycles + spent, __ATOMIC_RELAXED);
	}
}

static void
unit_attach(struct vhd_port *p, uint16_t q, struct vhd_dev_snapshot *snap)
{
	p->ops->attach(p, q, snap);
	/* release: the unit's state is set up before its lcore polls it */
	__atomic_store_n(&p->unit_active[q], snap, __ATOMIC_RELEASE);
}

static void
unit_detach(struct worker *w, struct vhd_port *p, uint16_t q)
{
	if (p->unit_active[q] == NULL)
		return;
	/* packets already queued for this unit go out now, while it is mapped */
	out_flush_one(w, UNIT(p->id, q));
	p->ops->detach(p, q);
	/* release: the control plane frees snap once every unit let go */
	__atomic_store_n(&p->unit_active[q], NULL, __ATOMIC_RELEASE);
}

/* Puts a unit on the worker's list; it is polled once it is attached. */
static void
list_add(struct worker *w, uint16_t unit)
{
	w->idle_polls[w->nunits] = 0;
	w->units[w->nunits++] = unit;
}

/* Takes every unit of port_id off the worker's list; the busy list is rebuilt next loop. */
static void
list_remove(struct worker *w, uint16_t port_id)
{
	uint16_t i = 0;

	while (i < w->nunits) {
		if (UNIT_PORT(w->units[i]) != port_id) {
			i++;
			continue;
		}
		w->nunits--;
		w->units[i] = w->units[w->nunits];
		w->idle_polls[i] = w->idle_polls[w->nunits];
	}
	/* entries of the busy list are indices into units, now moved */
	w->nbusy = 0;
	w->full_pass_next = true;
}

static void
handle_ctrl(struct worker *w)
{
	struct ctrl_msg msg;

	while (rte_ring_dequeue_elem(w->ctrl, &msg, sizeof(msg)) == 0) {
		struct vhd_port *p = &vhd_ports[msg.port_id];

		if (msg.type == CTRL_ADD || msg.type == CTRL_REMOVE) {
			if (msg.type == CTRL_ADD)
				list_add(w, UNIT(msg.port_id, msg.queue));
			else
				list_remove(w, msg.port_id);
			__atomic_store_n(&w->list_seq, msg.request, __ATOMIC_RELEASE);
			continue;
		}

		/* cancelled or superseded: the snapshot is not ours */
		if (!vhd_handover_claim(p, msg.request))
			continue;
		if (msg.type == CTRL_ATTACH)
			unit_attach(p, msg.queue, msg.snap);
		else
			unit_detach(w, p, msg.queue);
		vhd_handover_complete(p, msg.request);
	}
}

static int
worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t tsc_prev = rte_rdtsc();
	uint16_t i;

	__atomic_store_n(&w->thread, pthread_self(), __ATOMIC_RELEASE);
	if (fwd_mac != NULL)
		vhd_mac_table_reader_online(fwd_mac, w->lcore_id);
	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		/* only MAC learning needs the time */
		uint32_t now = fwd_mac != NULL ? now_seconds() : 0;
		bool poll_idle = (++w->loops % IDLE_POLL_EVERY) == 0 || w->full_pass_next;
		unsigned int moved = 0;

		if (unlikely(!rte_ring_empty(w->ctrl)))
			handle_ctrl(w);
		if (poll_idle) {
			/* a full pass over every unit, which also rebuilds the busy list */
			w->full_pass_next = false;
			w->nbusy = 0;
			for (i = 0; i < w->nunits; i++)
				if (poll_entry(w, i, now, &moved))
					w->busy[w->nbusy++] = i;
		} else {
			for (i = 0; i < w->nbusy; i++)
				poll_entry(w, w->busy[i], now, &moved);
		}
		moved += drain_inbound(w);
		out_flush(w);
		if (fwd_mac != NULL)
			vhd_mac_table_quiescent(fwd_mac, w->lcore_id);
		account_loop(w, moved, &tsc_prev);
		/* release: what this loop sent is out before the control plane sees it end */
		__atomic_store_n(&w->loops_done, w->loops, __ATOMIC_RELEASE);
	}
	handle_ctrl(w);
	if (fwd_mac != NULL)
		vhd_mac_table_reader_offline(fwd_mac, w->lcore_id);
	return 0;
}

int
vhd_lcores_init(const struct vhd_config *cfg, struct vhd_mac_table *mac)
{
	unsigned int lcore;
	char name[RTE_RING_NAMESIZE];
	unsigned int i;

	fwd_mac = mac;
	single_copy = cfg->single_copy;
	tsc_hz = rte_get_tsc_hz();
	nworkers = 0;
	RTE_LCORE_FOREACH_WORKER(lcore)
		worker_ids[nworkers++] = lcore;
	if (nworkers == 0) {
		VHD_LOG(ERR, "no worker lcore: give EAL at least two lcores (e.g. -- -l 0,1)");
		return -EINVAL;
	}
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[worker_ids[i]];
		int socket = rte_lcore_to_socket_id(worker_ids[i]);

		w->lcore_id = worker_ids[i];
		w->used = true;
		snprintf(name, sizeof(name), "vhd_ctrl_%u", w->lcore_id);
		w->ctrl = rte_ring_create_elem(name, sizeof(struct ctrl_msg), CTRL_RING_SIZE,
					       socket, RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "vhd_in_%u", w->lcore_id);
		w->inbound = rte_ring_create_elem(name, sizeof(struct inbound_item),
						  INBOUND_RING_SIZE, socket, RING_F_SC_DEQ);
		w->out = rte_zmalloc_socket("vhd_out", sizeof(*w->out) * MAX_UNITS,
					    RTE_CACHE_LINE_SIZE, socket);
		if (w->ctrl == NULL || w->inbound == NULL || w->out == NULL) {
			VHD_LOG(ERR, "lcore %u: cannot allocate rings: %s", w->lcore_id,
				rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	VHD_LOG(INFO, "%u forwarding lcores, fwd=%s", nworkers, vhd_fwd_mode_name(cfg->fwd_mode));
	return 0;
}

/* Only there to make a blocked write return EINTR (no SA_RESTART). */
static void
on_watchdog_signal(int sig)
{
	RTE_SET_USED(sig);
}

/*
 * Interrupts callfd writes that block. vhostd makes every callfd
 * non-blocking, but the flag belongs to a file description the frontend
 * shares and can clear again; with the eventfd's counter full, the write
 * would then hang the lcore and every port on it. A write still under way
 * after one to two periods is interrupted by a signal, and its port is
 * faulted so the lcore never writes there again.
 */
static void *
watchdog_main(void *arg)
{
	static uint32_t seen[VHD_MAX_PORTS][VHD_MAX_VRINGS];
	uint16_t i, r;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&watchdog_stop, __ATOMIC_RELAXED)) {
		usleep(WATCHDOG_PERIOD_US);
		for (i = 0; i < vhd_nports; i++) {
			struct vhd_port *p = &vhd_ports[i];

			/* only vhost ports interrupt a guest through a callfd */
			if (p->ops != &vhd_port_vhost_ops)
				continue;
			for (r = 0; r < VHD_MAX_VRINGS; r++) {
				uint32_t seq = __atomic_load_n(&p->vq[r].notify_seq,
							       __ATOMIC_RELAXED);

				if ((seq & 1) && seq == seen[i][r]) {
					__atomic_store_n(&p->faulted, true, __ATOMIC_RELAXED);
					VHD_PORT_COUNT(p, interrupt_stalls);
					/* the lcore of the unit whose vring it is */
					pthread_kill(__atomic_load_n(&workers[p->unit_lcore[r / 2]].thread,
								     __ATOMIC_ACQUIRE),
						     WATCHDOG_SIGNAL);
				}
				seen[i][r] = seq;
			}
		}
	}
	return NULL;
}

int
vhd_lcores_launch(void)
{
	struct sigaction sa;
	unsigned int lcore;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_watchdog_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(WATCHDOG_SIGNAL, &sa, NULL);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (!workers[lcore].used)
			continue;
		rc = rte_eal_remote_launch(worker_main, &workers[lcore], lcore);
		if (rc != 0) {
			VHD_LOG(ERR, "cannot launch lcore %u: %s", lcore, strerror(-rc));
			vhd_lcores_stop();
			return rc;
		}
	}
	__atomic_store_n(&workers_running, true, __ATOMIC_RELEASE);
	rc = pthread_create(&watchdog_thread, NULL, watchdog_main, NULL);
	if (rc != 0) {
		VHD_LOG(ERR, "cannot start the callfd watchdog: %s", strerror(rc));
		vhd_lcores_stop();
		return -rc;
	}
	watchdog_running = true;
	return 0;
}

/* Frees every mbuf a worker still holds, so the pools end where they began. */
static void
worker_drop_all(struct worker *w)
{
	struct inbound_item item;
	uint16_t i;

	for (i = 0; i < MAX_UNITS; i++) {
		vhd_mbuf_free_bulk(w->out[i].pkts, w->out[i].n);
		w->out[i].n = 0;
	}
	while (rte_ring_dequeue_elem(w->inbound, &item, sizeof(item)) == 0)
		vhd_mbuf_free(item.m);
}

void
vhd_lcores_stop(void)
{
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore)
		__atomic_store_n(&workers[lcore].stop, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	/* only now: a write may still need interrupting while the lcores stop */
	if (watchdog_running) {
		__atomic_store_n(&watchdog_stop, true, __ATOMIC_RELAXED);
		pthread_join(watchdog_thread, NULL);
		watchdog_running = false;
	}
	__atomic_store_n(&workers_running, false, __ATOMIC_RELEASE);
	RTE_LCORE_FOREACH_WORKER(lcore)
		if (workers[lcore].used)
			worker_drop_all(&workers[lcore]);
}

void
vhd_lcores_free(void)
{
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[lcore];

		rte_ring_free(w->ctrl);
		rte_ring_free(w->inbound);
		rte_free(w->out);
		memset(w, 0, sizeof(*w));
	}
}

/*
 * Sends a request to the port's lcore and waits until the lcore applied it.
 * With a timeout, a request still unclaimed by then is cancelled and never
 * applied (handover.h); timeout 0 waits as long as it takes. Called with the
 * port's registry lock held. Returns 0 or -ETIMEDOUT.
 */
static int
handover(struct vhd_port *p, uint16_t q, enum ctrl_type type, struct vhd_dev_snapshot *snap,
	 double timeout_s)
{
	struct ctrl_msg msg = {.type = type, .port_id = p->id, .queue = q, .snap = snap};
	double start = vhd_now_monotonic(), next_log = start + HANDOVER_LOG_EVERY_S;
	unsigned int lcore = p->unit_lcore[q];

	msg.request = vhd_handover_post(p);
	if (!__atomic_load_n(&workers_running, __ATOMIC_ACQUIRE)) {
		/* no lcore polls: nobody else can be touching the unit */
		vhd_handover_claim(p, msg.request);
		if (type == CTRL_ATTACH)
			unit_attach(p, q, snap);
		else
			unit_detach(&workers[lcore], p, q);
		vhd_handover_complete(p, msg.request);
		return 0;
	}
	while (rte_ring_enqueue_elem(workers[lcore].ctrl, &msg, sizeof(msg)) != 0)
		usleep(100);
	while (!vhd_handover_is_done(p, msg.request)) {
		double now = vhd_now_monotonic();

		if (timeout_s > 0 && now - start >= timeout_s) {
			if (vhd_handover_cancel(p, msg.request)) {
				VHD_LOG(ERR, "port %u queue %u: lcore %u did not answer in %.1f s, cancelled",
					p->id, q, lcore, timeout_s);
				return -ETIMEDOUT;
			}
			timeout_s = 0; /* claimed just now: it is being applied */
		}
		if (now >= next_log) {
			VHD_LOG(WARNING, "port %u queue %u: still waiting for lcore %u after %.0f s",
				p->id, q, lcore, now - start);
			next_log += HANDOVER_LOG_EVERY_S;
		}
		usleep(50);
	}
	return 0;
}

unsigned int
vhd_lcores_load(struct vhd_lcore_load *out, unsigned int max)
{
	unsigned int lcore, n = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		const struct vhd_lcore_load *l = &workers[lcore].load;

		if (!workers[lcore].used || n == max)
			continue;
		out[n].lcore_id = lcore;
		out[n].busy_cycles = __atomic_load_n(&l->busy_cycles, __ATOMIC_RELAXED);
		out[n].idle_cycles = __atomic_load_n(&l->idle_cycles, __ATOMIC_RELAXED);
		out[n].busy_loops = __atomic_load_n(&l->busy_loops, __ATOMIC_RELAXED);
		out[n].packets = __atomic_load_n(&l->packets, __ATOMIC_RELAXED);
		out[n].no_port_drops = __atomic_load_n(&l->no_port_drops, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

/* The library unmaps the memory after we return: waits however long it takes. */
static void
units_detach(struct vhd_port *p, uint16_t nr)
{
	uint16_t q;

	for (q = 0; q < nr; q++)
		handover(p, q, CTRL_DETACH, NULL, 0);
}

int
vhd_lcore_attach(struct vhd_port *p, struct vhd_dev_snapshot *snap)
{
	uint16_t q, n = RTE_MAX(snap->tx_queues, (uint16_t)1);

	/* the port's own copy, read by any lcore that forwards to it (dest_unit) */
	for (q = 0; q < n; q++)
		p->steer_queue[q] = snap->tx_queues ? snap->tx_queue[q] : 0;
	__atomic_store_n(&p->steer_queues, n, __ATOMIC_RELEASE);
	for (q = 0; q < p->nr_queues; q++) {
		if (handover(p, q, CTRL_ATTACH, snap, ATTACH_TIMEOUT_S) != 0) {
			/* the units before q took it: they let go before the caller frees it */
			units_detach(p, q);
			return -ETIMEDOUT;
		}
	}
	/* release: every unit polls snap before anyone forwards to the port */
	__atomic_store_n(&p->active, snap, __ATOMIC_RELEASE);
	return 0;
}

struct vhd_dev_snapshot *
vhd_lcore_detach(struct vhd_port *p)
{
	struct vhd_dev_snapshot *snap = __atomic_load_n(&p->active, __ATOMIC_ACQUIRE);

	if (snap == NULL)
		return NULL;
	/* no new floods to it; what is on its way is sent or counted by each unit */
	__atomic_store_n(&p->active, NULL, __ATOMIC_RELEASE);
	units_detach(p, p->nr_queues);
	return snap;
}

/* Sends an ADD or REMOVE to the worker and waits until it applied it. */
static void
list_change(struct worker *w, enum ctrl_type type, uint16_t port_id, uint16_t q)
{
	struct ctrl_msg msg = {.type = type, .port_id = port_id, .queue = q};

	msg.request = w->list_seq + 1;
	if (!__atomic_load_n(&workers_running, __ATOMIC_ACQUIRE)) {
		if (type == CTRL_ADD)
			list_add(w, UNIT(port_id, q));
		else
			list_remove(w, port_id);
		w->list_seq = msg.request;
		return;
	}
	while (rte_ring_enqueue_elem(w->ctrl, &msg, sizeof(msg)) != 0)
		usleep(100);
	while (__atomic_load_n(&w->list_seq, __ATOMIC_ACQUIRE) != msg.request)
		usleep(50);
}

/*
 * The rule: queue q of a port goes to worker (base + q) mod n, base being
 * the worker with the fewest units when the port is added. A port's
 * queues are thus on as many different lcores as there are, whichever of
 * them the guest enables (Linux enables the first ones, one per vCPU),
 * and ports start where there is the most room.
 */
int
vhd_lcore_port_add(struct vhd_port *p)
{
	unsigned int base = 0, i;
	char where[8 * VHD_MAX_QUEUE_PAIRS] = "";
	size_t len = 0;
	uint16_t q;

	if (nworkers == 0)
		return -ENOSPC;
	for (i = 1; i < nworkers; i++)
		if (workers[worker_ids[i]].nunits < workers[worker_ids[base]].nunits)
			base = i;
	p->nr_queues = RTE_MIN(RTE_MAX(p->ops->nr_queues(p->cfg), (uint16_t)1),
			       (uint16_t)VHD_MAX_QUEUE_PAIRS);
	for (q = 0; q < p->nr_queues; q++) {
		struct worker *w = &workers[worker_ids[(base + q) % nworkers]];

		if (w->nunits == MAX_UNITS)
			return -ENOSPC; /* cannot happen: MAX_UNITS is every unit there is */
		p->unit_lcore[q] = w->lcore_id;
		list_change(w, CTRL_ADD, p->id, q);
		len += snprintf(where + len, sizeof(where) - len, "%s%u", q ? "," : "", w->lcore_id);
	}
	p->lcore_id = p->unit_lcore[0];
	VHD_LOG(INFO, "port %u: %u queue pair%s polled by lcore%s %s", p->id, p->nr_queues,
		p->nr_queues > 1 ? "s" : "", p->nr_queues > 1 ? "s" : "", where);
	return 0;
}

/* Waits until every running worker ended a loop that began after this call. */
static void
lcores_pass(void)
{
	uint32_t seen[RTE_MAX_LCORE];
	unsigned int lcore;

	if (!__atomic_load_n(&workers_running, __ATOMIC_ACQUIRE))
		return;
	RTE_LCORE_FOREACH_WORKER(lcore)
		seen[lcore] = __atomic_load_n(&workers[lcore].loops_done, __ATOMIC_ACQUIRE);
	/* the loop under way may have begun before: wait for the one after it */
	RTE_LCORE_FOREACH_WORKER(lcore) {
		const struct worker *w = &workers[lcore];

		while (w->used && __atomic_load_n(&w->loops_done, __ATOMIC_ACQUIRE) - seen[lcore] < 2)
			usleep(20);
	}
}

void
vhd_lcore_port_remove(struct vhd_port *p)
{
	unsigned int i;
	uint16_t q;

	/* every worker that polls one of its units */
	for (i = 0; i < nworkers; i++)
		for (q = 0; q < p->nr_queues; q++)
			if (p->unit_lcore[q] == worker_ids[i]) {
				list_change(&workers[worker_ids[i]], CTRL_REMOVE, p->id, 0);
				break;
			}
	/* no worker still holds a packet or a decision for the port ... */
	lcores_pass();
	/* ... and what waits in an inbound ring is now stale */
	__atomic_fetch_add(&p->gen, 1, __ATOMIC_RELEASE);
}
