/* Snapshot and restore of the x86 board (docs/state-format.md): which sections a kvm VM is
 * made of, in which order they are written and loaded. The layouts live with their owners:
 * engine/kvm/savestate.c (vCPUs, PIC, IOAPIC, PIT, kvmclock), the devices' save/load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "board/x86/board_int.h"
#include "board/x86/layout.h"
#include "engine/kvm/savestate.h"
#include "virtio/virtio.h"
#include "state/snapconfig.h"
#include "vm/snapshot.h"
#include "vm/snapshot_disks.h"
#include "state/devices.h"

#define DEV_SAVE_MAX       (X86_PCI_SAVE_MAX > VIRTIO_SAVE_MAX ? X86_PCI_SAVE_MAX : VIRTIO_SAVE_MAX)
#define SNAP_MACH_NAME_PIC "pic" /* instance 0 master, 1 slave */

/* What a restore must match, from a board configuration. */
static int describe(const struct x86_board_config *cfg, struct snapshot_config *c)
{
    int err;

    memset(c, 0, sizeof(*c));
    c->ram_size = cfg->ram_size;
    c->nharts = cfg->ncpus;
    c->cmdline = cfg->cmdline ? strdup(cfg->cmdline) : NULL;
    c->kernel = snapshot_abs_path(cfg->kernel_path);
    c->initrd = snapshot_abs_path(cfg->initrd_path);
    err = snapshot_describe_devices(&cfg->virtio, c);
    if (!err && ((cfg->cmdline && !c->cmdline) || (cfg->kernel_path && !c->kernel) ||
                 (cfg->initrd_path && !c->initrd)))
        err = -ENOMEM;
    if (err)
        snapshot_config_free(c);
    return err;
}

static int check_against(const struct snapshot_config *saved, const struct x86_board_config *cfg,
                         char *why, size_t whylen)
{
    struct snapshot_config now;
    int err = describe(cfg, &now);

    if (!err) {
        err = snapshot_config_match(saved, &now, why, whylen);
        snapshot_config_free(&now);
    }
    return err;
}

int x86_board_check_restore(const char *path, const struct x86_board_config *cfg, char *why,
                            size_t whylen)
{
    struct snapshot_config saved;
    int err;

    why[0] = '\0';
    err = snapshot_read_config_file(path, "kvm", "x86_64", &saved);
    if (err)
        return err; /* logged */
    err = check_against(&saved, cfg, why, whylen);
    snapshot_config_free(&saved);
    return err;
}

int x86_board_check_config(const char *json, size_t len, const struct x86_board_config *cfg,
                           char *why, size_t whylen)
{
    struct snapshot_config saved;
    int err;

    why[0] = '\0';
    err = snapshot_config_parse(json, len, &saved, why, whylen);
    if (!err) {
        err = check_against(&saved, cfg, why, whylen);
        snapshot_config_free(&saved);
    }
    return err;
}

/* --- writing --- */

static int write_device(struct snap_writer *w, const char *name, uint32_t inst, long len,
                        const void *buf)
{
    if (len < 0) {
        log_err("snapshot: saving %s: %s", name, strerror((int)-len));
        return (int)len;
    }
    return snap_write_section(w, SNAP_DEVICE, inst, name, buf, (uint64_t)len);
}

static int write_machine(struct snap_writer *w, const struct kvm_vm_state *vs, uint8_t *buf)
{
    int err;

    kvm_pic_save(&vs->pic_master.chip.pic, buf);
    err = snap_write_section(w, SNAP_MACHINE, 0, SNAP_MACH_NAME_PIC, buf, KVM_PIC_SAVE_LEN);
    kvm_pic_save(&vs->pic_slave.chip.pic, buf);
    if (!err)
        err = snap_write_section(w, SNAP_MACHINE, 1, SNAP_MACH_NAME_PIC, buf, KVM_PIC_SAVE_LEN);
    kvm_ioapic_save(&vs->ioapic.chip.ioapic, buf);
    if (!err)
        err = snap_write_section(w, SNAP_MACHINE, 0, "ioapic", buf, KVM_IOAPIC_SAVE_LEN);
    kvm_pit_save(&vs->pit, buf);
    if (!err)
        err = snap_write_section(w, SNAP_MACHINE, 0, "pit", buf, KVM_PIT_SAVE_LEN);
    kvm_clock_save(vs->clock.clock, buf);
    if (!err)
        err = snap_write_section(w, SNAP_MACHINE, 0, "kvmclock", buf, KVM_CLOCK_SAVE_LEN);
    return err;
}

char *x86_board_config_json(const struct x86_board *b)
{
    struct snapshot_config c;
    char *json;

    if (describe(&b->cfg, &c))
        return NULL;
    json = snapshot_config_json(&c);
    snapshot_config_free(&c);
    return json;
}

size_t x86_board_state_buf_size(void)
{
    return DEV_SAVE_MAX > KVM_VCPU_SAVE_LEN ? DEV_SAVE_MAX : KVM_VCPU_SAVE_LEN;
}

int x86_board_write_state(struct x86_board *b, struct snap_writer *w, const struct kvm_vm_state *vs,
                          uint8_t *buf)
{
    struct kvm_vcpu_state *st;
    int err;

    err = write_machine(w, vs, buf);
    st = malloc(sizeof(*st));
    if (!st)
        return -ENOMEM;
    for (int i = 0; !err && i < b->cfg.ncpus; i++) {
        err = kvm_vcpu_get_state(b->kvm, i, st);
        if (!err) {
            kvm_vcpu_save(st, buf);
            err = snap_write_section(w, SNAP_CPU, (uint32_t)i, "vcpu", buf, KVM_VCPU_SAVE_LEN);
        }
    }
    free(st);
    if (!err)
        err = write_device(w, "uart", 0, uart16550_save(&b->com1, buf, DEV_SAVE_MAX), buf);
    if (!err) {
        x86_cmos_save(&b->legacy, buf);
        err = write_device(w, "cmos", 0, X86_CMOS_SAVE_LEN, buf);
    }
    if (!err) {
        x86_pm_save(&b->legacy, buf);
        err = write_device(w, "acpi-pm", 0, X86_PM_SAVE_LEN, buf);
    }
    if (!err)
        err = write_device(w, "pci", 0, x86_pci_save(&b->pci, buf, DEV_SAVE_MAX), buf);
    for (int i = 0; !err && i < b->virtio.n; i++) {
        struct virtio_dev *d = b->virtio.slot[i].vdev;
        char name[SNAP_NAME_LEN + 1];
        snprintf(name, sizeof(name), "virtio-%s", virtio_dev_name(d));
        err = write_device(w, name, (uint32_t)i, virtio_dev_save(d, buf, DEV_SAVE_MAX), buf);
    }
    return err;
}

static int write_sections(struct x86_board *b, struct snap_writer *w, const struct kvm_vm_state *vs,
                          uint8_t *buf)
{
    char *json = x86_board_config_json(b);
    int err;

    if (!json)
        return -ENOMEM;
    err = snap_write_section(w, SNAP_CONFIG, 0, "config", json, strlen(json));
    free(json);
    if (!err)
        err = x86_board_write_state(b, w, vs, buf);
    /* RAM as gmem stores it: low RAM, then what the guest sees above 4 GiB */
    if (!err)
        err =
            snap_write_memory(w, 0, b->ram.hva, b->ram.size, b->ram.private_file ? -1 : b->ram.fd);
    return err;
}

int x86_board_snapshot(struct x86_board *b, const char *path, bool stop, bool keep_disks,
                       struct snapshot_result *res)
{
    struct snap_writer w;
    struct disk_freeze freeze = {0};
    struct virtio_blk *blks[X86_VIRTIO_MAX];
    struct kvm_vm_state *vs = malloc(sizeof(*vs));
    uint8_t *buf = malloc(x86_board_state_buf_size());
    double t0;
    int err;

    if (!vs || !buf) {
        free(vs);
        free(buf);
        return -ENOMEM;
    }
    pthread_mutex_lock(&b->snap_lock);
    if (atomic_load(&b->held)) {
        pthread_mutex_unlock(&b->snap_lock);
        free(vs);
        free(buf);
        log_err("snapshot: %s: the VM is held paused after an unconfirmed migration", path);
        return -EBUSY;
    }
    t0 = clock_now_ms();
    err = kvm_engine_pause(b->kvm);
    if (err) {
        pthread_mutex_unlock(&b->snap_lock);
        free(vs);
        free(buf);
        log_err("snapshot: %s: the VM cannot pause (%s)", path, strerror(-err));
        return err == -ESHUTDOWN ? -ESHUTDOWN : -EBUSY;
    }
    /* No device writes guest memory while it is copied. */
    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_quiesce(b->virtio.slot[i].vdev);
    memset(res, 0, sizeof(*res));
    err = kvm_vm_get_state(b->kvm, vs);
    if (!err && !stop && !keep_disks) /* the disks must stay as the snapshot has them */
        err = disk_freeze_prepare(&freeze, b->cfg.virtio.disks, b->cfg.virtio.ndisks, path);
    if (!err)
        err = snap_writer_open(&w, path, "kvm", "x86_64");
    if (!err) {
        err = write_sections(b, &w, vs, buf);
        if (err)
            snap_writer_abort(&w);
        else
            err = snap_writer_end(&w); /* complete; synced below, after the guest runs on */
    }
    if (!err && stop)
        err = snap_writer_commit(&w); /* before the VMM may exit */
    if (!err) {
        for (int i = 0; i < b->cfg.virtio.ndisks; i++) /* the first slots, in order */
            blks[i] = b->virtio.slot[i].dev;
        disk_freeze_commit(&freeze, b->cfg.virtio.disks, blks, res);
    } else {
        disk_freeze_abort(&freeze);
    }
    for (int i = 0; i < b->virtio.n; i++)
        virtio_dev_unquiesce(b->virtio.slot[i].vdev);
    if (!err && stop) {
        atomic_store(&b->snap_stop, 1);
        kvm_engine_stop(b->kvm, ENGINE_STOP_QUIT);
    } else if (vs->clock.clock) {
        kvm_engine_set_clock(b->kvm, vs->clock.clock); /* kvmclock does not see the pause */
    }
    kvm_engine_resume(b->kvm);
    res->paused_ms = clock_now_ms() - t0;
    if (!err && !stop)
        err = snap_writer_commit(&w); /* the file appears under its name once durable */
    res->ms = clock_now_ms() - t0;
    pthread_mutex_unlock(&b->snap_lock);
    free(vs);
    free(buf);
    if (err)
        log_err("snapshot: %s: not written (%s); the VM continues", path, strerror(-err));
    return err;
}

/* --- restoring --- */

int x86_board_restore_ram(struct x86_board *b, const struct snap_reader *r)
{
    const struct snap_section *s = snap_find(r, SNAP_MEMORY, 0, NULL);
    int err;

    if (b->cfg.incoming_ram) { /* a migration filled it: the board takes it over */
        if (b->cfg.incoming_ram->size != b->cfg.ram_size)
            return -EINVAL;
        gmem_take(&b->ram, b->cfg.incoming_ram);
        b->incoming = true;
        b->cfg.incoming_ram = NULL;
        return 0;
    }
    if (!s || s->length != b->cfg.ram_size) {
        log_err("state: %s: no memory section of %llu MiB", b->cfg.restore_path,
                (unsigned long long)(b->cfg.ram_size >> 20));
        return -EBADMSG;
    }
    err = gmem_create_from_file(&b->ram, 0, s->length, r->fd, s->offset);
    if (err)
        log_err("state: %s: mapping guest RAM: %s", b->cfg.restore_path, strerror(-err));
    return err;
}

static int load_fail(const struct x86_board *b, const char *what)
{
    log_err("state: %s: the saved state of %s does not fit this VM", b->cfg.restore_path, what);
    return -EINVAL;
}

/* Reads section (type, inst, name) into buf (at most cap bytes); its length or -errno. */
static long read_section(const struct x86_board *b, const struct snap_reader *r,
                         enum snap_type type, const char *name, uint32_t inst, uint8_t *buf,
                         size_t cap)
{
    const struct snap_section *s = snap_find(r, type, inst, name);

    if (!s || s->length > cap || snap_read_payload(r, s, buf, s->length)) {
        log_err("state: %s: no readable state for %s %u", b->cfg.restore_path, name, inst);
        return -EBADMSG;
    }
    return (long)s->length;
}

static int load_cpus(struct x86_board *b, const struct snap_reader *r, uint8_t *buf, size_t cap)
{
    struct kvm_vcpu_state *st;
    int err = 0;

    if (snap_find(r, SNAP_CPU, (uint32_t)b->cfg.ncpus, "vcpu")) {
        log_err("state: %s: more vCPUs saved than this VM has", b->cfg.restore_path);
        return -EINVAL;
    }
    st = malloc(sizeof(*st));
    if (!st)
        return -ENOMEM;
    for (int i = 0; !err && i < b->cfg.ncpus; i++) {
        char what[32];
        long n = read_section(b, r, SNAP_CPU, "vcpu", (uint32_t)i, buf, cap);
        snprintf(what, sizeof(what), "vCPU %d", i);
        if (n < 0)
            err = (int)n;
        else if (kvm_vcpu_load(st, buf, (size_t)n) || kvm_vcpu_set_state(b->kvm, i, st))
            err = load_fail(b, what);
    }
    free(st);
    return err;
}

/* The in-kernel PIC, IOAPIC, PIT and the kvmclock into vs. */
static int load_machine(struct x86_board *b, const struct snap_reader *r, uint8_t *buf, size_t cap,
                        struct kvm_vm_state *vs)
{
    uint64_t clock;
    long n;

    memset(vs, 0, sizeof(*vs));
    vs->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    vs->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    vs->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    if ((n = read_section(b, r, SNAP_MACHINE, SNAP_MACH_NAME_PIC, 0, buf, cap)) < 0)
        return (int)n;
    if (kvm_pic_load(&vs->pic_master.chip.pic, buf, (size_t)n))
        return load_fail(b, "the master PIC");
    if ((n = read_section(b, r, SNAP_MACHINE, SNAP_MACH_NAME_PIC, 1, buf, cap)) < 0)
        return (int)n;
    if (kvm_pic_load(&vs->pic_slave.chip.pic, buf, (size_t)n))
        return load_fail(b, "the slave PIC");
    if ((n = read_section(b, r, SNAP_MACHINE, "ioapic", 0, buf, cap)) < 0)
        return (int)n;
    if (kvm_ioapic_load(&vs->ioapic.chip.ioapic, buf, (size_t)n))
        return load_fail(b, "the IOAPIC");
    if ((n = read_section(b, r, SNAP_MACHINE, "pit", 0, buf, cap)) < 0)
        return (int)n;
    if (kvm_pit_load(&vs->pit, buf, (size_t)n))
        return load_fail(b, "the PIT");
    if ((n = read_section(b, r, SNAP_MACHINE, "kvmclock", 0, buf, cap)) < 0)
        return (int)n;
    if (kvm_clock_load(&clock, buf, (size_t)n))
        return load_fail(b, "the kvmclock");
    vs->clock.clock = (__u64)clock;
    return 0;
}

static int load_devices(struct x86_board *b, const struct snap_reader *r, uint8_t *buf, size_t cap)
{
    long n;

    if ((n = read_section(b, r, SNAP_DEVICE, "uart", 0, buf, cap)) < 0)
        return (int)n;
    if (uart16550_load(&b->com1, buf, (size_t)n))
        return load_fail(b, "uart");
    if ((n = read_section(b, r, SNAP_DEVICE, "cmos", 0, buf, cap)) < 0)
        return (int)n;
    if (x86_cmos_load(&b->legacy, buf, (size_t)n))
        return load_fail(b, "cmos");
    if ((n = read_section(b, r, SNAP_DEVICE, "acpi-pm", 0, buf, cap)) < 0)
        return (int)n;
    if (x86_pm_load(&b->legacy, buf, (size_t)n))
        return load_fail(b, "acpi-pm");
    if ((n = read_section(b, r, SNAP_DEVICE, "pci", 0, buf, cap)) < 0)
        return (int)n;
    if (x86_pci_load(&b->pci, buf, (size_t)n))
        return load_fail(b, "pci");
    for (int i = 0; i < b->virtio.n; i++) {
        struct virtio_dev *d = b->virtio.slot[i].vdev;
        char name[SNAP_NAME_LEN + 1];
        snprintf(name, sizeof(name), "virtio-%s", virtio_dev_name(d));
        if ((n = read_section(b, r, SNAP_DEVICE, name, (uint32_t)i, buf, cap)) < 0)
            return (int)n;
        if (virtio_dev_load(d, buf, (size_t)n))
            return load_fail(b, name);
        virtio_pci_update_irq(b->virtio.slot[i].pci);
    }
    return 0;
}

int x86_board_restore_state(struct x86_board *b, const struct snap_reader *r)
{
    size_t cap = DEV_SAVE_MAX > KVM_VCPU_SAVE_LEN ? DEV_SAVE_MAX : KVM_VCPU_SAVE_LEN;
    struct kvm_vm_state *vs = malloc(sizeof(*vs));
    uint8_t *buf = malloc(cap);
    int err = -ENOMEM;

    if (!vs || !buf)
        goto out;
    /* Everything is read and checked before KVM is told anything. */
    err = load_machine(b, r, buf, cap, vs);
    /* The vCPUs (with their LAPICs) first, then the IOAPIC and PICs that deliver to them; the
     * devices then drive their lines again, which the restored IOAPIC already has as pending,
     * so nothing is delivered twice. The clock goes with the VM state, after the vCPUs. */
    if (!err)
        err = load_cpus(b, r, buf, cap);
    if (!err && kvm_vm_set_state(b->kvm, vs))
        err = load_fail(b, "the interrupt controllers, PIT or clock");
    /* An incoming VM's devices stay stopped until the source hands the VM over: no disk
     * write may happen here while the source may still run it. */
    for (int i = 0; !err && b->incoming && i < b->virtio.n; i++)
        virtio_dev_quiesce(b->virtio.slot[i].vdev);
    if (!err)
        err = load_devices(b, r, buf, cap);
out:
    free(vs);
    free(buf);
    return err;
}
