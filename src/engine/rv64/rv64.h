/* rv64: Vessel's RISC-V RV64GC CPU engine. This header is what a board sees. */
#ifndef VESSEL_ENGINE_RV64_RV64_H
#define VESSEL_ENGINE_RV64_RV64_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "engine/engine.h"
#include "mem/gmem.h"

#define RV64_TIMEBASE_HZ 10000000ULL /* mtime ticks per second (same as QEMU's virt) */
#define RV64_MAX_HARTS   32

/* mip bits a device can drive */
#define RV64_MIP_SSIP (1ULL << 1)
#define RV64_MIP_MSIP (1ULL << 3)
#define RV64_MIP_STIP (1ULL << 5)
#define RV64_MIP_MTIP (1ULL << 7)
#define RV64_MIP_SEIP (1ULL << 9)
#define RV64_MIP_MEIP (1ULL << 11)

enum rv64_stop {
    RV64_STOP_NONE = 0,
    RV64_STOP_POWEROFF, /* guest asked to power off */
    RV64_STOP_REBOOT,   /* guest asked to reset */
    RV64_STOP_QUIT,     /* the user or the VMM stopped the VM */
    RV64_STOP_ERROR,    /* the VMM could not continue (message logged) */
};

struct rv64_machine;
struct rv64_hart;

/* The engine seam (engine/engine.h); its opaque engine pointer is a struct rv64_machine. */
extern const struct engine_ops rv64_engine_ops;

/* How the harts execute: the interpreter (the reference, every host) or the JIT (x86-64 hosts),
 * which translates hot blocks into host code and falls back to the interpreter for what it does
 * not translate. DEFAULT is the JIT where it is supported, unless the environment variable
 * VESSEL_RV64_TIER=interp|jit says otherwise (for tests and comparisons). */
enum rv64_tier { RV64_TIER_DEFAULT = 0, RV64_TIER_INTERP, RV64_TIER_JIT };

#define RV64_JIT_CACHE_DEFAULT (8u << 20) /* bytes of translated code, all harts together */
#define RV64_JIT_CACHE_MIN     (256u << 10)
#define RV64_JIT_CACHE_MAX     (1024u << 20)

struct rv64_config {
    int nharts;
    struct gmem *ram;
    struct bus *bus;
    const char *trace_path; /* instruction trace file, or NULL (the trace runs the interpreter) */
    enum rv64_tier tier;
    size_t jit_cache_size; /* bytes, 0 = VESSEL_RV64_JIT_CACHE_KIB or RV64_JIT_CACHE_DEFAULT;
                            * split between the harts, RV64_JIT_CACHE_MIN each at least */
};

/* The tier a machine runs on (after the default and VESSEL_RV64_TIER are applied). */
enum rv64_tier rv64_machine_tier(const struct rv64_machine *m);
/* Parses "interp" or "jit"; -EINVAL otherwise. */
int rv64_tier_parse(const char *s, enum rv64_tier *out);

int rv64_machine_create(struct rv64_machine **out, const struct rv64_config *cfg);
void rv64_machine_destroy(struct rv64_machine *m);
struct rv64_hart *rv64_machine_hart(struct rv64_machine *m, int i);
/* Hart cpu's host CPU time (ns, all its threads so far) and its counters since the machine
 * was created: instructions retired, exceptions and interrupts taken, WFI sleeps (the order of
 * rv64_engine_ops.counters). Thread-safe. 0 or -EINVAL. */
int rv64_machine_vcpu_stats(struct rv64_machine *m, int cpu, uint64_t *cpu_ns, uint64_t *values);
int rv64_machine_nharts(const struct rv64_machine *m);

/* Puts a hart in its reset state: M-mode, pc, a0 = hart id, a1 and a2 as given. */
void rv64_hart_reset(struct rv64_hart *h, uint64_t pc, uint64_t a1, uint64_t a2);

/* Runs every hart on its own thread until rv64_machine_stop(); returns the stop reason. */
enum rv64_stop rv64_machine_run(struct rv64_machine *m);
/* Thread-safe; the first reason given wins, and it stays until rv64_machine_rearm (a stop that
 * comes before the run starts ends it at once). */
void rv64_machine_stop(struct rv64_machine *m, enum rv64_stop reason);
/* Forgets the last stop, so that the machine can run again (a guest reboot). Not while running. */
void rv64_machine_rearm(struct rv64_machine *m);

/* The machine timer (ACLINT MTIMER) lives with the harts because every hart compares it. */
uint64_t rv64_machine_mtime(const struct rv64_machine *m);
void rv64_machine_set_mtime(struct rv64_machine *m, uint64_t mtime);
uint64_t rv64_hart_mtimecmp(const struct rv64_hart *h);
void rv64_hart_set_mtimecmp(struct rv64_hart *h, uint64_t val);

/* Device-driven interrupt pending bits (MSIP, MEIP, SEIP); wakes the hart from WFI. */
void rv64_hart_set_irq(struct rv64_hart *h, uint64_t mip_bit, int level);

/* Pause: every hart stops at an instruction boundary and parks; returns once all are parked
 * (at once when the harts are not running). Resume lets them continue. Thread-safe; not from a
 * hart thread. Returns 0 or -errno. */
int rv64_machine_pause(struct rv64_machine *m);
int rv64_machine_resume(struct rv64_machine *m);

/* Dirty-page logging for live migration: one bit per 4 KiB page of guest RAM for every page
 * a hart stored to since the last read ((ram size / 4096 + 63) / 64 words). get reads and
 * clears; it may be called while the harts run. Stores by devices (DMA into guest RAM) are not
 * in this log. Return 0 or -errno. */
int rv64_machine_set_dirty_logging(struct rv64_machine *m, int on);
int rv64_machine_get_dirty_log(struct rv64_machine *m, uint64_t *bitmap);

/* The complete architectural state of a hart, as a plain little-endian struct that snapshots
 * and migration store as it is. version and size come first so that a reader can refuse state
 * written by another layout. The machine timer (mtime) is machine state: save it with
 * rv64_machine_mtime() and restore it with rv64_machine_set_mtime(). */
#define RV64_CPU_STATE_VERSION 1
struct rv64_cpu_state {
    uint32_t version, size;
    uint64_t x[32], pc, f[32];
    uint32_t fflags, frm, priv, wfi;
    uint64_t mstatus, medeleg, mideleg, mie, mip, mip_ext;
    uint64_t mtvec, mscratch, mepc, mcause, mtval, mcounteren, mcountinhibit, menvcfg;
    uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren, senvcfg;
    uint64_t pmpcfg[8], pmpaddr[64];
    uint64_t mtimecmp, instret;
    uint64_t lr_addr, lr_val, lr_valid;
};

/* Only while the machine is paused or not running. set returns -EINVAL for a state of another
 * version or size, or with values the hart cannot hold (privilege, satp mode). */
void rv64_hart_get_state(const struct rv64_hart *h, struct rv64_cpu_state *s);
int rv64_hart_set_state(struct rv64_hart *h, const struct rv64_cpu_state *s);

/* Single-stepping and register access, for tests and debugging tools: runs up to n
 * instructions on the calling thread (WFI returns early); returns how many retired or trapped. */
uint64_t rv64_hart_step(struct rv64_hart *h, uint64_t n);
uint64_t rv64_hart_get_x(const struct rv64_hart *h, int reg);
void rv64_hart_set_x(struct rv64_hart *h, int reg, uint64_t val);
uint64_t rv64_hart_get_f(const struct rv64_hart *h, int reg);
void rv64_hart_set_f(struct rv64_hart *h, int reg, uint64_t val);
uint64_t rv64_hart_get_pc(const struct rv64_hart *h);
void rv64_hart_set_pc(struct rv64_hart *h, uint64_t pc);
int rv64_hart_get_priv(const struct rv64_hart *h); /* 0 U, 1 S, 3 M */
void rv64_hart_set_priv(struct rv64_hart *h, int priv);
/* CSR access as M-mode software would see it; -EINVAL for a CSR that does not exist. */
int rv64_hart_get_csr(struct rv64_hart *h, unsigned csr, uint64_t *val);
int rv64_hart_set_csr(struct rv64_hart *h, unsigned csr, uint64_t val);

#endif
