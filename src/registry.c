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
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_vhost.h>

#include "vhostd/guest_fault.h"
#include "vhostd/lcore.h"
#include "vhostd/log.h"
#include "vhostd/net_hdr.h"
#include "vhostd/pool.h"
#include "vhostd/registry.h"
#include "vhostd/vhost_msg.h"

VHD_LOG_REGISTER(registry);

/* Only what the datapath really implements. */
#define VHD_VIRTIO_FEATURES                                                               \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ANY_LAYOUT) |                   \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |       \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_RING_PACKED) |               \
	 (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) | VHD_NET_OFFLOAD_FEATURES)

/*
 * What the registry knows of a port's one connection. Everything but the
 * lock is reset when a connection starts: nothing of a previous frontend's
 * state may leak into the next one's.
 */
struct port_ctl {
	pthread_mutex_t lock;
	bool registered;
	int conn_vid;  /* the accepted connection (its device's vid), -1: none */
	bool running;  /* between new_device and destroy_device */
	bool paused;   /* a message that may move rings or memory is being handled */
	bool attached; /* the lcore polls a snapshot of this device */
	bool mem_ok;   /* the library mapped a memory table, and it still stands */
	bool ready[VHD_MAX_VRINGS]; /* exactly what vring_state_changed said */
};

static struct port_ctl ctls[VHD_MAX_PORTS];

/* A slot's state before its port's first connection. */
static void
ctl_reset(struct port_ctl *ctl)
{
	ctl->conn_vid = -1;
	ctl->running = false;
	ctl->paused = false;
	ctl->attached = false;
	ctl->mem_ok = false;
	memset(ctl->ready, 0, sizeof(ctl->ready));
}

static struct vhd_port *
port_by_vid(int vid)
{
	char path[PATH_MAX];
	uint16_t i;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) != 0)
		return NULL;
	/*
	 * Lock-free: a port's cfg stays while it is present, and it is not
	 * removed before its socket is unregistered, after the last callback.
	 */
	for (i = 0; i < __atomic_load_n(&vhd_nports, __ATOMIC_ACQUIRE); i++)
		if (vhd_port_is_present(&vhd_ports[i]) &&
		    strcmp(vhd_ports[i].cfg->kind, "vhost") == 0 &&
		    strcmp(vhd_ports[i].cfg->path, path) == 0)
			return &vhd_ports[i];
	return NULL;
}

/* Frees a snapshot the lcore no longer holds, with the callfds it owns. */
static void
snapshot_free(struct vhd_dev_snapshot *snap)
{
	uint16_t r;

	if (snap == NULL)
		return;
	for (r = 0; r < VHD_MAX_VRINGS; r++)
		if (snap->vring[r].callfd >= 0)
			close(snap->vring[r].callfd);
	free(snap);
}

/*
 * A region whose file is now shorter than what was mapped: touching the
 * rest raises SIGBUS. Checked at every snapshot; a file that shrinks later
 * is caught by guest_fault.c.
 */
static bool
region_file_shrunk(const struct vhd_port *p, const struct rte_vhost_mem_region *reg)
{
	uint64_t offset = reg->host_user_addr - (uint64_t)(uintptr_t)reg->mmap_addr;
	struct stat st;

	if (fstat(reg->fd, &st) == 0 && (uint64_t)st.st_size >= offset + reg->size)
		return false;
	VHD_LOG(ERR, "port %u: memory file of region at 0x%" PRIx64 " is shorter than mapped",
		p->id, reg->guest_phys_addr);
	return true;
}

/*
 * Our own reference to a vring's callfd: the library closes its copy on
 * SET_VRING_CALL and the number may then go to another connection; ours
 * stays this eventfd until the snapshot is freed. It is made non-blocking
 * (a frontend can still clear that flag: the lcore watchdog covers it).
 */
static int
callfd_own(const struct vhd_port *p, uint16_t r, int fd)
{
	int own;

	if (!vhd_fd_is_eventfd(fd)) {
		VHD_LOG(ERR, "port %u: vring %u callfd is not an eventfd, not polled", p->id, r);
		return -1;
	}
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0 || fcntl(own, F_SETFL, fcntl(own, F_GETFL) | O_NONBLOCK) != 0) {
		VHD_LOG(ERR, "port %u: vring %u callfd: %s", p->id, r, strerror(errno));
		if (own >= 0)
			close(own);
		return -1;
	}
	return own;
}

/*
 * The library's memory table in our form. -EINVAL if a region's file shrank:
 * the table is filled in all the same.
 */
static int
mem_table_get(const struct vhd_port *p, int vid, struct vhd_mem_table *table)
{
	struct rte_vhost_memory *mem = NULL;
	uint32_t i;
	int rc = 0;

	table->nregions = 0;
	if (rte_vhost_get_mem_table(vid, &mem) != 0)
		return -EINVAL;
	if (mem->nregions > VHD_MAX_MEM_REGIONS) {
		VHD_LOG(ERR, "port %u: %u memory regions, at most %d", p->id, mem->nregions,
			VHD_MAX_MEM_REGIONS);
		rc = -EINVAL;
		goto out;
	}
	table->nregions = mem->nregions;
	for (i = 0; i < mem->nregions; i++) {
		table->regions[i].guest_phys_addr = mem->regions[i].guest_phys_addr;
		table->regions[i].size = mem->regions[i].size;
		table->regions[i].host_addr = mem->regions[i].host_user_addr;
		if (region_file_shrunk(p, &mem->regions[i]))
			rc = -EINVAL;
	}
out:
	free(mem);
	return rc;
}

/*
 * The MTU frames to the guest are held to: mtu= of --socket, or the smaller
 * of it and the frontend's own (QEMU's host_mtu=, told with
 * VHOST_USER_NET_SET_MTU), which is what the guest was given. The library
 * reports the frontend's only when VIRTIO_NET_F_MTU was negotiated, which
 * vhostd offers only with mtu=. 0: no MTU.
 */
static uint16_t
port_mtu(const struct vhd_port *p, int vid)
{
	uint16_t mtu = p->cfg->mtu, fe_mtu = 0;

	if (rte_vhost_get_mtu(vid, &fe_mtu) == 0 && fe_mtu != 0 && fe_mtu < mtu) {
		VHD_LOG(INFO, "port %u: frontend MTU %u below mtu=%u, using it", p->id, fe_mtu,
			mtu);
		mtu = fe_mtu;
	}
	return mtu;
}

/* Checks a vring where the negotiated layout puts its parts. */
static int
rings_check(const struct vhd_dev_snapshot *snap, const struct rte_vhost_vring *vr)
{
	if (snap->features & (1ULL << VIRTIO_F_RING_PACKED))
		return vhd_virtq_packed_rings_check(&snap->mem, vr->desc_packed, vr->driver_event,
						    vr->device_event, vr->size);
	return vhd_virtq_rings_check(&snap->mem, vr->desc, vr->avail, vr->used, vr->size);
}

/* A packed ring's vring base at its start: slot 0, wrap counter 1. */
#define PACKED_BASE_START 0x8000

/*
 * A packed ring the frontend puts at its start while its descriptors show
 * the device further on resumes where they show. This is a vhostd that
 * replaced one that stopped or died while QEMU kept the guest running: QEMU
 * cannot read a packed ring's position back from guest memory as it does a
 * split ring's used index, and sends the position it started the device
 * with, the start. Any other base is the frontend's or our own (detach
 * writes it back) and stands: the descriptors' reading is exact only for
 * rings of one descriptor per buffer.
 */
static void
packed_resume_point(const struct vhd_port *p, uint16_t r, const struct rte_vhost_vring *vr,
		    struct vhd_vring_info *vi)
{
	uint16_t base;

	if (vi->last_avail_idx != PACKED_BASE_START || vi->last_used_idx != PACKED_BASE_START)
		return;
	if (!vhd_virtq_packed_ring_position(vr->desc_packed, vr->size, &base) ||
	    base == vi->last_avail_idx)
		return;
	VHD_LOG(WARNING,
		"port %u: vring %u: the frontend puts the packed ring at slot %u lap %u, its "
		"descriptors at slot %u lap %u: resuming there",
		p->id, r, vi->last_avail_idx & 0x7fff, vi->last_avail_idx >> 15, base & 0x7fff,
		base >> 15);
	vi->last_avail_idx = base;
	vi->last_used_idx = base;
}

/* Gathers what the datapath needs to poll the device. */
static struct vhd_dev_snapshot *
snapshot_build(struct vhd_port *p, int vid)
{
	struct port_ctl *ctl = &ctls[p->id];
	struct vhd_dev_snapshot *snap;
	uint16_t nr, r;

	/* after a failed SET_MEM_TABLE the library has no table at all */
	if (!ctl->mem_ok || vhd_port_is_faulted(p))
		return NULL;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return NULL;
	snap->vid = vid;
	for (r = 0; r < VHD_MAX_VRINGS; r++)
		snap->vring[r].callfd = -1;
	if (rte_vhost_get_negotiated_features(vid, &snap->features) != 0)
		goto fail;
	if (mem_table_get(p, vid, &snap->mem) != 0)
		goto fail;
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
	snap->tx_queues = 0;
	for (r = 0; r < nr; r++) {
		struct vhd_vring_info *vi = &snap->vring[r];
		struct rte_vhost_vring vr;

		if (!ctl->ready[r] || rte_vhost_get_vhost_vring(vid, r, &vr) != 0)
			continue;
		/* the size may have changed since the library checked the addresses */
		if (rings_check(snap, &vr) != 0) {
			VHD_LOG(ERR,
				"port %u: vring %u (size %u) lies outside guest memory, not polled",
				p->id, r, vr.size);
			continue;
		}
		if (rte_vhost_get_vring_base(vid, r, &vi->last_avail_idx, &vi->last_used_idx))
			continue;
		if (snap->features & (1ULL << VIRTIO_F_RING_PACKED))
			packed_resume_point(p, r, &vr, vi);
		if (vr.callfd >= 0) {
			vi->callfd = callfd_own(p, r, vr.callfd);
			if (vi->callfd < 0)
				continue;
		}
		/* the unions hold either layout's pointers */
		vi->desc = vr.desc;
		vi->avail = vr.avail;
		vi->used = vr.used;
		vi->size = vr.size;
		/* a guest receive queue we can steer packets into */
		if (r % 2 == 0)
			snap->tx_queue[snap->tx_queues++] = r / 2;
	}
	if (snap->tx_queues == 0) {
		/* e.g. the frontend disabled its rings to change memory */
		VHD_LOG(INFO, "port %u: no enabled receive vring, idle until one is", p->id);
		goto fail;
	}
	snap->pool = vhd_pool_for_socket(rte_vhost_get_numa_node(vid));
	snap->mtu = port_mtu(p, vid);
	return snap;
fail:
	snapshot_free(snap);
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
		/* cancelled: the lcore will never use it */
		snapshot_free(snap);
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
	snapshot_free(snap);
}

/* Re-reads the device and re-attaches it, if it runs and is not mid-change. */
static void
port_refresh(struct vhd_port *p)
{
	struct port_ctl *ctl = &ctls[p->id];

	if (ctl->attached)
		port_stop(p);
	if (ctl->running && !ctl->paused)
		port_start(p, ctl->conn_vid);
}

/*
 * Tells guest_fault.c where the port's memory now is, as soon as the library
 * mapped it: its own thread reads rings there too (SET_VRING_ADDR), before
 * any snapshot exists.
 */
static void
track_memory(const struct vhd_port *p, int vid)
{
	struct vhd_mem_table table;

	/* a region that already shrank is the one most likely to fault */
	mem_table_get(p, vid, &table);
	vhd_guest_fault_track(p->id, &table);
}

/* Closes the fds a refused message brought: the library leaves them to us. */
static void
msg_close_fds(struct vhd_msg *m)
{
	int i;

	for (i = 0; i < m->fd_num && i < VHD_MSG_MAX_FDS; i++)
		if (m->fds[i] >= 0) {
			close(m->fds[i]);
			m->fds[i] = -1;
		}
	m->fd_num = 0;
}

/*
 * Runs before librte_vhost handles any message of our connection: refuses
 * what we would not poll safely (the library then nacks it when the
 * frontend asked for a reply, or drops the connection), and lets the lcore
 * go of the device before anything it polls can move or be unmapped.
 */
static enum rte_vhost_msg_result
pre_msg(int vid, void *msg)
{
	struct vhd_msg *m = msg;
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;
	char why[160], name[32];

	if (p == NULL)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	ctl = &ctls[p->id];
	if (vhd_msg_check(m, 2 * p->cfg->queues, why, sizeof(why)) != 0) {
		VHD_PORT_COUNT(p, msg_refused);
		VHD_LOG(ERR, "port %u (%s): refused %s: %s", p->id, p->cfg->path,
			vhd_msg_name(m->request, name, sizeof(name)), why);
		msg_close_fds(m);
		return RTE_VHOST_MSG_RESULT_ERR;
	}
	if (!vhd_msg_changes_rings(m->request))
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	pthread_mutex_lock(&ctl->lock);
	if (ctl->conn_vid == vid) {
		/* the library frees the old table first, even if the new one fails */
		if (m->request == VHD_MSG_SET_MEM_TABLE)
			ctl->mem_ok = false;
		ctl->paused = true;
		port_refresh(p);
	}
	pthread_mutex_unlock(&ctl->lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

/*
 * Runs after a message the library handled successfully (never after a
 * failed one: a port paused by a failed message stays detached until the
 * next message that succeeds, and without a memory table until a
 * SET_MEM_TABLE succeeds).
 */
static enum rte_vhost_msg_result
post_msg(int vid, void *msg)
{
	const struct vhd_msg *m = msg;
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;

	if (p == NULL)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->conn_vid == vid) {
		if (m->request == VHD_MSG_SET_MEM_TABLE) {
			ctl->mem_ok = true;
			track_memory(p, vid);
			/* fresh memory: a port that faulted may run again */
			__atomic_store_n(&p->faulted, false, __ATOMIC_RELAXED);
		}
		if (ctl->paused) {
			ctl->paused = false;
			port_refresh(p);
		}
	}
	pthread_mutex_unlock(&ctl->lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops extern_ops = {
	.pre_msg_handle = pre_msg,
	.post_msg_handle = post_msg,
};

/*
 * One frontend per port: a second connection to a server socket would
 * rewrite the first one's vrings. It is refused and the first one stays.
 */
static int
new_connection(int vid)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;
	int rc = 0;

	if (p == NULL)
		return -1;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->conn_vid >= 0) {
		VHD_PORT_COUNT(p, msg_refused);
		rc = -1;
	} else {
		ctl->conn_vid = vid;
		ctl->running = false;
		ctl->paused = false;
		ctl->mem_ok = false;
		memset(ctl->ready, 0, sizeof(ctl->ready));
		__atomic_store_n(&p->faulted, false, __ATOMIC_RELAXED);
		/* from the first message on, so nothing reaches the library unchecked */
		if (rte_vhost_extern_callback_register(vid, &extern_ops, NULL) != 0)
			rc = -1;
		if (rc != 0)
			ctl->conn_vid = -1;
	}
	pthread_mutex_unlock(&ctl->lock);
	if (rc != 0)
		VHD_LOG(ERR, "port %u (%s): refused a second connection; the first one stays",
			p->id, p->cfg->path);
	return rc;
}

/* The device stops being polled; called with the port lock held. */
static void
device_down(struct vhd_port *p)
{
	struct port_ctl *ctl = &ctls[p->id];

	if (ctl->attached)
		port_stop(p);
	ctl->running = false;
	ctl->paused = false;
}

static void
destroy_connection(int vid)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;

	if (p == NULL)
		return;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->conn_vid == vid) {
		/* destroy_device ran first if the device had started */
		device_down(p);
		ctl->conn_vid = -1;
		ctl->mem_ok = false;
		vhd_guest_fault_untrack(p->id);
	}
	pthread_mutex_unlock(&ctl->lock);
}

static int
new_device(int vid)
{
	struct vhd_port *p = port_by_vid(vid);
	struct port_ctl *ctl;
	uint64_t features = 0;
	int rc = -EINVAL;

	if (p == NULL)
		return -1;
	ctl = &ctls[p->id];
	pthread_mutex_lock(&ctl->lock);
	if (ctl->conn_vid == vid) {
		if (ctl->attached)
			port_stop(p);
		ctl->paused = false;
		rc = port_start(p, vid);
		/* running even if nothing could be polled yet: later messages retry */
		ctl->running = true;
	}
	pthread_mutex_unlock(&ctl->lock);

	rte_vhost_get_negotiated_features(vid, &features);
	if (rc == 0)
		VHD_LOG(INFO,
			"port %u (%s): device started, features 0x%" PRIx64 ", %u vrings, %s ring%s",
			p->id, p->cfg->path, features, rte_vhost_get_vring_num(vid),
			features & (1ULL << VIRTIO_F_RING_PACKED) ? "packed" : "split",
			features & (1ULL << VIRTIO_RING_F_EVENT_IDX) ? ", event index" : "");
	else
		VHD_LOG(ERR, "port %u (%s): device not polled yet: %s", p->id, p->cfg->path,
			strerror(-rc));
	return 0;
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
	if (ctl->conn_vid == vid)
		device_down(p);
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
	if (ctl->conn_vid == vid && ctl->ready[queue_id] != !!enable) {
		ctl->ready[queue_id] = !!enable;
		/* a vring going away may take its callfd with it: re-snapshot now */
		if (ctl->running)
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
	.new_connection = new_connection,
	.destroy_connection = destroy_connection,
};

/*
 * Starts a socket. A server socket is created by bind() inside the library
 * with its final mode (from the umask) and group (from this thread's
 * filesystem gid), so it never exists with looser permissions, and nothing
 * is changed by path afterwards where a link swapped in could redirect it.
 * umask is process-wide: no other thread of vhostd creates files while a
 * port opens (the control socket exists before the first port is added).
 */
static int
start_socket(const struct vhd_port_config *cfg)
{
	bool set_mode = !cfg->client && cfg->mode >= 0;
	bool set_group = !cfg->client && cfg->gid >= 0;
	mode_t old_mask = 0;
	int old_fsgid = -1, rc;
	struct stat st;

	if (set_mode)
		old_mask = umask(~(mode_t)cfg->mode & 0777);
	if (set_group)
		old_fsgid = setfsgid(cfg->gid);
	rc = rte_vhost_driver_start(cfg->path);
	if (set_group)
		setfsgid(old_fsgid);
	if (set_mode)
		umask(old_mask);
	if (rc != 0 || cfg->client)
		return rc;
	if (lstat(cfg->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		VHD_LOG(ERR, "--socket %s: not our socket after listening", cfg->path);
		return -EINVAL;
	}
	/*
	 * Without CAP_SETGID the fsgid can only be one of our own groups: fall
	 * back to changing the group of the file itself, never through a link.
	 */
	if (set_group && st.st_gid != (gid_t)cfg->gid &&
	    fchownat(AT_FDCWD, cfg->path, -1, cfg->gid, AT_SYMLINK_NOFOLLOW) != 0) {
		VHD_LOG(ERR, "--socket %s: cannot set group %ld: %s", cfg->path, cfg->gid,
			strerror(errno));
		return -EPERM;
	}
	return 0;
}

/* Unregisters the port's socket; a connected device is stopped first. */
void
vhd_registry_port_close(struct vhd_port *p)
{
	const struct vhd_port_config *cfg = p->cfg;
	struct port_ctl *ctl = &ctls[p->id];
	struct stat st;

	if (!ctl->registered)
		return;
	/* runs destroy_device for a connected device, which detaches it */
	rte_vhost_driver_unregister(cfg->path);
	ctl->registered = false;
	vhd_guest_fault_untrack(p->id);
	/* the library unlinks a server socket; make sure nothing stays */
	if (!cfg->client && lstat(cfg->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(cfg->path);
}

/*
 * Offers exactly `wanted` by taking away the rest of the library's default
 * set. Not rte_vhost_driver_set_features(): that also marks the socket as
 * not using the library's own datapath, and librte_vhost 22.11 then starts
 * a device only once every vring the frontend allocated is enabled, which
 * a Linux guest with fewer vCPUs than queue pairs never does. Kept as a
 * built-in net device, it starts once the first queue pair is ready, and
 * the other pairs come and go through vring_state_changed. vhostd never
 * calls the library's enqueue or dequeue either way.
 */
static int
offer_only(const char *path, uint64_t wanted)
{
	uint64_t offered;

	if (rte_vhost_driver_get_features(path, &offered) != 0)
		return -1;
	if ((offered & wanted) != wanted) {
		VHD_LOG(ERR, "%s: librte_vhost cannot offer features 0x%" PRIx64, path,
			wanted & ~offered);
		return -1;
	}
	return rte_vhost_driver_disable_features(path, offered & ~wanted);
}

int
vhd_registry_port_open(struct vhd_port *p, FILE *err)
{
	const struct vhd_port_config *cfg = p->cfg;
	struct port_ctl *ctl = &ctls[p->id];
	uint64_t features = VHD_VIRTIO_FEATURES;
	uint64_t flags = cfg->client ? RTE_VHOST_USER_CLIENT : 0;

	/* nothing of the slot's previous port carries over */
	pthread_mutex_lock(&ctl->lock);
	ctl_reset(ctl);
	ctl->registered = false;
	pthread_mutex_unlock(&ctl->lock);
	if (cfg->queues > 1)
		features |= 1ULL << VIRTIO_NET_F_MQ;
	if (cfg->mtu != 0)
		features |= 1ULL << VIRTIO_NET_F_MTU;
	if (rte_vhost_driver_register(cfg->path, flags) != 0) {
		fprintf(err, "%s: cannot register the socket (see the log)\n", cfg->path);
		return -EINVAL;
	}
	ctl->registered = true;
	if (offer_only(cfg->path, features) != 0 ||
	    rte_vhost_driver_callback_register(cfg->path, &device_ops) != 0) {
		fprintf(err, "%s: cannot configure the socket\n", cfg->path);
		vhd_registry_port_close(p);
		return -EINVAL;
	}
	if (start_socket(cfg) != 0) {
		fprintf(err, "%s: cannot %s (see the log)\n", cfg->path,
			cfg->client ? "start connecting" : "listen");
		vhd_registry_port_close(p);
		return -EINVAL;
	}
	return 0;
}

void
vhd_registry_init(void)
{
	uint16_t i;

	for (i = 0; i < VHD_MAX_PORTS; i++) {
		pthread_mutex_init(&ctls[i].lock, NULL);
		ctls[i].conn_vid = -1;
	}
}
