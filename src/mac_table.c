/* SPDX-License-Identifier: BSD-3-Clause */
/* MAC learning table over rte_hash with RCU-deferred slot reuse. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "vhostd/mac_table.h"

/* Refresh a known entry at most once a second: writes are the costly part. */
#define REFRESH_INTERVAL 1
#define AGE_BATCH 64

struct vhd_mac_table {
	struct rte_hash *hash;
	struct rte_rcu_qsbr *qsbr;
};

/* The hash's data is an integer, not a pointer: port in the high half. */
static inline void *
entry_pack(uint16_t port, uint32_t seen)
{
	return (void *)(uintptr_t)(((uint64_t)port << 32) | seen);
}

static inline uint16_t
entry_port(const void *e)
{
	return (uint16_t)((uintptr_t)e >> 32);
}

static inline uint32_t
entry_seen(const void *e)
{
	return (uint32_t)(uintptr_t)e;
}

struct vhd_mac_table *
vhd_mac_table_create(const char *name, uint32_t entries, uint32_t max_readers, int socket)
{
	struct rte_hash_parameters params = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(struct vhd_mac_key),
		.hash_func = rte_jhash,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD |
			      RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_rcu_config rcu = {0};
	struct vhd_mac_table *t;
	size_t qsbr_size;

	t = rte_zmalloc_socket(name, sizeof(*t), 0, socket);
	if (t == NULL)
		goto fail;
	qsbr_size = rte_rcu_qsbr_get_memsize(max_readers);
	t->qsbr = rte_zmalloc_socket(name, qsbr_size, RTE_CACHE_LINE_SIZE, socket);
	if (t->qsbr == NULL || rte_rcu_qsbr_init(t->qsbr, max_readers) != 0)
		goto fail;
	t->hash = rte_hash_create(&params);
	if (t->hash == NULL)
		goto fail;
	rcu.v = t->qsbr;
	rcu.mode = RTE_HASH_QSBR_MODE_DQ;
	if (rte_hash_rcu_qsbr_add(t->hash, &rcu) != 0)
		goto fail;
	return t;
fail:
	vhd_mac_table_free(t);
	if (rte_errno == 0)
		rte_errno = ENOMEM;
	return NULL;
}

void
vhd_mac_table_free(struct vhd_mac_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->hash);
	rte_free(t->qsbr);
	rte_free(t);
}

int
vhd_mac_table_reader_online(struct vhd_mac_table *t, unsigned int reader)
{
	int rc = rte_rcu_qsbr_thread_register(t->qsbr, reader);

	if (rc == 0)
		rte_rcu_qsbr_thread_online(t->qsbr, reader);
	return rc;
}

void
vhd_mac_table_reader_offline(struct vhd_mac_table *t, unsigned int reader)
{
	rte_rcu_qsbr_thread_offline(t->qsbr, reader);
	rte_rcu_qsbr_thread_unregister(t->qsbr, reader);
}

void
vhd_mac_table_quiescent(struct vhd_mac_table *t, unsigned int reader)
{
	rte_rcu_qsbr_quiescent(t->qsbr, reader);
}

void
vhd_mac_table_learn(struct vhd_mac_table *t, const struct vhd_mac_key **src, uint16_t n,
		    uint16_t port, uint32_t now)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;
	uint16_t i;

	if (n == 0)
		return;
	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;
	rte_hash_lookup_bulk_data(t->hash, (const void **)src, n, &hits, data);
	for (i = 0; i < n; i++) {
		/* a group address is never a source we can send back to */
		if (rte_is_multicast_ether_addr(&src[i]->mac) || rte_is_zero_ether_addr(&src[i]->mac))
			continue;
		if ((hits & (1ULL << i)) && entry_port(data[i]) == port &&
		    now - entry_seen(data[i]) < REFRESH_INTERVAL)
			continue;
		/* full table: the MAC stays unknown and its packets are flooded */
		rte_hash_add_key_data(t->hash, src[i], entry_pack(port, now));
	}
}

void
vhd_mac_table_lookup(struct vhd_mac_table *t, const struct vhd_mac_key **dst, uint16_t n,
		     int32_t *ports)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;
	uint16_t i;

	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;
	if (n > 0)
		rte_hash_lookup_bulk_data(t->hash, (const void **)dst, n, &hits, data);
	for (i = 0; i < n; i++)
		ports[i] = (hits & (1ULL << i)) ? entry_port(data[i]) : VHD_MAC_UNKNOWN;
}

/* Which entries a sweep deletes: those unseen for over max_age s, or those of port. */
struct sweep {
	bool by_age;
	uint32_t now, max_age;
	uint16_t port;
};

static bool
sweep_matches(const struct sweep *w, const void *data)
{
	return w->by_age ? w->now - entry_seen(data) > w->max_age : entry_port(data) == w->port;
}

/* Deletes the entries w matches; returns how many. */
static unsigned int
sweep(struct vhd_mac_table *t, const struct sweep *w)
{
	struct vhd_mac_key gone[AGE_BATCH];
	unsigned int removed = 0;
	uint32_t iter = 0;
	unsigned int ngone, i;
	const void *key;
	void *data;

	/* collect first: deleting while iterating could skip entries */
	do {
		ngone = 0;
		while (ngone < AGE_BATCH && rte_hash_iterate(t->hash, &key, &data, &iter) >= 0) {
			if (sweep_matches(w, data))
				gone[ngone++] = *(const struct vhd_mac_key *)key;
		}
		for (i = 0; i < ngone; i++)
			if (rte_hash_del_key(t->hash, &gone[i]) >= 0)
				removed++;
	} while (ngone == AGE_BATCH);
	return removed;
}

unsigned int
vhd_mac_table_age(struct vhd_mac_table *t, uint32_t now, uint32_t max_age)
{
	struct sweep w = {.by_age = true, .now = now, .max_age = max_age};

	return sweep(t, &w);
}

int32_t
vhd_mac_table_count(const struct vhd_mac_table *t)
{
	return rte_hash_count(t->hash);
}

unsigned int
vhd_mac_table_forget_port(struct vhd_mac_table *t, uint16_t port)
{
	struct sweep w = {.by_age = false, .port = port};

	return sweep(t, &w);
}

void
vhd_mac_table_walk(struct vhd_mac_table *t, vhd_mac_table_walk_fn fn, void *arg)
{
	uint32_t iter = 0;
	const void *key;
	void *data;

	while (rte_hash_iterate(t->hash, &key, &data, &iter) >= 0)
		fn(key, entry_port(data), entry_seen(data), arg);
}
