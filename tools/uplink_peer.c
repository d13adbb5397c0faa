/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uplink_peer: the traffic peer of tools/bench_uplink. One DPDK process, one
 * lcore, two ethdevs given as --vdev EAL args and named by --tx and --rx:
 * the guest's net_virtio_user port and the far end's net_af_packet port (on
 * the far side of the uplink, in a network namespace). It sends on the --tx
 * port and receives (and frees) on the --rx port, in one polling loop, so
 * that sender and receiver do not take turns on a shared CPU as two busy
 * processes would (with two testpmds on one CPU the scheduler's time slices
 * overflow the rings in between and cap the rate far below what the system
 * between them forwards).
 *
 * Frames: IPv4 UDP, --size bytes without FCS (60 = a 64-byte Ethernet
 * frame), 02:00:00:00:0a:00 -> 02:00:00:00:0b:00, 198.18.0.1:9 ->
 * 198.18.0.2:9, checksums filled in. They are built once (NTEMPLATES of
 * them) and sent again with their reference count raised, so the sender
 * neither allocates nor copies: a PMD that frees a sent mbuf drops only
 * that reference. The receiver drains its port (up to 8 bursts) before
 * every send.
 *
 * Prints once a second, and a total at SIGINT/SIGTERM:
 *   uplink_peer: sec=N tx_pps=T rx_pps=R tx_full=F
 *   uplink_peer: total secs=S tx_pkts=T rx_pkts=R tx_full=F
 * (tx_full: frames the --tx port did not take, not counted as sent).
 *
 * Usage: uplink_peer [EAL args] -- --tx NAME [--rx NAME] --size N
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define BURST 32
#define RXD 1024
#define TXD 1024
#define NTEMPLATES 2048
#define NB_MBUFS 16384

static volatile int quit;
static void on_signal(int s) { (void)s; quit = 1; }

static void
die(const char *msg)
{
	fprintf(stderr, "uplink_peer: %s\n", msg);
	exit(1);
}

static uint16_t
port_named(const char *name)
{
	uint16_t id;
	char msg[128];

	if (rte_eth_dev_get_port_by_name(name, &id) != 0) {
		snprintf(msg, sizeof(msg), "no ethdev named '%s' (give it with --vdev)", name);
		die(msg);
	}
	return id;
}

static void
port_start(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	char msg[128];

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, RXD, rte_socket_id(), NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, TXD, rte_socket_id(), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0) {
		snprintf(msg, sizeof(msg), "port %u: configure/queue setup/start failed", port);
		die(msg);
	}
	rte_eth_promiscuous_enable(port); /* not every PMD has it */
}

/* One IPv4 UDP frame of len bytes (without FCS). */
static void
build(struct rte_mbuf *m, uint16_t len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	const struct rte_ether_addr src = {{0x02, 0, 0, 0, 0x0a, 0}}, dst = {{0x02, 0, 0, 0, 0x0b, 0}};

	memset(eth, 0, len);
	rte_ether_addr_copy(&dst, &eth->dst_addr);
	rte_ether_addr_copy(&src, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(len - sizeof(*eth));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0xc6120001); /* 198.18.0.1 */
	ip->dst_addr = rte_cpu_to_be_32(0xc6120002); /* 198.18.0.2 */
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(9);
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16(len - sizeof(*eth) - sizeof(*ip));
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	m->data_len = m->pkt_len = len;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tx", required_argument, NULL, 't'},
		{"rx", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct rte_mbuf *tmpl[NTEMPLATES], *burst[BURST];
	const char *txname = NULL, *rxname = NULL;
	uint64_t tx = 0, rx = 0, full = 0, tx_sec = 0, rx_sec = 0, full_sec = 0;
	uint64_t hz, start, last, now;
	unsigned int size = 0, next = 0, sec = 0, i;
	struct rte_mempool *pool;
	uint16_t txp, rxp = 0;
	bool has_rx;
	int n, c;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		die("rte_eal_init failed");
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': txname = optarg; break;
		case 'r': rxname = optarg; break;
		case 's': size = (unsigned int)strtoul(optarg, NULL, 10); break;
		default: die("usage: uplink_peer [EAL args] -- --tx NAME [--rx NAME] --size N");
		}
	}
	if (txname == NULL || size < 60 || size > 1514)
		die("--tx NAME and --size 60-1514 are required");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	pool = rte_pktmbuf_pool_create("peer", NB_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (pool == NULL)
		die("no mbuf pool");
	txp = port_named(txname);
	has_rx = rxname != NULL;
	if (has_rx) {
		rxp = port_named(rxname);
		if (rxp == txp)
			die("--tx and --rx name the same port");
		port_start(rxp, pool);
	}
	port_start(txp, pool);
	for (i = 0; i < NTEMPLATES; i++) {
		tmpl[i] = rte_pktmbuf_alloc(pool);
		if (tmpl[i] == NULL)
			die("no mbufs for the frames");
		build(tmpl[i], (uint16_t)size);
	}
	printf("uplink_peer: tx=%s (port %u) rx=%s size=%u\n", txname, txp,
	       has_rx ? rxname : "none", size);
	fflush(stdout);

	hz = rte_get_tsc_hz();
	start = last = rte_rdtsc();
	while (!quit) {
		uint16_t k, sent;

		if (has_rx) {
			for (k = 0; k < 8; k++) {
				uint16_t got = rte_eth_rx_burst(rxp, 0, burst, BURST);

				rte_pktmbuf_free_bulk(burst, got);
				rx_sec += got;
				if (got < BURST)
					break;
			}
		}
		for (k = 0; k < BURST; k++) {
			burst[k] = tmpl[next];
			rte_mbuf_refcnt_update(burst[k], 1);
			next = (next + 1) % NTEMPLATES;
		}
		sent = rte_eth_tx_burst(txp, 0, burst, BURST);
		for (k = sent; k < BURST; k++)
			rte_mbuf_refcnt_update(burst[k], -1);
		tx_sec += sent;
		full_sec += BURST - sent;

		now = rte_rdtsc();
		if (now - last >= hz) {
			double s = (double)(now - last) / hz;

			printf("uplink_peer: sec=%u tx_pps=%.0f rx_pps=%.0f tx_full=%" PRIu64 "\n", ++sec,
			       tx_sec / s, rx_sec / s, full_sec);
			fflush(stdout);
			tx += tx_sec, rx += rx_sec, full += full_sec;
			tx_sec = rx_sec = full_sec = 0;
			last = now;
		}
	}
	tx += tx_sec, rx += rx_sec, full += full_sec;
	printf("uplink_peer: total secs=%.3f tx_pkts=%" PRIu64 " rx_pkts=%" PRIu64
	       " tx_full=%" PRIu64 "\n",
	       (double)(rte_rdtsc() - start) / hz, tx, rx, full);
	rte_eth_dev_stop(txp);
	if (has_rx)
		rte_eth_dev_stop(rxp);
	rte_eal_cleanup();
	return 0;
}
