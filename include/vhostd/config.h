/* SPDX-License-Identifier: BSD-3-Clause */
/* What the command line asks for: parsed and validated before EAL starts. */
#ifndef VHOSTD_CONFIG_H
#define VHOSTD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VHD_MAX_PORTS 256
#define VHD_MAX_QUEUE_PAIRS 8
#define VHD_MAX_EAL_ARGS 64
/* MTUs --socket PATH,mtu=N accepts: IPv4's minimum to the largest frame */
#define VHD_MTU_MIN 68u
#define VHD_MTU_MAX 65535u

enum vhd_fwd_mode {
	VHD_FWD_L2,   /* MAC-learning switch over all ports */
	VHD_FWD_PAIR, /* ports patched two by two: 0<->1, 2<->3, ... */
};

struct vhd_port_config {
	char kind[8];        /* "vhost" (--socket) or "ethdev" (--uplink) */
	char path[PATH_MAX]; /* the port's name: its socket path, or an uplink's devargs */
	bool client;     /* connect to the frontend's socket instead of listening */
	uint16_t queues; /* queue pairs offered */
	int mode;        /* socket file permissions, -1 = leave as created */
	long gid;        /* socket file group, -1 = leave as created */
	uint16_t mtu;    /* offered with VIRTIO_NET_F_MTU; 0 = none (frames up to 64 KiB) */
	uint16_t vlan;   /* access VLAN 1-4094 of a vhost port; 0 = default VLAN (untagged) */
};

struct vhd_config {
	struct vhd_port_config ports[VHD_MAX_PORTS];
	uint16_t nports;
	enum vhd_fwd_mode fwd_mode;
	unsigned int stats_interval; /* seconds; 0 = no periodic stats */
	unsigned int mac_age;        /* seconds a learned MAC stays without traffic */
	bool single_copy;            /* guest-to-guest copies without an mbuf where possible */
	char control[PATH_MAX];      /* the control socket (control.h); "" = none */
	int eal_argc;                /* arguments after "--", passed to EAL verbatim */
	char **eal_argv;
};

/* Outcome of parsing, so main() knows the exit code. */
enum vhd_cli_result {
	VHD_CLI_RUN,  /* start the daemon */
	VHD_CLI_EXIT, /* --help or --version was printed: exit 0 */
	VHD_CLI_ERROR /* bad input, already reported on err: exit 2 */
};

/*
 * Parses argv into cfg. Errors are one line on err naming the flag.
 * Does not touch the filesystem; see vhd_cli_check_paths().
 */
enum vhd_cli_result vhd_cli_parse(int argc, char **argv, struct vhd_config *cfg, FILE *err);

/*
 * Parses one port, PATH[,client][,queues=N][,mode=OCTAL][,group=NAME][,mtu=N],
 * into out (a vhost port). flag names the option or request in the one
 * line on err (--socket, add-port). Returns 0 or -1.
 */
int vhd_cli_parse_port(const char *flag, const char *arg, struct vhd_port_config *out, FILE *err);

/*
 * Parses an uplink's devargs (--uplink DEVARGS) into out (an ethdev port
 * named by them). Only the form is checked here; the driver and its
 * arguments when the device is probed. Returns 0 or -1 after one line on
 * err naming flag.
 */
int vhd_cli_parse_uplink(const char *flag, const char *arg, struct vhd_port_config *out,
			 FILE *err);

/*
 * Checks a server socket's path as vhd_cli_check_paths() does, for one
 * port; errors name flag. Returns 0 or -1 after one line on err.
 */
int vhd_cli_check_port_path(const char *flag, const struct vhd_port_config *p, FILE *err);

/*
 * Checks every socket path against the filesystem, the control socket's
 * last (vhd_control_check_path): a server path that exists
 * and is not a socket, or that another live process serves, is refused; a stale
 * socket left by a dead process is removed. Returns 0 or -1 after one line on err.
 */
int vhd_cli_check_paths(const struct vhd_config *cfg, FILE *err);

const char *vhd_fwd_mode_name(enum vhd_fwd_mode mode);

#endif /* VHOSTD_CONFIG_H */
