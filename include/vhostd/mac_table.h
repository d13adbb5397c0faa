/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MAC learning table shared by all lcores: an rte_hash with lock-free readers
 * and concurrent writers. Entries map a (VLAN, MAC) to (port, last seen
 * second): each VLAN learns on its own, so the same MAC in two VLANs is two
 * stations.
 * Deleted slots are recycled only after every reader passed a quiescent point
 * (RCU QSBR), so a lookup racing with ageing never reads a reused slot.
 */
#ifndef VHOSTD_MAC_TABLE_H
#define VHOSTD_MAC_TABLE_H

#include <stdint.h>

#include <rte_ether.h>

#define VHD_MAC_UNKNOWN (-1)

/* The key: 8 bytes with no padding (both fields 2-aligned), hashed as it is. */
struct vhd_mac_key {
	uint16_t vlan; /* 0: the default VLAN */
	struct rte_ether_addr mac;
};
_Static_assert(sizeof(struct vhd_mac_key) == 8, "a MAC key has no padding");

struct vhd_mac_table;

/* max_readers: reader thread ids are 0..max_readers-1 (we use lcore ids). */
struct vhd_mac_table *vhd_mac_table_create(const char *name, uint32_t entries,
					   uint32_t max_readers, int socket);
void vhd_mac_table_free(struct vhd_mac_table *t);

/* Reader registration for RCU; a reader reports quiescent once per poll loop. */
int vhd_mac_table_reader_online(struct vhd_mac_table *t, unsigned int reader);
void vhd_mac_table_reader_offline(struct vhd_mac_table *t, unsigned int reader);
void vhd_mac_table_quiescent(struct vhd_mac_table *t, unsigned int reader);

/* Records that the n sources (VLAN and address) were seen on port at second now. */
void vhd_mac_table_learn(struct vhd_mac_table *t, const struct vhd_mac_key **src, uint16_t n,
			 uint16_t port, uint32_t now);

/* ports[i] = port where dst[i] was last seen in its VLAN, or VHD_MAC_UNKNOWN. */
void vhd_mac_table_lookup(struct vhd_mac_table *t, const struct vhd_mac_key **dst, uint16_t n,
			  int32_t *ports);

/* Forgets MACs not seen for more than max_age seconds; returns how many. */
unsigned int vhd_mac_table_age(struct vhd_mac_table *t, uint32_t now, uint32_t max_age);

/* Forgets every MAC learned on port (it was removed); returns how many. */
unsigned int vhd_mac_table_forget_port(struct vhd_mac_table *t, uint16_t port);

/* Number of learned MACs (deleted ones may count until RCU reclaims their slots). */
int32_t vhd_mac_table_count(const struct vhd_mac_table *t);

typedef void (*vhd_mac_table_walk_fn)(const struct vhd_mac_key *key, uint16_t port,
				      uint32_t seen, void *arg);

/*
 * Calls fn for every entry; seen is in the seconds of the learn calls. From a
 * control thread, like ageing: entries may come and go meanwhile.
 */
void vhd_mac_table_walk(struct vhd_mac_table *t, vhd_mac_table_walk_fn fn, void *arg);

#endif /* VHOSTD_MAC_TABLE_H */
