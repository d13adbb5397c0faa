/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ethdev port kind: an uplink. Any DPDK ethdev named by its devargs
 * (net_af_packet on a kernel interface, net_tap, a PCI NIC) becomes a port
 * of the switch or of a pair, beside the vhost-user ports.
 *
 * open probes the device, gives it one receive and one transmit queue
 * filled from vhostd's pool, the largest MTU it takes (up to
 * VHD_ETHDEV_MTU_MAX, and no more than the kernel interface it may sit on),
 * the transmit offloads it offers among checksums and TSO, starts it,
 * makes it promiscuous (it carries frames for every guest's MAC) and hands
 * it to its lcore with a snapshot that holds only the pool and the MTU.
 *
 * Frames from guests may ask for checksums and TSO (ol_flags from
 * vhd_net_hdr_to_mbuf): the NIC does what it offers, vhostd the rest in
 * software (mbuf_offload.h). A frame over the MTU that is no TSO frame is
 * dropped as too_big.
 *
 * Per-port state lives here, in a table indexed by port id.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "vhostd/config.h"
#include "vhostd/fwd.h"
#include "vhostd/lcore.h"
#include "vhostd/log.h"
#include "vhostd/mbuf_offload.h"
#include "vhostd/pool.h"
#include "vhostd/port.h"
#include "vhostd/port_ethdev.h"
#include "vhostd/port_ops.h"
#include "vhostd/stats.h"

VHD_LOG_REGISTER(ethdev);

/* Beyond the MTU a frame carries an Ethernet header and one VLAN tag. */
#define FRAME_OVERHEAD (RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)

/* Transmit offloads vhostd can ask of a NIC for a guest's frames. */
#define TX_OFFLOADS_WANTED                                                                \
	(RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |                  \
	 RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |                    \
	 RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_VLAN_INSERT)

/* The polling lcore writes these; a relaxed load reads a whole value. */
#define READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ADD(x, v) __atomic_store_n(&(x), (x) + (v), __ATOMIC_RELAXED)

struct uplink {
	/* set by open before the lcore sees the port, then only read */
	uint16_t eth_port;
	bool opened;          /* started and attached: close undoes it */
	bool probed_here;     /* rte_dev_probe added it: close removes it */
	bool promisc_here;
	struct rte_device *dev;
	char bus[32], name[RTE_DEV_NAME_MAX_LEN];
	struct rte_mempool *pool;
	uint16_t mtu;
	uint32_t max_frame;   /* mtu + FRAME_OVERHEAD */
	uint64_t tx_hw;       /* transmit offloads enabled on the device */
	bool tso6_hw;         /* the device's TSO takes TCP over IPv6 too */
	bool vlan_strip_sw;   /* a trunk of the l2 switch whose device does not strip tags */
	struct vhd_dev_snapshot *snap;

	/* written by the polling lcore only */
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;     /* frames sent, each TSO segment counted */
	uint64_t tx_bytes;
	uint64_t drops;       /* not sent: down, device busy, no mbuf, refused; not too_big */
	uint64_t too_big;     /* over the MTU and not TSO, or with no room for a segment */
} __rte_cache_aligned;

static struct uplink uplinks[VHD_MAX_PORTS];

/* Frames on their way to the device, sent in bursts. */
struct tx_queue {
	uint16_t n;
	struct rte_mbuf *pkts[VHD_BURST_MAX];
};

/* ------------------------------------------------------------------ datapath */

static uint16_t
ethdev_rx_burst(struct vhd_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct uplink *u = &uplinks[p->id];
	uint64_t bytes = 0;
	uint16_t got, i;

	got = rte_eth_rx_burst(u->eth_port, q, pkts, n);
	if (got == 0)
		return 0;
	/* the PMD's buffers are vhostd's from here (pool.h) */
	vhd_pool_count_pmd(pkts, got, true);
	for (i = 0; i < got; i++) {
		bytes += pkts[i]->pkt_len;
		/* the switch takes a trunk's VLAN from vlan_tci (fwd.c) */
		if (u->vlan_strip_sw && pkts[i]->data_len >= RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)
			rte_vlan_strip(pkts[i]); /* leaves an untagged frame alone */
	}
	ADD(u->rx_pkts, got);
	ADD(u->rx_bytes, bytes);
	return got;
}

/* Sends what q holds; what the device does not take is freed and counted. */
static void
txq_flush(struct uplink *u, struct tx_queue *q)
{
	uint32_t len[VHD_BURST_MAX];
	uint16_t segs[VHD_BURST_MAX];
	uint64_t bytes = 0, out_segs = 0;
	uint16_t n = q->n, done = 0, sent, i;

	if (n == 0)
		return;
	q->n = 0;
	/*
	 * A NIC doing offloads may need the frame's headers adjusted first
	 * (the pseudo-header sum for its checksum and TSO). A frame it
	 * refuses is dropped; the rest go on.
	 */
	if (u->tx_hw & ~(RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_VLAN_INSERT)) {
		while (done < n) {
			uint16_t ok = rte_eth_tx_prepare(u->eth_port, 0, q->pkts + done, n - done);

			done += ok;
			if (done == n)
				break;
			vhd_mbuf_free(q->pkts[done]);
			ADD(u->drops, 1);
			memmove(&q->pkts[done], &q->pkts[done + 1], (n - done - 1) * sizeof(q->pkts[0]));
			n--;
		}
	}
	/* the device may free a frame as soon as it has it */
	for (i = 0; i < n; i++) {
		len[i] = q->pkts[i]->pkt_len;
		segs[i] = q->pkts[i]->nb_segs;
	}
	sent = rte_eth_tx_burst(u->eth_port, 0, q->pkts, n);
	for (i = 0; i < sent; i++) {
		bytes += len[i];
		out_segs += segs[i];
	}
	/* the PMD's to free from here (pool.h) */
	VHD_POOL_COUNT(freed, out_segs);
	ADD(u->tx_pkts, sent);
	ADD(u->tx_bytes, bytes);
	if (unlikely(sent < n)) {
		vhd_mbuf_free_bulk(&q->pkts[sent], n - sent);
		ADD(u->drops, n - sent);
	}
}

static inline void
txq_push(struct uplink *u, struct tx_queue *q, struct rte_mbuf *m)
{
	q->pkts[q->n++] = m;
	if (q->n == VHD_BURST_MAX)
		txq_flush(u, q);
}

/*
 * The last step before the device: a VLAN tag the device does not insert
 * itself goes into the frame here (m is private). What the device is yet
 * to do for m finds its headers 4 bytes further on.
 */
static void
txq_push_tagged(struct uplink *u, struct tx_queue *q, struct rte_mbuf *m)
{
	if ((m->ol_flags & RTE_MBUF_F_TX_VLAN) && !(u->tx_hw & RTE_ETH_TX_OFFLOAD_VLAN_INSERT)) {
		if (unlikely(rte_vlan_insert(&m) != 0)) {
			ADD(u->drops, 1);
			vhd_mbuf_free(m);
			return;
		}
		m->ol_flags &= ~RTE_MBUF_F_TX_VLAN;
		if (m->ol_flags & VHD_MBUF_TX_OFFLOADS)
			m->l2_len += RTE_VLAN_HLEN;
	}
	txq_push(u, q, m);
}

/* Whether the device does everything m asks for itself. */
static bool
hw_takes(const struct uplink *u, const struct rte_mbuf *m)
{
	uint64_t ol = m->ol_flags, l4 = ol & RTE_MBUF_F_TX_L4_MASK;

	if (ol & RTE_MBUF_F_TX_TCP_SEG)
		return (u->tx_hw & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
		       (!(ol & RTE_MBUF_F_TX_IPV6) || u->tso6_hw) &&
		       /* its segments must fit the MTU as the guest cut them */
		       vhd_mbuf_seg_size(m, u->mtu) == m->tso_segsz;
	if ((ol & RTE_MBUF_F_TX_IP_CKSUM) && !(u->tx_hw & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM))
		return false;
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
		return u->tx_hw & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		return u->tx_hw & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	return l4 == 0;
}

/* A TSO frame: to the NIC when it can, else cut here into MTU-sized frames. */
static void
tx_tso(struct uplink *u, struct tx_queue *q, struct rte_mbuf *m)
{
	uint16_t seg_size = vhd_mbuf_seg_size(m, u->mtu), made, i;
	struct rte_mbuf *segs[VHD_BURST_MAX];
	uint32_t nsegs, first = 0;

	if (unlikely(seg_size == 0)) {
		/* headers alone fill the MTU */
		ADD(u->too_big, 1);
		vhd_mbuf_free(m);
		return;
	}
	nsegs = vhd_mbuf_seg_count(m, seg_size);
	while (first < nsegs) {
		made = vhd_mbuf_segment(m, seg_size, first, segs, RTE_DIM(segs), u->pool);
		if (unlikely(made == 0)) {
			/* no mbufs left (or headers too long to cut): the rest is lost */
			ADD(u->drops, nsegs - first);
			break;
		}
		for (i = 0; i < made; i++)
			txq_push_tagged(u, q, segs[i]);
		first += made;
	}
	vhd_mbuf_free(m);
}

/*
 * The caller's mbufs are ours from here: sent, or freed and counted.
 * Frames that ask for offloads the device lacks get them in software, and
 * a VLAN tag too; a flooded frame other ports also hold is copied before
 * anything writes it (the device's tx_prepare and tag insertion included).
 */
static void
ethdev_tx_burst(struct vhd_port *p, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct uplink *u = &uplinks[p->id];
	struct tx_queue q = {.n = 0};
	uint16_t i;

	RTE_SET_USED(txq); /* one queue pair */
	if (unlikely(p->unit_active[0] == NULL)) {
		ADD(u->drops, n);
		vhd_mbuf_free_bulk(pkts, n);
		return;
	}
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *c;
		uint64_t ol = m->ol_flags;

		if (unlikely(!(ol & RTE_MBUF_F_TX_TCP_SEG) &&
			     (m->pkt_len > u->max_frame ||
			      (m->nb_segs > 1 && !(u->tx_hw & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))))) {
			ADD(u->too_big, 1);
			vhd_mbuf_free(m);
			continue;
		}
		if (likely(!(ol & (VHD_MBUF_TX_OFFLOADS | RTE_MBUF_F_TX_VLAN)))) {
			txq_push(u, &q, m);
			continue;
		}
		if ((ol & RTE_MBUF_F_TX_TCP_SEG) && !hw_takes(u, m)) {
			/* segments are new mbufs: m itself is only read */
			tx_tso(u, &q, m);
			continue;
		}
		c = vhd_mbuf_private(m, u->pool);
		if (unlikely(c == NULL)) {
			ADD(u->drops, 1);
			vhd_mbuf_free(m);
			continue;
		}
		if ((ol & VHD_MBUF_TX_OFFLOADS) && !hw_takes(u, c))
			vhd_mbuf_csum_complete(c);
		txq_push_tagged(u, &q, c);
	}
	txq_flush(u, &q);
}

static uint16_t
ethdev_nr_queues(const struct vhd_port_config *cfg)
{
	RTE_SET_USED(cfg);
	return 1;
}

/* The device's queues are set up by open: nothing to take or let go of. */
static void
ethdev_attach(struct vhd_port *p, uint16_t q, struct vhd_dev_snapshot *snap)
{
	RTE_SET_USED(p);
	RTE_SET_USED(q);
	RTE_SET_USED(snap);
}

static void
ethdev_detach(struct vhd_port *p, uint16_t q)
{
	RTE_SET_USED(p);
	RTE_SET_USED(q);
}

static void
ethdev_queue_counters(const struct vhd_port *p, uint16_t q, uint64_t *rx_pkts, uint64_t *tx_pkts)
{
	const struct uplink *u = &uplinks[p->id];

	RTE_SET_USED(q);
	*rx_pkts = READ(u->rx_pkts);
	*tx_pkts = READ(u->tx_pkts);
}

/* ------------------------------------------------------------ control plane */

static void
ethdev_counters(const struct vhd_port *p, struct vhd_port_totals *t)
{
	const struct uplink *u = &uplinks[p->id];
	struct rte_eth_link link;

	t->rx_pkts += READ(u->rx_pkts);
	t->rx_bytes += READ(u->rx_bytes);
	t->tx_pkts += READ(u->tx_pkts);
	t->tx_bytes += READ(u->tx_bytes);
	t->too_big += READ(u->too_big);
	t->drops += READ(u->drops) + READ(u->too_big);
	t->link = 0;
	t->link_speed = 0;
	if (__atomic_load_n(&u->opened, __ATOMIC_ACQUIRE) &&
	    rte_eth_link_get_nowait(u->eth_port, &link) == 0) {
		t->link = link.link_status == RTE_ETH_LINK_UP;
		t->link_speed = t->link ? link.link_speed : 0;
	}
}

/* No input of an uplink is malformed in the sense of a guest's chains. */
static bool
ethdev_errors(const struct vhd_port *p, uint16_t i, uint64_t *by_kind)
{
	RTE_SET_USED(p);
	RTE_SET_USED(i);
	RTE_SET_USED(by_kind);
	return false;
}

/* One line on err naming the uplink; returns rc (a negative errno). */
static int
open_error(FILE *err, const struct vhd_port *p, int rc, const char *fmt, ...)
	__rte_format_printf(4, 5);

static int
open_error(FILE *err, const struct vhd_port *p, int rc, const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "%s: ", p->cfg->path);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	return rc < 0 ? rc : -EINVAL;
}

/*
 * The MTU of the kernel interface a device sits on (net_af_packet,
 * net_tap: dev_info.if_index), 0 if none or unknown. Such a device can
 * carry no more than the interface does.
 */
static uint16_t
kernel_mtu(unsigned int if_index)
{
	struct ifreq ifr;
	int fd, rc;

	if (if_index == 0 || if_indextoname(if_index, ifr.ifr_name) == NULL)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = ioctl(fd, SIOCGIFMTU, &ifr);
	close(fd);
	return rc == 0 && ifr.ifr_mtu > 0 && ifr.ifr_mtu <= UINT16_MAX ? ifr.ifr_mtu : 0;
}

/*
 * The MTU to configure: the largest the device takes, up to
 * VHD_ETHDEV_MTU_MAX, within one mbuf unless the device receives into
 * chains (scatter). 0: the device's default.
 */
static uint16_t
mtu_choose(const struct rte_eth_dev_info *di, bool scatter, uint32_t mbuf_room,
	   uint16_t kmtu)
{
	/* as ethdev counts a device's frame overhead */
	uint32_t overhead = di->max_mtu != UINT16_MAX && di->max_rx_pktlen > di->max_mtu ?
				    di->max_rx_pktlen - di->max_mtu :
				    RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint32_t mtu = RTE_MIN((uint32_t)di->max_mtu, (uint32_t)VHD_ETHDEV_MTU_MAX);

	if (di->max_rx_pktlen <= overhead)
		return 0;
	mtu = RTE_MIN(mtu, di->max_rx_pktlen - overhead);
	if (!scatter && mbuf_room > overhead)
		mtu = RTE_MIN(mtu, mbuf_room - overhead);
	if (kmtu != 0)
		mtu = RTE_MIN(mtu, (uint32_t)kmtu);
	return mtu >= di->min_mtu ? mtu : 0;
}

/*
 * The ethdev port of the device devargs names, just probed: the first of
 * its ports. -ENODEV when it has none. The device's bus and name go to u,
 * to remove it by name if need be.
 */
static int
port_of_devargs(const char *devargs, struct uplink *u, uint16_t *port_id)
{
	struct rte_devargs da;
	uint16_t pid;
	int rc;

	memset(&da, 0, sizeof(da));
	rc = rte_devargs_parse(&da, devargs);
	if (rc != 0)
		return rc < 0 ? rc : -EINVAL;
	snprintf(u->bus, sizeof(u->bus), "%s", rte_bus_name(da.bus));
	snprintf(u->name, sizeof(u->name), "%s", da.name);
	rc = -ENODEV;
	RTE_ETH_FOREACH_DEV(pid) {
		struct rte_eth_dev_info di;

		if (rte_eth_dev_info_get(pid, &di) == 0 && di.device != NULL &&
		    strcmp(rte_dev_name(di.device), da.name) == 0) {
			*port_id = pid;
			rc = 0;
			break;
		}
	}
	/* a vdev's ethdev carries the device's name */
	if (rc != 0 && rte_eth_dev_get_port_by_name(da.name, &pid) == 0) {
		*port_id = pid;
		rc = 0;
	}
	rte_devargs_reset(&da);
	return rc;
}

/*
 * Probes the device devargs name, or finds it probed already (-EEXIST).
 * Otherwise one line on err saying why, as near the cause as EAL lets
 * tell (its own messages in the log say more).
 */
static int
probe(const struct vhd_port *p, FILE *err)
{
	const char *devargs = p->cfg->path;
	struct rte_devargs da;
	bool pci;
	int rc;

	memset(&da, 0, sizeof(da));
	if (rte_devargs_parse(&da, devargs) != 0)
		return open_error(err, p, -EINVAL,
				  "no bus or driver knows the device name (a driver such as "
				  "net_af_packet0,iface=eth1 or net_tap0; a PCI address)");
	pci = strcmp(rte_bus_name(da.bus), "pci") == 0;
	rte_devargs_reset(&da);
	rc = rte_dev_probe(devargs);
	if (rc == 0 || rc == -EEXIST)
		return rc;
	if (rc == -ENODEV && pci && !rte_eal_has_pci())
		return open_error(err, p, rc,
				  "no such device: PCI is off (vhostd's default EAL options have "
				  "--no-pci: give your own after --)");
	if (rc == -ENODEV)
		return open_error(err, p, rc, "no such device");
	return open_error(err, p, rc, "the driver refused it: %s (see its messages above)",
			  strerror(-rc));
}

static int
ethdev_open(struct vhd_port *p, FILE *err)
{
	struct uplink *u = &uplinks[p->id];
	const char *devargs = p->cfg->path;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info di;
	uint16_t nb_rxd = VHD_ETHDEV_RX_DESC, nb_txd = VHD_ETHDEV_TX_DESC, kmtu, mtu, i;
	bool scatter, trunk;
	int socket, rc;

	/* nothing of the slot's previous port carries over */
	memset(u, 0, sizeof(*u));
	rc = probe(p, err);
	if (rc != 0 && rc != -EEXIST)
		return rc;
	/* -EEXIST: probed already (EAL's own --vdev or -a): ours to use, not to remove */
	u->probed_here = rc == 0;
	rc = port_of_devargs(devargs, u, &u->eth_port);
	if (rc != 0) {
		open_error(err, p, rc, "the device has no ethdev port (not a network device?)");
		goto fail_probed;
	}
	for (i = 0; i < VHD_MAX_PORTS; i++) {
		if (i != p->id && uplinks[i].opened && uplinks[i].eth_port == u->eth_port) {
			open_error(err, p, -EBUSY, "its ethdev port %u is already vhostd's port %u",
				   u->eth_port, i);
			/* the device is the other port's: leave it be */
			u->probed_here = false;
			rc = -EBUSY;
			goto fail_probed;
		}
	}
	rc = rte_eth_dev_info_get(u->eth_port, &di);
	if (rc != 0) {
		open_error(err, p, rc, "cannot read device info: %s", strerror(-rc));
		goto fail_probed;
	}
	u->dev = di.device;
	socket = rte_eth_dev_socket_id(u->eth_port);
	u->pool = vhd_pool_for_socket(socket);
	if (socket < 0)
		socket = SOCKET_ID_ANY;

	memset(&conf, 0, sizeof(conf));
	scatter = di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
	if (scatter)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	/*
	 * A trunk of the l2 switch: tags come off on receive (the switch reads
	 * vlan_tci) and go on at transmit. In pair mode it is a wire: tags
	 * stay in the frame both ways.
	 */
	trunk = vhd_fwd_fixed_peer(p->id) < 0;
	if (trunk && (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_VLAN_STRIP))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
	else
		u->vlan_strip_sw = trunk;
	kmtu = kernel_mtu(di.if_index);
	conf.rxmode.mtu = mtu_choose(&di, scatter,
				     rte_pktmbuf_data_room_size(u->pool) - RTE_PKTMBUF_HEADROOM,
				     kmtu);
	conf.txmode.offloads = di.tx_offload_capa & TX_OFFLOADS_WANTED;
	/* a device that sends only single mbufs gets no chains: no TSO to it either */
	if (!(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))
		conf.txmode.offloads &= ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
	rc = rte_eth_dev_configure(u->eth_port, 1, 1, &conf);
	if (rc != 0) {
		open_error(err, p, rc, "cannot configure port %u (%s, mtu %u): %s", u->eth_port,
			   di.driver_name, conf.rxmode.mtu, strerror(-rc));
		goto fail_probed;
	}
	u->tx_hw = conf.txmode.offloads;
	/*
	 * net_tap's TSO is librte_gso's, which in DPDK 22.11 cuts TCP over
	 * IPv4 only and sends an IPv6 frame whole: vhostd cuts those itself.
	 */
	u->tso6_hw = strcmp(di.driver_name, "net_tap") != 0;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(u->eth_port, &nb_rxd, &nb_txd);
	if (rc != 0) {
		open_error(err, p, rc, "cannot fit descriptor counts: %s", strerror(-rc));
		goto fail_closed;
	}
	rc = rte_eth_rx_queue_setup(u->eth_port, 0, nb_rxd, socket, NULL, u->pool);
	if (rc != 0) {
		open_error(err, p, rc,
			   "cannot set up its receive queue (%u descriptors): %s (mbufs short? "
			   "give EAL more memory: -- -m)",
			   nb_rxd, strerror(-rc));
		goto fail_closed;
	}
	rc = rte_eth_tx_queue_setup(u->eth_port, 0, nb_txd, socket, NULL);
	if (rc != 0) {
		open_error(err, p, rc, "cannot set up its transmit queue (%u descriptors): %s",
			   nb_txd, strerror(-rc));
		goto fail_closed;
	}
	rc = rte_eth_dev_start(u->eth_port);
	if (rc != 0) {
		open_error(err, p, rc, "cannot start port %u: %s", u->eth_port, strerror(-rc));
		goto fail_closed;
	}
	rc = rte_eth_promiscuous_enable(u->eth_port);
	if (rc == 0)
		u->promisc_here = true;
	else
		VHD_LOG(WARNING,
			"port %u (%s): not promiscuous (%s): frames for the guests' MACs may not "
			"arrive",
			p->id, devargs, strerror(-rc));
	if (rte_eth_dev_get_mtu(u->eth_port, &mtu) != 0)
		mtu = RTE_ETHER_MTU;
	u->mtu = mtu;
	u->max_frame = (uint32_t)mtu + FRAME_OVERHEAD;

	u->snap = calloc(1, sizeof(*u->snap));
	if (u->snap == NULL) {
		rc = open_error(err, p, -ENOMEM, "out of memory");
		goto fail_started;
	}
	u->snap->vid = -1;
	u->snap->pool = u->pool;
	u->snap->mtu = u->mtu;
	u->snap->tx_queues = 1; /* queue 0 */
	rc = vhd_lcore_attach(p, u->snap);
	if (rc != 0) {
		open_error(err, p, rc, "lcore %u did not take the port", p->lcore_id);
		free(u->snap);
		u->snap = NULL;
		goto fail_started;
	}
	__atomic_store_n(&u->opened, true, __ATOMIC_RELEASE);
	VHD_LOG(INFO,
		"port %u: uplink %s: ethdev port %u (%s), mtu %u%s, %u/%u descriptors, "
		"tx offloads in hardware 0x%" PRIx64 " of 0x%" PRIx64 "%s, %s",
		p->id, devargs, u->eth_port, di.driver_name, u->mtu,
		kmtu != 0 ? " (its kernel interface's)" : "", nb_rxd, nb_txd, u->tx_hw,
		di.tx_offload_capa, scatter ? ", rx scatter" : "",
		!trunk ? "tags left in frames (pair)" :
		u->vlan_strip_sw ? "VLAN trunk, tags stripped in software" :
				   "VLAN trunk, tags stripped by the device");
	return 0;

fail_started:
	if (u->promisc_here)
		rte_eth_promiscuous_disable(u->eth_port);
	rte_eth_dev_stop(u->eth_port);
fail_closed:
	rte_eth_dev_close(u->eth_port);
fail_probed:
	if (u->probed_here && (u->dev != NULL ? rte_dev_remove(u->dev) :
						 rte_eal_hotplug_remove(u->bus, u->name)) != 0)
		VHD_LOG(WARNING, "port %u (%s): cannot remove the device again", p->id, devargs);
	memset(u, 0, sizeof(*u));
	return rc;
}

static void
ethdev_close(struct vhd_port *p)
{
	struct uplink *u = &uplinks[p->id];
	struct vhd_dev_snapshot *snap;
	int rc;

	if (!u->opened)
		return;
	/* the lcore sends what it holds for us, then lets go */
	snap = vhd_lcore_detach(p);
	__atomic_store_n(&u->opened, false, __ATOMIC_RELEASE);
	if (u->promisc_here)
		rte_eth_promiscuous_disable(u->eth_port);
	rc = rte_eth_dev_stop(u->eth_port);
	if (rc != 0)
		VHD_LOG(WARNING, "port %u: stopping ethdev port %u: %s", p->id, u->eth_port,
			strerror(-rc));
	/* frees the mbufs its rings held */
	rte_eth_dev_close(u->eth_port);
	if (u->probed_here) {
		rc = rte_dev_remove(u->dev);
		if (rc != 0)
			VHD_LOG(WARNING, "port %u: removing %s: %s", p->id, p->cfg->path,
				strerror(-rc));
	}
	free(snap);
	u->snap = NULL;
	VHD_LOG(INFO, "port %u: uplink %s closed", p->id, p->cfg->path);
}

static const struct vhd_port_ops port_ethdev_ops = {
	.kind = "ethdev",
	.vlan_trunk = true,
	.open = ethdev_open,
	.close = ethdev_close,
	.nr_queues = ethdev_nr_queues,
	.rx_burst = ethdev_rx_burst,
	.tx_burst = ethdev_tx_burst,
	.attach = ethdev_attach,
	.detach = ethdev_detach,
	.counters = ethdev_counters,
	.queue_counters = ethdev_queue_counters,
	.errors = ethdev_errors,
};

RTE_INIT(port_ethdev_register)
{
	vhd_port_kind_register(&port_ethdev_ops);
}
