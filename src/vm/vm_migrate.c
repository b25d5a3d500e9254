/* Live migration of a VM, source side: the callbacks vm/migrate.c drives, the same for every
 * board. Guest RAM is one gmem region; the engine logs stores per memory slot (the board says
 * where each slot sits in the region), so the slots' logs are merged onto the region's pages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vm/vm_int.h"

#define PAGE 4096ull

static char *config_json(void *opaque)
{
    return vm_config_json(opaque);
}

static int set_dirty_log(void *opaque, bool on)
{
    struct vm *vm = opaque;

    if (on && !vm->mig_log) {
        /* engines write whole longs: room for the largest slot's pages, rounded up */
        vm->mig_log = calloc((vm->ram_size / PAGE + 63) / 64 + 1, sizeof(uint64_t));
        if (!vm->mig_log)
            return -ENOMEM;
    }
    return vm->eops->set_dirty_log(vm->engine, on);
}

static int get_dirty_log(void *opaque, uint64_t *bitmap)
{
    struct vm *vm = opaque;
    struct board_ram_slot s[BOARD_RAM_SLOTS_MAX];
    uint64_t pages = vm->ram_size / PAGE;
    int n = vm->bops->ram_slots(vm->ram_size, s);

    if (n == 1 && s[0].offset == 0 && s[0].size == vm->ram_size) /* the whole region */
        return vm->eops->get_dirty_log(vm->engine, s[0].slot, bitmap);
    memset(bitmap, 0, (pages + 63) / 64 * sizeof(uint64_t));
    for (int i = 0; i < n; i++) {
        int err = vm->eops->get_dirty_log(vm->engine, s[i].slot, vm->mig_log);

        if (err)
            return err;
        gmem_dirty_merge(bitmap, pages, vm->mig_log, s[i].offset / PAGE, s[i].size / PAGE);
    }
    return 0;
}

/* Held from pause to resume, finish or abandon: no snapshot and no reboot's reload meanwhile. */
static void pause_vm(void *opaque)
{
    struct vm *vm = opaque;

    /* A failure is pause_err: write_state reports it and the migration fails. A held VM (an
     * earlier handover went unconfirmed) is not paused again, but the lock is taken all the
     * same so that resume, finish and abandon stay paired with this. */
    if (vm_pause(vm) == -EBUSY) {
        pthread_mutex_lock(&vm->lock);
        vm->pause_err = -EBUSY;
    }
}

static void resume_vm(void *opaque)
{
    vm_disks_lock(opaque, true); /* the VM writes its disks here again */
    vm_resume(opaque);
}

static int write_state(void *opaque, struct snap_writer *w)
{
    struct vm *vm = opaque;

    if (vm->pause_err)
        return vm->pause_err;
    /* The destination opens the disks after this: everything written must be in the files,
     * and their locks free for it to take. */
    vm_disks_flush(vm);
    vm_disks_lock(vm, false);
    return vm_write_state(vm, w, vm->pause_clock);
}

/* The destination runs the VM: the devices stay stopped (no disk write from here on), the
 * disks' writes are made durable for the destination, and vm_run returns. */
static void finish(void *opaque)
{
    struct vm *vm = opaque;

    vm_disks_flush(vm);
    atomic_store(&vm->migrated, 1);
    vm->eops->stop(vm->engine, ENGINE_STOP_QUIT);
    vm->eops->resume(vm->engine);
    vm->paused = false;
    pthread_mutex_unlock(&vm->lock);
}

/* The handover went unconfirmed: the VM may run on the destination, so it never runs here
 * again (no resume, no snapshot); the lock is released so that nothing waits on it. */
static void abandon(void *opaque)
{
    struct vm *vm = opaque;

    atomic_store(&vm->held, 1);
    vm->paused = false; /* for good */
    pthread_mutex_unlock(&vm->lock);
}

void vm_migrate_vm(struct vm *vm, struct migrate_vm *mvm)
{
    *mvm = (struct migrate_vm){
        .engine = vm->eops->name,
        .arch = vm->bops->arch,
        .ram = &vm->ram,
        .opaque = vm,
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
