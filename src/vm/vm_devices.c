/* A VM's devices: the host-side backends its configuration names (disks, console socket, NICs)
 * and the virtio devices made on them, given their transports by the board. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "base/log.h"
#include "virtio/net.h"
#include "vm/vm_int.h"

void vm_backends_close(struct vm *vm)
{
    for (int i = 0; i < vm->ndisks; i++)
        disk_close(vm->disks[i]);
    vm->ndisks = 0;
    chardev_socket_close(vm->console_sock);
    vm->console_sock = NULL;
    for (int i = 0; i < vm->nnets; i++)
        net_backend_close(vm->nets[i]);
    vm->nnets = 0;
}

int vm_backends_open(struct vm *vm)
{
    const struct vm_config *c = vm->cfg;

    for (int i = 0; i < c->ndisks; i++) {
        const char *path = vm->clone_overlays[i] ? vm->clone_overlays[i] : c->disks[i].path;
        enum disk_format fmt = vm->clone_overlays[i] ? DISK_FORMAT_QCOW2 : c->disks[i].format;

        /* An incoming VM's disks are the source's until the handover: it takes their locks
         * when it reopens them then (migrate_take_vm). */
        unsigned flags =
            (c->disks[i].readonly ? DISK_OPEN_READONLY : 0) | (c->incoming ? DISK_OPEN_NOLOCK : 0);

        if (disk_open_ex(&vm->disks[i], path, fmt, flags)) {
            fprintf(stderr, "vessel: --disk %s: cannot open the disk (see above)\n", path);
            goto fail;
        }
        vm->ndisks++;
    }
    if (c->console_socket && chardev_socket_listen(&vm->console_sock, c->console_socket)) {
        fprintf(stderr, "vessel: --console-socket %s: cannot listen there (see above)\n",
                c->console_socket);
        goto fail;
    }
    for (int i = 0; i < c->nnets; i++) {
        if (net_backend_open(&vm->nets[i], &vm->netcfg[i])) {
            fprintf(stderr, "vessel: --net: cannot open network backend %d (see above)\n", i);
            goto fail;
        }
        if (vm->netcfg[i].mac_set)
            memcpy(vm->macs[i], vm->netcfg[i].mac, 6);
        else if (c->clone)
            net_mac_random(vm->macs[i]); /* a clone's NICs do not keep the snapshot's MACs */
        else
            net_mac_default(vm->macs[i], i);
        vm->nnets++;
    }
    vm->devset = (struct virtio_devset_config){
        .disks = vm->disks,
        .ndisks = vm->ndisks,
        .rng = c->rng,
        .console_socket = vm->console_sock,
        .nets = vm->nets,
        .net_macs = (const uint8_t(*)[6])vm->macs,
        .nnets = vm->nnets,
        .balloon = c->balloon,
        .balloon_bytes = c->balloon_bytes,
    };
    return 0;

fail:
    vm_backends_close(vm);
    return -1;
}

int vm_clone_disks(struct vm *vm)
{
    const struct vm_config *c = vm->cfg;

    for (int i = 0; i < c->ndisks; i++) {
        struct disk_qcow2_create_opts o = {.private_mode = true};
        char real[PATH_MAX], want[PATH_MAX + 32], name[32], overlay[SNAPSHOT_PATH_MAX];
        uint8_t r[4];
        bool saved = false;

        if (c->disks[i].readonly || !realpath(c->disks[i].path, real))
            continue;
        snprintf(want, sizeof(want), "virtio-blk path=%s ", real);
        for (int d = 0; d < vm->restored.ndevices; d++)
            saved |= !strncmp(vm->restored.devices[d], want, strlen(want));
        if (!saved) /* e.g. already an overlay of it: the clone writes there */
            continue;
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return -1;
        snprintf(name, sizeof(name), "clone-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
        if (snapshot_overlay_name(real, real, c->overlay_dir, name, overlay, sizeof(overlay))) {
            fprintf(stderr, "vessel: --clone: an overlay name for %s is too long\n", real);
            return -1;
        }
        o.backing = real;
        if (disk_qcow2_create(overlay, &o))
            return -1; /* logged */
        fprintf(stderr, "vessel: clone: %s stays as the snapshot has it; this clone writes to %s\n",
                real, overlay);
        vm->clone_overlays[i] = strdup(overlay);
        if (!vm->clone_overlays[i])
            return -1;
    }
    return 0;
}

/* virtio_attach_fn: the VM keeps the device, the board gives it a transport. */
static int attach(void *opaque, struct virtio_dev *vdev, void *dev, void (*destroy)(void *))
{
    struct vm *vm = opaque;

    if (vm->ndev == VM_MAX_DEVICES) {
        destroy(dev);
        return -ENOSPC;
    }
    vm->dev[vm->ndev++] = (struct vm_device){.vdev = vdev, .dev = dev, .destroy = destroy};
    return vm->bops->attach_virtio(vm->board, vdev);
}

int vm_devices_create(struct vm *vm)
{
    int err = virtio_devset_create(&vm->devset, &vm->ram, attach, vm, &vm->balloon);

    if (!err && vm->bops->virtio_done)
        err = vm->bops->virtio_done(vm->board);
    if (err) {
        log_err("vm: creating the virtio devices failed: %s", strerror(-err));
        return err;
    }
    for (int i = 0; i < vm->ndisks; i++) /* the first devices, in order */
        vm->blk[i] = vm->dev[i].dev;
    return 0;
}

void vm_devices_destroy(struct vm *vm)
{
    /* Before the board: a device's thread may still raise interrupts through its transport. */
    for (int i = vm->ndev - 1; i >= 0; i--)
        vm->dev[i].destroy(vm->dev[i].dev);
    vm->ndev = 0;
    vm->balloon = NULL;
}

void vm_devices_quiesce(struct vm *vm)
{
    for (int i = 0; i < vm->ndev; i++)
        virtio_dev_quiesce(vm->dev[i].vdev);
    if (vm->bops->quiesce)
        vm->bops->quiesce(vm->board, true);
}

void vm_devices_unquiesce(struct vm *vm)
{
    for (int i = 0; i < vm->ndev; i++)
        virtio_dev_unquiesce(vm->dev[i].vdev);
    if (vm->bops->quiesce)
        vm->bops->quiesce(vm->board, false);
}

void vm_devices_reset(struct vm *vm)
{
    for (int i = 0; i < vm->ndev; i++)
        virtio_reg_write(vm->dev[i].vdev, VIRTIO_REG_STATUS, 0);
}

void vm_devices_announce(struct vm *vm)
{
    for (int i = 0; i < vm->ndev; i++)
        if (!strcmp(virtio_dev_name(vm->dev[i].vdev), "net") && virtio_net_announce(vm->dev[i].dev))
            log_warn("migration: NIC %d could not announce the guest's MAC", i);
}

void vm_disks_flush(struct vm *vm)
{
    for (int i = 0; i < vm->ndisks; i++)
        if (!vm->disks[i]->readonly && vm->disks[i]->ops->flush(vm->disks[i]))
            log_err("migration: flushing %s failed; the destination may miss writes",
                    vm->disks[i]->path);
}

void vm_disks_lock(struct vm *vm, bool on)
{
    for (int i = 0; i < vm->ndisks; i++) {
        struct disk *d = vm->disks[i];
        int err = 0;

        if (d->readonly)
            continue;
        /* Taking it back after a failed migration: the destination may still be letting go. */
        for (int t = 0; t < 40; t++) {
            err = disk_set_lock(d, on ? DISK_LOCK_WRITE : DISK_LOCK_NONE);
            if (err != -EBUSY)
                break;
            usleep(50000);
        }
        if (err)
            log_err("migration: %s: the VM writes it on without its lock", d->path);
    }
}
