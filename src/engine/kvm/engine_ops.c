/* kvm behind the engine seam (engine/engine.h). CPU sections hold kvm_vcpu_save's layout; the
 * MACHINE parts are the in-kernel PIC (instances 0 master, 1 slave), IOAPIC, PIT and the
 * kvmclock (engine/kvm/savestate.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kvm/kvm_int.h"
#include "engine/kvm/savestate.h"

static int ops_probe(char *info, size_t infolen, char *why, size_t whylen)
{
    struct kvm_host_info h;
    int err = kvm_probe(&h, why, whylen);
    int n;

    if (err) {
        snprintf(info, infolen, "no usable /dev/kvm");
        return err;
    }
    n = snprintf(info, infolen, "KVM API %d, up to %d vCPUs", h.api_version, h.max_vcpus);
    if (n >= 0 && (size_t)n < infolen && h.signature[0])
        n += snprintf(info + n, infolen - (size_t)n, ", host hypervisor \"%s\"", h.signature);
    if (n >= 0 && (size_t)n < infolen) {
        if (h.pvm)
            snprintf(info + n, infolen - (size_t)n,
                     "; PVM host: only PVM guest kernels run at full speed; other kernels' "
                     "supervisor code is emulated slowly, and stock Linux kernels stop with an "
                     "emulation failure%s",
                     h.hw_virt ? "" : " (no vmx/svm in /proc/cpuinfo)");
        else
            snprintf(info + n, infolen - (size_t)n,
                     "; hardware-assisted (vmx/svm in "
                     "/proc/cpuinfo)");
    }
    return 0;
}

static enum engine_stop ops_run(void *e)
{
    return kvm_engine_run(e);
}

static void ops_stop(void *e, enum engine_stop r)
{
    kvm_engine_stop(e, r);
}

static int ops_pause(void *e)
{
    return kvm_engine_pause(e);
}

static int ops_resume(void *e)
{
    return kvm_engine_resume(e);
}

static int ops_reset(void *e)
{
    return kvm_engine_reset(e);
}

static int ops_set_irq(void *e, unsigned line, int level)
{
    return kvm_engine_irq_line(e, line, level);
}

static uint64_t ops_clock_get(void *e)
{
    return kvm_engine_get_clock(e);
}

static int ops_clock_set(void *e, uint64_t clock)
{
    return kvm_engine_set_clock(e, clock);
}

static long ops_get_cpu_state(void *e, int cpu, void *buf)
{
    struct kvm_vcpu_state *st = malloc(sizeof(*st));
    int err;

    if (!st)
        return -ENOMEM;
    err = kvm_vcpu_get_state(e, cpu, st);
    if (!err)
        kvm_vcpu_save(st, buf);
    free(st);
    return err ? err : (long)KVM_VCPU_SAVE_LEN;
}

static int ops_set_cpu_state(void *e, int cpu, const void *buf, size_t len)
{
    struct kvm_vcpu_state *st = malloc(sizeof(*st));
    int err;

    if (!st)
        return -ENOMEM;
    err = kvm_vcpu_load(st, buf, len);
    if (!err)
        err = kvm_vcpu_set_state(e, cpu, st);
    free(st);
    return err;
}

static int ops_save_machine(void *e, uint64_t clock, engine_put_fn put, void *ctx)
{
    struct kvm_vm_state *vs = malloc(sizeof(*vs));
    uint8_t buf[KVM_IOAPIC_SAVE_LEN > KVM_PIT_SAVE_LEN ? KVM_IOAPIC_SAVE_LEN : KVM_PIT_SAVE_LEN];
    int err;

    _Static_assert(KVM_PIC_SAVE_LEN <= sizeof(buf) && KVM_CLOCK_SAVE_LEN <= sizeof(buf),
                   "every part fits the buffer");
    if (!vs)
        return -ENOMEM;
    err = kvm_vm_get_state(e, vs);
    if (!err) {
        kvm_pic_save(&vs->pic_master.chip.pic, buf);
        err = put(ctx, "pic", 0, buf, KVM_PIC_SAVE_LEN);
    }
    if (!err) {
        kvm_pic_save(&vs->pic_slave.chip.pic, buf);
        err = put(ctx, "pic", 1, buf, KVM_PIC_SAVE_LEN);
    }
    if (!err) {
        kvm_ioapic_save(&vs->ioapic.chip.ioapic, buf);
        err = put(ctx, "ioapic", 0, buf, KVM_IOAPIC_SAVE_LEN);
    }
    if (!err) {
        kvm_pit_save(&vs->pit, buf);
        err = put(ctx, "pit", 0, buf, KVM_PIT_SAVE_LEN);
    }
    if (!err) {
        kvm_clock_save(clock, buf); /* the clock when the VM paused, not now */
        err = put(ctx, "kvmclock", 0, buf, KVM_CLOCK_SAVE_LEN);
    }
    free(vs);
    return err;
}

/* Every part is read and checked before KVM is told anything. */
static int load_parts(engine_get_fn get, void *ctx, struct kvm_vm_state *vs)
{
    uint8_t buf[KVM_IOAPIC_SAVE_LEN > KVM_PIT_SAVE_LEN ? KVM_IOAPIC_SAVE_LEN : KVM_PIT_SAVE_LEN];
    uint64_t clock;
    long n;

    memset(vs, 0, sizeof(*vs));
    vs->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    vs->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    vs->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    if ((n = get(ctx, "pic", 0, buf, sizeof(buf))) < 0 ||
        kvm_pic_load(&vs->pic_master.chip.pic, buf, (size_t)n))
        return n < 0 ? (int)n : -EINVAL;
    if ((n = get(ctx, "pic", 1, buf, sizeof(buf))) < 0 ||
        kvm_pic_load(&vs->pic_slave.chip.pic, buf, (size_t)n))
        return n < 0 ? (int)n : -EINVAL;
    if ((n = get(ctx, "ioapic", 0, buf, sizeof(buf))) < 0 ||
        kvm_ioapic_load(&vs->ioapic.chip.ioapic, buf, (size_t)n))
        return n < 0 ? (int)n : -EINVAL;
    if ((n = get(ctx, "pit", 0, buf, sizeof(buf))) < 0 || kvm_pit_load(&vs->pit, buf, (size_t)n))
        return n < 0 ? (int)n : -EINVAL;
    if ((n = get(ctx, "kvmclock", 0, buf, sizeof(buf))) < 0 ||
        kvm_clock_load(&clock, buf, (size_t)n))
        return n < 0 ? (int)n : -EINVAL;
    vs->clock.clock = (__u64)clock;
    return 0;
}

/* After the vCPUs (with their LAPICs): the IOAPIC and PICs that deliver to them, the PIT and
 * the clock. */
static int ops_load_machine(void *e, engine_get_fn get, void *ctx)
{
    struct kvm_vm_state *vs = malloc(sizeof(*vs));
    int err;

    if (!vs)
        return -ENOMEM;
    err = load_parts(get, ctx, vs);
    if (!err)
        err = kvm_vm_set_state(e, vs);
    free(vs);
    return err;
}

static int ops_set_dirty_log(void *e, bool on)
{
    return kvm_engine_set_dirty_logging(e, on);
}

static int ops_get_dirty_log(void *e, int slot, uint64_t *bitmap)
{
    return kvm_engine_get_dirty_log(e, slot, bitmap);
}

static const char *const counters[] = {
    "exits:io",       "exits:mmio",         "exits:intr",  "exits:hlt",
    "exits:shutdown", "exits:system_event", "exits:other", NULL};

static int ops_vcpu_stats(void *e, int cpu, uint64_t *cpu_ns, uint64_t *values)
{
    return kvm_engine_vcpu_stats(e, cpu, cpu_ns, values);
}

const struct engine_ops kvm_engine_ops = {
    .name = "kvm",
    .probe = ops_probe,
    .run = ops_run,
    .stop = ops_stop,
    .pause = ops_pause,
    .resume = ops_resume,
    .reset = ops_reset,
    .set_irq = ops_set_irq,
    .clock_get = ops_clock_get,
    .clock_set = ops_clock_set,
    .cpu_section = "vcpu",
    .cpu_state_size = KVM_VCPU_SAVE_LEN,
    .get_cpu_state = ops_get_cpu_state,
    .set_cpu_state = ops_set_cpu_state,
    .save_machine = ops_save_machine,
    .load_machine = ops_load_machine,
    .set_dirty_log = ops_set_dirty_log,
    .get_dirty_log = ops_get_dirty_log,
    .counters = counters,
    .vcpu_stats = ops_vcpu_stats,
};
