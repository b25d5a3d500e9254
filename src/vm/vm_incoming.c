/* Live migration, destination side of a VM (vm.h: vm_create with cfg->incoming), the same for
 * every board: listen, take the source's machine, check the devices, receive RAM and the state,
 * and hand over once the VM is loaded. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "vm/vm_int.h"

/* MemAvailable from /proc/meminfo in bytes, or 0 when unreadable. */
static uint64_t host_available(void)
{
    char buf[4096], *p;
    unsigned long long kib;

    if (file_read_text("/proc/meminfo", buf, sizeof(buf)) || !(p = strstr(buf, "MemAvailable:")) ||
        sscanf(p, "MemAvailable: %llu kB", &kib) != 1)
        return 0;
    return (uint64_t)kib << 10;
}

/* The most RAM this destination takes: --mem exactly when given, else --incoming-max-mem (or
 * its default), and never more than the host has available. why says which bound failed. */
static bool ram_acceptable(const struct vm_config *c, uint64_t ram, char *why, size_t whylen)
{
    uint64_t max = c->incoming_max_mem ? c->incoming_max_mem : VM_INCOMING_MAX_MEM;
    uint64_t avail = host_available();

    if (!c->mem_set && ram > max) {
        snprintf(why, whylen,
                 "the VM's %" PRIu64 " MiB of RAM are more than this destination accepts (%" PRIu64
                 " MiB: give --mem or --incoming-max-mem)",
                 ram >> 20, max >> 20);
        return false;
    }
    if (avail && ram > avail) {
        snprintf(why, whylen,
                 "the VM's %" PRIu64 " MiB of RAM are more than this host has available (%" PRIu64
                 " MiB)",
                 ram >> 20, avail >> 20);
        return false;
    }
    return true;
}

/* A refusal goes to stderr and to the source. */
static int refuse(struct migrate_incoming *in, const char *why, int status)
{
    fprintf(stderr, "vessel: incoming migration: %s\n", why);
    migrate_answer(in, why);
    return status;
}

int vm_incoming_accept(struct vm *vm, struct migrate_incoming *in)
{
    const struct vm_config *c = vm->cfg;
    const struct snapshot_config *r = &vm->restored;
    char why[320];

    if (migrate_listen(in, c->incoming, c->migration_secret,
                       (c->incoming_timeout_s ? c->incoming_timeout_s : VM_INCOMING_TIMEOUT_S) *
                           1000u))
        return VM_STATUS_USAGE; /* logged */
    fprintf(stderr, "vessel: waiting for a migration on %s\n", c->incoming);
    if (migrate_accept(in, vm->eops->name, vm->bops->arch))
        return VM_STATUS_VMM_ERROR;
    if (snapshot_config_parse(in->config_json, in->config_len, &vm->restored, why, sizeof(why)))
        return refuse(in, why, VM_STATUS_VMM_ERROR);
    if (r->ram_size < vm->bops->ram_min || r->ram_size > vm->bops->ram_max || r->ram_size % 4096 ||
        r->nharts < 1 || r->nharts > vm->bops->max_cpus) {
        snprintf(why, sizeof(why), "the VM's %llu MiB of RAM and %d vCPUs do not fit here",
                 (unsigned long long)(r->ram_size >> 20), r->nharts);
        return refuse(in, why, VM_STATUS_VMM_ERROR);
    }
    if (!ram_acceptable(c, r->ram_size, why, sizeof(why)))
        return refuse(in, why, VM_STATUS_VMM_ERROR);
    if ((c->mem_set && c->mem != r->ram_size) || (c->cpus_set && c->cpus != r->nharts)) {
        snprintf(why, sizeof(why),
                 "the VM has %llu MiB of RAM and %d vCPUs; this destination was started for "
                 "%llu MiB and %d vCPUs",
                 (unsigned long long)(r->ram_size >> 20), r->nharts,
                 (unsigned long long)((c->mem_set ? c->mem : r->ram_size) >> 20),
                 c->cpus_set ? c->cpus : r->nharts);
        return refuse(in, why, VM_STATUS_VMM_ERROR);
    }
    vm->ram_size = r->ram_size;
    vm->ncpus = r->nharts;
    /* Boot files for a later guest reboot are this host's own (the configuration's): paths
     * sent by the source are not trusted with this host's files. */
    if (!vm->cmdline)
        vm->cmdline = r->cmdline;
    return 0;
}

int vm_incoming_receive(struct vm *vm, struct migrate_incoming *in)
{
    char why[600];
    int err;

    if (vm_check_saved(vm, &vm->restored, why, sizeof(why)))
        return refuse(in, why[0] ? why : "the machine configuration does not fit", VM_STATUS_USAGE);
    err = gmem_create(&vm->ram, vm->bops->ram_base, vm->ram_size);
    if (err) {
        fprintf(stderr, "vessel: incoming migration: creating %llu MiB of guest RAM: %s\n",
                (unsigned long long)(vm->ram_size >> 20), strerror(-err));
        migrate_answer(in, "the destination cannot allocate the VM's RAM");
        return VM_STATUS_VMM_ERROR;
    }
    if (vm->bops->ram_layout)
        vm->bops->ram_layout(&vm->ram);
    return migrate_take_vm(in, &vm->ram, vm->disks, vm->ndisks) ? VM_STATUS_VMM_ERROR : 0;
}

int vm_incoming_commit(struct vm *vm, struct migrate_incoming *in, int err)
{
    /* The source waits for this answer: on "go" the VM runs here, else nothing remains. */
    if (migrate_commit(in, err ? "the destination could not load the state" : NULL) && !err)
        err = -ECONNABORTED;
    if (!err) {
        vm_devices_unquiesce(vm); /* the devices were held until the source's go-ahead */
        vm->devices_held = false;
        vm_devices_announce(vm); /* switches learn the guest's new port at once */
    }
    vm->info.pages_received = in->pages_received;
    return err;
}
