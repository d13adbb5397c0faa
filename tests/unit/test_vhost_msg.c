/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhd_msg_check: what a hostile frontend's messages may not carry past the
 * registry's pre-message hook. Uses real fds of every kind a frontend could
 * pass (memfds, eventfds, pipes, sockets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhostd/vhost_msg.h"

#define NR_VRINGS 4
#define REGION_SIZE (1u << 20)

static int
check(const struct vhd_msg *m)
{
	char why[160] = "";
	int rc = vhd_msg_check(m, NR_VRINGS, why, sizeof(why));

	/* a refusal always says why */
	if (rc != 0)
		assert_true(why[0] != '\0');
	return rc;
}

static struct vhd_msg
vring_msg(uint32_t request, uint32_t index, uint32_t num)
{
	struct vhd_msg m;

	memset(&m, 0, sizeof(m));
	m.request = request;
	m.size = 8;
	m.payload.state.index = index;
	m.payload.state.num = num;
	return m;
}

static int
memfd_of(uint64_t size)
{
	int fd = memfd_create("vhd-test", 0);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

/* A valid two-region table; the caller closes m->fds. */
static struct vhd_msg
mem_table_msg(void)
{
	struct vhd_msg m;
	uint32_t i;

	memset(&m, 0, sizeof(m));
	m.request = VHD_MSG_SET_MEM_TABLE;
	m.payload.memory.nregions = 2;
	m.size = 8 + 2 * sizeof(struct vhd_msg_region);
	m.fd_num = 2;
	for (i = 0; i < 2; i++) {
		m.payload.memory.regions[i].guest_phys_addr = (uint64_t)i * 0x10000000;
		m.payload.memory.regions[i].memory_size = REGION_SIZE;
		m.payload.memory.regions[i].userspace_addr = 0x7f0000000000ULL + i * 0x10000000ULL;
		m.payload.memory.regions[i].mmap_offset = 0;
		m.fds[i] = memfd_of(REGION_SIZE);
	}
	return m;
}

static void
close_fds(struct vhd_msg *m)
{
	int i;

	for (i = 0; i < m->fd_num; i++)
		close(m->fds[i]);
}

static void
test_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(vhd_msg_name(VHD_MSG_SET_MEM_TABLE, buf, sizeof(buf)),
			    "SET_MEM_TABLE");
	assert_string_equal(vhd_msg_name(VHD_MSG_SET_VRING_CALL, buf, sizeof(buf)),
			    "SET_VRING_CALL");
	assert_string_equal(vhd_msg_name(99, buf, sizeof(buf)), "request 99");
	assert_string_equal(vhd_msg_name(0xffffffffu, buf, sizeof(buf)), "request 4294967295");
}

static void
test_vring_index(void **state)
{
	static const uint32_t state_requests[] = {VHD_MSG_SET_VRING_NUM, VHD_MSG_SET_VRING_BASE,
						  VHD_MSG_GET_VRING_BASE,
						  VHD_MSG_SET_VRING_ENABLE};
	struct vhd_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(state_requests) / sizeof(state_requests[0]); i++) {
		m = vring_msg(state_requests[i], NR_VRINGS - 1, 256);
		assert_int_equal(vhd_msg_vring(&m), NR_VRINGS - 1);
		assert_int_equal(check(&m), 0);
		m.payload.state.index = NR_VRINGS;
		assert_int_equal(check(&m), -EINVAL);
		m.payload.state.index = 255;
		assert_int_equal(check(&m), -EINVAL);
		m.payload.state.index = 0xffffffffu;
		assert_int_equal(check(&m), -EINVAL);
		/* a payload too short to hold the index */
		m = vring_msg(state_requests[i], 0, 256);
		m.size = 4;
		assert_int_equal(check(&m), -EINVAL);
	}
	/* ring addresses: index in a 40-byte payload */
	memset(&m, 0, sizeof(m));
	m.request = VHD_MSG_SET_VRING_ADDR;
	m.size = sizeof(m.payload.addr);
	m.payload.addr.index = 1;
	assert_int_equal(check(&m), 0);
	m.payload.addr.index = NR_VRINGS;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.addr.index = 1;
	m.size = 8;
	assert_int_equal(check(&m), -EINVAL);
	/* kick/call/err: index in the low byte of the u64 */
	m = vring_msg(VHD_MSG_SET_VRING_CALL, 0, 0);
	m.payload.u64 = NR_VRINGS | VHD_MSG_VRING_NOFD;
	assert_int_equal(vhd_msg_vring(&m), NR_VRINGS);
	assert_int_equal(check(&m), -EINVAL);
	m.payload.u64 = 0xff | VHD_MSG_VRING_NOFD;
	assert_int_equal(check(&m), -EINVAL);
	/* device-wide requests have no vring */
	m = vring_msg(VHD_MSG_SET_FEATURES, 200, 0);
	assert_int_equal(vhd_msg_vring(&m), -1);
	assert_int_equal(check(&m), 0);
}

static void
test_ring_size(void **state)
{
	static const uint32_t bad[] = {0, 3, 100, 32767, 65536, 0x80000000u, 0xffffffffu};
	static const uint32_t good[] = {1, 2, 256, 1024, 32768};
	struct vhd_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = vring_msg(VHD_MSG_SET_VRING_NUM, 0, bad[i]);
		assert_int_equal(check(&m), -EINVAL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		m = vring_msg(VHD_MSG_SET_VRING_NUM, 1, good[i]);
		assert_int_equal(check(&m), 0);
	}
}

static void
test_vring_fds(void **state)
{
	static const uint32_t requests[] = {VHD_MSG_SET_VRING_KICK, VHD_MSG_SET_VRING_CALL,
					    VHD_MSG_SET_VRING_ERR};
	int efd = eventfd(0, EFD_CLOEXEC), pipefd[2], sv[2], mfd = memfd_of(4096);
	struct vhd_msg m;
	size_t i;

	(void)state;
	assert_true(efd >= 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true(vhd_fd_is_eventfd(efd));
	assert_false(vhd_fd_is_eventfd(pipefd[1]));
	assert_false(vhd_fd_is_eventfd(sv[0]));
	assert_false(vhd_fd_is_eventfd(mfd));
	assert_false(vhd_fd_is_eventfd(-1));
	assert_false(vhd_fd_is_eventfd(100000));
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		m = vring_msg(requests[i], 0, 0);
		m.payload.u64 = 1;
		m.fd_num = 1;
		m.fds[0] = efd;
		assert_int_equal(check(&m), 0);
		/* an interrupt write into any of these could block or leak */
		m.fds[0] = pipefd[1];
		assert_int_equal(check(&m), -EINVAL);
		m.fds[0] = sv[0];
		assert_int_equal(check(&m), -EINVAL);
		m.fds[0] = mfd;
		assert_int_equal(check(&m), -EINVAL);
		/* fd count must match the no-fd flag */
		m.fd_num = 0;
		assert_int_equal(check(&m), -EINVAL);
		m.fd_num = 2;
		m.fds[0] = efd;
		m.fds[1] = efd;
		assert_int_equal(check(&m), -EINVAL);
		m.payload.u64 = 1 | VHD_MSG_VRING_NOFD;
		m.fd_num = 1;
		assert_int_equal(check(&m), -EINVAL);
		m.fd_num = 0;
		assert_int_equal(check(&m), 0);
	}
	close(efd);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
	close(mfd);
}

static void
test_mem_table(void **state)
{
	struct vhd_msg m;
	int efd, small, first;

	(void)state;
	m = mem_table_msg();
	first = m.fds[0];
	assert_int_equal(check(&m), 0);

	/* region count */
	m.payload.memory.nregions = 0;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.nregions = 9;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.nregions = 2;
	/* payload shorter than the regions it claims */
	m.size = 8 + sizeof(struct vhd_msg_region);
	assert_int_equal(check(&m), -EINVAL);
	m.size = 4;
	assert_int_equal(check(&m), -EINVAL);
	m.size = 8 + 2 * sizeof(struct vhd_msg_region);
	/* fds not matching the regions */
	m.fd_num = 1;
	assert_int_equal(check(&m), -EINVAL);
	m.fd_num = 2;
	assert_int_equal(check(&m), 0);

	/* an empty region */
	m.payload.memory.regions[1].memory_size = 0;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.regions[1].memory_size = REGION_SIZE;
	/* wrapping guest, user and file ranges */
	m.payload.memory.regions[1].guest_phys_addr = UINT64_MAX - 100;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.regions[1].guest_phys_addr = 0x10000000;
	m.payload.memory.regions[1].userspace_addr = UINT64_MAX - 100;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.regions[1].userspace_addr = 0x7f0010000000ULL;
	m.payload.memory.regions[1].mmap_offset = UINT64_MAX - 100;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.regions[1].mmap_offset = 0;
	assert_int_equal(check(&m), 0);
	/* overlapping guest ranges, also by one byte, also one inside the other */
	m.payload.memory.regions[1].guest_phys_addr = REGION_SIZE - 1;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.regions[1].guest_phys_addr = 4096;
	m.payload.memory.regions[1].memory_size = 4096;
	assert_int_equal(check(&m), -EINVAL);
	/* adjacent is fine */
	m.payload.memory.regions[1].guest_phys_addr = REGION_SIZE;
	m.payload.memory.regions[1].memory_size = REGION_SIZE;
	assert_int_equal(check(&m), 0);

	/* the file behind a region must hold what is mapped from it */
	m.payload.memory.regions[1].mmap_offset = 4096;
	assert_int_equal(check(&m), -EINVAL);
	m.payload.memory.regions[1].mmap_offset = 0;
	small = memfd_of(REGION_SIZE / 2);
	close(m.fds[1]);
	m.fds[1] = small;
	assert_int_equal(check(&m), -EINVAL);
	assert_int_equal(ftruncate(small, REGION_SIZE), 0);
	assert_int_equal(check(&m), 0);
	/* and be a file at all */
	efd = eventfd(0, 0);
	m.fds[0] = efd;
	assert_int_equal(check(&m), -EINVAL);
	close(efd);
	m.fds[0] = -1;
	assert_int_equal(check(&m), -EINVAL);
	m.fds[0] = first;
	close_fds(&m);
}

static void
test_changes_rings(void **state)
{
	static const uint32_t moving[] = {VHD_MSG_SET_FEATURES, VHD_MSG_SET_MEM_TABLE,
					  VHD_MSG_SET_VRING_NUM, VHD_MSG_SET_VRING_ADDR,
					  VHD_MSG_SET_VRING_BASE, VHD_MSG_SET_VRING_KICK,
					  VHD_MSG_SET_VRING_CALL, VHD_MSG_SET_VRING_ENABLE};
	static const uint32_t still[] = {VHD_MSG_GET_FEATURES, VHD_MSG_GET_PROTOCOL_FEATURES,
					 VHD_MSG_GET_QUEUE_NUM, VHD_MSG_SEND_RARP, 99};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(moving) / sizeof(moving[0]); i++)
		assert_true(vhd_msg_changes_rings(moving[i]));
	for (i = 0; i < sizeof(still) / sizeof(still[0]); i++)
		assert_false(vhd_msg_changes_rings(still[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_vring_index),
		cmocka_unit_test(test_ring_size),
		cmocka_unit_test(test_vring_fds),
		cmocka_unit_test(test_mem_table),
		cmocka_unit_test(test_changes_rings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
