/* kvm engine: complete vCPU and VM state as plain structs, for snapshots and migration. Call
 * with the engine paused (or not yet running). Restore order matters: special registers (and
 * with them the APIC base) before the LAPIC, MSRs before events, the clock last. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "engine/kvm/kvm_int.h"

#define VCPU_IOCTL(v, req, arg, what)                                                              \
    do {                                                                                           \
        if (ioctl((v)->fd, (req), (arg)) < 0) {                                                    \
            int err_ = -errno;                                                                     \
            log_err("kvm: vCPU %d: %s: %s", (v)->id, what, strerror(errno));                       \
            return err_;                                                                           \
        }                                                                                          \
    } while (0)

#define VM_IOCTL(e, req, arg, what)                                                                \
    do {                                                                                           \
        if (ioctl((e)->vm_fd, (req), (arg)) < 0) {                                                 \
            int err_ = -errno;                                                                     \
            log_err("kvm: %s: %s", what, strerror(errno));                                         \
            return err_;                                                                           \
        }                                                                                          \
    } while (0)

struct msr_buf {
    struct kvm_msrs h;
    struct kvm_msr_entry e[KVM_STATE_MAX_MSRS];
};

int kvm_vcpu_get_state(struct kvm_engine *e, int cpu, struct kvm_vcpu_state *s)
{
    struct kvm_vcpu *v;
    struct msr_buf m;
    int r;

    if (cpu < 0 || cpu >= e->ncpus)
        return -EINVAL;
    v = &e->cpu[cpu];
    memset(s, 0, sizeof(*s));
    VCPU_IOCTL(v, KVM_GET_MP_STATE, &s->mp_state, "KVM_GET_MP_STATE");
    VCPU_IOCTL(v, KVM_GET_REGS, &s->regs, "KVM_GET_REGS");
    VCPU_IOCTL(v, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS");
    VCPU_IOCTL(v, KVM_GET_XSAVE, &s->xsave, "KVM_GET_XSAVE");
    VCPU_IOCTL(v, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS");
    VCPU_IOCTL(v, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC");
    VCPU_IOCTL(v, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS");
    VCPU_IOCTL(v, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS");
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = (uint32_t)e->nmsr_index;
    for (int i = 0; i < e->nmsr_index; i++)
        m.e[i].index = e->msr_index[i];
    r = ioctl(v->fd, KVM_GET_MSRS, &m);
    if (r < 0 || r != e->nmsr_index) {
        log_err("kvm: vCPU %d: KVM_GET_MSRS: %s", v->id,
                r < 0 ? strerror(errno) : "fewer MSRs than the host listed");
        return r < 0 ? -errno : -EIO;
    }
    s->nmsrs = (uint32_t)r;
    memcpy(s->msrs, m.e, (size_t)r * sizeof(m.e[0]));
    return 0;
}

int kvm_vcpu_set_state(struct kvm_engine *e, int cpu, const struct kvm_vcpu_state *s)
{
    struct kvm_vcpu *v;
    struct msr_buf m;
    int r;

    if (cpu < 0 || cpu >= e->ncpus || s->nmsrs > KVM_STATE_MAX_MSRS)
        return -EINVAL;
    v = &e->cpu[cpu];
    VCPU_IOCTL(v, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS");
    VCPU_IOCTL(v, KVM_SET_MP_STATE, &s->mp_state, "KVM_SET_MP_STATE");
    VCPU_IOCTL(v, KVM_SET_REGS, &s->regs, "KVM_SET_REGS");
    VCPU_IOCTL(v, KVM_SET_XSAVE, &s->xsave, "KVM_SET_XSAVE");
    VCPU_IOCTL(v, KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS");
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = s->nmsrs;
    memcpy(m.e, s->msrs, s->nmsrs * sizeof(m.e[0]));
    r = ioctl(v->fd, KVM_SET_MSRS, &m);
    if (r < 0 || (uint32_t)r != s->nmsrs) {
        log_err("kvm: vCPU %d: KVM_SET_MSRS: %s (%d of %u set)", v->id,
                r < 0 ? strerror(errno) : "MSR refused", r, s->nmsrs);
        return r < 0 ? -errno : -EIO;
    }
    VCPU_IOCTL(v, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC");
    VCPU_IOCTL(v, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS");
    VCPU_IOCTL(v, KVM_SET_DEBUGREGS, &s->debugregs, "KVM_SET_DEBUGREGS");
    return 0;
}

int kvm_vm_get_state(struct kvm_engine *e, struct kvm_vm_state *s)
{
    memset(s, 0, sizeof(*s));
    s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    VM_IOCTL(e, KVM_GET_IRQCHIP, &s->pic_master, "KVM_GET_IRQCHIP (PIC master)");
    VM_IOCTL(e, KVM_GET_IRQCHIP, &s->pic_slave, "KVM_GET_IRQCHIP (PIC slave)");
    VM_IOCTL(e, KVM_GET_IRQCHIP, &s->ioapic, "KVM_GET_IRQCHIP (IOAPIC)");
    VM_IOCTL(e, KVM_GET_PIT2, &s->pit, "KVM_GET_PIT2");
    VM_IOCTL(e, KVM_GET_CLOCK, &s->clock, "KVM_GET_CLOCK");
    return 0;
}

/* The interrupt controllers and the PIT, not the clock. */
static int set_chips(struct kvm_engine *e, const struct kvm_vm_state *s)
{
    VM_IOCTL(e, KVM_SET_IRQCHIP, &s->pic_master, "KVM_SET_IRQCHIP (PIC master)");
    VM_IOCTL(e, KVM_SET_IRQCHIP, &s->pic_slave, "KVM_SET_IRQCHIP (PIC slave)");
    VM_IOCTL(e, KVM_SET_IRQCHIP, &s->ioapic, "KVM_SET_IRQCHIP (IOAPIC)");
    VM_IOCTL(e, KVM_SET_PIT2, &s->pit, "KVM_SET_PIT2");
    return 0;
}

int kvm_vm_set_state(struct kvm_engine *e, const struct kvm_vm_state *s)
{
    struct kvm_clock_data clock = {.clock = s->clock.clock};
    int err = set_chips(e, s);

    if (err)
        return err;
    VM_IOCTL(e, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK");
    return 0;
}

int kvm_engine_capture_reset(struct kvm_engine *e)
{
    int err;

    e->reset_cpu = calloc((size_t)e->ncpus, sizeof(*e->reset_cpu));
    e->reset_vm = calloc(1, sizeof(*e->reset_vm));
    if (!e->reset_cpu || !e->reset_vm)
        return -ENOMEM;
    err = kvm_vm_get_state(e, e->reset_vm);
    for (int i = 0; !err && i < e->ncpus; i++)
        err = kvm_vcpu_get_state(e, i, &e->reset_cpu[i]);
    return err;
}

int kvm_engine_reset(struct kvm_engine *e)
{
    int err = 0;

    pthread_mutex_lock(&e->lock); /* run again: forget the last stop */
    atomic_store(&e->stopping, false);
    e->stop_reason = ENGINE_STOP_NONE;
    pthread_mutex_unlock(&e->lock);

    for (int i = 0; !err && i < e->ncpus; i++)
        err = kvm_vcpu_set_state(e, i, &e->reset_cpu[i]);
    return err ? err : set_chips(e, e->reset_vm);
}

uint64_t kvm_engine_get_clock(struct kvm_engine *e)
{
    struct kvm_clock_data clock = {0};

    if (ioctl(e->vm_fd, KVM_GET_CLOCK, &clock) < 0) {
        log_err("kvm: KVM_GET_CLOCK: %s", strerror(errno));
        return 0;
    }
    return clock.clock;
}

int kvm_engine_set_clock(struct kvm_engine *e, uint64_t ns)
{
    struct kvm_clock_data clock = {.clock = ns};

    VM_IOCTL(e, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK");
    return 0;
}
