/* Live migration of the x86 board: the callbacks vm/migrate.c drives. Guest RAM is one gmem
 * region (low RAM, then what the guest sees above 4 GiB) registered as two KVM slots around
 * the MMIO gap; the migration counts pages by region offset, so the slots' dirty logs are
 * mapped onto the region's pages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/disk.h"
#include "base/log.h"
#include "board/x86/board_int.h"
#include "board/x86/layout.h"
#include "virtio/net.h"
#include "vm/migrate.h"

#define PAGE 4096ull

void x86_dirty_log_map(uint64_t *region, uint64_t region_pages, const uint64_t *slot,
                       uint64_t first, uint64_t npages)
{
    uint64_t n, shift;

    if (first >= region_pages)
        return;
    n = npages < region_pages - first ? npages : region_pages - first;
    shift = first % 64;
    for (uint64_t i = 0; i < (n + 63) / 64; i++) {
        uint64_t w = slot[i], dst = first / 64 + i;

        if (n - i * 64 < 64)
            w &= (1ull << (n - i * 64)) - 1; /* past the slot's last page */
        if (!w)
            continue;
        region[dst] |= w << shift;
        if (shift && (w >> (64 - shift)))
            region[dst + 1] |= w >> (64 - shift);
    }
}

static char *config_json(void *opaque)
{
    return x86_board_config_json(opaque);
}

/* The board's slots: slot 0 is low RAM at region offset 0, slot 1 (when RAM reaches past the
 * gap) the rest, at region offset x86_low_ram. */
static int nslots(const struct x86_board *b)
{
    return b->cfg.ram_size > x86_low_ram(b->cfg.ram_size) ? 2 : 1;
}

static int set_dirty_log(void *opaque, bool on)
{
    struct x86_board *b = opaque;

    if (on && !b->mig_log) {
        /* KVM writes whole longs: room for the larger slot's pages, rounded up */
        b->mig_log = calloc((b->cfg.ram_size / PAGE + 63) / 64 + 1, sizeof(uint64_t));
        if (!b->mig_log)
            return -ENOMEM;
    }
    return kvm_engine_set_dirty_logging(b->kvm, on);
}

static int get_dirty_log(void *opaque, uint64_t *bitmap)
{
    struct x86_board *b = opaque;
    uint64_t pages = b->cfg.ram_size / PAGE, low = x86_low_ram(b->cfg.ram_size) / PAGE;

    memset(bitmap, 0, (pages + 63) / 64 * sizeof(uint64_t));
    for (int s = 0; s < nslots(b); s++) {
        uint64_t first = s ? low : 0, n = s ? pages - low : low;
        int err = kvm_engine_get_dirty_log(b->kvm, s, b->mig_log);

        if (err)
            return err;
        x86_dirty_log_map(bitmap, pages, b->mig_log, first, n);
    }
    return 0;
}

/* Held from pause to resume or finish: no snapshot meanwhile. The VM state (with the
 * kvmclock) is read once the devices are quiet, as a snapshot does. */
static void pause_vm(void *opaque)
{
    struct x86_board *b = opaque;

    pthread_mutex_lock(&b->snap_lock);
    b->mig_err = kvm_engine_pause(b->kvm);
    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_quiesce(b->virtio.slot[i].vdev);
    if (!b->mig_vs)
        b->mig_vs = malloc(sizeof(*b->mig_vs));
    if (!b->mig_vs) {
        b->mig_err = b->mig_err ? b->mig_err : -ENOMEM;
        return;
    }
    memset(b->mig_vs, 0, sizeof(*b->mig_vs));
    if (!b->mig_err)
        b->mig_err = kvm_vm_get_state(b->kvm, b->mig_vs);
    if (b->mig_err)
        log_err("migration: the VM cannot pause (%s)", strerror(-b->mig_err));
}

static void resume_vm(void *opaque)
{
    struct x86_board *b = opaque;

    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_unquiesce(b->virtio.slot[i].vdev);
    if (b->mig_vs && b->mig_vs->clock.clock)
        kvm_engine_set_clock(b->kvm, b->mig_vs->clock.clock); /* the guest does not see it */
    kvm_engine_resume(b->kvm);
    pthread_mutex_unlock(&b->snap_lock);
}

static int write_state(void *opaque, struct snap_writer *w)
{
    struct x86_board *b = opaque;
    uint8_t *buf;
    int err;

    if (b->mig_err)
        return b->mig_err;
    buf = malloc(x86_board_state_buf_size());
    if (!buf)
        return -ENOMEM;
    /* The destination opens the disks after this: everything written must be in the files. */
    migrate_flush_disks(b->cfg.virtio.disks, b->cfg.virtio.ndisks);
    err = x86_board_write_state(b, w, b->mig_vs, buf);
    free(buf);
    return err;
}

/* The destination runs the VM: the devices stay stopped (no disk write from here on), the
 * disks' writes are made durable for the destination, and x86_board_run returns. */
static void finish(void *opaque)
{
    struct x86_board *b = opaque;

    migrate_flush_disks(b->cfg.virtio.disks, b->cfg.virtio.ndisks);
    atomic_store(&b->migrated, 1);
    kvm_engine_stop(b->kvm, ENGINE_STOP_QUIT);
    kvm_engine_resume(b->kvm);
    pthread_mutex_unlock(&b->snap_lock);
}

/* The handover went unconfirmed: the VM may run on the destination, so it never runs here
 * again (no resume, no snapshot); the lock is released so that nothing waits on it. */
static void abandon(void *opaque)
{
    struct x86_board *b = opaque;

    atomic_store(&b->held, 1);
    pthread_mutex_unlock(&b->snap_lock);
}

void x86_board_start_devices(struct x86_board *b)
{
    for (int i = 0; b->incoming && i < b->virtio.n; i++)
        virtio_dev_unquiesce(b->virtio.slot[i].vdev);
    b->incoming = false;
}

void x86_board_announce(struct x86_board *b)
{
    for (int i = 0; i < b->virtio.n; i++)
        if (!strcmp(virtio_dev_name(b->virtio.slot[i].vdev), "net") &&
            virtio_net_announce(b->virtio.slot[i].dev))
            log_warn("migration: NIC %d could not announce the guest's MAC", i);
}

void x86_board_migrate_vm(struct x86_board *b, struct migrate_vm *vm)
{
    *vm = (struct migrate_vm){
        .engine = "kvm",
        .arch = "x86_64",
        .ram = &b->ram,
        .opaque = b,
        .config_json = config_json,
        .set_dirty_log = set_dirty_log,
        .get_dirty_log = get_dirty_log,
        .pause = pause_vm,
        .resume = resume_vm,
        .abandon = abandon,
        .write_state = write_state,
        .finish = finish,
    };
}
