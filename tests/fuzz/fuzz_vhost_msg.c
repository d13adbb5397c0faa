/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the control path's message checks (src/vhost_msg.c):
 * any bytes as a vhost-user message, with file descriptors of every kind a
 * frontend can pass. Besides crashes and sanitizer reports it checks what a
 * passed message promises the registry:
 *   - a vring request addresses a vring vhostd offered;
 *   - a memory table has 1..8 non-empty, non-wrapping, non-overlapping
 *     regions, each backed by a file that holds every mapped byte;
 *   - a call/kick/err fd is an eventfd.
 *
 * Input: byte 0 = fd_num (mod 9), bytes 1..8 = the kind of each fd, byte 9 =
 * memfd size in 4 KiB pages, then the message itself (header and payload).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhostd/vhost_msg.h"

#define NR_VRINGS 4
#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                          \
		}                                                                         \
	} while (0)

enum { FD_EVENT, FD_PIPE, FD_SOCKET, FD_MEMFD, FD_NONE, FD_KINDS };

static int fds[FD_KINDS];

static void
fds_open(void)
{
	int p[2], sv[2];

	if (fds[FD_EVENT] != 0)
		return;
	fds[FD_EVENT] = eventfd(0, EFD_CLOEXEC);
	CHECK(pipe(p) == 0);
	fds[FD_PIPE] = p[1];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fds[FD_SOCKET] = sv[0];
	fds[FD_MEMFD] = memfd_create("fuzz", 0);
	fds[FD_NONE] = -1;
	CHECK(fds[FD_EVENT] >= 0 && fds[FD_MEMFD] >= 0);
}

static void
check_promises(const struct vhd_msg *m)
{
	int64_t vring = vhd_msg_vring(m);
	uint32_t i, j;

	if (vring >= 0)
		CHECK(vring < NR_VRINGS);
	switch (m->request) {
	case VHD_MSG_SET_MEM_TABLE:
		CHECK(m->payload.memory.nregions >= 1 &&
		      m->payload.memory.nregions <= VHD_MSG_MAX_REGIONS);
		CHECK(m->fd_num == (int)m->payload.memory.nregions);
		for (i = 0; i < m->payload.memory.nregions; i++) {
			const struct vhd_msg_region *r = &m->payload.memory.regions[i];
			struct stat st;

			CHECK(r->memory_size > 0);
			CHECK(r->guest_phys_addr + r->memory_size > r->guest_phys_addr);
			CHECK(fstat(m->fds[i], &st) == 0 && S_ISREG(st.st_mode));
			CHECK((uint64_t)st.st_size >= r->mmap_offset + r->memory_size);
			CHECK(r->mmap_offset + r->memory_size >= r->mmap_offset);
			for (j = 0; j < i; j++) {
				const struct vhd_msg_region *o = &m->payload.memory.regions[j];

				CHECK(r->guest_phys_addr >= o->guest_phys_addr + o->memory_size ||
				      o->guest_phys_addr >= r->guest_phys_addr + r->memory_size);
			}
		}
		break;
	case VHD_MSG_SET_VRING_KICK:
	case VHD_MSG_SET_VRING_CALL:
	case VHD_MSG_SET_VRING_ERR:
		if (!(m->payload.u64 & VHD_MSG_VRING_NOFD))
			CHECK(m->fd_num == 1 && vhd_fd_is_eventfd(m->fds[0]));
		else
			CHECK(m->fd_num == 0);
		break;
	case VHD_MSG_SET_VRING_NUM:
		CHECK(m->payload.state.num >= 1 && m->payload.state.num <= 32768 &&
		      !(m->payload.state.num & (m->payload.state.num - 1)));
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhd_msg m;
	char why[160], name[32];
	size_t body;
	int i;

	if (size < 10)
		return 0;
	fds_open();
	memset(&m, 0, sizeof(m));
	/* the library reads at most the payload; what it did not read is stale */
	body = size - 10 < offsetof(struct vhd_msg, fds) ? size - 10 : offsetof(struct vhd_msg, fds);
	memcpy(&m, data + 10, body);
	m.fd_num = data[0] % (VHD_MSG_MAX_FDS + 1);
	for (i = 0; i < m.fd_num; i++)
		m.fds[i] = fds[data[1 + i] % FD_KINDS];
	CHECK(ftruncate(fds[FD_MEMFD], (off_t)data[9] * 4096) == 0);

	vhd_msg_name(m.request, name, sizeof(name));
	vhd_msg_changes_rings(m.request);
	if (vhd_msg_check(&m, NR_VRINGS, why, sizeof(why)) == 0)
		check_promises(&m);
	else
		CHECK(memchr(why, '\0', sizeof(why)) != NULL && why[0] != '\0');
	return 0;
}
