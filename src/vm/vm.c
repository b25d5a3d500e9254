/* Creating and destroying a VM (vm.h), the same sequence for every board: the machine settings
 * (from the configuration, a snapshot or a migration source), the backends, RAM, the board and
 * its engine, the virtio devices, then boot, restore or the incoming state; the console and the
 * control socket last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "vm/vm_int.h"

static unsigned console_rx(void *opaque, const uint8_t *buf, unsigned len)
{
    struct vm *vm = opaque;

    return vm->bops->console_input(vm->board, buf, len);
}

static int control_snapshot(void *opaque, const struct control_cmd *cmd,
                            struct snapshot_result *res)
{
    return vm_snapshot(opaque, cmd->path, cmd->stop, cmd->keep_disks, res);
}

static int control_power(void *opaque, bool reboot)
{
    return vm_power(opaque, reboot);
}

static void control_stats(void *opaque, struct vm_stats *st)
{
    vm_get_stats(opaque, st);
}

/* $VESSEL_CACHE/ARCH/NAME (else ~/.cache/vessel/ARCH/NAME) into *path (malloc'd): a board's
 * default file from the guest artifact cache. 0, -ENOENT (and the like, from access()) when it
 * is not there (*path set), -EINVAL when neither variable is set, -ENOMEM. */
static int cache_file(const struct vm *vm, const char *name, char **path)
{
    const char *cache = getenv("VESSEL_CACHE"), *home = getenv("HOME");
    int n;

    *path = NULL;
    if (cache && *cache)
        n = asprintf(path, "%s/%s/%s", cache, vm->bops->arch, name);
    else if (home && *home)
        n = asprintf(path, "%s/.cache/vessel/%s/%s", home, vm->bops->arch, name);
    else
        return -EINVAL;
    if (n < 0) {
        *path = NULL;
        return -ENOMEM;
    }
    return access(*path, R_OK) ? -errno : 0;
}

/* The board's default file for option what (e.g. "--firmware"), or one line on stderr. */
static int default_file(struct vm *vm, const char *what, const char *name, char **path,
                        const char *instead)
{
    int err = cache_file(vm, name, path);

    if (err == -EINVAL)
        fprintf(stderr, "vessel: no %s given and neither VESSEL_CACHE nor HOME is set\n", what);
    else if (err && *path)
        fprintf(stderr, "vessel: no %s given and %s: %s (run scripts/fetch-guest.sh or pass %s)\n",
                what, *path, strerror(-err), instead);
    return err;
}

/* The machine: RAM, vCPUs, command line and boot files, from the configuration or a
 * snapshot; for an incoming migration the source sets them (vm_incoming_accept). Returns 0 or
 * a VM_STATUS_* (one line on stderr). */
static int machine_settings(struct vm *vm)
{
    const struct vm_config *c = vm->cfg;

    vm->firmware = c->firmware;
    vm->kernel = c->kernel;
    vm->initrd = c->initrd;
    vm->cmdline = c->cmdline;
    vm->bootloader = c->bootloader;
    if (c->restore) {
        if (snapshot_read_config_file(c->restore, vm->eops->name, vm->bops->arch, &vm->restored))
            return VM_STATUS_USAGE; /* logged */
        if (vm->restored.ram_size < vm->bops->ram_min ||
            vm->restored.ram_size > vm->bops->ram_max || vm->restored.ram_size % 4096 ||
            vm->restored.nharts < 1 || vm->restored.nharts > vm->bops->max_cpus) {
            fprintf(stderr,
                    "vessel: --restore %s: the snapshot's machine does not fit: %llu MiB, "
                    "%d vCPUs\n",
                    c->restore, (unsigned long long)(vm->restored.ram_size >> 20),
                    vm->restored.nharts);
            return VM_STATUS_USAGE;
        }
        vm->ram_size = vm->restored.ram_size;
        vm->ncpus = vm->restored.nharts;
        /* what a guest reboot after the restore boots */
        vm->cmdline = vm->restored.cmdline;
        vm->firmware = vm->restored.firmware;
        vm->kernel = vm->restored.kernel;
        vm->initrd = vm->restored.initrd;
        vm->bootloader = vm->restored.bootloader;
        return 0;
    }
    vm->ram_size = c->mem ? c->mem : VM_DEFAULT_MEM;
    vm->ncpus = c->cpus ? c->cpus : 1;
    if (vm->bops->default_firmware && !vm->firmware) {
        if (default_file(vm, "--firmware", vm->bops->default_firmware, &vm->default_firmware,
                         "--firmware"))
            return VM_STATUS_USAGE;
        vm->firmware = vm->default_firmware;
    }
    /* No kernel: the board's boot loader boots the guest from its disk. An incoming VM's is only
     * for a later reboot: without it, as without --kernel, a reboot ends that VM. */
    if (vm->bops->default_bootloader && !vm->kernel && !vm->bootloader) {
        int err = c->incoming
                      ? cache_file(vm, vm->bops->default_bootloader, &vm->default_bootloader)
                      : default_file(vm, "--kernel", vm->bops->default_bootloader,
                                     &vm->default_bootloader, "--kernel or --bootloader");
        if (!err)
            vm->bootloader = vm->default_bootloader;
        else if (!c->incoming)
            return VM_STATUS_USAGE;
    }
    return 0;
}

/* RAM as the board lays it out: mapped copy-on-write from a snapshot's memory section, or
 * zeroed; an incoming VM's RAM exists already. 0 or a VM_STATUS_* (logged). */
static int ram_create(struct vm *vm, const struct snap_reader *r)
{
    int err;

    if (vm->cfg->incoming)
        return 0;
    if (vm->cfg->restore) {
        const struct snap_section *s = snap_find(r, SNAP_MEMORY, 0, NULL);
        if (!s || s->length != vm->ram_size || s->offset % 4096) {
            log_err("state: %s: no page-aligned memory section of %llu MiB", vm->cfg->restore,
                    (unsigned long long)(vm->ram_size >> 20));
            return VM_STATUS_USAGE;
        }
        err = gmem_create_from_file(&vm->ram, vm->bops->ram_base, s->length, r->fd, s->offset);
        if (err) { /* the file's memory cannot be mapped: the file's fault, one line */
            log_err("state: %s: its memory section cannot be mapped: %s", vm->cfg->restore,
                    strerror(-err));
            return VM_STATUS_USAGE;
        }
    } else {
        err = gmem_create(&vm->ram, vm->bops->ram_base, vm->ram_size);
    }
    if (err) {
        log_err("vm: creating %llu MiB of guest RAM: %s", (unsigned long long)(vm->ram_size >> 20),
                strerror(-err));
        return VM_STATUS_VMM_ERROR;
    }
    if (vm->bops->ram_layout)
        vm->bops->ram_layout(&vm->ram);
    return 0;
}

/* The board, its engine and the devices, then the guest: booted, restored or received. */
static int machine_create(struct vm *vm, const struct snap_reader *r)
{
    const struct board_params p = {
        .ram = &vm->ram,
        .ncpus = vm->ncpus,
        .firmware = vm->firmware,
        .kernel = vm->kernel,
        .initrd = vm->initrd,
        .cmdline = vm->cmdline,
        .bootloader = vm->bootloader,
        .trace_path = vm->cfg->trace,
        .tier = vm->cfg->rv64_tier,
        .code_cache = vm->cfg->rv64_jit_cache,
        .console_tx = chardev_stdio_tx,
        .console_rx_ready = chardev_stdio_wake,
        .console_opaque = vm->console,
    };
    const char *path = vm->cfg->restore ? vm->cfg->restore : "incoming migration";
    int err = ram_create(vm, r);

    if (err)
        return err;
    err = vm->bops->create(&vm->board, &p);
    if (err)
        return VM_STATUS_VMM_ERROR; /* logged */
    vm->engine = vm->bops->engine_handle(vm->board);
    vm->devices_held = vm->cfg->incoming != NULL;
    if (vm_devices_create(vm))
        return VM_STATUS_VMM_ERROR;
    if (vm->cfg->restore || vm->cfg->incoming) /* a state that does not load: the file's fault */
        return !vm_load_state(vm, r, path) ? 0
               : vm->cfg->restore          ? VM_STATUS_USAGE
                                           : VM_STATUS_VMM_ERROR;
    err = vm->bops->boot(vm->board);
    return err == -EINVAL ? VM_STATUS_USAGE : err ? VM_STATUS_VMM_ERROR : 0;
}

/* The console on stdin/stdout and the control socket. */
static int control_start(struct vm *vm)
{
    struct chardev_stdio_sink sink = {.rx = console_rx, .quit = vm_quit, .opaque = vm};
    struct migrate_vm mvm;

    if (chardev_stdio_start(vm->console, &sink))
        return VM_STATUS_VMM_ERROR;
    if (!vm->cfg->api_socket)
        return 0;
    vm->ctl.balloon = vm->balloon;
    vm->ctl.snapshot = control_snapshot;
    vm->ctl.snapshot_opaque = vm;
    vm->ctl.power = control_power;
    vm->ctl.stats = control_stats;
    vm_migrate_vm(vm, &mvm);
    vm->ctl.migration = vm->mig = migration_new(&mvm);
    if (!vm->mig)
        return VM_STATUS_VMM_ERROR;
    if (api_socket_start(&vm->api, vm->cfg->api_socket, &vm->ctl)) {
        fprintf(stderr, "vessel: --api-socket %s: cannot listen there (see above)\n",
                vm->cfg->api_socket);
        return VM_STATUS_USAGE;
    }
    return 0;
}

/* An engine this host cannot run is a VMM error - after bad boot files, which are the user's. */
static int engine_usable(const struct vm *vm)
{
    const struct board_params p = {.firmware = vm->firmware,
                                   .kernel = vm->kernel,
                                   .initrd = vm->initrd,
                                   .bootloader = vm->bootloader,
                                   .ncpus = vm->ncpus};
    char info[400], why[256];

    if (!vm->eops->probe(info, sizeof(info), why, sizeof(why)))
        return 0;
    if (!vm->cfg->restore && !vm->cfg->incoming && vm->bops->check_boot(&p, vm->ram_size))
        return VM_STATUS_USAGE; /* logged */
    fprintf(stderr,
            "vessel: --arch %s needs the %s engine, which this host cannot run: %s (see "
            "vessel info)\n",
            vm->bops->arch, vm->eops->name, why);
    return VM_STATUS_VMM_ERROR;
}

static int create(struct vm *vm, struct migrate_incoming *in, struct snap_reader *r)
{
    const struct vm_config *c = vm->cfg;
    char why[600];
    double t0;
    int st;

    for (int i = 0; i < c->nnets; i++)
        if (net_config_parse(c->nets[i], &vm->netcfg[i], why, sizeof(why))) {
            fprintf(stderr, "vessel: --net %s: %s\n", c->nets[i], why);
            return VM_STATUS_USAGE;
        }
    if ((st = machine_settings(vm)) || (st = engine_usable(vm)))
        return st;
    if (c->incoming && (st = vm_incoming_accept(vm, in)))
        return st;
    if (c->clone && vm_clone_disks(vm))
        return VM_STATUS_USAGE;
    if (vm_backends_open(vm)) {
        if (c->incoming)
            migrate_answer(in, "the destination's device backends failed to open");
        return VM_STATUS_USAGE;
    }
    if (c->restore) {
        if (vm_check_saved(vm, &vm->restored, why, sizeof(why))) {
            fprintf(stderr, "vessel: --restore %s: %s\n", c->restore, why);
            return VM_STATUS_USAGE;
        }
        if (snapshot_open(r, c->restore, vm->eops->name, vm->bops->arch))
            return VM_STATUS_USAGE; /* logged */
    }
    if (c->incoming) {
        if ((st = vm_incoming_receive(vm, in)))
            return st;
        if (snapshot_open(r, in->state_path, vm->eops->name, vm->bops->arch))
            return VM_STATUS_VMM_ERROR;
    }
    if (chardev_stdio_open(&vm->console))
        return VM_STATUS_VMM_ERROR;
    t0 = clock_now_ms();
    st = machine_create(vm, r);
    if (c->incoming && vm_incoming_commit(vm, in, st))
        st = st ? st : VM_STATUS_VMM_ERROR;
    vm->info.load_ms = clock_now_ms() - t0;
    if (!st)
        st = control_start(vm);
    vm->info.ready_ms = clock_now_ms() - t0 - vm->info.load_ms;
    return st;
}

static void fill_info(struct vm *vm)
{
    struct vm_info *i = &vm->info;

    i->origin = vm->cfg->restore ? VM_RESTORED : vm->cfg->incoming ? VM_RECEIVED : VM_BOOTED;
    i->restore_path = vm->cfg->restore;
    i->ram_size = vm->ram_size;
    i->ncpus = vm->ncpus;
    i->clone = vm->cfg->clone;
    i->has_generation_id = vm->bops->generation_id_get != NULL;
    if (i->has_generation_id)
        vm->bops->generation_id_get(vm->board, i->generation_id);
    i->nnets = vm->nnets;
    memcpy(i->macs, vm->macs, sizeof(i->macs));
}

int vm_create(struct vm **out, const struct vm_config *cfg)
{
    struct migrate_incoming in = {.lfd = -1, .ch.fd = -1, .state_fd = -1};
    struct snap_reader r = {.fd = -1};
    struct vm *vm = calloc(1, sizeof(*vm));
    int st;

    *out = NULL;
    if (!vm)
        return VM_STATUS_VMM_ERROR;
    vm->cfg = cfg;
    vm->bops = board_find(cfg->arch ? cfg->arch : VM_DEFAULT_ARCH);
    if (!vm->bops) {
        fprintf(stderr, "vessel: --arch %s: unknown architecture\n", cfg->arch);
        free(vm);
        return VM_STATUS_USAGE;
    }
    vm->eops = vm->bops->engine;
    vm->ram.fd = -1;
    pthread_mutex_init(&vm->lock, NULL);
    st = create(vm, &in, &r);
    snap_reader_close(&r);
    migrate_incoming_close(&in);
    if (st) {
        vm_destroy(vm);
        return st;
    }
    fill_info(vm);
    *out = vm;
    return 0;
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    api_socket_stop(vm->api);
    migration_free(vm->mig);
    chardev_stdio_close(vm->console); /* stops input first: it feeds the board */
    vm_devices_destroy(vm);
    if (vm->board)
        vm->bops->destroy(vm->board);
    gmem_destroy(&vm->ram);
    vm_backends_close(vm);
    for (int i = 0; i < VM_MAX_DEVICES; i++)
        free(vm->clone_overlays[i]);
    snapshot_config_free(&vm->restored);
    free(vm->default_firmware);
    free(vm->default_bootloader);
    free(vm->mig_log);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

void vm_get_info(struct vm *vm, struct vm_info *info)
{
    *info = vm->info;
}

void vm_migration_status(struct vm *vm, struct migrate_status *st)
{
    if (vm->mig)
        migration_get_status(vm->mig, st);
    else
        memset(st, 0, sizeof(*st));
}

void vm_get_stats(struct vm *vm, struct vm_stats *st)
{
    uint64_t v[ENGINE_COUNTERS_MAX];

    memset(st, 0, sizeof(*st));
    st->counter_names = vm->eops->counters;
    for (int i = 0; i < vm->ncpus && i < VM_STATS_CPUS_MAX; i++) {
        if (!vm->eops->vcpu_stats || vm->eops->vcpu_stats(vm->engine, i, &st->cpu_ns[i], v))
            continue;
        for (int k = 0; st->counter_names && st->counter_names[k] && k < ENGINE_COUNTERS_MAX; k++)
            st->counters[k] += v[k];
        st->ncpus = i + 1;
    }
    for (int i = 0; i < vm->ndisks && vm->blk[i]; i++)
        virtio_blk_get_stats(vm->blk[i], &st->disks[st->ndisks++]);
    for (int i = 0; i < vm->ndev && st->nnets < VM_MAX_DEVICES; i++)
        if (!strcmp(virtio_dev_name(vm->dev[i].vdev), "net"))
            virtio_net_get_stats(vm->dev[i].dev, &st->nets[st->nnets++]);
}
