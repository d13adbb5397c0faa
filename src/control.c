/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's server (docs/control.md): one EAL control thread
 * polls the listening socket, a wake-up eventfd and up to MAX_CLIENTS
 * clients. Each client has a line buffer; a complete line is one request,
 * answered with one line. Requests run one at a time on this thread, so
 * port adds and removes never race each other here.
 *
 * A client is never waited for: sockets are non-blocking, a client that
 * stops reading has its answer kept (and its further requests left unread)
 * until it reads again, a partial request that makes no progress for
 * STALL_S seconds closes its client, and a client that hangs up in the
 * middle of a request is dropped with the request unrun.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "vhostd/clock.h"
#include "vhostd/config.h"
#include "vhostd/control.h"
#include "vhostd/log.h"
#include "vhostd/mac_table.h"
#include "vhostd/pool.h"
#include "vhostd/port.h"
#include "vhostd/ports.h"
#include "vhostd/stats.h"
#include "vhostd/virtq.h"

VHD_LOG_REGISTER(control);

#define MAX_CLIENTS 16
#define READ_CHUNK 4096
/* a partial request that makes no progress this long closes its client */
#define STALL_S 10
#define POLL_MS 1000

struct client {
	int fd; /* -1: slot free */
	char *in;       /* bytes read and not yet consumed; at most VHD_CONTROL_MAX_LINE */
	size_t in_len;
	char *out;      /* the answer not yet written */
	size_t out_len, out_off;
	unsigned long requests; /* requests read so far, to name them in errors */
	double last_progress;   /* when bytes of the partial request last came */
	bool eof;     /* the client shut its side: answer what is complete, then close */
	bool closing; /* close once the answer is written */
};

static struct {
	bool running;
	pthread_t thread;
	int listen_fd;
	int wake_fd;
	char path[PATH_MAX];
	dev_t dev; /* the socket file we created: removed only if still ours */
	ino_t ino;
	struct vhd_mac_table *mac;
	sem_t started;    /* posted once the thread has its lcore id, or failed to */
	int register_rc;  /* 0, or the negative errno rte_thread_register() failed with */
	struct client clients[MAX_CLIENTS];
} ctl = {.listen_fd = -1, .wake_fd = -1};

/* ---------------------------------------------------------------------- */
/* Answers */

static json_t *
answer_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
answer_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/*
 * What a port function wrote on its FILE, as one line naming the request:
 * "vhostd: " prefixes dropped, lines joined with "; ", each prefixed with
 * cmd unless it names it already ("add-port /a.sock: ..." for a line about
 * name, "add-port: ..." otherwise).
 */
static void
error_text(const char *cmd, const char *name, char *captured, char *msg, size_t len)
{
	size_t used = 0, cmdlen = strlen(cmd), namelen = strlen(name);
	char *line, *save = NULL;

	msg[0] = '\0';
	for (line = strtok_r(captured, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *sep = ": ";

		if (strncmp(line, "vhostd: ", 8) == 0)
			line += 8;
		if (*line == '\0')
			continue;
		if (strncmp(line, cmd, cmdlen) == 0 && (line[cmdlen] == ' ' || line[cmdlen] == ':'))
			sep = NULL;
		else if (namelen > 0 && strncmp(line, name, namelen) == 0 && line[namelen] == ':')
			sep = " ";
		if (used > 0 && used < len)
			used += snprintf(msg + used, len - used, "; ");
		if (sep != NULL && used < len)
			used += snprintf(msg + used, len - used, "%s%s", cmd, sep);
		if (used < len)
			used += snprintf(msg + used, len - used, "%s", line);
	}
	if (msg[0] == '\0')
		snprintf(msg, len, "%s %s: failed (no detail)", cmd, name);
}

/* A FILE the port functions write their error lines to. */
struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static int
capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	return c->f == NULL ? -ENOMEM : 0;
}

/* Closes the FILE; c->buf then holds what was written (free it). */
static void
capture_close(struct capture *c)
{
	fclose(c->f);
	c->f = NULL;
}

/* A copy of s fit for one log line: control characters become '?'. */
static const char *
loggable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/*
 * The answer to an add or a del: ok with the port's id, or the error lines
 * the port functions wrote (c is closed and freed here).
 */
static json_t *
port_answer(const char *cmd, const char *name, const char *arg, struct capture *c, int rc)
{
	char msg[1024], logbuf[1024];
	json_t *ans;

	capture_close(c);
	if (rc < 0) {
		error_text(cmd, name, c->buf, msg, sizeof(msg));
		VHD_LOG(INFO, "refused: %s", loggable(msg, logbuf, sizeof(logbuf)));
		ans = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	} else {
		VHD_LOG(INFO, "%s %s: port %d", cmd, loggable(arg, logbuf, sizeof(logbuf)), rc);
		if (c->buf != NULL && c->buf[0] != '\0')
			VHD_LOG(INFO, "%s", loggable(c->buf, logbuf, sizeof(logbuf)));
		ans = json_pack("{s:b, s:i}", "ok", 1, "id", rc);
	}
	free(c->buf);
	return ans;
}

/* ---------------------------------------------------------------------- */
/* Requests */

static json_t *
do_add(const char *cmd, const char *arg)
{
	struct vhd_port_config cfg;
	const struct vhd_port *p;
	struct capture c;
	int rc;

	if (capture_open(&c) != 0)
		return answer_error("%s %s: out of memory", cmd, arg);
	memset(&cfg, 0, sizeof(cfg));
	if (strcmp(cmd, "add-uplink") == 0)
		rc = vhd_cli_parse_uplink(cmd, arg, &cfg, c.f);
	else
		rc = vhd_cli_parse_port(cmd, arg, &cfg, c.f);
	if (rc != 0)
		cfg.path[0] = '\0'; /* the error names the request */
	if (rc == 0) {
		/* before the path check, which would call our own socket live */
		vhd_ports_lock();
		p = vhd_port_find(cfg.path);
		if (p != NULL) {
			fprintf(c.f, "%s %s: already a port (id %u)\n", cmd, cfg.path, p->id);
			rc = -EEXIST;
		}
		vhd_ports_unlock();
	}
	if (rc == 0)
		rc = vhd_cli_check_port_path(cmd, &cfg, c.f);
	if (rc == 0)
		rc = vhd_port_add(&cfg, c.f);
	return port_answer(cmd, cfg.path, arg, &c, rc);
}

static json_t *
do_del(const char *arg)
{
	const struct vhd_port *p;
	struct capture c;
	int id = -1, rc;

	vhd_ports_lock();
	p = vhd_port_find(arg);
	if (p != NULL)
		id = p->id;
	vhd_ports_unlock();
	if (id < 0)
		return answer_error("del-port %s: no such port", arg);

	if (capture_open(&c) != 0)
		return answer_error("del-port %s: out of memory", arg);
	rc = vhd_port_del(arg, c.f);
	return port_answer("del-port", arg, arg, &c, rc < 0 ? rc : id);
}

/* mode= as written on the command line ("0660"), or null when left as created. */
static json_t *
json_mode(int mode)
{
	char s[16];

	if (mode < 0)
		return json_null();
	snprintf(s, sizeof(s), "%04o", (unsigned int)mode & 07777);
	return json_string(s);
}

/* Each queue pair's polling lcore, in queue order. */
static json_t *
queue_lcores(const struct vhd_port *p)
{
	json_t *a = json_array();
	uint16_t q;

	for (q = 0; a != NULL && q < p->nr_queues; q++)
		json_array_append_new(a, json_integer(p->unit_lcore[q]));
	return a;
}

/* Each queue pair's lcore and packets received from and sent into it. */
static json_t *
queue_counters(const struct vhd_port *p)
{
	json_t *a = json_array();
	uint64_t rx, tx;
	uint16_t q;

	for (q = 0; a != NULL && q < p->nr_queues; q++) {
		p->ops->queue_counters(p, q, &rx, &tx);
		json_array_append_new(a, json_pack("{s:i, s:I, s:I}", "lcore", p->unit_lcore[q],
						   "rx_pkts", (json_int_t)rx, "tx_pkts",
						   (json_int_t)tx));
	}
	return a;
}

static json_t *
port_entry(const struct vhd_port *p)
{
	const struct vhd_port_config *c = p->cfg;

	return json_pack("{s:i, s:s, s:s, s:s, s:b, s:i, s:o, s:o, s:i, s:i, s:i, s:o*}", "id",
			 p->id, "name", c->path, "kind", c->kind, "state", vhd_port_state(p),
			 "client", c->client, "queues", c->queues, "mode", json_mode(c->mode),
			 "gid", c->gid < 0 ? json_null() : json_integer(c->gid), "mtu", c->mtu,
			 "vlan", c->vlan, "lcore", p->lcore_id, "queue_lcores", queue_lcores(p));
}

/* Runs fn on every port now in the table, in id order, with the table held. */
static json_t *
collect_ports(json_t *(*fn)(const struct vhd_port *p))
{
	json_t *ports = json_array();
	uint16_t i;

	if (ports == NULL)
		return NULL;
	vhd_ports_lock();
	for (i = 0; i < vhd_nports; i++) {
		const struct vhd_port *p = &vhd_ports[i];

		if (vhd_port_is_present(p) && json_array_append_new(ports, fn(p)) != 0) {
			json_decref(ports);
			ports = NULL;
			break;
		}
	}
	vhd_ports_unlock();
	return ports;
}

static json_t *
do_list(void)
{
	json_t *ports = collect_ports(port_entry);

	if (ports == NULL)
		return answer_error("list: out of memory");
	return json_pack("{s:b, s:o}", "ok", 1, "ports", ports);
}

static const char *
error_kind_name(unsigned int k)
{
	return k < VHD_DESC_ERR_MAX ? vhd_desc_error_name(k) :
				      vhd_hdr_error_name(k - VHD_DESC_ERR_MAX);
}

static json_t *
stats_entry(const struct vhd_port *p)
{
	struct vhd_port_totals t;
	json_t *kinds = json_object();
	unsigned int k;

	vhd_port_totals(p, &t);
	for (k = 0; kinds != NULL && k < VHD_ERR_KINDS; k++)
		json_object_set_new(kinds, error_kind_name(k), json_integer(t.errors_by_kind[k]));
	/* counters are uint64_t; json_int_t is long long: fine below 2^63 */
	return json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:o*, s:o*}",
			 "id", p->id, "name", p->cfg->path, "state", vhd_port_state(p), "rx_pkts",
			 (json_int_t)t.rx_pkts, "rx_bytes", (json_int_t)t.rx_bytes, "tx_pkts",
			 (json_int_t)t.tx_pkts, "tx_bytes", (json_int_t)t.tx_bytes, "drops",
			 (json_int_t)t.drops, "too_big", (json_int_t)t.too_big, "no_mbuf",
			 (json_int_t)t.no_mbuf, "errors", (json_int_t)t.errors, "msg_refused",
			 (json_int_t)t.msg_refused, "mem_faults", (json_int_t)t.mem_faults,
			 "interrupt_stalls", (json_int_t)t.interrupt_stalls, "interrupts",
			 (json_int_t)t.interrupts, "interrupts_failed",
			 (json_int_t)t.interrupts_failed, "errors_by_kind", kinds, "queues",
			 queue_counters(p));
}

static json_t *
do_stats(void)
{
	json_t *ports = collect_ports(stats_entry);

	if (ports == NULL)
		return answer_error("stats: out of memory");
	return json_pack("{s:b, s:I, s:o}", "ok", 1, "mbufs_in_use",
			 (json_int_t)vhd_pools_in_use(), "ports", ports);
}

struct mac_entry {
	struct rte_ether_addr mac;
	uint16_t vlan;
	uint16_t port;
	uint32_t seen;
};

struct mac_walk {
	struct mac_entry *e;
	size_t n, cap;
	bool nomem;
};

static void
mac_collect(const struct vhd_mac_key *key, uint16_t port, uint32_t seen, void *arg)
{
	struct mac_walk *w = arg;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct mac_entry *e = realloc(w->e, cap * sizeof(*e));

		if (e == NULL) {
			w->nomem = true;
			return;
		}
		w->e = e;
		w->cap = cap;
	}
	/* copied at once: the slot may be reused after this call */
	memcpy(&w->e[w->n].mac, &key->mac, sizeof(w->e[w->n].mac));
	w->e[w->n].vlan = key->vlan;
	w->e[w->n].port = port;
	w->e[w->n].seen = seen;
	w->n++;
}

static int
mac_cmp(const void *a, const void *b)
{
	const struct mac_entry *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->vlan != y->vlan)
		return x->vlan < y->vlan ? -1 : 1;
	return memcmp(&x->mac, &y->mac, sizeof(x->mac));
}

/* Entries by port, VLAN, then MAC: one per (VLAN, MAC) learned. */
static json_t *
do_mac_table(void)
{
	uint32_t now = rte_get_tsc_cycles() / rte_get_tsc_hz();
	struct mac_walk w = {0};
	json_t *entries;
	size_t i;

	if (ctl.mac == NULL)
		return answer_error("mac-table: no MAC table (vhostd runs --fwd pair, which learns "
				    "no MACs)");
	entries = json_array();
	if (entries == NULL)
		return answer_error("mac-table: out of memory");
	/* held: a port's name stays its own while we print it */
	vhd_ports_lock();
	vhd_mac_table_walk(ctl.mac, mac_collect, &w);
	if (!w.nomem)
		qsort(w.e, w.n, sizeof(*w.e), mac_cmp);
	for (i = 0; i < w.n && !w.nomem; i++) {
		const struct vhd_port *p = w.e[i].port < vhd_nports ? &vhd_ports[w.e[i].port] : NULL;
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		json_t *e;

		/* lower case, as ip(8) prints them */
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", w.e[i].mac.addr_bytes[0],
			 w.e[i].mac.addr_bytes[1], w.e[i].mac.addr_bytes[2], w.e[i].mac.addr_bytes[3],
			 w.e[i].mac.addr_bytes[4], w.e[i].mac.addr_bytes[5]);
		e = json_pack("{s:s, s:i, s:i, s:o, s:I}", "mac", mac, "vlan", w.e[i].vlan, "port",
			      w.e[i].port, "name",
			      p != NULL && vhd_port_is_present(p) ? json_string(p->cfg->path) :
								    json_null(),
			      "age", (json_int_t)(uint32_t)(now - w.e[i].seen));
		if (e == NULL || json_array_append_new(entries, e) != 0)
			w.nomem = true;
	}
	vhd_ports_unlock();
	free(w.e);
	if (w.nomem) {
		json_decref(entries);
		return answer_error("mac-table: out of memory");
	}
	return json_pack("{s:b, s:o}", "ok", 1, "entries", entries);
}

/* ---------------------------------------------------------------------- */
/* Parsing a request */

#define COMMANDS "add-port, add-uplink, del-port, list, stats or mac-table"

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/* Quotes at most 60 bytes of s for an error message, printable ASCII only. */
static const char *
excerpt(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < buflen && i < 60; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* One request line (without its newline) to its answer; never NULL. */
static json_t *
handle_request(const char *line, size_t len, unsigned long nr)
{
	const char *cmd, *key, *arg = NULL;
	json_error_t jerr;
	json_t *req, *v, *ans;
	char quoted[80];
	bool takes_arg;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req == NULL)
		return answer_error("request %lu: invalid JSON at column %d: %s ('%s')", nr,
				    jerr.column, jerr.text,
				    excerpt(line, len, quoted, sizeof(quoted)));
	if (!json_is_object(req)) {
		ans = answer_error("request %lu: %s, want an object such as {\"cmd\":\"list\"}",
				   nr, type_name(req));
		goto out;
	}
	v = json_object_get(req, "cmd");
	if (v == NULL) {
		ans = answer_error("request %lu: no \"cmd\" (one of " COMMANDS ")", nr);
		goto out;
	}
	if (!json_is_string(v)) {
		ans = answer_error("request %lu: \"cmd\" is %s, want a string (one of " COMMANDS
				   ")", nr, type_name(v));
		goto out;
	}
	cmd = json_string_value(v);
	if (strcmp(cmd, "add-port") == 0 || strcmp(cmd, "add-uplink") == 0 ||
	    strcmp(cmd, "del-port") == 0) {
		takes_arg = true;
	} else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "stats") == 0 ||
		   strcmp(cmd, "mac-table") == 0) {
		takes_arg = false;
	} else {
		ans = answer_error("request %lu: unknown command '%s' (want " COMMANDS ")", nr,
				   excerpt(cmd, strlen(cmd), quoted, sizeof(quoted)));
		goto out;
	}
	json_object_foreach(req, key, v) {
		if (strcmp(key, "cmd") == 0)
			continue;
		if (strcmp(key, "arg") != 0 || !takes_arg) {
			ans = answer_error("%s: unknown field \"%s\"%s", cmd,
					   excerpt(key, strlen(key), quoted, sizeof(quoted)),
					   takes_arg ? " (want \"cmd\" and \"arg\")" :
						       " (it takes only \"cmd\")");
			goto out;
		}
		if (!json_is_string(v)) {
			ans = answer_error("%s: \"arg\" is %s, want a string", cmd, type_name(v));
			goto out;
		}
		arg = json_string_value(v);
	}
	if (takes_arg && arg == NULL) {
		ans = answer_error("%s: no \"arg\" (want %s)", cmd,
				   strcmp(cmd, "add-port") == 0   ? "PATH[,options] as for --socket" :
				   strcmp(cmd, "add-uplink") == 0 ? "DEVARGS as for --uplink" :
								    "a port's socket path or devargs");
		goto out;
	}
	if (strcmp(cmd, "add-port") == 0 || strcmp(cmd, "add-uplink") == 0)
		ans = do_add(cmd, arg);
	else if (strcmp(cmd, "del-port") == 0)
		ans = do_del(arg);
	else if (strcmp(cmd, "list") == 0)
		ans = do_list();
	else if (strcmp(cmd, "stats") == 0)
		ans = do_stats();
	else
		ans = do_mac_table();
out:
	json_decref(req);
	return ans;
}

/* ---------------------------------------------------------------------- */
/* Clients */

static void
client_close(struct client *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Writes what it can of the pending answer; -1 when the client is gone. */
static int
client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

static bool
client_pending(const struct client *c)
{
	return c->out_len > c->out_off;
}

/* Queues ans (consumed) as one line and starts writing it. */
static int
client_answer(struct client *c, json_t *ans)
{
	char *s = ans != NULL ? json_dumps(ans, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(ans);
	if (s == NULL)
		s = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (s == NULL)
		return -1;
	len = strlen(s);
	c->out = realloc(s, len + 1);
	if (c->out == NULL) {
		free(s);
		return -1;
	}
	c->out[len] = '\n';
	c->out_len = len + 1;
	c->out_off = 0;
	return client_flush(c);
}

/*
 * Answers the complete lines in the buffer, one at a time: the next only
 * once the previous answer is written, so a client that does not read
 * cannot make us hold more than one answer. -1: close the client.
 */
static int
client_process(struct client *c)
{
	while (!client_pending(c) && !c->closing) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t len, used;

		if (nl == NULL)
			break;
		len = nl - c->in;
		used = len + 1;
		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		/* blank lines are no requests */
		if (strspn(c->in, " \t\r") < len) {
			c->requests++;
			if (client_answer(c, handle_request(c->in, len, c->requests)) < 0)
				return -1;
		}
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		c->last_progress = vhd_now_monotonic();
	}
	if (!client_pending(c) && !c->closing && c->eof) {
		if (c->in_len > 0)
			VHD_LOG(INFO, "client %d hung up in the middle of a request (%zu bytes): "
				"not run", c->fd, c->in_len);
		return -1;
	}
	return 0;
}

static int
client_read(struct client *c)
{
	ssize_t n;

	if (c->in == NULL) {
		c->in = malloc(VHD_CONTROL_MAX_LINE);
		if (c->in == NULL)
			return -1;
	}
	if (c->in_len == VHD_CONTROL_MAX_LINE)
		return 0; /* full of complete requests: they go first */
	n = recv(c->fd, c->in + c->in_len, VHD_CONTROL_MAX_LINE - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	c->last_progress = vhd_now_monotonic();
	c->in_len += n;
	if (c->in_len == VHD_CONTROL_MAX_LINE && memchr(c->in, '\n', c->in_len) == NULL) {
		VHD_LOG(INFO, "client %d: request %lu longer than %d bytes: closing", c->fd,
			c->requests + 1, VHD_CONTROL_MAX_LINE);
		c->in_len = 0;
		c->closing = true;
		return client_answer(c, answer_error("request %lu: longer than %d bytes "
						     "(newline included): closing the connection",
						     c->requests + 1, VHD_CONTROL_MAX_LINE));
	}
	return 0;
}

static void
accept_clients(void)
{
	int fd, i;

	while ((fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < MAX_CLIENTS && ctl.clients[i].fd >= 0; i++)
			;
		if (i == MAX_CLIENTS) {
			char busy[96];
			int len = snprintf(busy, sizeof(busy),
					   "{\"ok\":false,\"error\":\"too many control clients "
					   "(at most %d)\"}\n", MAX_CLIENTS);

			/* a fresh socket's buffer is empty: this fits or the client is gone */
			if (send(fd, busy, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				VHD_LOG(DEBUG, "refused client: %s", strerror(errno));
			close(fd);
			VHD_LOG(WARNING, "refused a client: %d already connected", MAX_CLIENTS);
			continue;
		}
		memset(&ctl.clients[i], 0, sizeof(ctl.clients[i]));
		ctl.clients[i].fd = fd;
		ctl.clients[i].last_progress = vhd_now_monotonic();
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		VHD_LOG(WARNING, "accept: %s", strerror(errno));
}

static void *
control_main(void *arg)
{
	struct pollfd pfd[2 + MAX_CLIENTS];
	int idx[2 + MAX_CLIENTS];
	sigset_t sigs;
	int i, n;

	RTE_SET_USED(arg);
	/*
	 * An lcore id of our own (not a polling lcore): removing a port
	 * deletes its MACs, and rte_hash's multi-writer slot caches and its
	 * RCU reclaim index an array by rte_lcore_id(); without an id
	 * (LCORE_ID_ANY) they write far out of it.
	 */
	ctl.register_rc = rte_thread_register() == 0 ? 0 : -rte_errno;
	sem_post(&ctl.started);
	if (ctl.register_rc != 0)
		return NULL;
	/* SIGINT/SIGTERM are for the main thread's control loop */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	for (;;) {
		double now;

		pfd[0] = (struct pollfd){.fd = ctl.wake_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = ctl.listen_fd, .events = POLLIN};
		n = 2;
		for (i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &ctl.clients[i];

			if (c->fd < 0)
				continue;
			pfd[n].fd = c->fd;
			/* no reading while an answer waits: the client must read first */
			pfd[n].events = client_pending(c) ? POLLOUT : c->eof ? 0 : POLLIN;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (poll(pfd, n, POLL_MS) < 0 && errno != EINTR) {
			VHD_LOG(ERR, "poll: %s", strerror(errno));
			usleep(100 * 1000);
			continue;
		}
		if (pfd[0].revents != 0)
			break;
		if (pfd[1].revents & POLLIN)
			accept_clients();
		now = vhd_now_monotonic();
		for (i = 2; i < n; i++) {
			struct client *c = &ctl.clients[idx[i]];
			short ev = pfd[i].revents;
			int rc = 0;

			if (client_pending(c)) {
				if (ev & (POLLOUT | POLLERR | POLLHUP))
					rc = client_flush(c);
			} else if (ev & (POLLIN | POLLERR | POLLHUP)) {
				rc = client_read(c);
			}
			if (rc == 0)
				rc = client_process(c);
			/* closing: its last answer is out */
			if (rc < 0 || (c->closing && !client_pending(c))) {
				client_close(c);
				continue;
			}
			if (c->in_len > 0 && !client_pending(c) && now - c->last_progress > STALL_S) {
				VHD_LOG(INFO, "client %d: request %lu incomplete for %d s: closing",
					c->fd, c->requests + 1, STALL_S);
				c->in_len = 0;
				c->closing = true;
				if (client_answer(c, answer_error("request %lu: incomplete for %d s: "
								  "closing the connection",
								  c->requests + 1, STALL_S)) < 0 ||
				    !client_pending(c))
					client_close(c);
				continue;
			}
		}
	}
	rte_thread_unregister();
	return NULL;
}

/* ---------------------------------------------------------------------- */

int
vhd_control_start(const char *path, struct vhd_mac_table *mac, FILE *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int i, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(err, "vhostd: --control %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(ctl.path, sizeof(ctl.path), "%s", path);
	ctl.mac = mac;
	for (i = 0; i < MAX_CLIENTS; i++)
		ctl.clients[i].fd = -1;

	ctl.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl.listen_fd < 0) {
		rc = -errno;
		fprintf(err, "vhostd: --control %s: socket: %s\n", path, strerror(errno));
		return rc;
	}
	/*
	 * Created 0600: only vhostd's user may connect. umask is process-wide;
	 * this runs on the main thread, and no other thread creates files then.
	 */
	old_mask = umask(0177);
	rc = bind(ctl.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0) {
		rc = -errno;
		fprintf(err, "vhostd: --control %s: %s\n", path, strerror(errno));
		goto fail_close;
	}
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0) {
		rc = -errno;
		fprintf(err, "vhostd: --control %s: %s\n", path, strerror(errno));
		goto fail_unlink;
	}
	ctl.dev = st.st_dev;
	ctl.ino = st.st_ino;
	if (listen(ctl.listen_fd, MAX_CLIENTS) < 0) {
		rc = -errno;
		fprintf(err, "vhostd: --control %s: listen: %s\n", path, strerror(errno));
		goto fail_unlink;
	}
	ctl.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctl.wake_fd < 0) {
		rc = -errno;
		fprintf(err, "vhostd: --control %s: eventfd: %s\n", path, strerror(errno));
		goto fail_unlink;
	}
	sem_init(&ctl.started, 0, 0);
	rc = rte_ctrl_thread_create(&ctl.thread, "vhd-control", NULL, control_main, NULL);
	if (rc != 0) {
		fprintf(err, "vhostd: --control %s: cannot start its thread: %s\n", path,
			strerror(rc < 0 ? -rc : rc));
		rc = rc < 0 ? rc : -rc;
		goto fail_sem;
	}
	while (sem_wait(&ctl.started) != 0)
		;
	if (ctl.register_rc != 0) {
		pthread_join(ctl.thread, NULL);
		rc = ctl.register_rc;
		fprintf(err, "vhostd: --control %s: cannot give its thread an lcore id: %s\n", path,
			rte_strerror(-rc));
		goto fail_sem;
	}
	ctl.running = true;
	VHD_LOG(INFO, "control socket %s (mode 0600)", path);
	return 0;

fail_sem:
	sem_destroy(&ctl.started);
	close(ctl.wake_fd);
	ctl.wake_fd = -1;
fail_unlink:
	unlink(path);
fail_close:
	close(ctl.listen_fd);
	ctl.listen_fd = -1;
	return rc;
}

void
vhd_control_stop(void)
{
	uint64_t one = 1;
	struct stat st;
	int i;

	if (!ctl.running)
		return;
	if (write(ctl.wake_fd, &one, sizeof(one)) != sizeof(one))
		VHD_LOG(ERR, "cannot wake the control thread: %s", strerror(errno));
	pthread_join(ctl.thread, NULL);
	ctl.running = false;
	for (i = 0; i < MAX_CLIENTS; i++)
		if (ctl.clients[i].fd >= 0)
			client_close(&ctl.clients[i]);
	close(ctl.wake_fd);
	ctl.wake_fd = -1;
	close(ctl.listen_fd);
	ctl.listen_fd = -1;
	sem_destroy(&ctl.started);
	/* only our own socket: a file put there since is not ours to remove */
	if (lstat(ctl.path, &st) == 0 && st.st_dev == ctl.dev && st.st_ino == ctl.ino)
		unlink(ctl.path);
}
