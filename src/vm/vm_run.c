/* Running a VM: the engine runs the vCPUs until the guest ends; a guest reset reloads the guest
 * and runs it again in place, on every board. Pausing for snapshots and migration. */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "vm/vm_int.h"

int vm_end_status(enum vm_end end)
{
    switch (end) {
    case VM_END_POWEROFF:
    case VM_END_SNAPSHOT:
    case VM_END_MIGRATED: return VM_STATUS_POWEROFF;
    case VM_END_USER_QUIT: return VM_STATUS_USER_QUIT;
    case VM_END_VMM_ERROR: return VM_STATUS_VMM_ERROR;
    case VM_END_STOPPED: break;
    }
    return VM_STATUS_STOPPED;
}

void vm_quit(void *opaque)
{
    struct vm *vm = opaque;

    atomic_store(&vm->user_quit, 1);
    vm->eops->stop(vm->engine, ENGINE_STOP_QUIT);
}

void vm_terminate(struct vm *vm)
{
    atomic_store(&vm->terminated, 1);
    vm->eops->stop(vm->engine, ENGINE_STOP_QUIT);
}

int vm_power(struct vm *vm, bool reboot)
{
    if (atomic_load(&vm->held) || atomic_load(&vm->migrated))
        return -EBUSY; /* the VM runs elsewhere now, or may */
    if (reboot) {
        vm->eops->stop(vm->engine, ENGINE_STOP_RESET);
        return 0;
    }
    return vm->bops->power_button ? vm->bops->power_button(vm->board) : -EOPNOTSUPP;
}

/* A guest reset: devices, engine and board back to power-on, the guest loaded again. Under the
 * lock: no snapshot or migration pause sees a half-reloaded guest. */
static enum vm_end reboot(struct vm *vm)
{
    int err;

    log_info("guest reboot");
    pthread_mutex_lock(&vm->lock);
    if (atomic_load(&vm->migrated)) { /* the VM moved while it asked to reboot */
        pthread_mutex_unlock(&vm->lock);
        return VM_END_MIGRATED;
    }
    vm_devices_reset(vm); /* stops device threads before the board forgets interrupt lines */
    vm->bops->reset(vm->board);
    err = vm->eops->reset(vm->engine); /* forgets the reset's stop: a stop after it is kept */
    if (!err && (atomic_load(&vm->user_quit) || atomic_load(&vm->terminated))) {
        pthread_mutex_unlock(&vm->lock); /* asked to end while the guest reset */
        return atomic_load(&vm->user_quit) ? VM_END_USER_QUIT : VM_END_STOPPED;
    }
    if (!err)
        err = vm->bops->boot(vm->board);
    /* A migration in progress must send the reloaded guest again. */
    gmem_mark_dirty(&vm->ram, vm->ram.hva, vm->ram.size);
    pthread_mutex_unlock(&vm->lock);
    if (err) {
        log_err("vm: reloading the guest for a reboot failed");
        return VM_END_VMM_ERROR;
    }
    return VM_END_POWEROFF; /* not an end: run again */
}

static enum vm_end run(struct vm *vm)
{
    for (;;) {
        enum vm_end end;

        if (atomic_load(&vm->snap_stop))
            return VM_END_SNAPSHOT;
        switch (vm->eops->run(vm->engine)) {
        case ENGINE_STOP_POWEROFF: return VM_END_POWEROFF;
        case ENGINE_STOP_RESET:
            end = reboot(vm);
            if (end != VM_END_POWEROFF)
                return end;
            continue;
        case ENGINE_STOP_QUIT:
            if (atomic_load(&vm->migrated))
                return VM_END_MIGRATED;
            if (atomic_load(&vm->snap_stop))
                return VM_END_SNAPSHOT;
            return atomic_load(&vm->user_quit) ? VM_END_USER_QUIT : VM_END_STOPPED;
        case ENGINE_STOP_ERROR: return VM_END_VMM_ERROR;
        case ENGINE_STOP_CRASH:
        case ENGINE_STOP_NONE: break;
        }
        return VM_END_STOPPED;
    }
}

enum vm_end vm_run(struct vm *vm)
{
    enum vm_end end = run(vm);

    if (end == VM_END_MIGRATED)
        api_socket_linger(vm->api, 2000); /* `vessel migrate` reads the final status */
    return end;
}

int vm_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (atomic_load(&vm->held)) { /* paused for good after an unconfirmed handover */
        pthread_mutex_unlock(&vm->lock);
        return -EBUSY;
    }
    /* A guest that is powering off or rebooting right now cannot pause (its vCPUs stop). */
    vm->pause_err = vm->eops->pause(vm->engine);
    vm_devices_quiesce(vm); /* no device writes guest memory while it is copied */
    vm->pause_clock = vm->pause_err ? 0 : vm->eops->clock_get(vm->engine);
    vm->paused = true;
    if (vm->pause_err)
        log_err("vm: the VM cannot pause (%s)", strerror(-vm->pause_err));
    return vm->pause_err;
}

void vm_resume(struct vm *vm)
{
    if (vm->paused) {
        vm_devices_unquiesce(vm);
        if (!vm->pause_err) /* the guest does not see the pause */
            vm->eops->clock_set(vm->engine, vm->pause_clock);
        vm->eops->resume(vm->engine);
        vm->paused = false;
    }
    pthread_mutex_unlock(&vm->lock);
}
