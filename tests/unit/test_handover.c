/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port hand-over protocol (handover.h): a request that the control plane
 * cancelled is never applied by a late lcore, and one the lcore claimed
 * cannot be cancelled. The threaded case is the defect it replaced: an
 * ATTACH that timed out stayed queued, and the lcore applied a snapshot the
 * registry had already freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "vhostd/handover.h"

struct vhd_port *vhd_ports;
uint16_t vhd_nports;

static void
test_claim_once(void **state)
{
	struct vhd_port p;
	uint32_t n;

	(void)state;
	memset(&p, 0, sizeof(p));
	n = vhd_handover_post(&p);
	assert_int_not_equal(n, 0);
	assert_false(vhd_handover_is_done(&p, n));
	assert_true(vhd_handover_claim(&p, n));
	/* a duplicate or the control plane's cancel both lose now */
	assert_false(vhd_handover_claim(&p, n));
	assert_false(vhd_handover_cancel(&p, n));
	vhd_handover_complete(&p, n);
	assert_true(vhd_handover_is_done(&p, n));
}

static void
test_cancel_before_claim(void **state)
{
	struct vhd_port p;
	uint32_t n;

	(void)state;
	memset(&p, 0, sizeof(p));
	n = vhd_handover_post(&p);
	assert_true(vhd_handover_cancel(&p, n));
	/* the lcore finds the message later and must skip it */
	assert_false(vhd_handover_claim(&p, n));
	assert_false(vhd_handover_is_done(&p, n));
}

static void
test_superseded(void **state)
{
	struct vhd_port p;
	uint32_t a, b;

	(void)state;
	memset(&p, 0, sizeof(p));
	a = vhd_handover_post(&p);
	assert_true(vhd_handover_cancel(&p, a));
	b = vhd_handover_post(&p);
	assert_int_not_equal(a, b);
	assert_false(vhd_handover_claim(&p, a));
	assert_true(vhd_handover_claim(&p, b));
}

static void
test_number_never_zero(void **state)
{
	struct vhd_port p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.handover_next = UINT32_MAX;
	assert_int_equal(vhd_handover_post(&p), 1);
	assert_int_equal(p.handover_pending, 1);
}

/* A slow lcore: finds the request only after the control plane gave up. */
struct slow_lcore {
	struct vhd_port *p;
	uint32_t request;
	struct vhd_dev_snapshot *snap;
	unsigned int delay_us;
	bool applied;
};

static void *
slow_lcore_main(void *arg)
{
	struct slow_lcore *l = arg;

	usleep(l->delay_us);
	if (vhd_handover_claim(l->p, l->request)) {
		__atomic_store_n(&l->p->active, l->snap, __ATOMIC_RELEASE);
		l->applied = true;
		vhd_handover_complete(l->p, l->request);
	}
	return NULL;
}

static void
test_timed_out_attach_never_applied(void **state)
{
	struct vhd_dev_snapshot snap;
	struct slow_lcore l;
	struct vhd_port p;
	pthread_t t;
	int i;

	(void)state;
	memset(&p, 0, sizeof(p));
	memset(&l, 0, sizeof(l));
	l.p = &p;
	l.snap = &snap;
	l.delay_us = 100 * 1000;
	l.request = vhd_handover_post(&p);
	assert_int_equal(pthread_create(&t, NULL, slow_lcore_main, &l), 0);
	/* the control plane waits 10 ms, then gives up */
	for (i = 0; i < 10 && !vhd_handover_is_done(&p, l.request); i++)
		usleep(1000);
	assert_true(vhd_handover_cancel(&p, l.request));
	pthread_join(t, NULL);
	assert_false(l.applied);
	assert_null(p.active);
}

static void
test_claimed_attach_waited_for(void **state)
{
	struct vhd_dev_snapshot snap;
	struct slow_lcore l;
	struct vhd_port p;
	pthread_t t;

	(void)state;
	memset(&p, 0, sizeof(p));
	memset(&l, 0, sizeof(l));
	l.p = &p;
	l.snap = &snap;
	l.request = vhd_handover_post(&p);
	assert_int_equal(pthread_create(&t, NULL, slow_lcore_main, &l), 0);
	/* once claimed, cancel fails and the caller waits for completion */
	while (__atomic_load_n(&p.handover_pending, __ATOMIC_ACQUIRE) != 0)
		;
	assert_false(vhd_handover_cancel(&p, l.request));
	while (!vhd_handover_is_done(&p, l.request))
		;
	pthread_join(t, NULL);
	assert_true(l.applied);
	assert_ptr_equal(p.active, &snap);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_once),
		cmocka_unit_test(test_cancel_before_claim),
		cmocka_unit_test(test_superseded),
		cmocka_unit_test(test_number_never_zero),
		cmocka_unit_test(test_timed_out_attach_never_applied),
		cmocka_unit_test(test_claimed_attach_waited_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
