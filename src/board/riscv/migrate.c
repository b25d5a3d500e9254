/* Live migration of the riscv board: the callbacks vm/migrate.c drives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/disk.h"
#include "base/log.h"
#include "board/riscv/board_int.h"
#include "virtio/net.h"
#include "vm/migrate.h"

static char *config_json(void *opaque)
{
    return riscv_board_config_json(opaque);
}

static int set_dirty_log(void *opaque, bool on)
{
    struct riscv_board *b = opaque;

    return rv64_machine_set_dirty_logging(b->m, on);
}

static int get_dirty_log(void *opaque, uint64_t *bitmap)
{
    struct riscv_board *b = opaque;

    return rv64_machine_get_dirty_log(b->m, bitmap);
}

/* Held from pause to resume or finish: no snapshot and no reboot's reload meanwhile. */
static void pause_vm(void *opaque)
{
    struct riscv_board *b = opaque;

    pthread_mutex_lock(&b->snap_lock);
    /* A guest that is powering off or rebooting right now cannot move (its harts stop). */
    b->mig_err = rv64_machine_pause(b->m);
    b->mig_mtime = rv64_machine_mtime(b->m);
    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_quiesce(b->virtio.slot[i].vdev);
}

static void resume_vm(void *opaque)
{
    struct riscv_board *b = opaque;

    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_unquiesce(b->virtio.slot[i].vdev);
    rv64_machine_set_mtime(b->m, b->mig_mtime); /* the guest does not see the pause */
    rv64_machine_resume(b->m);
    pthread_mutex_unlock(&b->snap_lock);
}

static int write_state(void *opaque, struct snap_writer *w)
{
    struct riscv_board *b = opaque;
    uint8_t *buf = malloc(RISCV_DEV_SAVE_MAX);
    int err;

    if (b->mig_err)
        return b->mig_err;
    if (!buf)
        return -ENOMEM;
    /* The destination opens the disks after this: everything written must be in the files. */
    migrate_flush_disks(b->cfg.virtio.disks, b->cfg.virtio.ndisks);
    err = riscv_board_write_state(b, w, b->mig_mtime, buf);
    free(buf);
    return err;
}

/* The destination runs the VM: the devices stay stopped (no disk write from here on), the
 * disks' writes are made durable for the destination, and riscv_board_run returns. */
static void finish(void *opaque)
{
    struct riscv_board *b = opaque;

    migrate_flush_disks(b->cfg.virtio.disks, b->cfg.virtio.ndisks);
    atomic_store(&b->migrated, 1);
    rv64_machine_stop(b->m, RV64_STOP_QUIT);
    rv64_machine_resume(b->m);
    pthread_mutex_unlock(&b->snap_lock);
}

/* The handover went unconfirmed: the VM may run on the destination, so it never runs here
 * again (no resume, no snapshot); the lock is released so that nothing waits on it. */
static void abandon(void *opaque)
{
    struct riscv_board *b = opaque;

    atomic_store(&b->held, 1);
    pthread_mutex_unlock(&b->snap_lock);
}

void riscv_board_start_devices(struct riscv_board *b)
{
    for (int i = 0; b->incoming && i < b->virtio.n; i++)
        virtio_dev_unquiesce(b->virtio.slot[i].vdev);
    b->incoming = false;
}

void riscv_board_announce(struct riscv_board *b)
{
    for (int i = 0; i < b->virtio.n; i++)
        if (!strcmp(virtio_dev_name(b->virtio.slot[i].vdev), "net") &&
            virtio_net_announce(b->virtio.slot[i].dev))
            log_warn("migration: NIC %d could not announce the guest's MAC", i);
}

void riscv_board_migrate_vm(struct riscv_board *b, struct migrate_vm *vm)
{
    *vm = (struct migrate_vm){
        .engine = "rv64",
        .arch = "riscv64",
        .ram = &b->ram,
        .opaque = b,
        .config_json = config_json,
        .set_dirty_log = set_dirty_log,
        .get_dirty_log = get_dirty_log,
        .pause = pause_vm,
        .resume = resume_vm,
        .write_state = write_state,
        .finish = finish,
        .abandon = abandon,
    };
}
