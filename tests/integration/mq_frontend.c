/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mq_frontend: the frontend of tests/integration/mq_order.sh (issue 11).
 * One DPDK process, one lcore (the main one), two net_virtio_user ports
 * given as --vdev EAL args, each with 2 receive and 2 transmit queues:
 *   port 0  sender (vhostd socket A), port 1  receiver (socket B);
 *   with --reverse a second phase the other way round.
 *
 * Frames: UDP over IPv4, 64-128 bytes (without FCS), from the sending
 * port's MAC to the receiving port's. Flow f (0..F-1) has its own UDP
 * source port (10000 + f, 20000 + f in the reverse phase), is always sent
 * on transmit queue f % 2, and carries in its payload a magic, the phase,
 * the transmit queue, f, a per-flow 32-bit sequence number and the frame's
 * length. Within a queue the flow of each frame is picked at random, so
 * consecutive frames of a flow are neither evenly spaced nor in step with
 * any burst size.
 *
 * The receiver polls both receive queues of the receiving port and, per
 * flow, checks that sequence numbers only increase: a jump ahead is a gap
 * (counted in gaps; what never arrives is counted in lost = sent -
 * received, per flow), a smaller number than one already seen is counted
 * in reordered. A flow seen on more than one receive queue is counted in
 * split_flows (steering by flow keeps a flow on one queue). The sending
 * port's receive queues are polled and counted too (other_rx_q*): nothing
 * should arrive there.
 *
 * Pacing: at most --inflight frames (default 128) sent and not yet
 * received, so that no ring of either side overflows and a working backend
 * loses nothing; frames missing for 1 s of polling (time this process
 * spent off the CPU restarts the second) are written off (stalls) and the
 * sender goes on. Bursts of at most 32 per queue.
 *
 * Before the measured phases a warm-up sends probe frames of 32 other
 * flows both ways until each receiving port got probes sent from both its
 * peer's transmit queues on both of its own receive queues (so vhostd has
 * attached every queue pair and steers over both queues; in l2 mode it has
 * also learned both MACs), then drains for 100 ms. It gives up after
 * --warmup-timeout seconds (exit status 3).
 *
 * Output: "mq_frontend: warmup ..." and for each phase one line
 *   mq_frontend: result dir=0to1 flows=F secs=S sent=N received=N lost=N
 *     extra=N reordered=N gaps=N split_flows=N corrupt=N stalls=N tx_q0=N
 *     tx_q1=N rx_q0=N rx_q1=N flows_q0=N flows_q1=N other_rx_q0=N
 *     other_rx_q1=N foreign=N
 * (tx_q* the sending port's transmit queues, rx_q* and flows_q* the
 * receiving port's receive queues: frames and distinct flows). Exit status
 * 0 once the results are printed, whatever they say: the test judges them.
 *
 * Usage: mq_frontend [EAL args] -- [--flows F] [--seconds S] [--packets N]
 *        [--inflight N] [--reverse] [--seed N] [--warmup-timeout S]
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define BURST 32
#define NQ 2
#define MAX_FLOWS 1024
#define NB_MBUFS 8192
#define MAGIC 0x4d514f52u /* "MQOR" */
#define KIND_DATA 1
#define KIND_PROBE 2
#define PROBE_FLOWS 32
#define DATA_DPORT 9000
#define PROBE_DPORT 9001
#define HDRS_LEN (RTE_ETHER_HDR_LEN + 20 + 8)
#define MIN_LEN 64
#define MAX_LEN 128

struct mq_payload {
	uint32_t magic;
	uint8_t kind;
	uint8_t dir;
	uint8_t txq;
	uint8_t pad;
	uint32_t flow;
	uint32_t seq;
	uint16_t len;
} __attribute__((packed));

/* one direction's state: what was sent and what arrived, per flow */
struct phase {
	uint8_t dir; /* 0: port 0 -> 1, 1: port 1 -> 0 */
	uint16_t tx_port, rx_port;
	uint32_t tx_seq[MAX_FLOWS]; /* next sequence number to send */
	uint32_t rx_next[MAX_FLOWS]; /* one above the highest received */
	uint64_t tx_cnt[MAX_FLOWS], rx_cnt[MAX_FLOWS];
	uint8_t seen[NQ][MAX_FLOWS];
	uint64_t sent, received, reordered, gaps, corrupt, stalls, written_off;
	uint64_t txq[NQ], rxq[NQ], other_rxq[NQ], foreign;
};

static volatile int quit;
static void on_signal(int s) { (void)s; quit = 1; }

static unsigned nflows = 16, seconds = 3, inflight_max = 128, reverse, warmup_timeout = 15;
static uint64_t npackets, rng = 0x9e3779b97f4a7c15ull;
static struct rte_mempool *pool;
static struct rte_ether_addr macs[2];

/* probes seen by each receiving port: by the sender's tx queue, by rx queue */
static uint64_t probe_txq[2][NQ], probe_rxq[2][NQ];

static void
die(const char *msg)
{
	fprintf(stderr, "mq_frontend: %s\n", msg);
	exit(1);
}

static inline uint32_t
rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static void
port_init(uint16_t port)
{
	struct rte_eth_conf conf;
	char msg[160];
	uint16_t q;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, NQ, NQ, &conf) != 0) {
		snprintf(msg, sizeof(msg), "port %u: configure with %d rx + %d tx queues failed"
			 " (vdev without queues=%d?)", port, NQ, NQ, NQ);
		die(msg);
	}
	for (q = 0; q < NQ; q++)
		if (rte_eth_rx_queue_setup(port, q, 0, rte_socket_id(), NULL, pool) != 0 ||
		    rte_eth_tx_queue_setup(port, q, 0, rte_socket_id(), NULL) != 0) {
			snprintf(msg, sizeof(msg), "port %u: queue %u setup failed", port, q);
			die(msg);
		}
	if (rte_eth_dev_start(port) != 0) {
		snprintf(msg, sizeof(msg), "port %u: start failed", port);
		die(msg);
	}
	if (rte_eth_macaddr_get(port, &macs[port]) != 0)
		die("macaddr_get failed");
}

/* A frame from port `from` to the other port; NULL when the pool is empty. */
static struct rte_mbuf *
make_frame(uint16_t from, uint8_t kind, uint8_t dir, uint8_t txq, uint32_t flow, uint32_t seq,
	   uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	struct mq_payload pl;
	uint8_t *p;
	uint16_t k, sport;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	eth = (struct rte_ether_hdr *)p;
	rte_ether_addr_copy(&macs[1 - from], &eth->dst_addr);
	rte_ether_addr_copy(&macs[from], &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(len - RTE_ETHER_HDR_LEN);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(dir == 0 ? 0xc6120001 : 0xc6120002); /* 198.18.0.x */
	ip->dst_addr = rte_cpu_to_be_32(dir == 0 ? 0xc6120002 : 0xc6120001);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	if (kind == KIND_DATA)
		sport = (dir == 0 ? 10000 : 20000) + flow;
	else
		sport = 30000 + flow;
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(kind == KIND_DATA ? DATA_DPORT : PROBE_DPORT);
	udp->dgram_len = rte_cpu_to_be_16(len - RTE_ETHER_HDR_LEN - 20);
	udp->dgram_cksum = 0; /* none, legal over IPv4 */
	pl.magic = MAGIC;
	pl.kind = kind;
	pl.dir = dir;
	pl.txq = txq;
	pl.pad = 0;
	pl.flow = flow;
	pl.seq = seq;
	pl.len = len;
	memcpy(p + HDRS_LEN, &pl, sizeof(pl));
	for (k = HDRS_LEN + sizeof(pl); k < len; k++)
		p[k] = (uint8_t)(seq + k);
	return m;
}

/* The payload of an mbuf of ours, or NULL (foreign). */
static const struct mq_payload *
payload_of(struct rte_mbuf *m, struct mq_payload *buf)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	const struct mq_payload *pl;
	uint8_t hb[HDRS_LEN];

	if (m->pkt_len < HDRS_LEN + sizeof(*pl))
		return NULL;
	eth = rte_pktmbuf_read(m, 0, HDRS_LEN, hb);
	if (eth == NULL || eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	if (ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_UDP)
		return NULL;
	pl = rte_pktmbuf_read(m, HDRS_LEN, sizeof(*pl), buf);
	if (pl == NULL || pl->magic != MAGIC)
		return NULL;
	return pl;
}

/* A data frame of phase ph arrived on queue q of its receiving port. */
static void
account_data(struct phase *ph, uint16_t q, struct rte_mbuf *m, const struct mq_payload *pl)
{
	uint32_t f = pl->flow;

	if (pl->dir != ph->dir || f >= nflows || pl->len != m->pkt_len ||
	    pl->txq != f % NQ) {
		ph->corrupt++;
		return;
	}
	ph->received++;
	ph->rxq[q]++;
	ph->rx_cnt[f]++;
	ph->seen[q][f] = 1;
	if (pl->seq == ph->rx_next[f]) {
		ph->rx_next[f]++;
	} else if (pl->seq > ph->rx_next[f]) {
		ph->gaps++;
		ph->rx_next[f] = pl->seq + 1;
	} else {
		ph->reordered++;
	}
}

/*
 * Receives on every queue of both ports. ph is the phase running (NULL in
 * the warm-up); what arrives on its sending port is counted as other_rx.
 */
static unsigned
poll_all(struct phase *ph)
{
	struct rte_mbuf *rx[BURST];
	struct mq_payload buf;
	const struct mq_payload *pl;
	unsigned total = 0;
	uint16_t port, q, n, i;

	for (port = 0; port < 2; port++) {
		for (q = 0; q < NQ; q++) {
			n = rte_eth_rx_burst(port, q, rx, BURST);
			for (i = 0; i < n; i++) {
				pl = payload_of(rx[i], &buf);
				if (pl != NULL && pl->kind == KIND_PROBE && pl->txq < NQ &&
				    pl->dir == 1 - port) {
					probe_txq[port][pl->txq]++;
					probe_rxq[port][q]++;
				} else if (ph != NULL && port == ph->rx_port && pl != NULL &&
					   pl->kind == KIND_DATA) {
					account_data(ph, q, rx[i], pl);
				} else if (ph != NULL && port == ph->tx_port) {
					ph->other_rxq[q]++;
				} else if (pl == NULL && ph != NULL) {
					ph->foreign++;
				}
			}
			if (n)
				rte_pktmbuf_free_bulk(rx, n);
			total += n;
		}
	}
	return total;
}

/* Sends up to n data frames of phase ph on tx queue q; returns those sent. */
static uint16_t
send_data(struct phase *ph, uint16_t q, uint16_t n)
{
	struct rte_mbuf *tx[BURST];
	uint32_t fl[BURST];
	uint32_t per_q = (nflows - q + NQ - 1) / NQ; /* flows q, q + 2, ... */
	uint16_t k, sent, j;

	for (k = 0; k < n; k++) {
		uint32_t f = q + NQ * (rnd() % per_q);
		uint16_t len = MIN_LEN + rnd() % (MAX_LEN - MIN_LEN + 1);

		tx[k] = make_frame(ph->tx_port, KIND_DATA, ph->dir, q, f, ph->tx_seq[f], len);
		if (tx[k] == NULL)
			break;
		fl[k] = f;
		ph->tx_seq[f]++;
	}
	sent = k ? rte_eth_tx_burst(ph->tx_port, q, tx, k) : 0;
	/* the unsent tail holds each of its flows' newest numbers: take them back */
	for (j = k; j > sent; j--) {
		ph->tx_seq[fl[j - 1]]--;
		rte_pktmbuf_free(tx[j - 1]);
	}
	for (j = 0; j < sent; j++)
		ph->tx_cnt[fl[j]]++;
	ph->sent += sent;
	ph->txq[q] += sent;
	return sent;
}

static void
warmup(void)
{
	uint64_t hz = rte_get_timer_hz(), t0 = rte_get_timer_cycles(), tnext = t0;
	uint64_t deadline = t0 + warmup_timeout * hz, rounds = 0;
	struct rte_mbuf *tx[BURST];
	uint16_t from, q, k, sent, j;
	int done = 0;

	while (!quit) {
		uint64_t now = rte_get_timer_cycles();

		poll_all(NULL);
		done = 1;
		for (from = 0; from < 2; from++)
			for (q = 0; q < NQ; q++)
				if (!probe_txq[1 - from][q] || !probe_rxq[1 - from][q])
					done = 0;
		if (done || now > deadline)
			break;
		if (now < tnext)
			continue;
		/* a probe round every 20 ms: 16 probe flows on each queue, both ways */
		tnext = now + hz / 50;
		rounds++;
		for (from = 0; from < 2; from++)
			for (q = 0; q < NQ; q++) {
				for (k = 0; k < PROBE_FLOWS / NQ; k++) {
					tx[k] = make_frame(from, KIND_PROBE, from, q, q + NQ * k, 0,
							   MIN_LEN);
					if (tx[k] == NULL)
						die("mempool empty in warm-up");
				}
				sent = rte_eth_tx_burst(from, q, tx, k);
				for (j = sent; j < k; j++)
					rte_pktmbuf_free(tx[j]);
			}
	}
	printf("mq_frontend: warmup ms=%" PRIu64 " rounds=%" PRIu64
	       " port1_from_txq=%" PRIu64 "/%" PRIu64 " port1_rxq=%" PRIu64 "/%" PRIu64
	       " port0_from_txq=%" PRIu64 "/%" PRIu64 " port0_rxq=%" PRIu64 "/%" PRIu64 " %s\n",
	       (rte_get_timer_cycles() - t0) * 1000 / hz, rounds, probe_txq[1][0], probe_txq[1][1],
	       probe_rxq[1][0], probe_rxq[1][1], probe_txq[0][0], probe_txq[0][1],
	       probe_rxq[0][0], probe_rxq[0][1], done ? "ok" : "INCOMPLETE");
	fflush(stdout);
	if (!done) {
		fprintf(stderr, "mq_frontend: warm-up: probes did not cross every queue of both"
				" ports within %u s (counts above, 0 = never)\n", warmup_timeout);
		exit(3);
	}
	/* let the last probes arrive */
	t0 = rte_get_timer_cycles();
	while (rte_get_timer_cycles() - t0 < hz / 10)
		poll_all(NULL);
}

static void
run_phase(struct phase *ph)
{
	uint64_t hz = rte_get_timer_hz(), t0 = rte_get_timer_cycles();
	uint64_t end = t0 + seconds * hz, last_progress = t0, last_rx = 0, stall = hz;
	uint64_t tsend_end, prev = t0;
	unsigned f, nsplit = 0, nflows_q[NQ] = {0}, q;
	uint64_t lost = 0, extra = 0;
	int first = 0;

	for (;;) {
		uint64_t now = rte_get_timer_cycles();
		int64_t inflight;
		uint16_t room;

		if (quit || (npackets ? ph->sent >= npackets : now >= end))
			break;
		/*
		 * Off the CPU for a while (a busy machine): the backend may have
		 * been too, so it gets a full stall period again from now.
		 */
		if (now - prev > hz / 100)
			last_progress = now;
		prev = now;
		poll_all(ph);
		if (ph->received != last_rx) {
			last_rx = ph->received;
			last_progress = now;
		}
		inflight = (int64_t)(ph->sent - ph->written_off) - (int64_t)ph->received;
		if (inflight < 0) {
			/* frames written off arrived after all */
			ph->written_off -= RTE_MIN(ph->written_off, (uint64_t)-inflight);
			inflight = 0;
		}
		if (inflight > 0 && now - last_progress > stall) {
			ph->stalls++;
			ph->written_off += inflight;
			inflight = 0;
			last_progress = now;
		}
		if ((uint64_t)inflight >= inflight_max)
			continue;
		room = RTE_MIN(inflight_max - (uint64_t)inflight, (uint64_t)2 * BURST);
		if (npackets)
			room = RTE_MIN((uint64_t)room, npackets - ph->sent);
		/* alternate which queue gets the odd frame */
		for (q = 0; q < NQ; q++) {
			uint16_t qq = (q + first) % NQ;
			uint16_t n = room / NQ + (q < room % NQ);

			if (n)
				send_data(ph, qq, RTE_MIN(n, BURST));
		}
		first ^= 1;
		if (ph->sent == 0 && now - last_progress > 2 * hz)
			break; /* nothing goes out at all */
	}
	tsend_end = rte_get_timer_cycles();
	/* drain: until everything arrived or nothing came for 2 s */
	last_progress = tsend_end;
	while (ph->received < ph->sent && rte_get_timer_cycles() - last_progress < 2 * hz) {
		uint64_t before = ph->received;

		poll_all(ph);
		if (ph->received != before)
			last_progress = rte_get_timer_cycles();
	}
	/* and whatever else is on its way (late extras, stray frames) */
	last_progress = rte_get_timer_cycles();
	while (rte_get_timer_cycles() - last_progress < hz / 20)
		poll_all(ph);

	for (f = 0; f < nflows; f++) {
		unsigned on = 0;

		if (ph->rx_cnt[f] < ph->tx_cnt[f])
			lost += ph->tx_cnt[f] - ph->rx_cnt[f];
		else
			extra += ph->rx_cnt[f] - ph->tx_cnt[f];
		for (q = 0; q < NQ; q++)
			if (ph->seen[q][f]) {
				nflows_q[q]++;
				on++;
			}
		if (on > 1)
			nsplit++;
	}
	printf("mq_frontend: result dir=%s flows=%u secs=%.2f sent=%" PRIu64 " received=%" PRIu64
	       " lost=%" PRIu64 " extra=%" PRIu64 " reordered=%" PRIu64 " gaps=%" PRIu64
	       " split_flows=%u corrupt=%" PRIu64 " stalls=%" PRIu64 " tx_q0=%" PRIu64
	       " tx_q1=%" PRIu64 " rx_q0=%" PRIu64 " rx_q1=%" PRIu64 " flows_q0=%u flows_q1=%u"
	       " other_rx_q0=%" PRIu64 " other_rx_q1=%" PRIu64 " foreign=%" PRIu64 "\n",
	       ph->dir == 0 ? "0to1" : "1to0", nflows, (double)(tsend_end - t0) / hz, ph->sent,
	       ph->received, lost, extra, ph->reordered, ph->gaps, nsplit, ph->corrupt,
	       ph->stalls, ph->txq[0], ph->txq[1], ph->rxq[0], ph->rxq[1], nflows_q[0],
	       nflows_q[1], ph->other_rxq[0], ph->other_rxq[1], ph->foreign);
	fflush(stdout);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"flows", 1, 0, 'f'},	 {"seconds", 1, 0, 's'}, {"packets", 1, 0, 'n'},
		{"inflight", 1, 0, 'i'}, {"reverse", 0, 0, 'r'}, {"seed", 1, 0, 'S'},
		{"warmup-timeout", 1, 0, 'w'}, {0, 0, 0, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': nflows = strtoul(optarg, NULL, 0); break;
		case 's': seconds = strtoul(optarg, NULL, 0); break;
		case 'n': npackets = strtoull(optarg, NULL, 0); break;
		case 'i': inflight_max = strtoul(optarg, NULL, 0); break;
		case 'r': reverse = 1; break;
		case 'S': rng = strtoull(optarg, NULL, 0) | 1; break;
		case 'w': warmup_timeout = strtoul(optarg, NULL, 0); break;
		default: die("bad option (see the comment at the top of mq_frontend.c)");
		}
	}
	if (optind != argc)
		die("unexpected argument");
	if (nflows < NQ || nflows > MAX_FLOWS)
		die("--flows must be 2..1024 (each tx queue needs a flow)");
	if (inflight_max < 1 || (seconds < 1 && npackets == 0) || warmup_timeout < 1)
		die("bad --inflight/--seconds/--warmup-timeout");
}

int
main(int argc, char **argv)
{
	static struct phase ph;
	int n;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		die("EAL init failed");
	parse_args(argc - n, argv + n);
	if (rte_eth_dev_count_avail() != 2)
		die("want exactly two ports (--vdev net_virtio_user0,... and net_virtio_user1,...)");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pool = rte_pktmbuf_pool_create("mq", NB_MBUFS, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (pool == NULL)
		die("mempool create failed");
	port_init(0);
	port_init(1);
	printf("mq_frontend: flows=%u seconds=%u packets=%" PRIu64 " inflight=%u reverse=%u\n",
	       nflows, seconds, npackets, inflight_max, reverse);
	fflush(stdout);

	warmup();
	memset(&ph, 0, sizeof(ph));
	ph.dir = 0;
	ph.tx_port = 0;
	ph.rx_port = 1;
	run_phase(&ph);
	if (reverse && !quit) {
		memset(&ph, 0, sizeof(ph));
		ph.dir = 1;
		ph.tx_port = 1;
		ph.rx_port = 0;
		run_phase(&ph);
	}
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eth_dev_close(0);
	rte_eth_dev_close(1);
	rte_eal_cleanup();
	return 0;
}
