/* SPDX-License-Identifier: BSD-3-Clause */
/* Command line: getopt_long parsing and the checks that need the filesystem. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_ether.h>
#include <rte_dev.h>
#include <rte_version.h>

#include "vhostd/config.h"
#include "vhostd/control.h"

#define DEFAULT_MAC_AGE 300

static const char usage[] =
	"Usage: vhostd [options] [-- EAL options]\n"
	"\n"
	"A vhost-user net backend: serves virtio-net devices to QEMU guests and\n"
	"DPDK virtio-user frontends, one vhost-user port per --socket.\n"
	"\n"
	"Options:\n"
	"  --socket PATH[,client][,queues=N][,mode=OCTAL][,group=NAME][,mtu=N][,vlan=N]\n"
	"                     add a port (repeatable, up to 256). By default vhostd\n"
	"                     creates PATH and listens; with 'client' it connects to\n"
	"                     a frontend serving PATH and reconnects when it returns.\n"
	"                     queues=N offers N queue pairs (1-8, default 1).\n"
	"                     mode=0660,group=kvm set the socket file's permissions\n"
	"                     and group (server mode only).\n"
	"                     mtu=N (68-65535) offers the guest that MTU and drops\n"
	"                     frames to it above N + 18 (Ethernet header, VLAN tag).\n"
	"                     vlan=N (1-4094, l2 mode) makes it an access port of\n"
	"                     VLAN N: untagged to the guest, tagged N on uplinks;\n"
	"                     without it the port is in the default VLAN.\n"
	"  --uplink DEVARGS   add a DPDK ethdev as a port (repeatable; counts toward\n"
	"                     the 256 ports): net_af_packet0,iface=eth1 (a kernel\n"
	"                     interface), net_tap0,iface=tap0, or a PCI NIC by its\n"
	"                     full address (0000:01:00.0, with EAL options of your\n"
	"                     own after --: the defaults have --no-pci). Its MTU is\n"
	"                     the largest the device takes, up to 9000 (and no more\n"
	"                     than its kernel interface's); larger frames are\n"
	"                     dropped as too_big, TSO frames cut to fit.\n"
	"  --fwd l2|pair      l2 (default): MAC-learning switch across all ports.\n"
	"                     pair: patch ports two by two in command-line order\n"
	"                     (0<->1, 2<->3), like testpmd io forwarding.\n"
	"  --stats SECONDS    print one line per port every SECONDS (0 = off).\n"
	"  --mac-age SECONDS  forget a learned MAC after SECONDS without traffic\n"
	"                     (default 300).\n"
	"  --single-copy on|off\n"
	"                     in pair mode, copy straight from one guest into the\n"
	"                     other when one lcore polls both ports (default on);\n"
	"                     off always copies through an mbuf.\n"
	"  --control PATH|none\n"
	"                     the control socket vhostctl talks to (docs/control.md).\n"
	"                     Default: /run/vhostd/control.sock as root, else\n"
	"                     $XDG_RUNTIME_DIR/vhostd/control.sock, else\n"
	"                     /tmp/vhostd-UID/control.sock. none: no control socket.\n"
	"  --help             show this help.\n"
	"  --version          show the version.\n"
	"\n"
	"Everything after -- goes to DPDK's EAL verbatim, e.g.\n"
	"  vhostd --socket /tmp/a.sock --socket /tmp/b.sock -- --lcores=0@0,1@1 -m 256\n"
	"Without it vhostd uses: --no-pci --in-memory, 256 MB (hugepages when free,\n"
	"else --no-huge), and two lcores (one control, one forwarding).\n";

const char *
vhd_fwd_mode_name(enum vhd_fwd_mode mode)
{
	return mode == VHD_FWD_PAIR ? "pair" : "l2";
}

/* Parses a decimal in [min, max]; returns 0 or -1. */
static int
parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out < min || *out > max)
		return -1;
	return 0;
}

/* One line on err about the port being parsed, naming the flag or request. */
#define PORT_ERR(fmt, ...) fprintf(err, "vhostd: %s " fmt, flag, __VA_ARGS__)

int
vhd_cli_parse_port(const char *flag, const char *arg, struct vhd_port_config *p, FILE *err)
{
	const char *comma = strchr(arg, ',');
	size_t path_len = comma ? (size_t)(comma - arg) : strlen(arg);
	char opts[256];
	char *opt, *save = NULL;

	if (path_len == 0) {
		PORT_ERR("'%s': empty path\n", arg);
		return -1;
	}
	/* a unix socket address holds at most sun_path bytes, NUL included */
	if (path_len >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		PORT_ERR("%.*s: path longer than %zu bytes\n", (int)path_len,
			arg, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	strcpy(p->kind, "vhost");
	memcpy(p->path, arg, path_len);
	p->queues = 1;
	p->mode = -1;
	p->gid = -1;

	if (comma != NULL) {
		if (strlen(comma + 1) >= sizeof(opts)) {
			PORT_ERR("%s: options too long\n", p->path);
			return -1;
		}
		strcpy(opts, comma + 1);
		for (opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			unsigned long n;

			if (strcmp(opt, "client") == 0) {
				p->client = true;
			} else if (strcmp(opt, "server") == 0) {
				p->client = false;
			} else if (strncmp(opt, "queues=", 7) == 0) {
				if (parse_uint(opt + 7, 1, VHD_MAX_QUEUE_PAIRS, &n) < 0) {
					PORT_ERR(
						"%s: bad queue count '%s' "
						"(expected 1-%d)\n",
						p->path, opt + 7, VHD_MAX_QUEUE_PAIRS);
					return -1;
				}
				p->queues = n;
			} else if (strncmp(opt, "mode=", 5) == 0) {
				char *end;

				errno = 0;
				n = strtoul(opt + 5, &end, 8);
				if (opt[5] == '\0' || *end != '\0' || errno != 0 || n > 0777) {
					PORT_ERR(
						"%s: bad mode '%s' "
						"(expected octal permissions such as 0660)\n",
						p->path, opt + 5);
					return -1;
				}
				p->mode = n;
			} else if (strncmp(opt, "vlan=", 5) == 0) {
				if (parse_uint(opt + 5, 1, RTE_VLAN_ID_MASK - 1, &n) < 0) {
					PORT_ERR("%s: bad vlan '%s' (expected 1-%u)\n", p->path,
						 opt + 5, RTE_VLAN_ID_MASK - 1);
					return -1;
				}
				p->vlan = n;
			} else if (strncmp(opt, "mtu=", 4) == 0) {
				if (parse_uint(opt + 4, VHD_MTU_MIN, VHD_MTU_MAX, &n) < 0) {
					PORT_ERR(
						"%s: bad mtu '%s' "
						"(expected %u-%u)\n",
						p->path, opt + 4, VHD_MTU_MIN, VHD_MTU_MAX);
					return -1;
				}
				p->mtu = n;
			} else if (strncmp(opt, "group=", 6) == 0) {
				struct group *g = getgrnam(opt + 6);

				if (g == NULL) {
					PORT_ERR("%s: unknown group '%s'\n",
						p->path, opt + 6);
					return -1;
				}
				p->gid = g->gr_gid;
			} else {
				PORT_ERR(
					"%s: unknown option '%s' "
					"(expected client, server, queues=N, mode=OCTAL, "
					"group=NAME, mtu=N or vlan=N)\n",
					p->path, opt);
				return -1;
			}
		}
	}
	if (p->client && (p->mode >= 0 || p->gid >= 0)) {
		PORT_ERR("%s: mode= and group= need server mode (the "
			"frontend owns a client socket)\n", p->path);
		return -1;
	}
	return 0;
}

static int
parse_socket(const char *arg, struct vhd_config *cfg, FILE *err)
{
	struct vhd_port_config *p = &cfg->ports[cfg->nports];
	const char *flag = "--socket";
	uint16_t i;

	if (cfg->nports == VHD_MAX_PORTS) {
		PORT_ERR( "%s: too many ports (at most %d)\n", arg,
			VHD_MAX_PORTS);
		return -1;
	}
	if (vhd_cli_parse_port(flag, arg, p, err) != 0)
		return -1;
	for (i = 0; i < cfg->nports; i++) {
		if (strcmp(cfg->ports[i].path, p->path) == 0) {
			PORT_ERR( "%s: duplicate socket path\n", p->path);
			return -1;
		}
	}
	cfg->nports++;
	return 0;
}

/* getopt code of --uplink, beyond vhd_cli_parse()'s own */
#define OPT_UPLINK 1024

int
vhd_cli_parse_uplink(const char *flag, const char *arg, struct vhd_port_config *p, FILE *err)
{
	const char *comma = strchr(arg, ',');
	size_t name_len = comma ? (size_t)(comma - arg) : strlen(arg);

	if (name_len == 0) {
		PORT_ERR("'%s': no device name (expected devargs such as "
			 "net_af_packet0,iface=eth1)\n", arg);
		return -1;
	}
	if (strlen(arg) >= sizeof(p->path)) {
		PORT_ERR("%.*s...: devargs longer than %zu bytes\n", (int)name_len, arg,
			 sizeof(p->path) - 1);
		return -1;
	}
	if (name_len >= RTE_DEV_NAME_MAX_LEN) {
		PORT_ERR("%s: device name longer than %d bytes\n", arg, RTE_DEV_NAME_MAX_LEN - 1);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	strcpy(p->kind, "ethdev");
	strcpy(p->path, arg);
	p->queues = 1;
	p->mode = -1;
	p->gid = -1;
	return 0;
}

/* --uplink DEVARGS: the device is probed once EAL runs (port_ethdev.c). */
static int
parse_uplink(const char *arg, struct vhd_config *cfg, FILE *err)
{
	struct vhd_port_config *p = &cfg->ports[cfg->nports];
	const char *flag = "--uplink";
	uint16_t i;

	if (cfg->nports == VHD_MAX_PORTS) {
		PORT_ERR("%s: too many ports (at most %d)\n", arg, VHD_MAX_PORTS);
		return -1;
	}
	if (vhd_cli_parse_uplink(flag, arg, p, err) != 0)
		return -1;
	for (i = 0; i < cfg->nports; i++) {
		if (strcmp(cfg->ports[i].path, p->path) == 0) {
			PORT_ERR("%s: given twice\n", p->path);
			return -1;
		}
	}
	cfg->nports++;
	return 0;
}

enum vhd_cli_result
vhd_cli_parse(int argc, char **argv, struct vhd_config *cfg, FILE *err)
{
	enum { OPT_SOCKET = 256, OPT_FWD, OPT_STATS, OPT_MAC_AGE, OPT_SINGLE_COPY, OPT_CONTROL, OPT_HELP,
	       OPT_VERSION };
	static const struct option options[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"uplink", required_argument, NULL, OPT_UPLINK},
		{"fwd", required_argument, NULL, OPT_FWD},
		{"stats", required_argument, NULL, OPT_STATS},
		{"mac-age", required_argument, NULL, OPT_MAC_AGE},
		{"single-copy", required_argument, NULL, OPT_SINGLE_COPY},
		{"control", required_argument, NULL, OPT_CONTROL},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	bool control_given = false;
	unsigned long n;
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	cfg->fwd_mode = VHD_FWD_L2;
	cfg->mac_age = DEFAULT_MAC_AGE;
	cfg->single_copy = true;

	optind = 1;
	opterr = 0; /* we print our own one-line errors */
	/* '+': stop at the first non-option so nothing after it is permuted */
	while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_SOCKET:
			if (parse_socket(optarg, cfg, err) < 0)
				return VHD_CLI_ERROR;
			break;
		case OPT_UPLINK:
			if (parse_uplink(optarg, cfg, err) < 0)
				return VHD_CLI_ERROR;
			break;
		case OPT_FWD:
			if (strcmp(optarg, "l2") == 0) {
				cfg->fwd_mode = VHD_FWD_L2;
			} else if (strcmp(optarg, "pair") == 0) {
				cfg->fwd_mode = VHD_FWD_PAIR;
			} else {
				fprintf(err, "vhostd: --fwd '%s': expected l2 or pair\n", optarg);
				return VHD_CLI_ERROR;
			}
			break;
		case OPT_STATS:
			if (parse_uint(optarg, 0, 86400, &n) < 0) {
				fprintf(err, "vhostd: --stats '%s': expected seconds (0-86400)\n",
					optarg);
				return VHD_CLI_ERROR;
			}
			cfg->stats_interval = n;
			break;
		case OPT_MAC_AGE:
			if (parse_uint(optarg, 1, 86400, &n) < 0) {
				fprintf(err, "vhostd: --mac-age '%s': expected seconds (1-86400)\n",
					optarg);
				return VHD_CLI_ERROR;
			}
			cfg->mac_age = n;
			break;
		case OPT_SINGLE_COPY:
			if (strcmp(optarg, "on") == 0) {
				cfg->single_copy = true;
			} else if (strcmp(optarg, "off") == 0) {
				cfg->single_copy = false;
			} else {
				fprintf(err, "vhostd: --single-copy '%s': expected on or off\n",
					optarg);
				return VHD_CLI_ERROR;
			}
			break;
		case OPT_CONTROL:
			if (strlen(optarg) >= sizeof(cfg->control)) {
				fprintf(err, "vhostd: --control: path too long\n");
				return VHD_CLI_ERROR;
			}
			/* none: empty */
			strcpy(cfg->control, strcmp(optarg, VHD_CONTROL_NONE) == 0 ? "" : optarg);
			control_given = true;
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage, stdout);
			return VHD_CLI_EXIT;
		case OPT_VERSION:
			printf("vhostd %s (%s)\n", VHOSTD_VERSION, rte_version());
			return VHD_CLI_EXIT;
		case ':':
			fprintf(err, "vhostd: %s: missing value\n", argv[optind - 1]);
			return VHD_CLI_ERROR;
		default:
			fprintf(err, "vhostd: %s: unknown option (see --help)\n", argv[optind - 1]);
			return VHD_CLI_ERROR;
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		fprintf(err, "vhostd: '%s': unexpected argument (EAL options go after --)\n",
			argv[optind]);
		return VHD_CLI_ERROR;
	}
	for (n = 0; n < cfg->nports; n++)
		if (cfg->fwd_mode != VHD_FWD_L2 && cfg->ports[n].vlan != 0) {
			fprintf(err, "vhostd: --socket %s: vlan= needs --fwd l2\n",
				cfg->ports[n].path);
			return VHD_CLI_ERROR;
		}
	if (!control_given && vhd_control_default_path(cfg->control, sizeof(cfg->control)) != 0) {
		fprintf(err, "vhostd: the default control socket path is too long: give --control "
			"PATH or --control none\n");
		return VHD_CLI_ERROR;
	}
	cfg->eal_argc = argc - optind;
	cfg->eal_argv = &argv[optind];
	if (cfg->eal_argc > VHD_MAX_EAL_ARGS) {
		fprintf(err, "vhostd: --: too many EAL arguments (at most %d)\n", VHD_MAX_EAL_ARGS);
		return VHD_CLI_ERROR;
	}

	return VHD_CLI_RUN;
}

/* 1: a process accepts connections on path; 0: nobody does (stale). */
static int
socket_is_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 1; /* cannot tell: do not remove what might be live */
	strcpy(sa.sun_path, path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0 || errno != ECONNREFUSED;
}

int
vhd_cli_check_port_path(const char *flag, const struct vhd_port_config *p, FILE *err)
{
	char dir_buf[PATH_MAX];
	struct stat st;
	char *dir;

	/* the frontend owns a client socket file; an uplink has none */
	if (p->client || strcmp(p->kind, "vhost") != 0)
		return 0;

	strcpy(dir_buf, p->path);
	dir = dirname(dir_buf);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		PORT_ERR("%s: directory %s does not exist\n", p->path,
			dir);
		return -1;
	}
	/*
	 * Whoever may rename entries in the directory can swap our socket
	 * for their own or for a link: only root and our own user may,
	 * or anyone in a sticky directory like /tmp, where only an
	 * entry's owner can rename or remove it.
	 */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		PORT_ERR(
			"%s: directory %s belongs to uid %u, not to root "
			"or to vhostd's user\n",
			p->path, dir, (unsigned int)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		PORT_ERR(
			"%s: directory %s is writable by %s "
			"without the sticky bit\n",
			p->path, dir, (st.st_mode & S_IWOTH) ? "others" : "its group");
		return -1;
	}
	if (lstat(p->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		PORT_ERR("%s: %s\n", p->path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		PORT_ERR("%s: exists and is not a socket\n", p->path);
		return -1;
	}
	if (socket_is_live(p->path)) {
		PORT_ERR("%s: already served by a live process\n",
			p->path);
		return -1;
	}
	if (unlink(p->path) < 0) {
		PORT_ERR("%s: cannot remove stale socket: %s\n",
			p->path, strerror(errno));
		return -1;
	}
	PORT_ERR("%s: removed stale socket file\n", p->path);
	return 0;
}

int
vhd_cli_check_paths(const struct vhd_config *cfg, FILE *err)
{
	uint16_t i;

	for (i = 0; i < cfg->nports; i++)
		if (vhd_cli_check_port_path("--socket", &cfg->ports[i], err) != 0)
			return -1;
	if (cfg->control[0] != '\0' && vhd_control_check_path(cfg->control, err) != 0)
		return -1;
	return 0;
}
