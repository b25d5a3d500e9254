/* Which sections a VM is made of in a state file (docs/state-format.md), in which order they are
 * written and loaded - once for every board: CONFIG (what a restore must match), the engine's
 * CPU and MACHINE sections, the board's own device sections, one DEVICE section per virtio
 * device, the host side of each NIC; memory is the caller's (a file or a migration stream). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "state/devices.h"
#include "state/nets.h"
#include "vm/vm_int.h"

/* What a restore must match, from this VM. */
static int describe(const struct vm *vm, struct snapshot_config *c)
{
    int err;

    memset(c, 0, sizeof(*c));
    c->ram_size = vm->ram_size;
    c->nharts = vm->ncpus;
    c->cmdline = vm->cmdline ? strdup(vm->cmdline) : NULL;
    c->firmware = snapshot_abs_path(vm->firmware);
    c->kernel = snapshot_abs_path(vm->kernel);
    c->initrd = snapshot_abs_path(vm->initrd);
    c->bootloader = snapshot_abs_path(vm->bootloader);
    err = snapshot_describe_devices(&vm->devset, c);
    if (!err && ((vm->cmdline && !c->cmdline) || (vm->firmware && !c->firmware) ||
                 (vm->kernel && !c->kernel) || (vm->initrd && !c->initrd) ||
                 (vm->bootloader && !c->bootloader)))
        err = -ENOMEM;
    if (err)
        snapshot_config_free(c);
    return err;
}

char *vm_config_json(const struct vm *vm)
{
    struct snapshot_config c;
    char *json;

    if (describe(vm, &c))
        return NULL;
    json = snapshot_config_json(&c);
    snapshot_config_free(&c);
    return json;
}

int vm_check_saved(const struct vm *vm, const struct snapshot_config *saved, char *why,
                   size_t whylen)
{
    struct snapshot_config now;
    int err = describe(vm, &now);

    if (err) {
        snprintf(why, whylen, "out of memory");
        return err;
    }
    err = snapshot_config_match(saved, &now, why, whylen);
    snapshot_config_free(&now);
    return err;
}

/* --- writing --- */

static int put_machine(void *ctx, const char *name, uint32_t inst, const void *buf, size_t len)
{
    return snap_write_section(ctx, SNAP_MACHINE, inst, name, buf, len);
}

int vm_write_state(struct vm *vm, struct snap_writer *w, uint64_t clock)
{
    size_t cap =
        vm->eops->cpu_state_size > VIRTIO_SAVE_MAX ? vm->eops->cpu_state_size : VIRTIO_SAVE_MAX;
    uint8_t *buf = malloc(cap);
    int err;

    if (!buf)
        return -ENOMEM;
    err = vm->eops->save_machine(vm->engine, clock, put_machine, w);
    for (int i = 0; !err && i < vm->ncpus; i++) {
        long n = vm->eops->get_cpu_state(vm->engine, i, buf);
        err = n < 0 ? (int)n
                    : snap_write_section(w, SNAP_CPU, (uint32_t)i, vm->eops->cpu_section, buf,
                                         (uint64_t)n);
    }
    if (!err)
        err = vm->bops->save(vm->board, w);
    for (int i = 0; !err && i < vm->ndev; i++) {
        struct virtio_dev *d = vm->dev[i].vdev;
        char name[SNAP_NAME_LEN + 1];
        snprintf(name, sizeof(name), "virtio-%s", virtio_dev_name(d));
        err = snap_put_device(w, name, (uint32_t)i, virtio_dev_save(d, buf, VIRTIO_SAVE_MAX), buf);
    }
    if (!err) /* the host side of each NIC, where its backend keeps state (libslirp) */
        err = snapshot_write_nets(w, vm->nets, vm->nnets);
    free(buf);
    if (err)
        log_err("snapshot: writing the VM's state: %s", strerror(-err));
    return err;
}

/* --- loading --- */

struct machine_src {
    const struct snap_reader *r;
    const char *path;
};

static long get_machine(void *ctx, const char *name, uint32_t inst, void *buf, size_t cap)
{
    struct machine_src *m = ctx;
    const struct snap_section *s = snap_find(m->r, SNAP_MACHINE, inst, name);

    if (!s || s->length > cap || snap_read_payload(m->r, s, buf, s->length)) {
        log_err("state: %s: no readable machine state %s %u", m->path, name, inst);
        return -EBADMSG;
    }
    return (long)s->length;
}

static int load_cpus(struct vm *vm, const struct snap_reader *r, const char *path, uint8_t *buf)
{
    const char *name = vm->eops->cpu_section;

    if (snap_find(r, SNAP_CPU, (uint32_t)vm->ncpus, name)) {
        log_err("state: %s: more vCPUs saved than this VM has", path);
        return -EINVAL;
    }
    for (int i = 0; i < vm->ncpus; i++) {
        const struct snap_section *s = snap_find(r, SNAP_CPU, (uint32_t)i, name);
        char what[32];

        snprintf(what, sizeof(what), "vCPU %d", i);
        if (!s || s->length > vm->eops->cpu_state_size || snap_read_payload(r, s, buf, s->length) ||
            vm->eops->set_cpu_state(vm->engine, i, buf, (size_t)s->length))
            return snap_load_fail(path, what);
    }
    return 0;
}

static int load_devices(struct vm *vm, const struct snap_reader *r, const char *path, uint8_t *buf)
{
    for (int i = 0; i < vm->ndev; i++) {
        struct virtio_dev *d = vm->dev[i].vdev;
        char name[SNAP_NAME_LEN + 1];
        long n;

        snprintf(name, sizeof(name), "virtio-%s", virtio_dev_name(d));
        n = snap_get_device(r, path, name, (uint32_t)i, buf, VIRTIO_SAVE_MAX);
        if (n < 0)
            return (int)n;
        if (virtio_dev_load(d, buf, (size_t)n))
            return snap_load_fail(path, name);
    }
    return snapshot_load_nets(r, path, vm->nets, vm->nnets);
}

/* A clone is told so: a new VM generation ID with its interrupt (after the interrupt
 * controller took its saved state), and every NIC the MAC chosen for it in its config space
 * (Linux reads it at probe only: a running guest sees it after a re-probe of the driver). */
static int clone_refresh(struct vm *vm, const char *path)
{
    int k = 0, err;

    for (int i = 0; i < vm->ndev; i++) {
        struct virtio_dev *d = vm->dev[i].vdev;
        if (strcmp(virtio_dev_name(d), "net") != 0 || k >= vm->nnets)
            continue;
        virtio_dev_config_set(d, 0, vm->macs[k], 6);
        k++;
    }
    err = vm->bops->new_generation(vm->board);
    if (err)
        log_err("state: %s: no new VM generation ID for the clone", path);
    return err;
}

/* The vCPUs first, then the engine's machine state (interrupt controllers that deliver to them,
 * timers, the clock), the board's devices, the virtio devices (an incoming VM's stay stopped
 * until the source hands the VM over: no disk write may happen here while the source may still
 * run it) and last what the board loads after them. */
int vm_load_state(struct vm *vm, const struct snap_reader *r, const char *path)
{
    size_t cap =
        vm->eops->cpu_state_size > VIRTIO_SAVE_MAX ? vm->eops->cpu_state_size : VIRTIO_SAVE_MAX;
    struct machine_src src = {r, path};
    uint8_t *buf = malloc(cap);
    int err;

    if (!buf)
        return -ENOMEM;
    err = load_cpus(vm, r, path, buf);
    if (!err && vm->eops->load_machine(vm->engine, get_machine, &src))
        err = snap_load_fail(path, "the engine's machine (interrupt controllers, timers, clock)");
    if (!err)
        err = vm->bops->load(vm->board, r, path);
    if (!err && vm->devices_held)
        vm_devices_quiesce(vm);
    if (!err)
        err = load_devices(vm, r, path, buf);
    if (!err)
        err = vm->bops->load_done(vm->board, r, path);
    if (!err && vm->cfg->clone)
        err = clone_refresh(vm, path);
    free(buf);
    return err;
}
