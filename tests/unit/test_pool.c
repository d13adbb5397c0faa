/* SPDX-License-Identifier: BSD-3-Clause */
/* Pool statistics (include/vhostd/pool.h): counted on the calling lcore. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "fake_guest.h"
#include "vhostd/pool.h"

/* What slot has counted since *before, in *d; *before becomes now. */
static void
delta(unsigned int slot, struct vhd_pool_counts *before, struct vhd_pool_counts *d)
{
	struct vhd_pool_counts now;

	vhd_pool_counts_read(slot, &now);
	d->alloc = now.alloc - before->alloc;
	d->alloc_fail = now.alloc_fail - before->alloc_fail;
	d->freed = now.freed - before->freed;
	*before = now;
}

static void
expect_delta(unsigned int slot, struct vhd_pool_counts *before, uint64_t alloc, uint64_t fail,
	     uint64_t freed)
{
	struct vhd_pool_counts d;

	delta(slot, before, &d);
	assert_int_equal(d.alloc, alloc);
	assert_int_equal(d.alloc_fail, fail);
	assert_int_equal(d.freed, freed);
}

static void
test_alloc_and_free_counted(void **state)
{
	unsigned int me = rte_lcore_id();
	struct rte_mbuf *pkts[8];
	struct vhd_pool_counts c;
	struct rte_mbuf *m;

	(void)state;
	assert_true(me < RTE_MAX_LCORE);
	vhd_pool_counts_read(me, &c);
	assert_int_equal(vhd_mbuf_alloc_bulk(fg_pool, pkts, 8), 0);
	expect_delta(me, &c, 8, 0, 0);
	m = vhd_mbuf_alloc(fg_pool);
	assert_non_null(m);
	expect_delta(me, &c, 1, 0, 0);
	vhd_mbuf_free_bulk(pkts, 8);
	expect_delta(me, &c, 0, 0, 8);
	vhd_mbuf_free(m);
	vhd_mbuf_free(NULL);
	expect_delta(me, &c, 0, 0, 1);
	fg_assert_no_leak();
}

/* A chain counts every segment; a shared one only when its last reference goes. */
static void
test_chain_and_shared(void **state)
{
	unsigned int me = rte_lcore_id();
	struct rte_mbuf *seg[3], *m, *s;
	struct vhd_pool_counts c;
	unsigned int i;

	(void)state;
	vhd_pool_counts_read(me, &c);
	assert_int_equal(vhd_mbuf_alloc_bulk(fg_pool, seg, 3), 0);
	m = seg[0];
	for (i = 1; i < 3; i++)
		assert_int_equal(rte_pktmbuf_chain(m, seg[i]), 0);
	/* as a flood does: one more reference on every segment */
	for (s = m; s != NULL; s = s->next)
		rte_mbuf_refcnt_update(s, 1);
	vhd_mbuf_free(m);
	expect_delta(me, &c, 3, 0, 0);
	assert_int_equal(rte_mempool_in_use_count(fg_pool), 3);
	vhd_mbuf_free(m);
	expect_delta(me, &c, 0, 0, 3);
	fg_assert_no_leak();
}

static void
test_alloc_fail_counted(void **state)
{
	unsigned int me = rte_lcore_id();
	struct rte_mempool *tiny;
	struct rte_mbuf *pkts[8];
	struct vhd_pool_counts c;

	(void)state;
	tiny = rte_pktmbuf_pool_create("tiny", 4, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(tiny);
	vhd_pool_counts_read(me, &c);
	assert_int_not_equal(vhd_mbuf_alloc_bulk(tiny, pkts, 8), 0);
	expect_delta(me, &c, 0, 1, 0);
	assert_int_equal(vhd_mbuf_alloc_bulk(tiny, pkts, 4), 0);
	assert_null(vhd_mbuf_alloc(tiny));
	expect_delta(me, &c, 4, 1, 0);
	vhd_mbuf_free_bulk(pkts, 4);
	expect_delta(me, &c, 0, 0, 4);
	rte_mempool_free(tiny);
}

/* The datapath's own allocation site: a received packet counts once. */
static void
test_rx_burst_counted(void **state)
{
	unsigned int me = rte_lcore_id();
	struct fake_guest *fg = fg_new(256, FG_F_DEFAULT);
	struct rte_mbuf *pkts[VHD_BURST_MAX];
	struct vhd_pool_counts c;
	uint8_t frame[3000];

	(void)state;
	fg_frame(frame, sizeof(frame), 7);
	fg_post_tx_pkt(fg, frame, sizeof(frame), NULL, 1, 0, false);
	vhd_pool_counts_read(me, &c);
	assert_int_equal(vhd_virtq_rx_burst(&fg->vq, fg_pool, pkts, VHD_BURST_MAX), 1);
	/* 3000 bytes: a head and one more segment */
	expect_delta(me, &c, pkts[0]->nb_segs, 0, 0);
	assert_int_equal(pkts[0]->nb_segs, 2);
	vhd_mbuf_free(pkts[0]);
	expect_delta(me, &c, 0, 0, 2);
	fg_assert_no_leak();
	fg_free(fg);
}

struct thread_arg {
	bool do_register;
	unsigned int lcore; /* the id the thread had */
	struct rte_mbuf *pkts[5];
	int rc;
};

/* Allocates 5 and frees 3: 2 stay out, for the main thread to free. */
static void *
thread_alloc_free(void *p)
{
	struct thread_arg *a = p;

	a->rc = -1;
	if (a->do_register && rte_thread_register() != 0)
		return NULL;
	a->lcore = rte_lcore_id();
	a->rc = vhd_mbuf_alloc_bulk(fg_pool, a->pkts, 5);
	if (a->rc == 0)
		vhd_mbuf_free_bulk(a->pkts, 3);
	if (a->do_register)
		rte_thread_unregister();
	return NULL;
}

/*
 * Counts land on the calling thread's lcore: a registered thread its own
 * slot, one with no lcore id the shared slot. What one allocates and
 * another frees is in flight (+2) on the first and -2 on the second.
 */
static void
test_other_threads(void **state)
{
	unsigned int me = rte_lcore_id();
	struct vhd_pool_counts c_me, c_other, c_reg;
	unsigned int r;

	(void)state;
	for (r = 0; r < 2; r++) {
		struct thread_arg a = {.do_register = r == 1};
		pthread_t t;

		vhd_pool_counts_read(me, &c_me);
		vhd_pool_counts_read(VHD_POOL_SLOT_OTHER, &c_other);
		assert_int_equal(pthread_create(&t, NULL, thread_alloc_free, &a), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(a.rc, 0);
		if (a.do_register) {
			assert_true(a.lcore < RTE_MAX_LCORE);
			assert_int_not_equal(a.lcore, me);
			memset(&c_reg, 0, sizeof(c_reg));
			expect_delta(a.lcore, &c_reg, 5, 0, 3);
			expect_delta(VHD_POOL_SLOT_OTHER, &c_other, 0, 0, 0);
		} else {
			assert_int_equal(a.lcore, LCORE_ID_ANY);
			expect_delta(VHD_POOL_SLOT_OTHER, &c_other, 5, 0, 3);
		}
		expect_delta(me, &c_me, 0, 0, 0);
		assert_int_equal(rte_mempool_in_use_count(fg_pool), 2);
		vhd_mbuf_free_bulk(&a.pkts[3], 2);
		expect_delta(me, &c_me, 0, 0, 2);
		fg_assert_no_leak();
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_and_free_counted),
		cmocka_unit_test(test_chain_and_shared),
		cmocka_unit_test(test_alloc_fail_counted),
		cmocka_unit_test(test_rx_burst_counted),
		cmocka_unit_test(test_other_threads),
	};

	return cmocka_run_group_tests(tests, fg_eal_setup, fg_eal_teardown);
}
