/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhostd: parse the command line, start EAL with working defaults, bring up
 * pools, lcores and the registry, then run the control loop (stats, MAC
 * ageing, error reports) until SIGINT/SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "vhostd/clock.h"
#include "vhostd/config.h"
#include "vhostd/control.h"
#include "vhostd/fwd.h"
#include "vhostd/guest_fault.h"
#include "vhostd/lcore.h"
#include "vhostd/log.h"
#include "vhostd/mac_table.h"
#include "vhostd/pool.h"
#include "vhostd/port.h"
#include "vhostd/port_ethdev.h"
#include "vhostd/ports.h"
#include "vhostd/registry.h"
#include "vhostd/stats.h"

VHD_LOG_REGISTER(main);

#define EXIT_USAGE 2
#define MAC_TABLE_ENTRIES 4096
#define DEFAULT_MEM_MB "256"

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	quit = 1;
}

static unsigned int
hugepages_free(void)
{
	unsigned int n = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "HugePages_Free: %u", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Builds EAL's argv: the user's arguments after "--" verbatim, or defaults a
 * user need not know about: no PCI, nothing left in /dev/hugepages, modest
 * memory, one control and one forwarding lcore on the first two CPUs we may use.
 */
static int
eal_args(const struct vhd_config *cfg, char *argv0, char **argv, char *buf, size_t buflen)
{
	cpu_set_t cpus;
	int argc = 0, cpu, first = -1, second = -1;

	argv[argc++] = argv0;
	if (cfg->eal_argc > 0) {
		memcpy(&argv[argc], cfg->eal_argv, cfg->eal_argc * sizeof(char *));
		return argc + cfg->eal_argc;
	}
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) {
		for (cpu = 0; cpu < CPU_SETSIZE && second < 0; cpu++) {
			if (!CPU_ISSET(cpu, &cpus))
				continue;
			if (first < 0)
				first = cpu;
			else
				second = cpu;
		}
	}
	if (first < 0)
		first = 0;
	if (second < 0)
		second = first; /* one CPU: both lcores share it */
	snprintf(buf, buflen, "--lcores=0@%d,1@%d", first, second);
	argv[argc++] = buf;
	argv[argc++] = buf + strlen(buf) + 1;
	snprintf(argv[argc - 1], buflen - strlen(buf) - 1, "--file-prefix=vhostd-%d", getpid());
	argv[argc++] = "--no-pci";
	argv[argc++] = "-m";
	argv[argc++] = DEFAULT_MEM_MB;
	/* our mbufs are never shared with a peer, so plain pages work too */
	if (hugepages_free() * 2 < (unsigned int)atoi(DEFAULT_MEM_MB) + 64)
		argv[argc++] = "--no-huge";
	else
		argv[argc++] = "--in-memory"; /* no files left in /dev/hugepages */
	return argc;
}

/* Removes the EAL runtime directory we named ourselves (flat: sockets, config). */
static void
remove_runtime_dir(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static void
control_loop(const struct vhd_config *cfg, struct vhd_mac_table *mac)
{
	double start = vhd_now_monotonic(), last_second = start, last_stats = start;

	while (!quit) {
		double now;

		usleep(100 * 1000);
		now = vhd_now_monotonic();
		if (now - last_second >= 1.0) {
			last_second = now;
			vhd_stats_report_errors();
			if (mac != NULL)
				vhd_mac_table_age(mac, rte_get_tsc_cycles() / rte_get_tsc_hz(),
						  cfg->mac_age);
		}
		if (cfg->stats_interval > 0 && now - last_stats >= cfg->stats_interval) {
			last_stats = now;
			vhd_stats_print(stdout);
		}
	}
}

/* --uplink ports on the command line. */
static unsigned int
cli_uplinks(const struct vhd_config *cfg)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->nports; i++)
		n += strcmp(cfg->ports[i].kind, "ethdev") == 0;
	return n;
}

/*
 * Adds the command line's ports. An uplink's device is only probed now,
 * with EAL running: one that cannot be opened is bad input all the same
 * (exit 2), with one line naming --uplink. Returns 0 or a negative errno.
 */
static int
add_cli_ports(const struct vhd_config *cfg, bool *bad_uplink)
{
	uint16_t i;

	for (i = 0; i < cfg->nports; i++) {
		const struct vhd_port_config *pc = &cfg->ports[i];
		bool uplink = strcmp(pc->kind, "ethdev") == 0;
		char *msg = NULL;
		size_t len = 0;
		FILE *err = uplink ? open_memstream(&msg, &len) : NULL;
		int rc;

		rc = vhd_port_add(pc, err != NULL ? err : stderr);
		if (err != NULL) {
			fclose(err);
			if (rc < 0)
				fprintf(stderr, "vhostd: --uplink %s", len > 0 ? msg : "failed\n");
			free(msg);
		}
		if (rc < 0) {
			*bad_uplink = uplink;
			return -EINVAL;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct vhd_config cfg;
	char *eal_argv[VHD_MAX_EAL_ARGS + 16];
	struct vhd_mac_table *mac = NULL;
	unsigned int nb_mbufs, in_use, nlcores;
	char eal_buf[128]; /* holds two generated arguments */
	char runtime_dir[PATH_MAX];
	bool bad_uplink = false;
	struct sigaction sa;
	int eal_argc, rc;

	switch (vhd_cli_parse(argc, argv, &cfg, stderr)) {
	case VHD_CLI_EXIT:
		return EXIT_SUCCESS;
	case VHD_CLI_ERROR:
		return EXIT_USAGE;
	case VHD_CLI_RUN:
		break;
	}
	if (vhd_cli_check_paths(&cfg, stderr) != 0)
		return EXIT_USAGE;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	eal_argc = eal_args(&cfg, argv[0], eal_argv, eal_buf, sizeof(eal_buf));
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "vhostd: cannot start DPDK EAL: %s (check the options after --)\n",
			rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}

	vhd_stats_telemetry_register();
	rc = vhd_guest_fault_init();
	if (rc != 0) {
		VHD_LOG(ERR, "cannot install the SIGBUS handler: %s", strerror(-rc));
		goto out_eal;
	}
	rc = vhd_ports_init();
	if (rc != 0)
		goto out_eal;
	vhd_registry_init();

	/*
	 * Enough for every ring, buffer and cache that can hold mbufs at once,
	 * with every port slot in use: ports come and go at runtime.
	 */
	nb_mbufs = 4096 + VHD_MAX_PORTS * 2 * VHD_BURST_MAX + rte_lcore_count() * (4096 + 512);
	/* an uplink's rings and segments; one added at runtime takes what is left */
	nb_mbufs += cli_uplinks(&cfg) * VHD_ETHDEV_MBUFS;
	rc = vhd_pools_create(nb_mbufs);
	if (rc != 0)
		goto out_ports;
	if (cfg.fwd_mode == VHD_FWD_L2) {
		mac = vhd_mac_table_create("vhd_mac", MAC_TABLE_ENTRIES, RTE_MAX_LCORE,
					   rte_socket_id());
		if (mac == NULL) {
			VHD_LOG(ERR, "cannot create the MAC table: %s", rte_strerror(rte_errno));
			rc = -ENOMEM;
			goto out_pools;
		}
	}
	rc = vhd_fwd_init(cfg.fwd_mode, mac);
	if (rc != 0)
		goto out_mac;
	rc = vhd_lcores_init(&cfg, mac);
	if (rc != 0)
		goto out_lcores;
	rc = vhd_lcores_launch();
	if (rc != 0)
		goto out_lcores;
	rc = add_cli_ports(&cfg, &bad_uplink);
	if (rc != 0)
		goto out_ports_del;
	nlcores = rte_lcore_count(); /* EAL's: the control thread registers one more */
	if (cfg.control[0] != '\0') {
		rc = vhd_control_start(cfg.control, mac, stderr);
		if (rc != 0)
			goto out_ports_del;
	}
	rc = 0;

	printf("vhostd: ready: %u ports, fwd=%s, %u lcores\n", cfg.nports,
	       vhd_fwd_mode_name(cfg.fwd_mode), nlcores);
	fflush(stdout);
	control_loop(&cfg, mac);
	VHD_LOG(INFO, "stopping");

out_ports_del:
	/* no request may add or remove a port from here on */
	vhd_control_stop();
	vhd_ports_close_all();
	vhd_lcores_stop();
	if (rc == 0) {
		vhd_stats_print(stdout);
		in_use = vhd_pools_in_use();
		if (in_use != 0) {
			VHD_LOG(ERR, "%u mbufs still in use at exit", in_use);
			rc = -EFAULT;
		}
	}
out_lcores:
	vhd_lcores_free();
out_mac:
	vhd_mac_table_free(mac);
out_pools:
	vhd_pools_free();
out_ports:
	vhd_ports_free();
out_eal:
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (cfg.eal_argc == 0)
		remove_runtime_dir(runtime_dir);
	return rc == 0 ? EXIT_SUCCESS : bad_uplink ? EXIT_USAGE : EXIT_FAILURE;
}
