/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Polling units (src/lcore.c): which lcore polls each queue pair of a port,
 * and the hand-over of a snapshot to every unit's own lcore. Runs EAL with
 * two worker lcores (on CPU 0) and a port kind of its own that records
 * which lcore attached and detached each queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include "vhostd/config.h"
#include "vhostd/fwd.h"
#include "vhostd/lcore.h"
#include "vhostd/port.h"
#include "vhostd/port_ops.h"
#include "vhostd/ports.h"

/* What the recording kind saw, per port slot and queue. */
static int attached_on[VHD_MAX_PORTS][VHD_MAX_QUEUE_PAIRS];
static int detached_on[VHD_MAX_PORTS][VHD_MAX_QUEUE_PAIRS];

static uint16_t
rec_nr_queues(const struct vhd_port_config *cfg)
{
	return cfg->queues;
}

static int
rec_open(struct vhd_port *p, FILE *err)
{
	(void)p;
	(void)err;
	return 0;
}

static void
rec_close(struct vhd_port *p)
{
	struct vhd_dev_snapshot *snap = vhd_lcore_detach(p);

	(void)snap; /* the test's own, on its stack */
}

static uint16_t
rec_rx_burst(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	(void)p;
	(void)q;
	(void)pkts;
	(void)n;
	return 0;
}

static void
rec_tx_burst(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	(void)p;
	(void)q;
	rte_pktmbuf_free_bulk(pkts, n);
}

static void
rec_attach(struct vhd_port *p, uint16_t q, struct vhd_dev_snapshot *snap)
{
	(void)snap;
	attached_on[p->id][q] = (int)rte_lcore_id();
}

static void
rec_detach(struct vhd_port *p, uint16_t q)
{
	detached_on[p->id][q] = (int)rte_lcore_id();
}

static void
rec_counters(const struct vhd_port *p, struct vhd_port_totals *t)
{
	(void)p;
	(void)t;
}

static void
rec_queue_counters(const struct vhd_port *p, uint16_t q, uint64_t *rx, uint64_t *tx)
{
	(void)p;
	(void)q;
	*rx = *tx = 0;
}

static bool
rec_errors(const struct vhd_port *p, uint16_t i, uint64_t *by_kind)
{
	(void)p;
	(void)i;
	(void)by_kind;
	return false;
}

static const struct vhd_port_ops rec_ops = {
	.kind = "rec",
	.open = rec_open,
	.close = rec_close,
	.nr_queues = rec_nr_queues,
	.rx_burst = rec_rx_burst,
	.tx_burst = rec_tx_burst,
	.attach = rec_attach,
	.detach = rec_detach,
	.counters = rec_counters,
	.queue_counters = rec_queue_counters,
	.errors = rec_errors,
};

static int
add(const char *name, uint16_t queues)
{
	struct vhd_port_config cfg = {.queues = queues};

	strcpy(cfg.kind, "rec");
	snprintf(cfg.path, sizeof(cfg.path), "%s", name);
	return vhd_port_add(&cfg, stderr);
}

static void
assert_lcores(int id, const unsigned int *want, uint16_t n)
{
	const struct vhd_port *p = &vhd_ports[id];
	uint16_t q;

	assert_int_equal(p->nr_queues, n);
	for (q = 0; q < n; q++)
		assert_int_equal(p->unit_lcore[q], want[q]);
	assert_int_equal(p->lcore_id, want[0]);
}

/*
 * Queue q of a port goes to worker (base + q) mod 2, base being the worker
 * with the fewest units: a port's queues alternate, and ports fill in
 * where there is room. Removing a port frees its units.
 */
static void
test_assignment(void **state)
{
	static const unsigned int a[] = {1, 2, 1, 2}, b[] = {1}, c[] = {2, 1}, d[] = {2, 1, 2};
	int ia, ib, ic, id;

	(void)state;
	ia = add("a", 4); /* units 1: 2, 2: 2 */
	assert_true(ia >= 0);
	assert_lcores(ia, a, 4);
	ib = add("b", 1); /* 1: 3, 2: 2 */
	assert_lcores(ib, b, 1);
	ic = add("c", 2); /* base 2: 1: 4, 2: 3 */
	assert_lcores(ic, c, 2);
	assert_int_equal(vhd_port_del("a", stderr), 0); /* 1: 2, 2: 1 */
	id = add("d", 3);
	assert_int_equal(id, ia); /* the freed slot */
	assert_lcores(id, d, 3);
	assert_int_equal(vhd_port_del("b", stderr), 0);
	assert_int_equal(vhd_port_del("c", stderr), 0);
	assert_int_equal(vhd_port_del("d", stderr), 0);
	assert_int_equal(vhd_ports_count(), 0);
}

/*
 * The hand-over reaches every unit on its own lcore: each queue is
 * attached and detached by the lcore that polls it, the port is up only
 * once all are, and its steering table is the snapshot's enabled queues.
 */
static void
test_handover_per_unit(void **state)
{
	struct vhd_dev_snapshot *snap = calloc(1, sizeof(*snap));
	struct vhd_port *p;
	uint16_t q;
	int id;

	(void)state;
	assert_non_null(snap);
	id = add("mq", 4);
	assert_true(id >= 0);
	p = &vhd_ports[id];
	memset(attached_on, -1, sizeof(attached_on));
	memset(detached_on, -1, sizeof(detached_on));
	snap->tx_queues = 2; /* a guest that enabled two of four queue pairs */
	snap->tx_queue[0] = 0;
	snap->tx_queue[1] = 1;
	assert_int_equal(vhd_lcore_attach(p, snap), 0);
	assert_ptr_equal(p->active, snap);
	assert_int_equal(p->steer_queues, 2);
	assert_int_equal(p->steer_queue[1], 1);
	for (q = 0; q < 4; q++) {
		assert_int_equal(attached_on[id][q], (int)p->unit_lcore[q]);
		assert_ptr_equal(p->unit_active[q], snap);
	}
	/* the guest enables a third pair: a new snapshot, the same units */
	assert_ptr_equal(vhd_lcore_detach(p), snap);
	for (q = 0; q < 4; q++) {
		assert_int_equal(detached_on[id][q], (int)p->unit_lcore[q]);
		assert_null(p->unit_active[q]);
	}
	assert_null(p->active);
	snap->tx_queues = 3;
	snap->tx_queue[2] = 2;
	assert_int_equal(vhd_lcore_attach(p, snap), 0);
	assert_int_equal(p->steer_queues, 3);
	assert_int_equal(p->steer_queue[2], 2);
	/* removal detaches (rec_close) and takes the units off their lcores */
	assert_int_equal(vhd_port_del("mq", stderr), 0);
	assert_null(p->active);
	for (q = 0; q < 4; q++)
		assert_null(p->unit_active[q]);
	free(snap);
}

static int
setup(void **state)
{
	static struct vhd_config cfg = {.fwd_mode = VHD_FWD_PAIR};
	char prefix[64];
	char *argv[] = {
		"vhd_units", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry", "-m", "128",
		"--log-level=error", "--lcores=0@0,1@0,2@0", prefix, NULL,
	};

	(void)state;
	snprintf(prefix, sizeof(prefix), "--file-prefix=vhd_units_%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		return -1;
	vhd_port_kind_register(&rec_ops);
	if (vhd_ports_init() != 0 || vhd_fwd_init(VHD_FWD_PAIR, NULL) != 0 ||
	    vhd_lcores_init(&cfg, NULL) != 0 || vhd_lcores_launch() != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vhd_lcores_stop();
	vhd_lcores_free();
	vhd_ports_free();
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assignment),
		cmocka_unit_test(test_handover_per_unit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
