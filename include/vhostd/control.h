/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a unix stream socket on which vhostctl, or anything
 * that writes one JSON object per line (docs/control.md), adds and removes
 * ports and reads the port list, counters and MAC table while vhostd runs.
 *
 * The server is one thread of its own (an EAL control thread, never an
 * lcore) that polls the listening socket and every client; requests run one
 * at a time on it. The path helpers need no EAL: vhostctl uses them too.
 */
#ifndef VHOSTD_CONTROL_H
#define VHOSTD_CONTROL_H

#include <stddef.h>
#include <stdio.h>

struct vhd_mac_table;

/* A request line longer than this gets an error and its client is closed. */
#define VHD_CONTROL_MAX_LINE (64 * 1024)

/* --control none: no control socket. */
#define VHD_CONTROL_NONE "none"

/*
 * The control socket's path when --control is not given, into buf:
 * /run/vhostd/control.sock for root when /run is writable, else
 * $XDG_RUNTIME_DIR/vhostd/control.sock when that is set (absolute), else
 * /tmp/vhostd-UID/control.sock. 0, or -ENAMETOOLONG.
 */
int vhd_control_default_path(char *buf, size_t len);

/*
 * Before the daemon starts: creates path's directory (mode 0700) when it is
 * missing and its parent exists, checks the directory as --socket's are
 * (owned by root or us, not writable by others without the sticky bit),
 * refuses a socket another process serves and removes a stale one. 0, or
 * -1 after one line on err naming --control.
 */
int vhd_control_check_path(const char *path, FILE *err);

/*
 * Creates the socket at path (mode 0600) and starts the server thread. mac
 * is the l2 switch's table, NULL in pair mode. Call once the ports given on
 * the command line exist. 0, or a negative errno after one line on err.
 */
int vhd_control_start(const char *path, struct vhd_mac_table *mac, FILE *err);

/*
 * Lets a request under way finish, stops the thread, closes every client
 * and removes the socket file. Call before the ports are removed; harmless
 * when the server was never started.
 */
void vhd_control_stop(void);

#endif /* VHOSTD_CONTROL_H */
