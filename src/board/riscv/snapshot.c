/* Snapshot and restore of the riscv board (docs/state-format.md): which sections a VM is made
 * of, in which order they are written and loaded. Engine and device details stay behind their
 * own save/load functions. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "board/riscv/board_int.h"
#include "backend/disk/qcow2.h"
#include "board/riscv/layout.h"
#include "virtio/virtio.h"
#include "state/snapconfig.h"
#include "vm/snapshot.h"
#include "vm/snapshot_disks.h"
#include "state/nets.h"

#define DEV_SAVE_MAX RISCV_DEV_SAVE_MAX

_Static_assert(VMGENID_SAVE_MAX <= DEV_SAVE_MAX, "vmgenid state fits the device buffer");

/* An absolute path when the file exists (a restore may run elsewhere), else the name given. */
static char *abs_path(const char *p)
{
    char buf[PATH_MAX];

    if (!p)
        return NULL;
    return strdup(realpath(p, buf) ? buf : p);
}

/* "virtio-blk path=... format=... ro=... size=..." of disk dk; NULL when out of memory. */
static char *describe_disk(const struct disk *dk, bool readonly)
{
    char *p = abs_path(dk->path), *d;

    if (!p || asprintf(&d, "virtio-blk path=%s format=%s ro=%d size=%llu", p, dk->ops->name,
                       readonly, (unsigned long long)dk->size) < 0)
        d = NULL;
    free(p);
    return d;
}

/* A qcow2 overlay of the same virtual size may stand for its backing file (a clone's own
 * overlay on the snapshot's disk): the backing file as the snapshot would have described it,
 * with the overlay's read-only flag. NULL otherwise (or when out of memory: no alternative). */
static char *describe_backing(struct disk *dk)
{
    struct disk_qcow2_info info;

    if (!disk_is_qcow2(dk))
        return NULL;
    disk_qcow2_info(dk, &info);
    if (!info.backing || info.backing->size != dk->size)
        return NULL;
    return describe_disk(info.backing, dk->readonly);
}

/* What a restore must match, from a board configuration (before or after creation). */
static int describe(const struct riscv_board_config *cfg, struct snapshot_config *c)
{
    const struct virtio_devset_config *v = &cfg->virtio;

    memset(c, 0, sizeof(*c));
    c->ram_size = cfg->ram_size;
    c->nharts = cfg->nharts;
    c->cmdline = cfg->cmdline ? strdup(cfg->cmdline) : NULL;
    c->firmware = abs_path(cfg->fw_path);
    c->kernel = abs_path(cfg->kernel_path);
    c->initrd = abs_path(cfg->initrd_path);
    /* The order of riscv_virtio_create's slots. Host-side backends (console socket, network)
     * may differ between snapshot and restore; disks may not. */
    for (int i = 0; i < v->ndisks; i++) {
        c->alt_devices[c->ndevices] = describe_backing(v->disks[i]);
        c->devices[c->ndevices++] = describe_disk(v->disks[i], v->disks[i]->readonly);
    }
    if (v->rng)
        c->devices[c->ndevices++] = strdup("virtio-rng");
    if (v->console_socket)
        c->devices[c->ndevices++] = strdup("virtio-console");
    for (int i = 0; i < v->nnets; i++)
        c->devices[c->ndevices++] = strdup("virtio-net");
    if (v->balloon)
        c->devices[c->ndevices++] = strdup("virtio-balloon");
    for (int i = 0; i < c->ndevices; i++)
        if (!c->devices[i])
            goto nomem;
    if ((cfg->cmdline && !c->cmdline) || (cfg->fw_path && !c->firmware) ||
        (cfg->kernel_path && !c->kernel) || (cfg->initrd_path && !c->initrd))
        goto nomem;
    return 0;

nomem:
    snapshot_config_free(c);
    return -ENOMEM;
}

/* 0 when cfg can take the state saved with saved; else the first difference in why. */
static int check_against(const struct snapshot_config *saved, const struct riscv_board_config *cfg,
                         char *why, size_t whylen)
{
    struct snapshot_config now;
    int err = describe(cfg, &now);

    if (!err) {
        err = snapshot_config_match(saved, &now, why, whylen);
        snapshot_config_free(&now);
    }
    return err;
}

int riscv_board_check_config(const char *json, size_t len, const struct riscv_board_config *cfg,
                             char *why, size_t whylen)
{
    struct snapshot_config saved;
    int err;

    why[0] = '\0';
    err = snapshot_config_parse(json, len, &saved, why, whylen);
    if (!err) {
        err = check_against(&saved, cfg, why, whylen);
        snapshot_config_free(&saved);
    }
    return err;
}

int riscv_board_check_restore(const char *path, const struct riscv_board_config *cfg, char *why,
                              size_t whylen)
{
    struct snapshot_config saved;
    int err;

    why[0] = '\0';
    err = snapshot_read_config_file(path, "rv64", "riscv64", &saved);
    if (err)
        return err; /* logged */
    err = check_against(&saved, cfg, why, whylen);
    snapshot_config_free(&saved);
    return err;
}

/* --- writing --- */

static int write_device(struct snap_writer *w, const char *name, uint32_t inst, ssize_t len,
                        const void *buf)
{
    if (len < 0) {
        log_err("snapshot: saving %s: %s", name, strerror((int)-len));
        return (int)len;
    }
    return snap_write_section(w, SNAP_DEVICE, inst, name, buf, (uint64_t)len);
}

char *riscv_board_config_json(const struct riscv_board *b)
{
    struct snapshot_config c;
    char *json;

    if (describe(&b->cfg, &c))
        return NULL;
    json = snapshot_config_json(&c);
    snapshot_config_free(&c);
    return json;
}

int riscv_board_write_state(struct riscv_board *b, struct snap_writer *w, uint64_t mtime,
                            uint8_t *buf)
{
    uint8_t le[8];
    int err;

    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(mtime >> (8 * i));
    err = snap_write_section(w, SNAP_MACHINE, 0, "mtime", le, sizeof(le));
    for (int i = 0; !err && i < b->cfg.nharts; i++) {
        struct rv64_cpu_state s;
        rv64_hart_get_state(rv64_machine_hart(b->m, i), &s);
        err = snap_write_section(w, SNAP_CPU, (uint32_t)i, "hart", &s, sizeof(s));
    }
    if (!err)
        err = write_device(w, "clint", 0, clint_save(&b->clint, buf, DEV_SAVE_MAX), buf);
    if (!err)
        err = write_device(w, "uart", 0, uart16550_save(&b->uart, buf, DEV_SAVE_MAX), buf);
    if (!err)
        err = write_device(w, "rtc", 0, goldfish_rtc_save(&b->rtc, buf, DEV_SAVE_MAX), buf);
    if (!err)
        err = write_device(w, "vmgenid", 0, vmgenid_save(&b->vmgenid, buf, DEV_SAVE_MAX), buf);
    for (int i = 0; !err && i < b->virtio.n; i++) {
        struct virtio_dev *d = b->virtio.slot[i].vdev;
        char name[SNAP_NAME_LEN + 1];
        snprintf(name, sizeof(name), "virtio-%s", virtio_dev_name(d));
        err = write_device(w, name, (uint32_t)i, virtio_dev_save(d, buf, DEV_SAVE_MAX), buf);
    }
    if (!err) /* the host side of each NIC, where its backend keeps state (libslirp) */
        err = snapshot_write_nets(w, b->cfg.virtio.nets, b->cfg.virtio.nnets);
    if (!err)
        err = write_device(w, "plic", 0, plic_save(&b->plic, buf, DEV_SAVE_MAX), buf);
    return err;
}

static int write_sections(struct riscv_board *b, struct snap_writer *w, uint64_t mtime,
                          uint8_t *buf)
{
    char *json = riscv_board_config_json(b);
    int err;

    if (!json)
        return -ENOMEM;
    err = snap_write_section(w, SNAP_CONFIG, 0, "config", json, strlen(json));
    free(json);
    if (!err)
        err = riscv_board_write_state(b, w, mtime, buf);
    if (!err)
        err =
            snap_write_memory(w, 0, b->ram.hva, b->ram.size, b->ram.private_file ? -1 : b->ram.fd);
    return err;
}

int riscv_board_snapshot(struct riscv_board *b, const char *path, bool stop, bool keep_disks,
                         struct snapshot_result *res)
{
    struct snap_writer w;
    struct disk_freeze freeze = {0};
    struct virtio_blk *blks[RISCV_VIRTIO_SLOTS];
    uint8_t *buf = malloc(DEV_SAVE_MAX);
    uint64_t mtime;
    double t0;
    int err = 0;

    if (!buf)
        return -ENOMEM;
    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&b->snap_lock);
    if (atomic_load(&b->held)) {
        pthread_mutex_unlock(&b->snap_lock);
        free(buf);
        log_err("snapshot: %s: the VM is held paused after an unconfirmed migration", path);
        return -EBUSY;
    }
    t0 = clock_now_ms();
    rv64_machine_pause(b->m);
    mtime = rv64_machine_mtime(b->m);
    /* No device writes guest memory while it is copied. */
    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_quiesce(b->virtio.slot[i].vdev);
    if (!stop && !keep_disks) /* the disks must stay as the snapshot has them */
        err = disk_freeze_prepare(&freeze, b->cfg.virtio.disks, b->cfg.virtio.ndisks, path);
    if (!err)
        err = snap_writer_open(&w, path, "rv64", "riscv64");
    if (!err) {
        err = write_sections(b, &w, mtime, buf);
        if (err)
            snap_writer_abort(&w);
        else
            err = snap_writer_end(&w); /* complete; synced below, after the guest runs on */
    }
    if (!err && stop)
        err = snap_writer_commit(&w); /* before the VMM may exit */
    if (!err) {
        for (int i = 0; i < b->cfg.virtio.ndisks; i++) /* the first slots, in order */
            blks[i] = b->virtio.slot[i].dev;
        disk_freeze_commit(&freeze, b->cfg.virtio.disks, blks, res);
    } else {
        disk_freeze_abort(&freeze);
    }
    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_unquiesce(b->virtio.slot[i].vdev);
    if (!err && stop) {
        atomic_store(&b->snap_stop, 1);
        rv64_machine_stop(b->m, RV64_STOP_QUIT);
    } else {
        rv64_machine_set_mtime(b->m, mtime); /* the guest does not see the pause */
    }
    rv64_machine_resume(b->m);
    res->paused_ms = clock_now_ms() - t0;
    if (!err && !stop)
        err = snap_writer_commit(&w); /* the file appears under its name once durable */
    res->ms = clock_now_ms() - t0;
    pthread_mutex_unlock(&b->snap_lock);
    free(buf);
    if (err)
        log_err("snapshot: %s: not written (%s); the VM continues", path, strerror(-err));
    return err;
}

/* --- restoring --- */

int riscv_board_restore_ram(struct riscv_board *b, const struct snap_reader *r)
{
    const struct snap_section *s = snap_find(r, SNAP_MEMORY, 0, NULL);
    int err;

    if (b->cfg.incoming_ram) { /* a migration filled it: the board takes it over */
        if (b->cfg.incoming_ram->size != b->cfg.ram_size)
            return -EINVAL;
        gmem_take(&b->ram, b->cfg.incoming_ram);
        b->incoming = true;
        return 0;
    }
    if (!s || s->length != b->cfg.ram_size) {
        log_err("state: %s: no memory section of %llu MiB", b->cfg.restore_path,
                (unsigned long long)(b->cfg.ram_size >> 20));
        return -EBADMSG;
    }
    err = gmem_create_from_file(&b->ram, RISCV_RAM_BASE, s->length, r->fd, s->offset);
    if (err)
        log_err("state: %s: mapping guest RAM: %s", b->cfg.restore_path, strerror(-err));
    return err;
}

/* Reads the device section (name, inst) into buf; returns its length or -errno (logged). */
static ssize_t read_device(const struct riscv_board *b, const struct snap_reader *r,
                           const char *name, uint32_t inst, uint8_t *buf)
{
    const struct snap_section *s = snap_find(r, SNAP_DEVICE, inst, name);

    if (!s || s->length > DEV_SAVE_MAX || snap_read_payload(r, s, buf, s->length)) {
        log_err("state: %s: no readable state for device %s %u", b->cfg.restore_path, name, inst);
        return -EBADMSG;
    }
    return (ssize_t)s->length;
}

static int load_fail(const struct riscv_board *b, const char *what)
{
    log_err("state: %s: the saved state of %s does not fit this VM", b->cfg.restore_path, what);
    return -EINVAL;
}

static int load_devices(struct riscv_board *b, const struct snap_reader *r, uint8_t *buf)
{
    ssize_t n;

    if ((n = read_device(b, r, "clint", 0, buf)) < 0)
        return (int)n;
    if (clint_load(&b->clint, buf, (size_t)n))
        return load_fail(b, "clint");
    if ((n = read_device(b, r, "uart", 0, buf)) < 0)
        return (int)n;
    if (uart16550_load(&b->uart, buf, (size_t)n))
        return load_fail(b, "uart");
    if ((n = read_device(b, r, "rtc", 0, buf)) < 0)
        return (int)n;
    if (goldfish_rtc_load(&b->rtc, buf, (size_t)n))
        return load_fail(b, "rtc");
    /* Files written before the device existed have no section: it keeps its random GUID. */
    if (snap_find(r, SNAP_DEVICE, 0, "vmgenid")) {
        if ((n = read_device(b, r, "vmgenid", 0, buf)) < 0)
            return (int)n;
        if (vmgenid_load(&b->vmgenid, buf, (size_t)n))
            return load_fail(b, "vmgenid");
    }
    for (int i = 0; i < b->virtio.n; i++) {
        struct virtio_dev *d = b->virtio.slot[i].vdev;
        char name[SNAP_NAME_LEN + 1];
        snprintf(name, sizeof(name), "virtio-%s", virtio_dev_name(d));
        if ((n = read_device(b, r, name, (uint32_t)i, buf)) < 0)
            return (int)n;
        if (virtio_dev_load(d, buf, (size_t)n))
            return load_fail(b, name);
    }
    n = snapshot_load_nets(r, b->cfg.restore_path, b->cfg.virtio.nets, b->cfg.virtio.nnets);
    if (n)
        return (int)n;
    /* Last: the lines the devices drove above take the saved levels, and the harts' external
     * interrupt inputs follow the saved PLIC. */
    if ((n = read_device(b, r, "plic", 0, buf)) < 0)
        return (int)n;
    if (plic_load(&b->plic, buf, (size_t)n))
        return load_fail(b, "plic");
    return 0;
}

/* A clone (cfg.clone) is told so: a new VM generation ID with its interrupt (after the PLIC
 * took its saved state), and every NIC the MAC of cfg.virtio.net_macs in its config space
 * (Linux reads it at probe only: a running guest sees it after a re-probe of the driver). */
static int clone_refresh(struct riscv_board *b)
{
    static const uint8_t zero[6];
    int k = 0, err;

    for (int i = 0; i < b->virtio.n; i++) {
        struct virtio_dev *d = b->virtio.slot[i].vdev;
        if (strcmp(virtio_dev_name(d), "net") != 0 || k >= b->cfg.virtio.nnets)
            continue;
        if (memcmp(b->cfg.virtio.net_macs[k], zero, 6) != 0)
            virtio_dev_config_set(d, 0, b->cfg.virtio.net_macs[k], 6);
        k++;
    }
    err = vmgenid_new_generation(&b->vmgenid);
    if (err)
        log_err("state: %s: no new VM generation ID for the clone", b->cfg.restore_path);
    return err;
}

int riscv_board_restore_state(struct riscv_board *b, const struct snap_reader *r)
{
    const struct snap_section *s = snap_find(r, SNAP_MACHINE, 0, "mtime");
    uint8_t le[8], *buf;
    uint64_t mtime = 0;
    int err;

    if (!s || s->length != 8 || snap_read_payload(r, s, le, 8)) {
        log_err("state: %s: no machine timer section", b->cfg.restore_path);
        return -EBADMSG;
    }
    for (int i = 0; i < 8; i++)
        mtime |= (uint64_t)le[i] << (8 * i);
    if (snap_find(r, SNAP_CPU, (uint32_t)b->cfg.nharts, "hart")) {
        log_err("state: %s: more harts saved than this VM has", b->cfg.restore_path);
        return -EINVAL;
    }
    for (int i = 0; i < b->cfg.nharts; i++) {
        struct rv64_cpu_state st;
        char what[32];
        s = snap_find(r, SNAP_CPU, (uint32_t)i, "hart");
        snprintf(what, sizeof(what), "hart %d", i);
        if (!s || s->length != sizeof(st) || snap_read_payload(r, s, &st, sizeof(st)))
            return load_fail(b, what);
        if (rv64_hart_set_state(rv64_machine_hart(b->m, i), &st))
            return load_fail(b, what);
    }
    buf = malloc(DEV_SAVE_MAX);
    if (!buf)
        return -ENOMEM;
    /* An incoming VM's devices stay stopped until the source hands the VM over: no disk
     * write may happen here while the source may still run it. */
    for (int i = 0; b->incoming && i < b->virtio.n; i++)
        virtio_dev_quiesce(b->virtio.slot[i].vdev);
    err = load_devices(b, r, buf);
    free(buf);
    if (!err && b->cfg.clone)
        err = clone_refresh(b);
    if (!err)
        rv64_machine_set_mtime(b->m, mtime); /* the guest's clock continues where it was */
    return err;
}
