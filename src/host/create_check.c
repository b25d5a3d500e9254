/* The checks of a new VM's definition at create (create_check.h). */
#include "host/create_check.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/boot_check.h"
#include "host/policy.h"
#include "state/snapconfig.h"
#include "state/snapfile.h"

/* A VM created with "restore": RAM, vCPUs and the balloon come from the snapshot's CONFIG
 * section; given values must match, and so must the number of disks and nets. */
static int restore_config(struct api_vm_config *c, struct api_error *e)
{
    struct snap_reader r;
    struct snapshot_config sc;
    int err, blk = 0, net = 0, bal = 0;
    uint64_t mib;

    bool x86 = !strcmp(c->arch, "x86_64");

    if ((err = snapshot_open(&r, c->restore, x86 ? "kvm" : "rv64", c->arch)))
        return api_error_set(e, 422, "bad_file", "'restore' %.200s: not a usable %s snapshot: %s",
                             c->restore, c->arch, strerror(-err));
    err = snapshot_read_config(&r, c->restore, &sc);
    snap_reader_close(&r);
    if (err)
        return api_error_set(e, 422, "bad_file", "'restore' %.200s: unreadable machine config: %s",
                             c->restore, strerror(-err));
    for (int i = 0; i < sc.ndevices; i++) {
        blk += !strncmp(sc.devices[i], "virtio-blk", 10);
        net += !strcmp(sc.devices[i], "virtio-net");
        bal += !strcmp(sc.devices[i], "virtio-balloon");
    }
    mib = sc.ram_size >> 20;
    err = 0;
    if (sc.nharts < 1 || sc.nharts > API_CPUS_MAX || mib < API_MEM_MIN_MIB || mib > API_MEM_MAX_MIB)
        err = api_error_set(
            e, 422, "bad_file",
            "'restore': the snapshot's machine (%d vCPUs, %llu MiB) is outside the API's limits",
            sc.nharts, (unsigned long long)mib);
    else if ((c->cpus && c->cpus != sc.nharts) || (c->memory_mib && c->memory_mib != mib))
        err = api_error_set(e, 422, "out_of_range",
                            "'restore': the snapshot has %d vCPUs and %llu MiB; leave out 'cpus' "
                            "and 'memory_mib' or give those",
                            sc.nharts, (unsigned long long)mib);
    else if (blk != c->ndisks || net != c->nnets)
        err = api_error_set(e, 422, "out_of_range",
                            "'restore': the snapshot has %d disks and %d nets; give the same "
                            "'disks' (in order) and as many 'nets'",
                            blk, net);
    else if (c->cpu_quota > sc.nharts)
        err = api_error_set(e, 422, "out_of_range",
                            "'cpu_quota' must be from 0.01 to cpus (%d) cores, or null", sc.nharts);
    c->cpus = sc.nharts;
    c->memory_mib = mib;
    c->balloon = bal > 0;
    snapshot_config_free(&sc);
    return err;
}

/* Every file a definition names must lie in the allowed directories: checked before the
 * daemon looks at any of them. */
static int check_paths(struct vm_host *h, const struct api_vm_config *c, struct api_error *e)
{
    const char *const files[] = {c->kernel, c->initrd, c->firmware, c->restore};
    static const char *const keys[] = {"'kernel'", "'initrd'", "'firmware'", "'restore'"};
    int st = 0;

    for (int i = 0; i < 4 && !st; i++)
        st = policy_check_path(&h->policy, keys[i], files[i], e);
    for (int i = 0; i < c->ndisks && !st; i++)
        st = policy_check_path(&h->policy, "disk", c->disks[i].path, e);
    return st;
}

/* Two definitions never write one image (the VM processes' image locks would refuse the second
 * at its start; this says so at once). Clones write overlays of their disks, not the disks. */
static int check_writers(struct vm_host *h, const struct api_vm_config *c, struct api_error *e)
{
    char a[PATH_MAX], b[PATH_MAX];

    for (int i = 0; !c->clone && i < c->ndisks; i++) {
        if (c->disks[i].readonly || !realpath(c->disks[i].path, a))
            continue;
        for (int n = 0; n < h->reg.n; n++) {
            struct host_vm *o = h->reg.vms[n];

            registry_refresh(&h->reg, o);
            if (o->state == VM_MIGRATED || o->cfg.clone)
                continue;
            for (int k = 0; k < o->cfg.ndisks; k++)
                if (!o->cfg.disks[k].readonly && realpath(o->cfg.disks[k].path, b) && !strcmp(a, b))
                    return api_error_set(e, 409, "disk_in_use",
                                         "disk %.300s is written by VM '%s' already (two VMs "
                                         "never write one image)",
                                         c->disks[i].path, o->cfg.name);
        }
    }
    return 0;
}

/* The files a VM needs must be readable by the daemon (the VM process runs as it). */
static int check_files(const struct api_vm_config *c, struct api_error *e)
{
    const char *const files[] = {c->kernel, c->initrd, c->firmware, c->restore};
    /* An incoming VM's files are the source's (shared storage), checked the same way. */
    static const char *const keys[] = {"kernel", "initrd", "firmware", "restore"};

    for (int i = 0; i < 4; i++)
        if (files[i][0] && access(files[i], R_OK))
            return api_error_set(e, 422, "bad_file", "'%s' %.200s: %s", keys[i], files[i],
                                 strerror(errno));
    for (int i = 0; i < c->ndisks; i++)
        if (access(c->disks[i].path, c->disks[i].readonly ? R_OK : R_OK | W_OK))
            return api_error_set(e, 422, "bad_file", "disk %.200s: %s", c->disks[i].path,
                                 strerror(errno));
    return 0;
}

int host_vm_create_check(struct vm_host *h, struct api_vm_config *c, struct api_error *e)
{
    int st = check_paths(h, c, e);

    if (!st)
        st = check_files(c, e);
    if (!st)
        st = host_check_boot(c, e);
    if (!st) /* what the files lead to: backing chains, a snapshot's boot files */
        st = policy_check_vm(&h->policy, c, e);
    if (!st && c->restore[0])
        st = restore_config(c, e);
    if (!st)
        st = check_writers(h, c, e);
    return st;
}
