/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user messages as a frontend sends them, checked before librte_vhost
 * acts on them. The frontend (a QEMU or virtio-user process a tenant may
 * control) is as hostile as a guest: registry.c refuses any message that
 * fails vhd_msg_check() from its pre-message hook, so the library never
 * frees, maps or stores what we would not poll safely.
 */
#ifndef VHOSTD_VHOST_MSG_H
#define VHOSTD_VHOST_MSG_H

#include <stddef.h>
#include <stdint.h>

/* One list for the requests vhostd looks at and their names in logs. */
#define VHD_MSG_REQUESTS(X)                                                               \
	X(GET_FEATURES, 1)                                                                \
	X(SET_FEATURES, 2)                                                                \
	X(SET_OWNER, 3)                                                                   \
	X(RESET_OWNER, 4)                                                                 \
	X(SET_MEM_TABLE, 5)                                                               \
	X(SET_LOG_BASE, 6)                                                                \
	X(SET_LOG_FD, 7)                                                                  \
	X(SET_VRING_NUM, 8)                                                               \
	X(SET_VRING_ADDR, 9)                                                              \
	X(SET_VRING_BASE, 10)                                                             \
	X(GET_VRING_BASE, 11)                                                             \
	X(SET_VRING_KICK, 12)                                                             \
	X(SET_VRING_CALL, 13)                                                             \
	X(SET_VRING_ERR, 14)                                                              \
	X(GET_PROTOCOL_FEATURES, 15)                                                      \
	X(SET_PROTOCOL_FEATURES, 16)                                                      \
	X(GET_QUEUE_NUM, 17)                                                              \
	X(SET_VRING_ENABLE, 18)                                                           \
	X(SEND_RARP, 19)                                                                  \
	X(NET_SET_MTU, 20)                                                                \
	X(SET_SLAVE_REQ_FD, 21)                                                           \
	X(IOTLB_MSG, 22)                                                                  \
	X(GET_CONFIG, 24)                                                                 \
	X(SET_CONFIG, 25)                                                                 \
	X(POSTCOPY_ADVISE, 28)                                                            \
	X(POSTCOPY_LISTEN, 29)                                                            \
	X(POSTCOPY_END, 30)                                                               \
	X(GET_INFLIGHT_FD, 31)                                                            \
	X(SET_INFLIGHT_FD, 32)                                                            \
	X(SET_STATUS, 39)                                                                 \
	X(GET_STATUS, 40)

enum vhd_msg_request {
#define VHD_MSG_ENUM(name, n) VHD_MSG_##name = n,
	VHD_MSG_REQUESTS(VHD_MSG_ENUM)
#undef VHD_MSG_ENUM
};

#define VHD_MSG_MAX_FDS 8
#define VHD_MSG_MAX_REGIONS 8
/* in the u64 payload of SET_VRING_KICK/CALL/ERR */
#define VHD_MSG_VRING_IDX_MASK 0xffu
#define VHD_MSG_VRING_NOFD (1u << 8)
#define VHD_MSG_NEED_REPLY (1u << 3)

struct vhd_msg_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed)); /* it sits at payload offset 8: not 8-byte aligned */

/*
 * The layout librte_vhost 22.11 passes to pre/post handlers (struct
 * vhu_msg_context in lib/vhost/vhost_user.h, which its comment says external
 * handlers rely on): the packed wire message with its 632-byte payload union,
 * then the file descriptors that came with it. Only `size` bytes of the
 * payload were received; the rest is stale.
 */
struct vhd_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct {
			uint32_t index;
			uint32_t num;
		} state;
		struct {
			uint32_t index;
			uint32_t flags;
			uint64_t desc_user_addr;
			uint64_t used_user_addr;
			uint64_t avail_user_addr;
			uint64_t log_guest_addr;
		} addr;
		struct {
			uint32_t nregions;
			uint32_t padding;
			struct vhd_msg_region regions[VHD_MSG_MAX_REGIONS];
		} memory;
		uint8_t raw[632];
	} payload;
	int fds[VHD_MSG_MAX_FDS];
	int fd_num;
} __attribute__((packed));

_Static_assert(offsetof(struct vhd_msg, fds) == 644, "vhu_msg_context layout of DPDK 22.11");

/* "SET_MEM_TABLE", or "request 99" for one vhostd does not know (buf holds it). */
const char *vhd_msg_name(uint32_t request, char *buf, size_t len);

/* The vring a request addresses (any u32), or -1 for one about the whole device. */
int64_t vhd_msg_vring(const struct vhd_msg *m);

/* True for requests after which memory or rings may have moved. */
int vhd_msg_changes_rings(uint32_t request);

/*
 * Checks what librte_vhost does not before it acts: vring indexes within
 * the nr_vrings vhostd offered, the payload long enough for its fields, a
 * power-of-two ring size, memory regions (count, fds, no empty, wrapping or
 * overlapping region, each fd a file at least as large as the part mapped),
 * and call/kick/err fds that are eventfds. Returns 0, or -EINVAL with a short
 * reason in why.
 */
int vhd_msg_check(const struct vhd_msg *m, uint16_t nr_vrings, char *why, size_t len);

/* True when fd is an eventfd (the only kind vhostd writes interrupts to). */
int vhd_fd_is_eventfd(int fd);

#endif /* VHOSTD_VHOST_MSG_H */
