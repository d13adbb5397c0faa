/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhostctl: one request to vhostd's control socket (docs/control.md), its
 * answer as a table or, with --json, as the daemon's JSON.
 * Exit status: 0 done, 1 vhostd refused (its error on stderr), 2 usage
 * error, 3 vhostd cannot be reached (or gave no answer).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vhostd/clock.h"
#include "vhostd/control.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define DEFAULT_TIMEOUT_S 30
/* the longest answer we take: 256 ports' counters are far below it */
#define MAX_ANSWER (16u << 20)

static const char usage[] =
	"Usage: vhostctl [--control PATH] [--json] COMMAND [ARG]\n"
	"\n"
	"Asks a running vhostd, through its control socket.\n"
	"\n"
	"Commands:\n"
	"  add-port PATH[,client][,queues=N][,mode=OCTAL][,group=NAME][,mtu=N][,vlan=N]\n"
	"                     add a vhost-user port, as vhostd --socket does\n"
	"  add-uplink DEVARGS add an uplink ethdev, as vhostd --uplink does\n"
	"  del-port NAME      remove a port (its socket path, or an uplink's devargs);\n"
	"                     its frontend is disconnected\n"
	"  list               the ports and their state\n"
	"  stats              each port's counters\n"
	"  mac-table          the MACs the l2 switch learned\n"
	"\n"
	"Options:\n"
	"  --control PATH     vhostd's control socket (default: as vhostd's, %s)\n"
	"  --json             print the daemon's answer, one JSON object\n"
	"  --timeout SECONDS  wait at most that long for the answer (default %d)\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 done; 1 vhostd refused (its error is printed); 2 usage error;\n"
	"3 vhostd cannot be reached.\n";

struct command {
	const char *name;
	bool takes_arg;
	void (*print)(json_t *ans);
};

/* ---------------------------------------------------------------------- */
/* Tables */

struct column {
	const char *head;
	const char *key;
	bool right; /* numbers right-aligned */
};

/* A cell's text: strings as they are, integers in decimal, null and missing as "-". */
static void
cell(json_t *row, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(row, key);

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else
		snprintf(buf, len, "-");
}

/* Prints rows (an array of objects) under cols; the last column unpadded. */
static void
print_table(json_t *rows, const struct column *cols, size_t ncols)
{
	size_t width[16] = {0};
	char buf[PATH_MAX + 64];
	size_t i, c;
	json_t *row;

	for (c = 0; c < ncols && c < 16; c++)
		width[c] = strlen(cols[c].head);
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++) {
			cell(row, cols[c].key, buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	}
	for (c = 0; c < ncols; c++) {
		if (c + 1 == ncols)
			printf("%s\n", cols[c].head);
		else
			printf("%-*s  ", (int)width[c], cols[c].head);
	}
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++) {
			cell(row, cols[c].key, buf, sizeof(buf));
			if (c + 1 == ncols)
				printf("%s\n", buf);
			else
				printf(cols[c].right ? "%*s  " : "%-*s  ", (int)width[c], buf);
		}
	}
}

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* A port's options as --socket would take them, for the list's last column. */
static void
add_options(json_t *port)
{
	char buf[256];
	size_t n = 0;
	json_t *v;

	if (!json_is_string(json_object_get(port, "kind")) ||
	    strcmp(json_string_value(json_object_get(port, "kind")), "vhost") != 0) {
		json_object_set_new(port, "options", json_string("-"));
		return;
	}
	n += snprintf(buf + n, sizeof(buf) - n, "%s",
		      json_is_true(json_object_get(port, "client")) ? "client" : "server");
	v = json_object_get(port, "queues");
	if (json_is_integer(v))
		n += snprintf(buf + n, sizeof(buf) - n, ",queues=%" JSON_INTEGER_FORMAT,
			      json_integer_value(v));
	v = json_object_get(port, "mode");
	if (json_is_string(v) && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ",mode=%s", json_string_value(v));
	v = json_object_get(port, "gid");
	if (json_is_integer(v) && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ",gid=%" JSON_INTEGER_FORMAT,
			      json_integer_value(v));
	v = json_object_get(port, "mtu");
	if (json_is_integer(v) && json_integer_value(v) > 0 && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ",mtu=%" JSON_INTEGER_FORMAT,
			      json_integer_value(v));
	v = json_object_get(port, "vlan");
	if (json_is_integer(v) && json_integer_value(v) > 0 && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, ",vlan=%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	json_object_set_new(port, "options", json_string(buf));
}

/* The "lcores" column: each queue pair's polling lcore, "1,2". */
static void
add_lcores(json_t *port)
{
	char buf[128] = "";
	size_t n = 0, i;
	json_t *v;

	json_array_foreach(json_object_get(port, "queue_lcores"), i, v)
		if (json_is_integer(v) && n < sizeof(buf))
			n += snprintf(buf + n, sizeof(buf) - n, "%s%" JSON_INTEGER_FORMAT,
				      i ? "," : "", json_integer_value(v));
	json_object_set_new(port, "lcores", json_string(buf));
}

static void
print_list(json_t *ans)
{
	static const struct column cols[] = {
		{"ID", "id", true},	 {"KIND", "kind", false},	{"STATE", "state", false},
		{"LCORES", "lcores", false}, {"OPTIONS", "options", false}, {"NAME", "name", false},
	};
	json_t *ports = json_object_get(ans, "ports"), *p;
	size_t i;

	json_array_foreach(ports, i, p) {
		add_options(p);
		add_lcores(p);
	}
	print_table(ports, cols, NCOLS(cols));
}

static void
print_stats(json_t *ans)
{
	static const struct column cols[] = {
		{"ID", "id", true},	      {"STATE", "state", false},
		{"RX_PKTS", "rx_pkts", true}, {"RX_BYTES", "rx_bytes", true},
		{"TX_PKTS", "tx_pkts", true}, {"TX_BYTES", "tx_bytes", true},
		{"DROPS", "drops", true},     {"TOO_BIG", "too_big", true},
		{"ERRORS", "errors", true},   {"NAME", "name", false},
	};

	print_table(json_object_get(ans, "ports"), cols, NCOLS(cols));
	printf("mbufs in use: %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(ans, "mbufs_in_use")));
}

static void
print_mac_table(json_t *ans)
{
	static const struct column cols[] = {
		{"MAC", "mac", false},
		{"VLAN", "vlan", true},
		{"PORT", "port", true},
		{"AGE_S", "age", true},
		{"NAME", "name", false},
	};

	print_table(json_object_get(ans, "entries"), cols, NCOLS(cols));
}

static void
print_nothing(json_t *ans)
{
	json_t *id = json_object_get(ans, "id");

	if (json_is_integer(id))
		printf("port %" JSON_INTEGER_FORMAT "\n", json_integer_value(id));
}

static const struct command commands[] = {
	{"add-port", true, print_nothing},  {"add-uplink", true, print_nothing},
	{"del-port", true, print_nothing},  {"list", false, print_list},
	{"stats", false, print_stats},	    {"mac-table", false, print_mac_table},
};

/* ---------------------------------------------------------------------- */
/* Talking to vhostd */

static int
unreachable(const char *path, const char *what)
{
	fprintf(stderr, "vhostctl: cannot reach vhostd at %s: %s\n", path, what);
	return EXIT_UNREACHABLE;
}

/* Sends req, reads one answer line into *ans. 0 or an exit status. */
static int
ask(const char *path, json_t *req, unsigned int timeout_s, json_t **ans)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	double deadline = vhd_now_monotonic() + timeout_s;
	char *line, *buf = NULL, *nl = NULL;
	size_t len = 0, cap = 0, off = 0;
	json_error_t jerr;
	int fd, rc = EXIT_UNREACHABLE;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vhostctl: --control %s: path longer than %zu bytes\n", path,
			sizeof(sa.sun_path) - 1);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	line = json_dumps(req, JSON_COMPACT);
	if (line == NULL) {
		fprintf(stderr, "vhostctl: out of memory\n");
		return EXIT_UNREACHABLE;
	}
	len = strlen(line);
	line[len] = '\n'; /* json_dumps left room: its NUL */
	len++;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = unreachable(path, errno == ENOENT ? "no such socket (is vhostd running? "
							 "see --control)" :
							 strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = unreachable(path, strerror(errno));
			goto out;
		}
		off += n;
	}
	off = 0;
	while (nl == NULL) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		double left = deadline - vhd_now_monotonic();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0) {
			fprintf(stderr, "vhostctl: vhostd at %s gave no answer within %u s\n", path,
				timeout_s);
			goto out;
		}
		if (off + 4096 > cap) {
			char *b;

			if (cap >= MAX_ANSWER) {
				fprintf(stderr, "vhostctl: answer from %s longer than %u bytes\n",
					path, MAX_ANSWER);
				goto out;
			}
			cap = cap ? 2 * cap : 65536;
			b = realloc(buf, cap);
			if (b == NULL) {
				fprintf(stderr, "vhostctl: out of memory\n");
				goto out;
			}
			buf = b;
		}
		n = recv(fd, buf + off, cap - off, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = unreachable(path, n == 0 ? "it closed the connection without an answer" :
							strerror(errno));
			goto out;
		}
		nl = memchr(buf + off, '\n', n);
		off += n;
	}
	*ans = json_loadb(buf, nl - buf, 0, &jerr);
	if (*ans == NULL || !json_is_object(*ans) || !json_is_boolean(json_object_get(*ans, "ok"))) {
		fprintf(stderr, "vhostctl: vhostd at %s gave an answer that is not one: %s\n", path,
			*ans == NULL ? jerr.text : "no \"ok\"");
		json_decref(*ans);
		*ans = NULL;
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	enum { OPT_CONTROL = 256, OPT_JSON, OPT_TIMEOUT, OPT_HELP, OPT_VERSION };
	static const struct option options[] = {
		{"control", required_argument, NULL, OPT_CONTROL},
		{"json", no_argument, NULL, OPT_JSON},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	char path[PATH_MAX] = "", def[PATH_MAX];
	const struct command *cmd = NULL;
	unsigned long timeout_s = DEFAULT_TIMEOUT_S;
	bool json = false;
	json_t *req, *ans = NULL;
	size_t i;
	int opt, rc;

	if (vhd_control_default_path(def, sizeof(def)) != 0)
		snprintf(def, sizeof(def), "(none: path too long)");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case OPT_CONTROL:
			snprintf(path, sizeof(path), "%s", optarg);
			if (path[0] == '\0') {
				fprintf(stderr, "vhostctl: --control '': empty path\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			timeout_s = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' || timeout_s < 1 ||
			    timeout_s > 3600) {
				fprintf(stderr, "vhostctl: --timeout '%s': expected seconds (1-3600)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
		case OPT_HELP:
			printf(usage, def, DEFAULT_TIMEOUT_S);
			return 0;
		case OPT_VERSION:
			printf("vhostctl %s\n", VHOSTD_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "vhostctl: %s: missing value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "vhostctl: %s: unknown option (see --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vhostctl: no command (see --help)\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr,
			"vhostctl: '%s': unknown command (add-port, add-uplink, del-port, list, "
			"stats, mac-table)\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (cmd->takes_arg && argc - optind != 2) {
		fprintf(stderr, "vhostctl: %s: %s\n", cmd->name,
			argc - optind < 2 ? "missing its argument (see --help)" :
					    "takes one argument");
		return EXIT_USAGE;
	}
	if (!cmd->takes_arg && argc - optind != 1) {
		fprintf(stderr, "vhostctl: %s: takes no argument, got '%s'\n", cmd->name,
			argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (path[0] == '\0') {
		if (vhd_control_default_path(path, sizeof(path)) != 0) {
			fprintf(stderr, "vhostctl: the default control path is too long: give "
				"--control PATH\n");
			return EXIT_USAGE;
		}
	}

	req = cmd->takes_arg ? json_pack("{s:s, s:s}", "cmd", cmd->name, "arg", argv[optind + 1]) :
			       json_pack("{s:s}", "cmd", cmd->name);
	if (req == NULL) {
		fprintf(stderr, "vhostctl: %s: cannot build the request (is the argument "
			"UTF-8?)\n", cmd->name);
		return EXIT_USAGE;
	}
	rc = ask(path, req, timeout_s, &ans);
	json_decref(req);
	if (rc != 0)
		return rc;
	if (json) {
		json_dumpf(ans, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		json_t *e = json_object_get(ans, "error");

		fprintf(stderr, "vhostctl: %s\n",
			json_is_string(e) ? json_string_value(e) : "refused (no error given)");
		rc = EXIT_REFUSED;
	} else if (!json) {
		cmd->print(ans);
	}
	json_decref(ans);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "vhostctl: cannot write the answer: %s\n", strerror(errno));
		rc = EXIT_REFUSED;
	}
	return rc;
}
