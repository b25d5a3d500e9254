/* kvm: Vessel's x86-64 engine on Linux KVM. This header is what the x86 board sees; the generic
 * seam (engine/engine.h) is kvm_engine_ops. Exits go to two buses: port I/O and MMIO. */
#ifndef VESSEL_ENGINE_KVM_KVM_H
#define VESSEL_ENGINE_KVM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "engine/engine.h"

#define KVM_MAX_VCPUS      64
#define KVM_STATE_MAX_MSRS 64
#define KVM_MAX_SLOTS      8
#define KVM_CPUID_MAX      256

extern const struct engine_ops kvm_engine_ops;

/* What the host's /dev/kvm offers; filled by kvm_probe(). */
struct kvm_host_info {
    int api_version;
    const char *missing_cap; /* first capability the engine needs that is absent, or NULL */
    bool pvm;                /* the host's KVM is PVM (hypervisor signature leaf) */
    char signature[13];      /* hypervisor signature from leaf 0x40000000 ("" when none) */
    bool hw_virt;            /* /proc/cpuinfo lists vmx or svm */
    int max_vcpus;
};

/* Opens /dev/kvm and checks the API version and every capability the engine relies on.
 * Returns 0, or -errno with a one-line reason in why (room for len bytes); on a host without
 * /dev/kvm and without VT-x/AMD-V the reason ends with KVM_NESTED_HINT. */
int kvm_probe(struct kvm_host_info *info, char *why, size_t len);
/* Where to go on a host that cannot run a stock x86-64 kernel on its KVM. */
#define KVM_NESTED_HINT                                                                            \
    "x86-64 guests can run nested under QEMU's emulated AMD-V instead (tests/nested, "             \
    "docs/nested.md)"

struct kvm_engine;

struct kvm_engine_config {
    int ncpus;
    struct bus *pio;  /* port I/O exits, ports 0..0xffff */
    struct bus *mmio; /* MMIO exits */
};

/* Opens /dev/kvm, creates the VM with the in-kernel IRQ chip (PIC, IOAPIC, LAPICs), the
 * in-kernel PIT and ncpus vCPUs with filtered CPUID and default MSRs. Returns 0 or -errno
 * (logged, naming what failed). */
int kvm_engine_create(struct kvm_engine **out, const struct kvm_engine_config *cfg);
void kvm_engine_destroy(struct kvm_engine *e);

/* Maps [gpa, gpa+size) to host memory hva as slot `slot`. Returns 0 or -errno (logged). */
int kvm_engine_add_memory(struct kvm_engine *e, int slot, uint64_t gpa, uint64_t size, void *hva);
/* Turns dirty-page logging on or off for every slot. */
int kvm_engine_set_dirty_logging(struct kvm_engine *e, bool on);
/* Reads and clears a slot's dirty bitmap: one bit per 4 KiB page, (size/4096+63)/64 words. */
int kvm_engine_get_dirty_log(struct kvm_engine *e, int slot, uint64_t *bitmap);

/* Interrupts: the level of an IOAPIC/PIC input (GSI); an eventfd that raises a GSI (edge, or
 * level with a resample eventfd for the EOI; resamplefd < 0 for none); deassign removes it. */
int kvm_engine_irq_line(struct kvm_engine *e, unsigned gsi, int level);
int kvm_engine_irqfd(struct kvm_engine *e, int fd, unsigned gsi, int resamplefd, bool deassign);
/* Message-signalled interrupts: GSIs from KVM_MSI_GSI_BASE (above the IOAPIC's pins) are the
 * board's to give out, one per MSI-X vector; this sets the message a GSI delivers (an irqfd on
 * that GSI then sends it) and installs the whole routing table (KVM_SET_GSI_ROUTING: the IRQ
 * chip's default routes plus every MSI route). Thread-safe. 0 or -errno (logged). */
#define KVM_MSI_GSI_BASE   24
#define KVM_MAX_MSI_ROUTES 512
int kvm_engine_msi_route(struct kvm_engine *e, unsigned gsi, uint64_t addr, uint32_t data);
/* Queue notifications: a guest write of len bytes (1, 2, 4 or 8; with datamatch only when
 * match is true) to addr signals fd without an exit to user space. */
int kvm_engine_ioeventfd(struct kvm_engine *e, uint64_t addr, unsigned len, bool pio, bool match,
                         uint64_t datamatch, int fd, bool deassign);

/* Initial CPU state for the boot protocols (the board computes the values). */
struct kvm_boot_cpu {
    bool long_mode; /* 64-bit entry (paging, cr3) or 32-bit protected mode, paging off */
    uint64_t rip, rsi, rbx, rsp, cr3;
    uint64_t gdt_base;
    uint16_t gdt_limit;
    uint16_t cs, ds, tr; /* selectors into that GDT */
};
/* Sets the boot processor (vCPU 0) up for entry; the others wait for INIT/SIPI. */
int kvm_engine_setup_boot_cpu(struct kvm_engine *e, const struct kvm_boot_cpu *b);

enum engine_stop kvm_engine_run(struct kvm_engine *e);
void kvm_engine_stop(struct kvm_engine *e, enum engine_stop reason);
int kvm_engine_pause(struct kvm_engine *e);
int kvm_engine_resume(struct kvm_engine *e);
int kvm_engine_ncpus(const struct kvm_engine *e);
/* Exits seen so far by all vCPUs (for tests and benchmarks). */
uint64_t kvm_engine_exit_count(const struct kvm_engine *e);
/* vCPU cpu's host CPU time (ns, its threads so far) and its exits by kind (the order of
 * kvm_engine_ops.counters). Thread-safe. 0 or -EINVAL. */
int kvm_engine_vcpu_stats(struct kvm_engine *e, int cpu, uint64_t *cpu_ns, uint64_t *values);

/* Complete state of one vCPU, plain data for snapshots. */
struct kvm_vcpu_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xsave; /* legacy FPU/SSE area included */
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    struct kvm_debugregs debugregs;
    uint32_t nmsrs;
    struct kvm_msr_entry msrs[KVM_STATE_MAX_MSRS];
};

/* VM-wide interrupt controller, timer and clock state. */
struct kvm_vm_state {
    struct kvm_irqchip pic_master, pic_slave, ioapic;
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
};

int kvm_vcpu_get_state(struct kvm_engine *e, int cpu, struct kvm_vcpu_state *s);
int kvm_vcpu_set_state(struct kvm_engine *e, int cpu, const struct kvm_vcpu_state *s);
int kvm_vm_get_state(struct kvm_engine *e, struct kvm_vm_state *s);
int kvm_vm_set_state(struct kvm_engine *e, const struct kvm_vm_state *s);
/* Sets only the kvmclock (guest nanoseconds), e.g. back to the paused value after a pause;
 * get reads it (0 when the ioctl fails, logged). */
int kvm_engine_set_clock(struct kvm_engine *e, uint64_t ns);
uint64_t kvm_engine_get_clock(struct kvm_engine *e);

/* --- CPUID policy (cpuid.c; pure functions, unit-tested) --- */

/* Filters the host-supported entries in place to what Vessel's VMM exposes for vCPU `cpu` of
 * `ncpus`: known leaves only, hypervisor leaves 0x40000000-0x400000ff kept as the host reports
 * them, hypervisor bit set, APIC IDs and topology for this vCPU, no VMX/SVM, no PMU, no
 * MONITOR/MWAIT. Returns the new entry count. */
int kvm_cpuid_filter(struct kvm_cpuid_entry2 *ent, int n, int cpu, int ncpus);
/* The hypervisor signature leaf as a string (13 bytes with NUL) from entries, "" if none. */
void kvm_cpuid_signature(const struct kvm_cpuid_entry2 *ent, int n, char sig[13]);

#endif
