/* kvm engine: vCPUs. One host thread each runs KVM_RUN and dispatches exits to the port and
 * MMIO buses. Pause and stop kick a thread with immediate_exit plus a signal. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread.h"
#include "engine/kvm/kvm_int.h"

#define KVM_KICK_SIGNAL SIGUSR1

/* LAPIC register offsets used at reset */
#define APIC_LVT_LINT0   0x350
#define APIC_LVT_LINT1   0x360
#define APIC_MODE_EXTINT (7u << 8)
#define APIC_MODE_NMI    (4u << 8)

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE    0x2ff

static void kick_handler(int sig)
{
    (void)sig;
}

int kvm_vcpu_kick_install(void)
{
    struct sigaction sa = {.sa_handler = kick_handler};

    sigemptyset(&sa.sa_mask);
    if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) < 0) {
        int err = -errno;
        log_err("kvm: sigaction for the vCPU kick signal: %s", strerror(errno));
        return err;
    }
    return 0;
}

static int vcpu_set_cpuid(struct kvm_engine *e, struct kvm_vcpu *v)
{
    struct kvm_cpuid2 *c;
    int n, err = 0;

    for (n = KVM_CPUID_MAX;; n *= 2) {
        c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
        if (!c)
            return -ENOMEM;
        c->nent = (uint32_t)n;
        if (ioctl(e->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            break;
        err = -errno;
        free(c);
        if (err != -E2BIG || n >= 4 * KVM_CPUID_MAX) {
            log_err("kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(-err));
            return err;
        }
    }
    c->nent = (uint32_t)kvm_cpuid_filter(c->entries, (int)c->nent, v->id, e->ncpus);
    err = 0;
    if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
        err = -errno;
        log_err("kvm: vCPU %d: KVM_SET_CPUID2 (%u entries): %s", v->id, c->nent, strerror(errno));
    }
    free(c);
    return err;
}

/* Power-on MSRs, FPU control words and (BSP) LAPIC LINT0/LINT1 as firmware leaves them. */
static int vcpu_reset_state(struct kvm_engine *e, struct kvm_vcpu *v)
{
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[2];
    } msrs = {.h.nmsrs = 2,
              .e = {{.index = MSR_IA32_MISC_ENABLE, .data = 1 /* fast strings */},
                    {.index = MSR_MTRR_DEF_TYPE, .data = 0x806 /* MTRRs on, default WB */}}};
    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    struct kvm_lapic_state lapic;
    int r;

    r = ioctl(v->fd, KVM_SET_MSRS, &msrs);
    if (r != 2) {
        log_err("kvm: vCPU %d: KVM_SET_MSRS (reset values): %s", v->id,
                r < 0 ? strerror(errno) : "MSR refused");
        return r < 0 ? -errno : -EINVAL;
    }
    if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
        log_err("kvm: vCPU %d: KVM_SET_FPU: %s", v->id, strerror(errno));
        return -errno;
    }
    if (v->id != 0)
        return 0;
    if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
        log_err("kvm: vCPU %d: KVM_GET_LAPIC: %s", v->id, strerror(errno));
        return -errno;
    }
    *(uint32_t *)&lapic.regs[APIC_LVT_LINT0] = APIC_MODE_EXTINT;
    *(uint32_t *)&lapic.regs[APIC_LVT_LINT1] = APIC_MODE_NMI;
    if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0) {
        log_err("kvm: vCPU %d: KVM_SET_LAPIC: %s", v->id, strerror(errno));
        return -errno;
    }
    (void)e;
    return 0;
}

int kvm_vcpu_init(struct kvm_engine *e, int id)
{
    struct kvm_vcpu *v = &e->cpu[id];
    int err;

    v->e = e;
    v->id = id;
    v->fd = ioctl(e->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    if (v->fd < 0) {
        err = -errno;
        log_err("kvm: KVM_CREATE_VCPU %d: %s", id, strerror(errno));
        return err;
    }
    v->run = mmap(NULL, e->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        err = -errno;
        v->run = NULL;
        log_err("kvm: vCPU %d: mmap of kvm_run (%zu bytes): %s", id, e->run_size, strerror(errno));
        return err;
    }
    err = vcpu_set_cpuid(e, v);
    if (!err)
        err = vcpu_reset_state(e, v);
    return err;
}

void kvm_vcpu_fini(struct kvm_vcpu *v)
{
    if (v->run)
        munmap(v->run, v->e->run_size);
    v->run = NULL;
    if (v->fd >= 0)
        close(v->fd);
    v->fd = -1;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64, bool db)
{
    *s = (struct kvm_segment){.base = 0,
                              .limit = 0xffffffff,
                              .selector = sel,
                              .type = type,
                              .present = 1,
                              .dpl = 0,
                              .db = db,
                              .s = 1,
                              .l = code64,
                              .g = 1};
}

int kvm_engine_setup_boot_cpu(struct kvm_engine *e, const struct kvm_boot_cpu *b)
{
    struct kvm_vcpu *v = &e->cpu[0];
    struct kvm_sregs sr;
    struct kvm_regs r = {.rflags = 2, .rip = b->rip, .rsi = b->rsi, .rbx = b->rbx, .rsp = b->rsp};

    if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0) {
        log_err("kvm: vCPU 0: KVM_GET_SREGS: %s", strerror(errno));
        return -errno;
    }
    sr.gdt.base = b->gdt_base;
    sr.gdt.limit = b->gdt_limit;
    sr.idt.base = 0;
    sr.idt.limit = 0;
    seg(&sr.cs, b->cs, 0xb /* code, execute/read, accessed */, b->long_mode, !b->long_mode);
    seg(&sr.ds, b->ds, 0x3 /* data, read/write, accessed */, false, true);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    sr.tr = (struct kvm_segment){
        .selector = b->tr, .limit = 0x67, .type = 0xb /* busy TSS */, .present = 1};
    sr.ldt = (struct kvm_segment){.type = 2 /* LDT */, .present = 1, .limit = 0xffff};
    sr.cr0 = 0x11; /* PE, ET */
    sr.cr4 = 0;
    sr.efer = 0;
    if (b->long_mode) {
        sr.cr0 |= 0x80000000u; /* PG */
        sr.cr3 = b->cr3;
        sr.cr4 = 0x20;   /* PAE */
        sr.efer = 0x500; /* LME, LMA */
    }
    if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0) {
        log_err("kvm: vCPU 0: KVM_SET_SREGS (boot state): %s", strerror(errno));
        return -errno;
    }
    if (ioctl(v->fd, KVM_SET_REGS, &r) < 0) {
        log_err("kvm: vCPU 0: KVM_SET_REGS (boot state): %s", strerror(errno));
        return -errno;
    }
    return 0;
}

void kvm_engine_stop(struct kvm_engine *e, enum engine_stop reason)
{
    pthread_mutex_lock(&e->lock);
    if (e->stop_reason == ENGINE_STOP_NONE)
        e->stop_reason = reason;
    atomic_store(&e->stopping, true);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    kvm_vcpus_kick(e);
}

void kvm_vcpus_kick(struct kvm_engine *e)
{
    for (int i = 0; i < e->ncpus; i++) {
        struct kvm_vcpu *v = &e->cpu[i];

        if (!v->run)
            continue;
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (v->started)
            pthread_kill(v->thread, KVM_KICK_SIGNAL);
    }
}

/* Port I/O exit: count accesses of size bytes each at data_offset inside kvm_run. */
static void vcpu_exit_io(struct kvm_vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *p = (uint8_t *)run + run->io.data_offset;
    unsigned size = run->io.size;

    for (uint32_t i = 0; i < run->io.count; i++, p += size) {
        uint64_t val = 0;

        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&val, p, size);
            bus_write(v->e->pio, run->io.port, size, val);
        } else {
            if (bus_read(v->e->pio, run->io.port, size, &val))
                val = ~0ULL; /* an empty port floats high */
            memcpy(p, &val, size);
        }
    }
}

static void vcpu_exit_mmio(struct kvm_vcpu *v)
{
    struct kvm_run *run = v->run;
    unsigned len = run->mmio.len;
    uint64_t val = 0;

    if (len != 1 && len != 2 && len != 4 && len != 8) {
        if (!run->mmio.is_write)
            memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
        return;
    }
    if (run->mmio.is_write) {
        memcpy(&val, run->mmio.data, len);
        bus_write(v->e->mmio, run->mmio.phys_addr, len, val);
    } else {
        if (bus_read(v->e->mmio, run->mmio.phys_addr, len, &val))
            val = ~0ULL;
        memcpy(run->mmio.data, &val, len);
    }
}

/* Handles one exit; returns ENGINE_STOP_NONE to keep running. */
static enum engine_stop vcpu_exit(struct kvm_vcpu *v)
{
    struct kvm_run *run = v->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO: vcpu_exit_io(v); return ENGINE_STOP_NONE;
    case KVM_EXIT_MMIO: vcpu_exit_mmio(v); return ENGINE_STOP_NONE;
    case KVM_EXIT_INTR: return ENGINE_STOP_NONE;
    case KVM_EXIT_HLT:
        log_err("kvm: vCPU %d halted with no interrupt controller to wake it", v->id);
        return ENGINE_STOP_CRASH;
    case KVM_EXIT_SHUTDOWN:
        log_err("kvm: vCPU %d: triple fault (guest shutdown)", v->id);
        return ENGINE_STOP_CRASH;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN: return ENGINE_STOP_POWEROFF;
        case KVM_SYSTEM_EVENT_RESET: return ENGINE_STOP_RESET;
        case KVM_SYSTEM_EVENT_CRASH:
            log_err("kvm: vCPU %d: the guest reported a crash", v->id);
            return ENGINE_STOP_CRASH;
        default:
            log_err("kvm: vCPU %d: unhandled system event %u", v->id, run->system_event.type);
            return ENGINE_STOP_ERROR;
        }
    case KVM_EXIT_FAIL_ENTRY:
        log_err("kvm: vCPU %d: VM entry failed, hardware reason 0x%llx (cpu %u)", v->id,
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                run->fail_entry.cpu);
        return ENGINE_STOP_ERROR;
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && v->e->host_pvm) {
            /* the usual end of a stock kernel on PVM: one line for all vCPUs */
            if (!atomic_exchange(&v->e->explained, true))
                log_err("kvm: vCPU %d stopped on an instruction this host's KVM cannot run "
                        "(emulation failure): the host's KVM is PVM without VT-x/AMD-V, which "
                        "runs only PVM guest kernels, and a stock x86-64 kernel needs VT-x or "
                        "AMD-V; " KVM_NESTED_HINT,
                        v->id);
            return ENGINE_STOP_ERROR;
        }
        log_err("kvm: vCPU %d: KVM internal error, suberror %u%s (%u data words%s0x%llx)", v->id,
                run->internal.suberror,
                run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                    ? " (instruction emulation failed)"
                    : "",
                run->internal.ndata, run->internal.ndata ? ", first " : ", ",
                (unsigned long long)(run->internal.ndata ? run->internal.data[0] : 0));
        return ENGINE_STOP_ERROR;
    default:
        log_err("kvm: vCPU %d: unexpected exit reason %u", v->id, run->exit_reason);
        return ENGINE_STOP_ERROR;
    }
}

/* Parks the thread while a pause is requested; returns true when the VM is stopping. */
static bool vcpu_check_park(struct kvm_vcpu *v)
{
    struct kvm_engine *e = v->e;
    bool stop;

    pthread_mutex_lock(&e->lock);
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (e->pause_req && !atomic_load(&e->stopping)) {
        e->paused++;
        pthread_cond_broadcast(&e->cond);
        while (e->pause_req && !atomic_load(&e->stopping))
            pthread_cond_wait(&e->cond, &e->lock);
        e->paused--;
    }
    stop = atomic_load(&e->stopping);
    if (!stop && e->pause_req)
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&e->lock);
    return stop;
}

static enum kvm_exit_kind exit_kind(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_IO: return KVM_EXITK_IO;
    case KVM_EXIT_MMIO: return KVM_EXITK_MMIO;
    case KVM_EXIT_INTR: return KVM_EXITK_INTR;
    case KVM_EXIT_HLT: return KVM_EXITK_HLT;
    case KVM_EXIT_SHUTDOWN: return KVM_EXITK_SHUTDOWN;
    case KVM_EXIT_SYSTEM_EVENT: return KVM_EXITK_SYSTEM_EVENT;
    default: return KVM_EXITK_OTHER;
    }
}

/* One more exit of kind k, by the vCPU's own thread (no locked instruction). */
static void count_exit(struct kvm_vcpu *v, enum kvm_exit_kind k)
{
    __atomic_store_n(&v->exits[k], __atomic_load_n(&v->exits[k], __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
}

static uint64_t thread_cpu_ns(clockid_t clk)
{
    struct timespec ts;

    if (clock_gettime(clk, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void thread_live(struct kvm_vcpu *v, bool live)
{
    pthread_mutex_lock(&v->e->lock);
    if (!live)
        v->cpu_ns_done += thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    v->thread_live = live;
    pthread_mutex_unlock(&v->e->lock);
}

int kvm_engine_vcpu_stats(struct kvm_engine *e, int cpu, uint64_t *cpu_ns, uint64_t *values)
{
    struct kvm_vcpu *v;
    clockid_t clk;

    if (cpu < 0 || cpu >= e->ncpus)
        return -EINVAL;
    v = &e->cpu[cpu];
    pthread_mutex_lock(&e->lock);
    *cpu_ns = v->cpu_ns_done;
    if (v->thread_live && !pthread_getcpuclockid(v->thread, &clk))
        *cpu_ns += thread_cpu_ns(clk);
    pthread_mutex_unlock(&e->lock);
    for (int k = 0; k < KVM_EXITK_COUNT; k++)
        values[k] = __atomic_load_n(&v->exits[k], __ATOMIC_RELAXED);
    return 0;
}

static void *vcpu_thread(void *arg)
{
    struct kvm_vcpu *v = arg;
    struct kvm_engine *e = v->e;
    enum engine_stop why = ENGINE_STOP_NONE;
    sigset_t set;

    thread_live(v, true);
    sigemptyset(&set);
    sigaddset(&set, KVM_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    while (why == ENGINE_STOP_NONE) {
        if (atomic_load(&e->stopping))
            break;
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                count_exit(v, KVM_EXITK_INTR);
                if (vcpu_check_park(v))
                    break;
                continue;
            }
            log_err("kvm: vCPU %d: KVM_RUN: %s", v->id, strerror(errno));
            why = ENGINE_STOP_ERROR;
            break;
        }
        count_exit(v, exit_kind(v->run->exit_reason));
        why = vcpu_exit(v);
    }
    if (why != ENGINE_STOP_NONE)
        kvm_engine_stop(e, why);
    thread_live(v, false);
    pthread_mutex_lock(&e->lock);
    e->running--;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

enum engine_stop kvm_engine_run(struct kvm_engine *e)
{
    sigset_t set, old;
    enum engine_stop why;
    int i, err;

    /* the kick signal's handler is in place since kvm_engine_create (kvm_vcpu_kick_install):
     * under --seccomp the running main thread may not call sigaction */
    /* Threads start with the kick signal blocked and unblock it themselves. */
    sigemptyset(&set);
    sigaddset(&set, KVM_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (i = 0; i < e->ncpus; i++) {
        struct kvm_vcpu *v = &e->cpu[i];

        v->run->immediate_exit = 0;
        pthread_mutex_lock(&e->lock);
        e->running++;
        pthread_mutex_unlock(&e->lock);
        err = thread_create(&v->thread, THREAD_VCPU, vcpu_thread, v);
        if (err) {
            log_err("kvm: starting the thread of vCPU %d: %s", i, strerror(err));
            pthread_mutex_lock(&e->lock);
            e->running--;
            pthread_mutex_unlock(&e->lock);
            kvm_engine_stop(e, ENGINE_STOP_ERROR);
            break;
        }
        v->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    pthread_mutex_lock(&e->lock);
    while (!atomic_load(&e->stopping))
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
    kvm_vcpus_kick(e); /* the stopper kicked before every thread may have started */
    for (i = 0; i < e->ncpus; i++) {
        if (e->cpu[i].started)
            pthread_join(e->cpu[i].thread, NULL);
        e->cpu[i].started = false;
    }
    pthread_mutex_lock(&e->lock);
    why = e->stop_reason;
    pthread_mutex_unlock(&e->lock);
    return why;
}

int kvm_engine_pause(struct kvm_engine *e)
{
    pthread_mutex_lock(&e->lock);
    if (e->pause_req) {
        pthread_mutex_unlock(&e->lock);
        return -EALREADY;
    }
    e->pause_req = true;
    pthread_mutex_unlock(&e->lock);
    kvm_vcpus_kick(e);
    pthread_mutex_lock(&e->lock);
    while (e->paused < e->running && !atomic_load(&e->stopping))
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
    return atomic_load(&e->stopping) ? -ESHUTDOWN : 0;
}

int kvm_engine_resume(struct kvm_engine *e)
{
    pthread_mutex_lock(&e->lock);
    if (!e->pause_req) {
        pthread_mutex_unlock(&e->lock);
        return -EINVAL;
    }
    e->pause_req = false;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    return 0;
}
