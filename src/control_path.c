/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the control socket lives: its default path and the checks made
 * before the daemon starts. No EAL here: vhostctl links this file too.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhostd/control.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static int
put_path(char *buf, size_t len, int n)
{
	if (n < 0 || (size_t)n >= len || (size_t)n > SUN_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int
vhd_control_default_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0 && access("/run", W_OK) == 0)
		return put_path(buf, len, snprintf(buf, len, "/run/vhostd/control.sock"));
	/* a relative or too long XDG_RUNTIME_DIR is ignored, as the spec says */
	if (xdg != NULL && xdg[0] == '/' &&
	    put_path(buf, len, snprintf(buf, len, "%s/vhostd/control.sock", xdg)) == 0)
		return 0;
	return put_path(buf, len,
			snprintf(buf, len, "/tmp/vhostd-%u/control.sock", (unsigned int)geteuid()));
}

/* 1: a process accepts connections on path; 0: nobody does (stale). */
static int
socket_is_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1; /* cannot tell: do not remove what might be live */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0 || errno != ECONNREFUSED;
}

int
vhd_control_check_path(const char *path, FILE *err)
{
	char dir_buf[PATH_MAX];
	struct stat st;
	char *dir;

	if (path[0] == '\0') {
		fprintf(err, "vhostd: --control '': empty path\n");
		return -1;
	}
	if (strlen(path) > SUN_PATH_MAX) {
		fprintf(err, "vhostd: --control %s: path longer than %zu bytes\n", path,
			SUN_PATH_MAX);
		return -1;
	}
	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	dir = dirname(dir_buf);
	if (mkdir(dir, 0700) == 0) {
		fprintf(err, "vhostd: --control %s: created directory %s (mode 0700)\n", path, dir);
	} else if (errno != EEXIST) {
		fprintf(err, "vhostd: --control %s: cannot create directory %s: %s\n", path, dir,
			strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(err, "vhostd: --control %s: %s is not a directory\n", path, dir);
		return -1;
	}
	/* as for --socket: whoever may rename entries here could swap our socket */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		fprintf(err,
			"vhostd: --control %s: directory %s belongs to uid %u, not to root or to "
			"vhostd's user\n",
			path, dir, (unsigned int)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		fprintf(err, "vhostd: --control %s: directory %s is writable by %s without the "
			"sticky bit\n",
			path, dir, (st.st_mode & S_IWOTH) ? "others" : "its group");
		return -1;
	}
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(err, "vhostd: --control %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(err, "vhostd: --control %s: exists and is not a socket\n", path);
		return -1;
	}
	if (socket_is_live(path)) {
		fprintf(err,
			"vhostd: --control %s: already served by a live process (another vhostd? "
			"give it --control PATH or --control none)\n",
			path);
		return -1;
	}
	if (unlink(path) < 0) {
		fprintf(err, "vhostd: --control %s: cannot remove stale socket: %s\n", path,
			strerror(errno));
		return -1;
	}
	fprintf(err, "vhostd: --control %s: removed stale socket file\n", path);
	return 0;
}
