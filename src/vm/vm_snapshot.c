/* The snapshot driver (vm.h: vm_snapshot), the same for every board: pause, freeze the disks,
 * write CONFIG, the state sections and memory, switch the disks to their overlays, resume (or
 * stop), then make the file durable while the guest runs again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "vm/snapshot_disks.h"
#include "vm/vm_int.h"

static int write_file(struct vm *vm, struct snap_writer *w)
{
    char *json = vm_config_json(vm);
    int err;

    if (!json)
        return -ENOMEM;
    err = snap_write_section(w, SNAP_CONFIG, 0, "config", json, strlen(json));
    free(json);
    if (!err)
        err = vm_write_state(vm, w, vm->pause_clock);
    if (!err)
        err = snap_write_memory(w, 0, vm->ram.hva, vm->ram.size,
                                vm->ram.private_file ? -1 : vm->ram.fd);
    return err;
}

int vm_snapshot(struct vm *vm, const char *path, bool stop, bool keep_disks,
                struct snapshot_result *res)
{
    struct snap_writer w;
    struct disk_freeze freeze = {0};
    double t0 = clock_now_ms();
    int err;

    memset(res, 0, sizeof(*res));
    /* The file first, before the guest pauses: a path that cannot be written (a link or FIFO
     * planted there, no such directory) fails at once and costs the guest nothing. */
    err = snap_writer_open(&w, path, vm->eops->name, vm->bops->arch);
    if (err) {
        log_err("snapshot: %s: not written (%s); the VM continues", path, strerror(-err));
        return err;
    }
    err = vm_pause(vm);
    if (err == -EBUSY) {
        snap_writer_abort(&w);
        log_err("snapshot: %s: the VM is held paused after an unconfirmed migration", path);
        return -EBUSY;
    }
    if (err) {
        snap_writer_abort(&w);
        vm_resume(vm);
        log_err("snapshot: %s: not written; the VM is ending", path);
        return err == -ESHUTDOWN ? -ESHUTDOWN : -EBUSY;
    }
    if (!stop && !keep_disks) /* the disks must stay as the snapshot has them */
        err = disk_freeze_prepare(&freeze, vm->disks, vm->ndisks, path, vm->cfg->overlay_dir);
    if (!err)
        err = write_file(vm, &w);
    if (err)
        snap_writer_abort(&w);
    else
        err = snap_writer_end(&w); /* complete; synced below, after the guest runs on */
    if (!err && stop)
        err = snap_writer_commit(&w); /* before the VMM may exit */
    if (!err)
        disk_freeze_commit(&freeze, vm->disks, vm->blk, res);
    else
        disk_freeze_abort(&freeze);
    if (!err && stop) {
        atomic_store(&vm->snap_stop, 1);
        vm->eops->stop(vm->engine, ENGINE_STOP_QUIT);
    }
    vm_resume(vm);
    res->paused_ms = clock_now_ms() - t0;
    if (!err && !stop)
        err = snap_writer_commit(&w); /* the file appears under its name once durable */
    res->ms = clock_now_ms() - t0;
    if (err)
        log_err("snapshot: %s: not written (%s); the VM continues", path, strerror(-err));
    return err;
}
