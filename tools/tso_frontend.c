/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tso_frontend: the frontend of tools/bench_tso. One DPDK process, one
 * lcore, two virtio-user ports (given as --vdev EAL args):
 *   port 0  sender: sends IPv4 TCP frames of --payload bytes marked for TSO
 *           (RTE_MBUF_F_TX_TCP_SEG, tso_segsz --mss), tx offloads
 *           TCP_CKSUM|TCP_TSO, so the virtio PMD negotiates CSUM and
 *           HOST_TSO4/6 and puts a GSO header in front of each frame;
 *   port 1  receiver: rx offloads TCP/UDP_CKSUM|TCP_LRO with --rx-offload
 *           (GUEST_CSUM, GUEST_TSO4/6 negotiated), none without; counts
 *           what arrives and frees it.
 * The frames are built once (--templates of them, 64 KiB mbufs, more than
 * the 1024-entry ring holds: the PMD frees sent mbufs only inside a send) and sent
 * again whenever no earlier send of the same template is still in flight
 * (refcnt back to 1), so the sender copies nothing: the backend between the
 * two ports is what limits the loop.
 *
 * Prints one line per second and a final line:
 *   tso_frontend: total secs=S rx_pkts=N rx_bytes=B rx_payload=P gbps=G tx_frames=F
 * where P is the TCP payload received (frame bytes less the Ethernet, IP
 * and TCP headers of each received frame) and G = P * 8 / S / 1e9 over the
 * measured interval (after --skip seconds).
 *
 * The sender keeps at most --window frames in flight (sent, payload not yet
 * received), like a TCP sender, so that it does not offer far more than
 * the receiver's 1024 buffers take; frames a backend dropped are given up
 * after 1 ms without progress (window_timeouts counts that). --window 0
 * sends as fast as the ring takes.
 *
 * Usage: tso_frontend [EAL args] -- --seconds S [--skip S] [--mss M]
 *        [--payload N] [--rx-offload 0|1] [--templates N] [--window N]
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#define BURST 32
#define RXD 1024
#define TXD 1024

static volatile int quit;
static void on_signal(int s) { (void)s; quit = 1; }

static unsigned seconds = 10, skip = 2, mss = 1448, payload = 65160, rx_offload = 1,
		ntemplates = 1536, window = 16;

static void
die(const char *msg)
{
	fprintf(stderr, "tso_frontend: %s\n", msg);
	exit(1);
}

static void
port_init(uint16_t port, struct rte_mempool *rxpool, uint64_t rxo, uint64_t txo)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_txconf txconf;
	char msg[160];

	if (rte_eth_dev_info_get(port, &info) != 0)
		die("dev_info_get");
	memset(&conf, 0, sizeof(conf));
	/* the virtio PMD frees sent mbufs only when more than TXD - thresh
	 * descriptors are used: free them early, templates come back sooner */
	txconf = info.default_txconf;
	txconf.tx_free_thresh = TXD - 64;
	txconf.offloads = txo;
	conf.rxmode.offloads = rxo;
	conf.txmode.offloads = txo;
	if ((info.rx_offload_capa & rxo) != rxo || (info.tx_offload_capa & txo) != txo) {
		snprintf(msg, sizeof(msg), "port %u lacks offloads: rx 0x%" PRIx64 "/0x%" PRIx64
			 " tx 0x%" PRIx64 "/0x%" PRIx64, port, rxo, info.rx_offload_capa, txo,
			 info.tx_offload_capa);
		die(msg);
	}
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, RXD, rte_socket_id(), NULL, rxpool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, TXD, rte_socket_id(), &txconf) != 0 ||
	    rte_eth_dev_start(port) != 0) {
		snprintf(msg, sizeof(msg), "port %u: configure/queue setup/start failed", port);
		die(msg);
	}
}

/* Template frame i: Ethernet, IPv4, TCP (20 bytes), payload bytes. */
static struct rte_mbuf *
make_template(struct rte_mempool *mp, unsigned i)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint32_t len = 14 + 20 + 20 + payload, k;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint8_t *p;

	if (m == NULL || rte_pktmbuf_tailroom(m) < len)
		die("template mbuf too small (need 64 KiB data room)");
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	if (p == NULL)
		die("append failed");
	eth = (struct rte_ether_hdr *)p;
	memcpy(eth->dst_addr.addr_bytes, "\x02\x00\x00\x00\x0b\x00", 6);
	memcpy(eth->src_addr.addr_bytes, "\x02\x00\x00\x00\x0a\x00", 6);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(20 + 20 + payload);
	ip->packet_id = rte_cpu_to_be_16(i);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000001);
	ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	memset(tcp, 0, sizeof(*tcp));
	tcp->src_port = rte_cpu_to_be_16(10000 + i % 1000);
	tcp->dst_port = rte_cpu_to_be_16(80);
	tcp->sent_seq = rte_cpu_to_be_32(i * 0x10000u);
	tcp->data_off = 5 << 4;
	tcp->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
	tcp->rx_win = rte_cpu_to_be_16(65535);
	for (k = 0; k < payload; k++)
		p[54 + k] = (uint8_t)(k * 7 + i);
	m->l2_len = 14;
	m->l3_len = 20;
	m->l4_len = 20;
	m->tso_segsz = mss;
	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
	return m;
}

/* Before each send: the pseudo-header sum the TSO convention wants (the
 * virtio PMD adds the length to it in place, so it is reset every time). */
static inline void
rearm(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);

	tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
}

static inline uint32_t
hdrs_len(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint32_t l3, l4;

	if (m->data_len < 14 + 40 + 20)
		return 0;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		l3 = (rte_pktmbuf_mtod_offset(m, const uint8_t *, 14)[0] & 15) * 4;
	} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		l3 = 40;
	} else {
		return 0;
	}
	l4 = (rte_pktmbuf_mtod_offset(m, const uint8_t *, 14 + l3 + 12)[0] >> 4) * 4;
	return 14 + l3 + l4;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seconds", 1, 0, 's'}, {"skip", 1, 0, 'k'},	    {"mss", 1, 0, 'm'},
		{"payload", 1, 0, 'p'}, {"rx-offload", 1, 0, 'r'}, {"templates", 1, 0, 't'},
		{"window", 1, 0, 'w'},	{0, 0, 0, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seconds = atoi(optarg); break;
		case 'k': skip = atoi(optarg); break;
		case 'm': mss = atoi(optarg); break;
		case 'p': payload = atoi(optarg); break;
		case 'r': rx_offload = atoi(optarg); break;
		case 't': ntemplates = atoi(optarg); break;
		case 'w': window = atoi(optarg); break;
		default: die("bad option");
		}
	}
	if (payload < 1 || payload > 65535 - 40 - 14 || mss < 64 || ntemplates < 1 || skip >= seconds)
		die("bad --payload/--mss/--templates/--skip");
}

int
main(int argc, char **argv)
{
	struct rte_mempool *big, *small;
	struct rte_mbuf **tpl, *tx[BURST], *rx[BURST];
	uint64_t hz, t0, tnext, tstart = 0, rx_pkts = 0, rx_bytes = 0, rx_pay = 0, tx_frames = 0;
	uint64_t m_pkts = 0, m_bytes = 0, m_pay = 0, last_pay = 0, last_pkts = 0;
	uint64_t lost = 0, timeouts = 0, last_progress, rto;
	unsigned next = 0, sec = 0, i;
	int n;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		die("EAL init failed");
	parse_args(argc - n, argv + n);
	if (rte_eth_dev_count_avail() != 2)
		die("want exactly two ports (sender, receiver)");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	big = rte_pktmbuf_pool_create("tpl", ntemplates + 64, 0, 0, UINT16_MAX, rte_socket_id());
	small = rte_pktmbuf_pool_create("rx", 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					rte_socket_id());
	if (big == NULL || small == NULL)
		die("mempool create failed");
	port_init(0, small, 0,
		  RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
			  RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	port_init(1, small,
		  rx_offload ? RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
				       RTE_ETH_RX_OFFLOAD_TCP_LRO
			     : 0,
		  0);
	tpl = calloc(ntemplates, sizeof(*tpl));
	for (i = 0; i < ntemplates; i++)
		tpl[i] = make_template(big, i);
	printf("tso_frontend: payload=%u mss=%u rx_offload=%u templates=%u window=%u seconds=%u "
	       "skip=%u\n", payload, mss, rx_offload, ntemplates, window, seconds, skip);
	fflush(stdout);

	hz = rte_get_timer_hz();
	t0 = rte_get_timer_cycles();
	last_progress = t0;
	rto = hz / 1000;
	tnext = t0 + hz;
	while (!quit) {
		uint16_t k = 0, sent, got, j;

		/*
		 * A window of frames in flight, as a TCP sender keeps: frames
		 * sent less those whose payload arrived, less those given up
		 * for lost after 1 ms without progress (the backend dropped
		 * them); 0 = no window (send as fast as the ring takes).
		 */
		int64_t behind = (int64_t)(tx_frames - lost) - (int64_t)(rx_pay / payload);
		uint64_t inflight, room = BURST;

		if (behind < 0) {
			/* frames given up for lost arrived after all */
			lost -= RTE_MIN(lost, (uint64_t)-behind);
			behind = 0;
		}
		inflight = behind;
		if (window) {
			uint64_t now = rte_get_timer_cycles();

			if (inflight && now - last_progress > rto) {
				lost += inflight;
				timeouts++;
				inflight = 0;
				last_progress = now;
			}
			room = inflight >= window ? 0 : RTE_MIN(window - inflight, (uint64_t)BURST);
		}
		/* templates whose previous sends all completed */
		for (i = 0; i < ntemplates && k < room; i++) {
			struct rte_mbuf *m = tpl[next];

			next = next + 1 == ntemplates ? 0 : next + 1;
			if (rte_mbuf_refcnt_read(m) != 1)
				continue;
			rearm(m);
			rte_mbuf_refcnt_update(m, 1);
			tx[k++] = m;
		}
		sent = k ? rte_eth_tx_burst(0, 0, tx, k) : 0;
		for (j = sent; j < k; j++)
			rte_mbuf_refcnt_update(tx[j], -1);
		tx_frames += sent;

		got = rte_eth_rx_burst(1, 0, rx, BURST);
		for (j = 0; j < got; j++) {
			rx_bytes += rx[j]->pkt_len;
			rx_pay += rx[j]->pkt_len - hdrs_len(rx[j]);
		}
		rx_pkts += got;
		if (got)
			last_progress = rte_get_timer_cycles();
		if (got)
			rte_pktmbuf_free_bulk(rx, got);

		if (rte_get_timer_cycles() >= tnext) {
			sec++;
			printf("tso_frontend: sec=%u rx_pkts=%" PRIu64 " gbps=%.3f\n", sec,
			       rx_pkts - last_pkts, (rx_pay - last_pay) * 8 / 1e9);
			fflush(stdout);
			last_pay = rx_pay;
			last_pkts = rx_pkts;
			if (sec == skip) {
				tstart = rte_get_timer_cycles();
				m_pkts = rx_pkts;
				m_bytes = rx_bytes;
				m_pay = rx_pay;
			}
			if (sec >= seconds)
				break;
			tnext += hz;
		}
	}
	if (tstart) {
		double secs = (double)(rte_get_timer_cycles() - tstart) / hz;

		printf("tso_frontend: total secs=%.3f rx_pkts=%" PRIu64 " rx_bytes=%" PRIu64
		       " rx_payload=%" PRIu64 " gbps=%.3f tx_frames=%" PRIu64 " window_timeouts=%" PRIu64 "\n",
		       secs, rx_pkts - m_pkts, rx_bytes - m_bytes, rx_pay - m_pay,
		       (rx_pay - m_pay) * 8 / secs / 1e9, tx_frames, timeouts);
	}
	fflush(stdout);
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eth_dev_close(0);
	rte_eth_dev_close(1);
	rte_eal_cleanup();
	return 0;
}
