/* kvm engine internals shared by kvm.c (system and VM), vcpu.c (threads, exits) and state.c. */
#ifndef VESSEL_ENGINE_KVM_KVM_INT_H
#define VESSEL_ENGINE_KVM_KVM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine/kvm/kvm.h"

/* The kinds of exits a vCPU counts (kvm_engine_ops.counters: "exits:KIND" in this order). */
enum kvm_exit_kind {
    KVM_EXITK_IO,
    KVM_EXITK_MMIO,
    KVM_EXITK_INTR, /* KVM_EXIT_INTR and KVM_RUN interrupted by a signal (kicks) */
    KVM_EXITK_HLT,
    KVM_EXITK_SHUTDOWN,
    KVM_EXITK_SYSTEM_EVENT,
    KVM_EXITK_OTHER,
    KVM_EXITK_COUNT
};

struct kvm_vcpu {
    struct kvm_engine *e;
    int id, fd;
    struct kvm_run *run;
    pthread_t thread;
    bool started;
    /* exits by kind: written by the vCPU's thread only (relaxed atomic stores), read by any */
    uint64_t exits[KVM_EXITK_COUNT];
    uint64_t cpu_ns_done; /* CPU time of this vCPU's earlier threads (under e->lock) */
    bool thread_live;     /* a thread runs the vCPU now (under e->lock) */
};

struct kvm_slot {
    bool used;
    uint64_t gpa, size;
    void *hva;
};

struct kvm_msi_route {
    bool used;
    uint64_t addr;
    uint32_t data;
};

struct kvm_engine {
    int sys_fd, vm_fd;
    size_t run_size;
    struct bus *pio, *mmio;
    int ncpus;
    struct kvm_vcpu cpu[KVM_MAX_VCPUS];
    struct kvm_slot slot[KVM_MAX_SLOTS];
    bool dirty_logging;
    uint32_t msr_index[KVM_STATE_MAX_MSRS]; /* MSRs saved in a vCPU state */
    int nmsr_index;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum engine_stop stop_reason; /* under lock; first wins */
    atomic_bool stopping;
    bool pause_req;        /* under lock */
    int paused;            /* vCPU threads parked, under lock */
    int running;           /* vCPU threads alive, under lock */
    bool host_pvm;         /* the host's KVM has no VT-x/AMD-V under it (PVM) */
    atomic_bool explained; /* the emulation failure on such a host was explained (once) */
    /* The power-on state of every vCPU and of the in-kernel interrupt controllers and PIT,
     * read right after creation: a guest reset sets it again (kvm_engine_reset). */
    struct kvm_vcpu_state *reset_cpu;
    struct kvm_vm_state *reset_vm;
    /* MSI routes by GSI - KVM_MSI_GSI_BASE (irq.c), under route_lock */
    pthread_mutex_t route_lock;
    struct kvm_msi_route msi[KVM_MAX_MSI_ROUTES];
};

/* state.c: reads the power-on state (at creation) and sets it again (a guest reset; the
 * kvmclock keeps running). 0 or -errno (logged). */
int kvm_engine_capture_reset(struct kvm_engine *e);
int kvm_engine_reset(struct kvm_engine *e);

/* vcpu.c */
/* The handler of KVM_KICK_SIGNAL (it only interrupts KVM_RUN), process-wide; at creation. */
int kvm_vcpu_kick_install(void);
int kvm_vcpu_init(struct kvm_engine *e, int id);
void kvm_vcpu_fini(struct kvm_vcpu *v);
/* Kicks every vCPU out of KVM_RUN (immediate_exit and a signal). */
void kvm_vcpus_kick(struct kvm_engine *e);

#endif
