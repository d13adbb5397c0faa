/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registry: the one file that talks to librte_vhost. Keyed by socket path, it
 * registers each port's socket, learns a device's features, memory table and
 * vrings when it starts, and hands them to the port's lcore as one snapshot.
 *
 * Callbacks run on librte_vhost's threads. Per port, a mutex orders them
 * against each other; the datapath never takes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_vhost.h>

#include "vhostd/lcore.h"
#include "vhostd/log.h"
#include "vhostd/pool.h"
#include "vhostd/registry.h"

VHD_LOG_REGISTER(registry);

/* vhost-user requests after which ring addresses or memory may have moved */
enum {
	REQ_SET_FEATURES = 2,
	REQ_SET_MEM_TABLE = 5,
	REQ_SET_VRING_NUM = 8,
	REQ_SET_VRING_ADDR = 9,
	REQ_SET_VRING_BASE = 10,
	REQ_SET_VRING_KICK = 12,
};

/* Only what the datapath really implements. */
#define VHD_VIRTIO_FEATURES                                                               \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ANY_LAYOUT) |                   \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |       \
	 (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))

struct port_ctl {
	pthread_mutex_t lock;
	int vid;
	bool registered;
	bool running;  /* between new_device and destroy_device */
	bool paused;   /* a message that may move rings or memory is being handled */
	bool attached; /* the lcore polls a snapshot of this device */
	bool ready[VHD_MAX_VRINGS]; /* vrings the library says are usable */
};

static struct port_ctl ctls[VHD_MAX_PORTS];

static struct vhd_port *
port_by_vid(int vid)
{
	char path[PATH_MAX];
	uint16_t i;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) != 0)
		return NULL;
	for (i = 0; i < vhd_nports; i++)
		if (strcmp(vhd_ports[i].cfg->path, path) == 0)
			return &vhd_ports[i];
	return NULL;
}

/* Gathers what the datapath needs to poll the device. */
static struct vhd_dev_snapshot *
snapshot_build(struct vhd_port *p, int vid)
{
	struct port_ctl *ctl = &ctls[p->id];
	struct rte_vhost_memory *mem = NULL;
	struct vhd_dev_snapshot *snap;
	uint16_t nr, r;
	uint32_t i;

	snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return NULL;
	snap->vid = vid;
	if (rte_vhost_get_negotiated_features(vid, &snap->features) != 0)
		goto fail;
	if (rte_vhost_get_mem_table(vid, &mem) != 0)
		goto fail;
	if (mem->nregions > VHD_MAX_MEM_REGIONS) {
		VHD_LOG(ERR, "port %u: %u memory regions, at most %d", p->id, mem->nregions,
			VHD_MAX_MEM_REGIONS);
		goto fail;
	}
	snap->mem.nregions = mem->nregions;
	for (i = 0; i < mem->nregions; i++) {
		snap->mem.regions[i].guest_phys_addr = mem->regions[i].guest_phys_addr;
		snap->mem.regions[i].size = mem->regions[i].size;
		snap->mem.regions[i].host_addr = mem->regions[i].host_user_addr;
	}
	free(mem);
	mem = NULL;
	if (vhd_mem_table_check(&snap->mem) != 0) {
		VHD_LOG(ERR, "port %u: memory table refused (empty or wrapping region)", p->id);
		goto fail;
	}

	nr = rte_vhost_get_vring_num(vid);
	if (nr > 2 * p->cfg->queues) {
		VHD_LOG(WARNING, "port %u: frontend set up %u vrings, polling the first %u", p->id,
			nr, 2 * p->cfg->queues);
		nr = 2 * p->cfg->queues;
	}
	snap->nr_vrings = nr;
	snap->tx_vring = UINT16_MAX;
	for (r = 0; r < nr; r++) {
		struct vhd_vring_info *vi = &snap->vring[r];
		struct rte_vhost_vring vr;

		if (!ctl->ready[r] || rte_vhost_get_vhost_vring(vid, r, &vr) != 0 ||
		    vr.desc == NULL || vr.avail == NULL || vr.used == NULL)
			continue;
		if (vr.size == 0 || vr.size > VHD_VIRTQ_SIZE_MAX || (vr.size & (vr.size - 1))) {
			VHD_LOG(ERR, "port %u: vring %u has bad size %u, not polled", p->id, r,
				vr.size);
			continue;
		}
		if (rte_vhost_get_vring_base(vid, r, &vi->last_avail_idx, &vi->last_used_idx))
			continue;
		vi->desc = vr.desc;
		vi->avail = vr.avail;
		vi->used = vr.used;
		vi->size = vr.size;
		vi->callfd = vr.callfd;
		if (r % 2 == 0 && snap->tx_vring == UINT16_MAX)
			snap->tx_vring = r;
	}
	if (snap->tx_vring == UINT16_MAX) {
		/* e.g. the frontend disabled its rings to change memory */
		VHD_LOG(INFO, "port %u: no enabled receive vring, idle until one is", p->id);
		goto fail;
	}
	snap->pool = vhd_pool_for_socket(rte_vhost_get_numa_node(vid));
	return snap;
fail:
	free(mem);
	free(snap);
	return NULL;
}

/* Hands a fresh snapshot to the port's lcore. Called with the port lock held. */
static int
port_start(struct vhd_port *p, int vid)
{
	struct vhd_dev_snapshot *snap = snapshot_build(p, vid);

	if (snap == NULL)
		return -EINVAL;
	if (vhd_lcore_attach(p, snap) != 0) {
		/* the lcore may still pick it up: take it back before freeing */
		free(vhd_lcore_detach(p));
		return -ETIMEDOUT;
	}
	ctls[p->id].attached = true;
	return 0;
}

/*
 * Takes the snapshot back from the lcore and writes the ring positions back to
 * the library, so a reconnect or a restart resumes where we stopped.
 */
static void
port_stop(struct vhd_port *p)
{
	struct vhd_dev_snapshot *snap = vhd_lcore_detach(p);
	uint16_t r;

	ctls[p->id].attached = false;
	if (snap == NULL)
		return;
	for (r = 0; r < snap->nr_vrings; r++)
		if (snap->vring[r].desc != NULL)
			rte_vhost_set_vring_base(snap->vid, r, snap->final_avail_idx[r],
						 snap->final_used_idx[r]);
	free(snap);
}

/* Re-reads the device and re-attaches it, if it runs and is not mid-change. */
static void
port_refresh(struct vhd_port *p)
{
	struct port_ctl *ctl = &ctls[p->id];

	if (ctl->attached)
		port_stop(p);
	if (ctl->running && !ctl->paused)
		port_start(p, ctl->vid);
}

static enum rte_vhost_msg_result
pre_msg(int vid, void *msg)
{
	uint32_t request = *(const uint32_t *)msg; /* the request leads the message */
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;

	if (p == NULL)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	switch (request) {
	case REQ_SET_FEATURES:
	case REQ_SET_MEM_TABLE:
	case REQ_SET_VRING_NUM:
	case REQ_SET_VRING_ADDR:
	case REQ_SET_VRING_BASE:
	case REQ_SET_VRING_KICK:
		break;
	default:
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	/* the library may unmap the old memory: stop using it first */
	if (ctl->running && ctl->vid == vid) {
		ctl->paused = true;
		port_refresh(p);
	}
	pthread_mutex_unlock(&ctl->lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result
post_msg(int vid, void *msg)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;

	RTE_SET_USED(msg);
	if (p == NULL)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->paused && ctl->vid == vid) {
		ctl->paused = false;
		port_refresh(p);
	}
	pthread_mutex_unlock(&ctl->lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops extern_ops = {
	.pre_msg_handle = pre_msg,
	.post_msg_handle = post_msg,
};

static int
new_device(int vid)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;
	uint64_t features = 0;
	int rc;

	if (p == NULL)
		return -1;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->attached)
		port_stop(p);
	ctl->vid = vid;
	ctl->paused = false;
	/* the library starts a device only once every vring it set up is ready */
	memset(ctl->ready, true, sizeof(ctl->ready));
	rc = port_start(p, vid);
	if (rc == 0) {
		ctl->running = true;
		rte_vhost_extern_callback_register(vid, &extern_ops, NULL);
	}
	pthread_mutex_unlock(&ctl->lock);

	rte_vhost_get_negotiated_features(vid, &features);
	if (rc == 0)
		VHD_LOG(INFO, "port %u (%s): device started, features 0x%" PRIx64 ", %u vrings",
			p->id, p->cfg->path, features, rte_vhost_get_vring_num(vid));
	else
		VHD_LOG(ERR, "port %u (%s): cannot start device: %s", p->id, p->cfg->path,
			strerror(-rc));
	return rc == 0 ? 0 : -1;
}

static void
destroy_device(int vid)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;

	if (p == NULL)
		return;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->vid == vid) {
		if (ctl->attached)
			port_stop(p);
		ctl->running = false;
		ctl->paused = false;
	}
	pthread_mutex_unlock(&ctl->lock);
	VHD_LOG(INFO, "port %u (%s): device stopped", p->id, p->cfg->path);
}

static int
vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;

	if (p == NULL || queue_id >= VHD_MAX_VRINGS)
		return 0;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->ready[queue_id] != !!enable) {
		ctl->ready[queue_id] = !!enable;
		/* a vring going away may take its callfd with it: re-snapshot now */
		if (ctl->running && ctl->vid == vid)
			port_refresh(p);
	}
	pthread_mutex_unlock(&ctl->lock);
	return 0;
}

static int
features_changed(int vid, uint64_t features)
{
	/* no VHOST_F_LOG_ALL offered: nothing to switch on or off */
	RTE_SET_USED(vid);
	RTE_SET_USED(features);
	return 0;
}

static const struct rte_vhost_device_ops device_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
	.features_changed = features_changed,
};

static int
register_port(struct vhd_port *p)
{
	const struct vhd_port_config *cfg = p->cfg;
	uint64_t features = VHD_VIRTIO_FEATURES;
	uint64_t flags = cfg->client ? RTE_VHOST_USER_CLIENT : 0;

	if (cfg->queues > 1)
		features |= 1ULL << VIRTIO_NET_F_MQ;
	if (rte_vhost_driver_register(cfg->path, flags) != 0) {
		VHD_LOG(ERR, "--socket %s: cannot register", cfg->path);
		return -EINVAL;
	}
	ctls[p->id].registered = true;
	if (rte_vhost_driver_set_features(cfg->path, features) != 0 ||
	    rte_vhost_driver_callback_register(cfg->path, &device_ops) != 0) {
		VHD_LOG(ERR, "--socket %s: cannot configure", cfg->path);
		return -EINVAL;
	}
	if (rte_vhost_driver_start(cfg->path) != 0) {
		VHD_LOG(ERR, "--socket %s: cannot %s", cfg->path,
			cfg->client ? "start connecting" : "listen");
		return -EINVAL;
	}
	/* the socket file exists once the server listens */
	if (cfg->mode >= 0 && chmod(cfg->path, cfg->mode) != 0) {
		int err = errno;

		VHD_LOG(ERR, "--socket %s: cannot set mode %o: %s", cfg->path, cfg->mode,
			strerror(err));
		return -err;
	}
	if (cfg->gid >= 0 && chown(cfg->path, -1, cfg->gid) != 0) {
		int err = errno;

		VHD_LOG(ERR, "--socket %s: cannot set group %ld: %s", cfg->path, cfg->gid,
			strerror(err));
		return -err;
	}
	return 0;
}

int
vhd_registry_start(void)
{
	uint16_t i;
	int rc;

	for (i = 0; i < vhd_nports; i++) {
		pthread_mutex_init(&ctls[i].lock, NULL);
		ctls[i].vid = -1;
	}
	for (i = 0; i < vhd_nports; i++) {
		rc = register_port(&vhd_ports[i]);
		if (rc != 0) {
			vhd_registry_stop();
			return rc;
		}
	}
	return 0;
}

void
vhd_registry_stop(void)
{
	uint16_t i;

	for (i = 0; i < vhd_nports; i++) {
		const struct vhd_port_config *cfg = vhd_ports[i].cfg;
		struct stat st;

		if (!ctls[i].registered)
			continue;
		/* runs destroy_device for a connected device, which detaches it */
		rte_vhost_driver_unregister(cfg->path);
		ctls[i].registered = false;
		/* the library unlinks a server socket; make sure nothing stays */
		if (!cfg->client && lstat(cfg->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(cfg->path);
	}
}
