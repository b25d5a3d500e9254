/* Runtime for Vessel's bare-metal rv64 test programs: UART output, a check library that
 * records pass/fail by name, CSR access, an armable trap recorder and a way to run a
 * function in S- or U-mode. Programs define main() (hart 0) and optionally rt_secondary(). */
#ifndef VESSEL_GUEST_RV64_RT_H
#define VESSEL_GUEST_RV64_RT_H

#include <stdint.h>

/* Board addresses come from the board's own map (the QEMU "virt" layout) */
#include "layout.h"
#define RT_SYSCON_BASE ((uint64_t)RISCV_SYSCON_BASE)
#define RT_CLINT_BASE  ((uint64_t)RISCV_CLINT_BASE)
#define RT_UART0_BASE  ((uint64_t)RISCV_UART0_BASE)
#define RT_RAM_BASE    ((uint64_t)RISCV_RAM_BASE)

#define RT_CLINT_MSIP(h)     (RT_CLINT_BASE + 4UL * (h))
#define RT_CLINT_MTIMECMP(h) (RT_CLINT_BASE + 0x4000UL + 8UL * (h))
#define RT_CLINT_MTIME       (RT_CLINT_BASE + 0xbff8UL)

#define RT_MAX_HARTS 8

/* Privilege levels, as in mstatus.MPP */
#define RT_MODE_U 0
#define RT_MODE_S 1
#define RT_MODE_M 3

/* mstatus bits */
#define MSTATUS_SIE  (1UL << 1)
#define MSTATUS_MIE  (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP  (1UL << 8)
#define MSTATUS_MPP  (3UL << 11)
#define MSTATUS_FS   (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM  (1UL << 18)
#define MSTATUS_MXR  (1UL << 19)
#define MSTATUS_TVM  (1UL << 20)
#define MSTATUS_TW   (1UL << 21)
#define MSTATUS_TSR  (1UL << 22)
#define MSTATUS_SD   (1UL << 63)

/* Exception causes */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15
#define CAUSE_INTERRUPT        (1UL << 63)

/* a7 value of the ecall that ends rt_enter()'s function and returns to M-mode */
#define RT_ECALL_LEAVE 0x56455353UL

#define STR_(x) #x
#define STR(x)  STR_(x)

#define csr_read(csr)                                                                              \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("csrr %0, " STR(csr) : "=r"(v_)::"memory");                               \
        v_;                                                                                        \
    })
#define csr_write(csr, val)                                                                        \
    __asm__ volatile("csrw " STR(csr) ", %0" ::"r"((uint64_t)(val)) : "memory")
#define csr_set(csr, val)                                                                          \
    __asm__ volatile("csrs " STR(csr) ", %0" ::"r"((uint64_t)(val)) : "memory")
#define csr_clear(csr, val)                                                                        \
    __asm__ volatile("csrc " STR(csr) ", %0" ::"r"((uint64_t)(val)) : "memory")
#define csr_swap(csr, val)                                                                         \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("csrrw %0, " STR(csr) ", %1"                                              \
                         : "=r"(v_)                                                                \
                         : "r"((uint64_t)(val))                                                    \
                         : "memory");                                                              \
        v_;                                                                                        \
    })

static inline uint64_t mmio_read64(uint64_t addr)
{
    return *(volatile uint64_t *)addr;
}
static inline void mmio_write64(uint64_t addr, uint64_t v)
{
    *(volatile uint64_t *)addr = v;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

/* hartid, kept in tp by the runtime */
static inline uint64_t rt_hartid(void)
{
    uint64_t h;
    __asm__ volatile("mv %0, tp" : "=r"(h));
    return h;
}

/* Console */
void rt_putc(char c);
void rt_puts(const char *s);
void rt_print_hex(uint64_t v);
void rt_print_dec(uint64_t v);

/* Checks: every check has a name; failures are printed with the values and counted. */
void rt_section(const char *name);
int rt_check(const char *name, int ok);
int rt_check_eq(const char *name, uint64_t got, uint64_t want);
#define CHECK(name, cond)         rt_check((name), !!(cond))
#define CHECK_EQ(name, got, want) rt_check_eq((name), (uint64_t)(got), (uint64_t)(want))
/* For rules where the spec is clear but QEMU 7.2 (the reference) differs: a mismatch prints
 * "NOTE name" without failing, so the difference stays visible in the logs. */
int rt_note(const char *name, int ok);
#define CHECK_SPEC(name, cond) rt_note((name), !!(cond))
/* Prints "ALL PASSED" or "FAILED n" and powers off (exit code 0 or n on QEMU). */
__attribute__((noreturn)) void rt_finish(void);
/* Powers the machine off with a failure code right away. */
__attribute__((noreturn)) void rt_fail_stop(const char *why);

/* Traps. An armed hart records the next exception (cause, tval, epc, the level that took it
 * and that level's status register at entry) and resumes after the faulting instruction; an
 * instruction-fetch fault resumes at ra instead. An unexpected exception stops the program.
 * Interrupts are recorded in irq_*; the runtime then clears that source's enable bit (mie at
 * M-level, sie at S-level) unless irq_hook is set, in which case the hook must quiesce it. */
struct rt_trap_state {
    volatile int armed;
    volatile int count; /* exceptions recorded since the last rt_trap_arm() */
    volatile uint64_t cause, tval, epc, status;
    volatile int level; /* RT_MODE_M or RT_MODE_S */
    volatile int irq_count;
    volatile uint64_t irq_cause, irq_epc, irq_status;
    volatile int irq_level;
    void (*irq_hook)(uint64_t cause, int level);
};
extern struct rt_trap_state rt_trap[RT_MAX_HARTS];

static inline struct rt_trap_state *rt_trap_self(void)
{
    return &rt_trap[rt_hartid()];
}
void rt_trap_arm(void);
/* Returns the number of exceptions recorded since arming and disarms. */
int rt_trap_disarm(void);

/* Runs fn(arg) in mode RT_MODE_S or RT_MODE_U (entered by mret, satp left as is) and
 * returns its result once it ends by its ecall. Only call from M-mode. */
uint64_t rt_enter(int mode, uint64_t (*fn)(uint64_t), uint64_t arg);

/* Trap entry points: M-level (installed in mtvec) and S-level (for stvec). */
void rt_trap_entry_m(void);
void rt_trap_entry_s(void);

/* Harts other than 0 call this after the runtime is up; the default parks them in wfi. */
void rt_secondary(uint64_t hartid);
int main(void);

/* Sets mtimecmp of this hart: a relative deadline in mtime ticks. */
static inline uint64_t rt_mtime(void)
{
    return mmio_read64(RT_CLINT_MTIME);
}

#endif
