/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks of vhost-user messages before librte_vhost acts on them (see
 * vhost_msg.h). The library validates some fields itself; what is checked
 * here is what it does not check, or checks only after it has already
 * dropped the old state (a failed SET_MEM_TABLE leaves no table at all).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhostd/vhost_msg.h"

const char *
vhd_msg_name(uint32_t request, char *buf, size_t len)
{
	switch (request) {
#define VHD_MSG_CASE(name, n)                                                             \
	case n:                                                                           \
		return #name;
		VHD_MSG_REQUESTS(VHD_MSG_CASE)
#undef VHD_MSG_CASE
	}
	snprintf(buf, len, "request %u", request);
	return buf;
}

int64_t
vhd_msg_vring(const struct vhd_msg *m)
{
	switch (m->request) {
	case VHD_MSG_SET_VRING_NUM:
	case VHD_MSG_SET_VRING_BASE:
	case VHD_MSG_GET_VRING_BASE:
	case VHD_MSG_SET_VRING_ENABLE:
		return m->payload.state.index;
	case VHD_MSG_SET_VRING_ADDR:
		return m->payload.addr.index;
	case VHD_MSG_SET_VRING_KICK:
	case VHD_MSG_SET_VRING_CALL:
	case VHD_MSG_SET_VRING_ERR:
		return m->payload.u64 & VHD_MSG_VRING_IDX_MASK;
	default:
		return -1;
	}
}

int
vhd_msg_changes_rings(uint32_t request)
{
	switch (request) {
	case VHD_MSG_SET_FEATURES:
	case VHD_MSG_SET_MEM_TABLE:
	case VHD_MSG_SET_LOG_BASE:
	case VHD_MSG_SET_VRING_NUM:
	case VHD_MSG_SET_VRING_ADDR:
	case VHD_MSG_SET_VRING_BASE:
	case VHD_MSG_SET_VRING_KICK:
	case VHD_MSG_SET_VRING_CALL: /* the library closes the old callfd */
	case VHD_MSG_SET_VRING_ENABLE:
		return 1;
	default:
		return 0;
	}
}

int
vhd_fd_is_eventfd(int fd)
{
	static const char want[] = "anon_inode:[eventfd]";
	char path[64], target[sizeof(want) + 1];
	ssize_t n;

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target));
	return n == (ssize_t)(sizeof(want) - 1) && memcmp(target, want, n) == 0;
}

/* Writes the reason and returns -EINVAL, so each check is one line. */
static int __attribute__((format(printf, 3, 4)))
refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
check_mem_table(const struct vhd_msg *m, char *why, size_t len)
{
	uint32_t n = m->payload.memory.nregions, i, j;

	if (m->size < 8)
		return refuse(why, len, "payload of %u bytes, no region count", m->size);
	if (n == 0 || n > VHD_MSG_MAX_REGIONS)
		return refuse(why, len, "%u regions, want 1 to %d", n, VHD_MSG_MAX_REGIONS);
	if (m->size < 8 + n * sizeof(struct vhd_msg_region))
		return refuse(why, len, "payload of %u bytes for %u regions", m->size, n);
	if (m->fd_num != (int)n)
		return refuse(why, len, "%d fds for %u regions", m->fd_num, n);
	for (i = 0; i < n; i++) {
		const struct vhd_msg_region *r = &m->payload.memory.regions[i];
		struct stat st;

		if (r->memory_size == 0)
			return refuse(why, len, "region %u is empty", i);
		if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
		    r->userspace_addr + r->memory_size < r->userspace_addr ||
		    r->mmap_offset + r->memory_size < r->mmap_offset)
			return refuse(why, len, "region %u wraps around", i);
		for (j = 0; j < i; j++) {
			const struct vhd_msg_region *o = &m->payload.memory.regions[j];

			if (r->guest_phys_addr < o->guest_phys_addr + o->memory_size &&
			    o->guest_phys_addr < r->guest_phys_addr + r->memory_size)
				return refuse(why, len, "regions %u and %u overlap", j, i);
		}
		/* a mapping past the file's end faults (SIGBUS) on first touch */
		if (fstat(m->fds[i], &st) != 0 || !S_ISREG(st.st_mode))
			return refuse(why, len, "region %u: fd is not a file", i);
		if ((uint64_t)st.st_size < r->mmap_offset + r->memory_size)
			return refuse(why, len,
				      "region %u: file of %lld bytes, %llu mapped from offset %llu",
				      i, (long long)st.st_size,
				      (unsigned long long)r->memory_size,
				      (unsigned long long)r->mmap_offset);
	}
	return 0;
}

int
vhd_msg_check(const struct vhd_msg *m, uint16_t nr_vrings, char *why, size_t len)
{
	int64_t vring = vhd_msg_vring(m);

	if (vring >= 0) {
		/* every vring request carries at least a u64 (or a state) */
		if (m->size < sizeof(m->payload.u64))
			return refuse(why, len, "payload of %u bytes", m->size);
		if (m->request == VHD_MSG_SET_VRING_ADDR && m->size < sizeof(m->payload.addr))
			return refuse(why, len, "payload of %u bytes for ring addresses", m->size);
		if (vring >= nr_vrings)
			return refuse(why, len, "vring %lld, only %u offered", (long long)vring,
				      nr_vrings);
	}
	switch (m->request) {
	case VHD_MSG_SET_MEM_TABLE:
		return check_mem_table(m, why, len);
	case VHD_MSG_SET_VRING_NUM: {
		uint32_t num = m->payload.state.num;

		if (num == 0 || num > 32768 || (num & (num - 1)))
			return refuse(why, len, "ring size %u", num);
		return 0;
	}
	case VHD_MSG_SET_VRING_KICK:
	case VHD_MSG_SET_VRING_CALL:
	case VHD_MSG_SET_VRING_ERR:
		if (m->payload.u64 & VHD_MSG_VRING_NOFD)
			return m->fd_num == 0 ? 0 : refuse(why, len, "fd with the no-fd flag");
		if (m->fd_num != 1)
			return refuse(why, len, "%d fds, want 1", m->fd_num);
		/* an interrupt write to anything else may block the lcore */
		if (!vhd_fd_is_eventfd(m->fds[0]))
			return refuse(why, len, "fd %d is not an eventfd", m->fds[0]);
		return 0;
	default:
		return 0;
	}
}
