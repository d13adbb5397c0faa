/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SIGBUS containment for guest memory (see guest_fault.h).
 *
 * The handler may run on any thread: a worker lcore copying a packet, or
 * librte_vhost's own thread reading a ring while it handles a message. It
 * only reads a table of address ranges and calls mmap(), which on Linux is
 * a plain system call and safe in a signal handler.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "vhostd/guest_fault.h"
#include "vhostd/port.h"

struct range {
	uint64_t start;
	uint64_t end; /* 0: unused; written last so the handler sees whole ranges */
};

static struct range ranges[VHD_MAX_PORTS][VHD_MAX_MEM_REGIONS];

void
vhd_guest_fault_track(uint16_t port_id, const struct vhd_mem_table *mem)
{
	uint32_t i;

	for (i = 0; i < VHD_MAX_MEM_REGIONS; i++) {
		struct range *r = &ranges[port_id][i];

		__atomic_store_n(&r->end, 0, __ATOMIC_RELEASE);
		if (i >= mem->nregions)
			continue;
		__atomic_store_n(&r->start, mem->regions[i].host_addr, __ATOMIC_RELAXED);
		__atomic_store_n(&r->end, mem->regions[i].host_addr + mem->regions[i].size,
				 __ATOMIC_RELEASE);
	}
}

void
vhd_guest_fault_untrack(uint16_t port_id)
{
	uint32_t i;

	for (i = 0; i < VHD_MAX_MEM_REGIONS; i++)
		__atomic_store_n(&ranges[port_id][i].end, 0, __ATOMIC_RELEASE);
}

static int
port_of_address(uint64_t addr)
{
	uint16_t p;
	uint32_t i;

	for (p = 0; p < vhd_nports; p++)
		for (i = 0; i < VHD_MAX_MEM_REGIONS; i++) {
			uint64_t end = __atomic_load_n(&ranges[p][i].end, __ATOMIC_ACQUIRE);

			if (end != 0 && addr < end &&
			    addr >= __atomic_load_n(&ranges[p][i].start, __ATOMIC_RELAXED))
				return p;
		}
	return -1;
}

/*
 * Maps a private zero page over the page that faulted. A hugetlbfs mapping
 * can only be replaced in whole huge pages, so larger sizes are tried when
 * the kernel refuses a smaller one.
 */
static int
zero_page_at(uint64_t addr)
{
	static const uint64_t sizes[] = {4096, 2ULL << 20, 1ULL << 30};
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *base = (void *)(uintptr_t)(addr & ~(sizes[i] - 1));

		if (mmap(base, sizes[i], PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED)
			return 0;
	}
	return -1;
}

static void
on_sigbus(int sig, siginfo_t *si, void *ucontext)
{
	uint64_t addr = (uint64_t)(uintptr_t)si->si_addr;
	int saved_errno = errno;
	int port = port_of_address(addr);

	(void)ucontext;
	if (port < 0 || zero_page_at(addr) != 0) {
		/* not guest memory: our own bug, let it kill us as it would have */
		signal(sig, SIG_DFL);
		errno = saved_errno;
		return;
	}
	__atomic_store_n(&vhd_ports[port].faulted, true, __ATOMIC_RELAXED);
	VHD_PORT_COUNT(&vhd_ports[port], mem_faults);
	errno = saved_errno;
}

int
vhd_guest_fault_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) == 0 ? 0 : -errno;
}
