/* rv64 internals: the hart's architectural state, its software TLB and the machine. Only the
 * engine's own files include this; boards use rv64.h. */
#ifndef VESSEL_ENGINE_RV64_CPU_H
#define VESSEL_ENGINE_RV64_CPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/rv64/fpu.h"
#include "engine/rv64/rv64.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };

/* exception causes */
enum {
    EXC_INSN_MISALIGNED = 0,
    EXC_INSN_ACCESS = 1,
    EXC_ILLEGAL = 2,
    EXC_BREAKPOINT = 3,
    EXC_LOAD_MISALIGNED = 4,
    EXC_LOAD_ACCESS = 5,
    EXC_STORE_MISALIGNED = 6,
    EXC_STORE_ACCESS = 7,
    EXC_ECALL_U = 8,
    EXC_ECALL_S = 9,
    EXC_ECALL_M = 11,
    EXC_INSN_PAGE = 12,
    EXC_LOAD_PAGE = 13,
    EXC_STORE_PAGE = 15,
};
#define CAUSE_INTERRUPT (1ULL << 63)

/* mstatus */
#define MS_SIE       (1ULL << 1)
#define MS_MIE       (1ULL << 3)
#define MS_SPIE      (1ULL << 5)
#define MS_MPIE      (1ULL << 7)
#define MS_SPP       (1ULL << 8)
#define MS_MPP_SHIFT 11
#define MS_MPP       (3ULL << MS_MPP_SHIFT)
#define MS_FS_SHIFT  13
#define MS_FS        (3ULL << MS_FS_SHIFT)
#define MS_MPRV      (1ULL << 17)
#define MS_SUM       (1ULL << 18)
#define MS_MXR       (1ULL << 19)
#define MS_TVM       (1ULL << 20)
#define MS_TW        (1ULL << 21)
#define MS_TSR       (1ULL << 22)
#define MS_UXL       (2ULL << 32)
#define MS_SXL       (2ULL << 34)
#define MS_SD        (1ULL << 63)

/* Access kinds, also the index of the TLB array. */
enum { ACC_R = 0, ACC_W = 1, ACC_X = 2 };

#define TLB_SIZE 256
/* An entry maps one 4 KiB virtual page to host memory: host = va + addend. tag is
 * (vpn << 1) | user-page bit (the bit only occurs in the S-mode set, where SUM decides). */
struct rv64_tlb_entry {
    uint64_t tag;
    uintptr_t addend;
};
#define TLB_EMPTY (~0ULL)

/* Sets by effective privilege: 0 = U, 1 = S, 2 = M (bare). */
#define TLB_SETS 3

/* Decoded instructions live in basic blocks: straight-line runs that end at a control
 * transfer, at an instruction the fast loop does not handle itself, at a page end or at
 * BLOCK_MAX. A block is cached by the host address of its first byte (that is, by guest physical
 * address) and an epoch. As the ISA allows, stores reach instruction fetch only after FENCE.I,
 * which starts a new epoch; so does a reset. Linux issues FENCE.I (locally and through SBI
 * remote fences) before it runs code it wrote or mapped. */
struct rv64_dinsn {
    uint32_t raw; /* as fetched, 16 bits for a compressed instruction */
    int32_t imm;
    uint8_t op, rd, rs1, rs2; /* rd 32 stands for x0 */
    uint8_t len;
};
#define BLOCK_MAX 16
struct rv64_block {
    uint64_t tag; /* host address | epoch << DCACHE_EPOCH_SHIFT; 0 when empty */
    struct rv64_dinsn insn[BLOCK_MAX + 1]; /* ends with an end-of-block marker */
};
#define BLOCK_CACHE_SIZE   2048 /* blocks per hart, indexed by pc */
#define DCACHE_EPOCH_SHIFT 48

struct rv64_hart {
    /* --- architectural state (what a snapshot saves) --- */
    uint64_t x[33]; /* x[32] is where decoded instructions with rd = x0 write */
    uint64_t pc;
    struct rv64_fpu fp;
    int priv;
    uint64_t mstatus, misa, medeleg, mideleg, mie, mip; /* mip: software-writable bits only */
    uint64_t mtvec, mscratch, mepc, mcause, mtval, mcounteren, mcountinhibit, menvcfg;
    uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren, senvcfg;
    uint64_t pmpcfg[8], pmpaddr[64];
    uint64_t mtimecmp;
    uint64_t instret;
    uint64_t lr_addr, lr_val;
    bool lr_valid;

    /* --- device-driven state --- */
    uint64_t mip_ext; /* MSIP, MEIP, SEIP from devices; atomic access only */

    /* --- runtime, rebuilt on demand --- */
    struct rv64_tlb_entry tlb[TLB_SETS][3][TLB_SIZE];
    uint8_t tlb_level[TLB_SETS][3][TLB_SIZE]; /* page table level of the entry's leaf */
    bool tlb_super[TLB_SETS][3]; /* may hold superpage entries (since the last full flush) */
    struct rv64_block *blocks;   /* BLOCK_CACHE_SIZE of them */
    uint64_t dc_epoch;           /* 1..0xffff */
    int budget;                  /* instructions left in the current batch; 0 ends it early */
    bool wfi;                    /* stopped in WFI, waiting for an interrupt */
    uint32_t last_insn;          /* for the trace */
    struct rv64_machine *m;
    int id;
    pthread_t thread;
    pthread_mutex_t lock; /* protects kick, for WFI sleeping */
    pthread_cond_t cond;
    int kick;
    FILE *trace;

    /* --- JIT tier (jit_*.c); the translated code reaches these through the hart pointer --- */
    struct rv64_jit *jit;   /* NULL on the interpreter tier */
    int64_t jit_left;       /* instructions the translated code may still run */
    int64_t jit_left0;      /* jit_left when the dispatcher entered translated code */
    uint64_t jit_val;       /* a slow-path load's value */
    uintptr_t jit_link;     /* the jump that asked to be linked to the block at pc */
    const void *jit_jcache; /* the indirect-jump cache */
    const struct rv64_tlb_entry *jit_xtlb; /* the fetch TLB of the current privilege */
    uint64_t jit_mode;                     /* what translations depend on (see jit.h) */
    uint32_t jit_epoch; /* FENCE.I and resets count it: translations get rechecked */
    /* --- counters for metrics (rv64_machine_vcpu_stats): written by the hart's own thread
     * only, with relaxed atomic stores (stat_add), read by any thread --- */
    uint64_t n_insns, n_exceptions, n_interrupts, n_wfi;
    uint64_t cpu_ns_done; /* CPU time of this hart's earlier threads (under m->lock) */
    bool thread_live;     /* a thread runs the hart now: its clock counts (under m->lock) */
};

/* counter += n by its only writer (no locked instruction). */
static inline void rv64_stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

struct rv64_machine {
    struct gmem *ram;
    enum rv64_tier tier; /* resolved: interp or jit */
    struct bus *bus;
    int nharts;
    struct rv64_hart *harts[RV64_MAX_HARTS];
    int64_t mtime_offset; /* mtime = host monotonic ticks + offset */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop_reason; /* enum rv64_stop; atomic access */
    /* Dirty-page log (dirty.c): a page is marked when a hart fills a TLB entry that can
     * write it; reading the log (harts paused) collects the marks and drops every write
     * entry, so that the next store to a page marks it again. */
    uint64_t *dirty; /* one bit per RAM page, atomic words; allocated when first enabled */
    int dirty_on;    /* atomic */
    int pause_req;   /* atomic: harts park at the next batch boundary */
    int parked;      /* harts parked, under lock */
    int running;     /* hart threads exist (between run() start and its return), under lock */
    pthread_cond_t park_cond; /* parked changed, or pause_req cleared */
    FILE *trace;
    bool trace_chunks; /* the JIT tier traces runs of translated code (machine.c) */
};

/* dirty.c */
static inline void rv64_dirty_mark(struct rv64_machine *m, const uint8_t *host_page)
{
    uint64_t pfn;

    if (likely(!__atomic_load_n(&m->dirty_on, __ATOMIC_ACQUIRE)))
        return;
    pfn = (uint64_t)(host_page - m->ram->hva) >> 12;
    __atomic_fetch_or(&m->dirty[pfn / 64], 1ULL << (pfn % 64), __ATOMIC_SEQ_CST);
}

/* machine.c */
void rv64_hart_park(struct rv64_hart *h);
uint64_t rv64_mtime_now(const struct rv64_machine *m);
void rv64_hart_kick(struct rv64_hart *h);
void rv64_hart_sleep(struct rv64_hart *h);
static inline int rv64_stopping(const struct rv64_machine *m)
{
    return __atomic_load_n(&m->stop_reason, __ATOMIC_RELAXED);
}

/* csr.c */
void rv64_trap(struct rv64_hart *h, uint64_t cause, uint64_t tval);
bool rv64_check_interrupts(struct rv64_hart *h);
uint64_t rv64_pending_interrupts(struct rv64_hart *h);
int rv64_csr_read(struct rv64_hart *h, unsigned csr, uint64_t *val);
int rv64_csr_write(struct rv64_hart *h, unsigned csr, uint64_t val);
void rv64_mret(struct rv64_hart *h);
void rv64_sret(struct rv64_hart *h);
void rv64_hart_reset_state(struct rv64_hart *h);

/* mmu.c */
void rv64_tlb_flush(struct rv64_hart *h);
/* SFENCE.VMA with an address: the entries that map va's leaf page (or superpage). */
void rv64_tlb_flush_va(struct rv64_hart *h, uint64_t va);
/* Effective privilege for data accesses (MPRV). */
static inline int rv64_data_priv(const struct rv64_hart *h)
{
    if (h->priv == PRV_M && (h->mstatus & MS_MPRV))
        return (int)((h->mstatus & MS_MPP) >> MS_MPP_SHIFT);
    return h->priv;
}
static inline int rv64_tlb_set(int priv)
{
    return priv == PRV_M ? 2 : priv;
}
/* Translates va for an access of size bytes (not crossing a page). On success returns 0 and
 * either *host (RAM) or, with *host == NULL, *pa for MMIO. On failure the trap is taken and
 * -1 is returned. */
int rv64_translate(struct rv64_hart *h, uint64_t va, int acc, int priv, void **host, uint64_t *pa);

/* mem.c: loads/stores with their slow paths (MMIO, page crossing, misalignment) */
bool rv64_load_slow(struct rv64_hart *h, uint64_t va, int size, uint64_t *val);
bool rv64_store_slow(struct rv64_hart *h, uint64_t va, int size, uint64_t val);
bool rv64_fetch_slow(struct rv64_hart *h, uint64_t va, uint32_t *insn);
/* Host pointer for an aligned atomic access (AMO, LR, SC); takes the trap and returns NULL. */
void *rv64_amo_ptr(struct rv64_hart *h, uint64_t va, int size, int acc);

static inline struct rv64_tlb_entry *rv64_tlb_lookup(struct rv64_hart *h, int set, int acc,
                                                     uint64_t va)
{
    uint64_t vpn = va >> 12;
    struct rv64_tlb_entry *e = &h->tlb[set][acc][vpn & (TLB_SIZE - 1)];
    uint64_t key = vpn << 1;

    if (likely(e->tag == key))
        return e;
    if (e->tag == (key | 1) && (h->mstatus & MS_SUM))
        return e;
    return NULL;
}

static inline bool rv64_load(struct rv64_hart *h, uint64_t va, int size, uint64_t *val)
{
    struct rv64_tlb_entry *e = rv64_tlb_lookup(h, rv64_tlb_set(rv64_data_priv(h)), ACC_R, va);

    if (likely(e && (va & 0xfff) + (unsigned)size <= 4096)) {
        const void *p = (const void *)(uintptr_t)(va + e->addend);
        switch (size) {
        case 1: *val = *(const uint8_t *)p; return true;
        case 2: {
            uint16_t v;
            memcpy(&v, p, 2);
            *val = v;
            return true;
        }
        case 4: {
            uint32_t v;
            memcpy(&v, p, 4);
            *val = v;
            return true;
        }
        default: memcpy(val, p, 8); return true;
        }
    }
    return rv64_load_slow(h, va, size, val);
}

static inline bool rv64_store(struct rv64_hart *h, uint64_t va, int size, uint64_t val)
{
    struct rv64_tlb_entry *e = rv64_tlb_lookup(h, rv64_tlb_set(rv64_data_priv(h)), ACC_W, va);

    if (likely(e && (va & 0xfff) + (unsigned)size <= 4096)) {
        void *p = (void *)(uintptr_t)(va + e->addend);
        switch (size) {
        case 1: *(uint8_t *)p = (uint8_t)val; return true;
        case 2: {
            uint16_t v = (uint16_t)val;
            memcpy(p, &v, 2);
            return true;
        }
        case 4: {
            uint32_t v = (uint32_t)val;
            memcpy(p, &v, 4);
            return true;
        }
        default: memcpy(p, &val, 8); return true;
        }
    }
    return rv64_store_slow(h, va, size, val);
}

/* rvc.c: expands a 16-bit instruction to its 32-bit equivalent; 0 when illegal. */
uint32_t rv64_rvc_expand(uint16_t c);

/* exec.c */
/* FENCE.I and resets: decoded instructions are not trusted any more. */
void rv64_dcache_flush(struct rv64_hart *h);
/* Runs up to n instructions; returns how many were executed (trapping ones included). Ends
 * early when an instruction sets h->budget to 0 (traps, xRET, WFI, most CSR writes). */
uint64_t rv64_exec(struct rv64_hart *h, uint64_t n);
/* exec_one.c: the reference semantics of one instruction (see there). */
void rv64_exec_one(struct rv64_hart *h, uint32_t insn, uint32_t raw, unsigned len);

#endif
