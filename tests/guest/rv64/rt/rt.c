/* Runtime for the rv64 test programs: console, checks, trap recording. See rt.h. */
#include "rt.h"

#define UART_THR        0
#define UART_LSR        5
#define UART_LSR_THRE   0x20
#define UART_POLL_LIMIT 100000

#define SYSCON_PASS 0x5555
#define SYSCON_FAIL 0x3333

struct rt_trap_state rt_trap[RT_MAX_HARTS];

static unsigned rt_checks, rt_failures;
static volatile int rt_console_lock;

void rt_putc(char c)
{
    volatile uint8_t *uart = (volatile uint8_t *)RT_UART0_BASE;

    /* Bounded wait: a UART that never reports THRE must not hang the test */
    for (int i = 0; i < UART_POLL_LIMIT && !(uart[UART_LSR] & UART_LSR_THRE); i++)
        ;
    uart[UART_THR] = (uint8_t)c;
}

void rt_puts(const char *s)
{
    while (*s)
        rt_putc(*s++);
}

void rt_print_hex(uint64_t v)
{
    rt_puts("0x");
    for (int i = 60; i >= 0; i -= 4)
        rt_putc("0123456789abcdef"[(v >> i) & 0xf]);
}

void rt_print_dec(uint64_t v)
{
    char buf[24];
    int n = 0;

    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        rt_putc(buf[--n]);
}

void rt_section(const char *name)
{
    rt_puts("== ");
    rt_puts(name);
    rt_putc('\n');
}

int rt_check(const char *name, int ok)
{
    rt_checks++;
    if (ok)
        return 1;
    rt_failures++;
    rt_puts("FAIL ");
    rt_puts(name);
    rt_putc('\n');
    return 0;
}

int rt_check_eq(const char *name, uint64_t got, uint64_t want)
{
    rt_checks++;
    if (got == want)
        return 1;
    rt_failures++;
    rt_puts("FAIL ");
    rt_puts(name);
    rt_puts(": got ");
    rt_print_hex(got);
    rt_puts(" want ");
    rt_print_hex(want);
    rt_putc('\n');
    return 0;
}

int rt_note(const char *name, int ok)
{
    if (!ok) {
        rt_puts("NOTE ");
        rt_puts(name);
        rt_puts(": differs from the spec (tolerated)\n");
    }
    return ok;
}

static __attribute__((noreturn)) void rt_poweroff(uint32_t code)
{
    mmio_write32(RT_SYSCON_BASE, code ? (code << 16) | SYSCON_FAIL : SYSCON_PASS);
    for (;;)
        __asm__ volatile("wfi");
}

void rt_finish(void)
{
    rt_print_dec(rt_checks);
    rt_puts(" checks\n");
    if (rt_failures == 0) {
        rt_puts("ALL PASSED\n");
        rt_poweroff(0);
    }
    rt_puts("FAILED ");
    rt_print_dec(rt_failures);
    rt_putc('\n');
    rt_poweroff(rt_failures > 0xffff ? 0xffff : rt_failures);
}

void rt_fail_stop(const char *why)
{
    rt_puts("FATAL ");
    rt_puts(why);
    rt_puts("\nFAILED ");
    rt_print_dec(rt_failures + 1);
    rt_putc('\n');
    rt_poweroff(rt_failures + 1);
}

void rt_trap_arm(void)
{
    struct rt_trap_state *t = rt_trap_self();

    t->count = 0;
    t->cause = t->tval = t->epc = t->status = ~0UL;
    t->level = -1;
    __asm__ volatile("" ::: "memory");
    t->armed = 1;
    __asm__ volatile("" ::: "memory");
}

int rt_trap_disarm(void)
{
    struct rt_trap_state *t = rt_trap_self();

    __asm__ volatile("" ::: "memory");
    t->armed = 0;
    return t->count;
}

/* Frame layout written by TRAP_ENTRY in start.S */
struct rt_frame {
    uint64_t x[32];
    uint64_t epc, cause, tval, status;
};

#define REG_RA 1
#define REG_A0 10
#define REG_A7 17

/* ecall from S-level to M-level with the leave request and the function's result */
static void rt_leave_from_s(uint64_t result)
{
    register uint64_t a0 __asm__("a0") = result;
    register uint64_t a7 __asm__("a7") = RT_ECALL_LEAVE;
    __asm__ volatile("ecall" ::"r"(a0), "r"(a7) : "memory");
}

static void rt_unexpected(struct rt_frame *f, int level)
{
    rt_puts(level == RT_MODE_M ? "unexpected M-level trap: cause "
                               : "unexpected S-level trap: cause ");
    rt_print_hex(f->cause);
    rt_puts(" epc ");
    rt_print_hex(f->epc);
    rt_puts(" tval ");
    rt_print_hex(f->tval);
    rt_puts(" hart ");
    rt_print_dec(f->x[4]);
    rt_putc('\n');
    rt_fail_stop("unexpected trap");
}

/* Called by the trap entries; returns 1 to leave rt_enter()'s function for M-mode. */
int rt_trap_handler(struct rt_frame *f, int level)
{
    struct rt_trap_state *t = &rt_trap[f->x[4] % RT_MAX_HARTS];
    uint64_t cause = f->cause;

    if (cause & CAUSE_INTERRUPT) {
        uint64_t bit = 1UL << (cause & 63);

        t->irq_count++;
        t->irq_cause = cause;
        t->irq_epc = f->epc;
        t->irq_status = f->status;
        t->irq_level = level;
        if (t->irq_hook)
            t->irq_hook(cause, level);
        else if (level == RT_MODE_M)
            csr_clear(mie, bit);
        else
            csr_clear(sie, bit);
        return 0;
    }

    int is_ecall = cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_S || cause == CAUSE_ECALL_M;
    if (is_ecall && f->x[REG_A7] == RT_ECALL_LEAVE && cause != CAUSE_ECALL_M) {
        if (level == RT_MODE_M)
            return 1;
        /* A delegated leave request from U: pass the result on to M-mode */
        rt_leave_from_s(f->x[REG_A0]);
        rt_fail_stop("leave ecall returned");
    }

    if (!t->armed)
        rt_unexpected(f, level);

    t->count++;
    t->cause = cause;
    t->tval = f->tval;
    t->epc = f->epc;
    t->status = f->status;
    t->level = level;
    t->armed = 0;

    if (cause == CAUSE_FETCH_PAGE || cause == CAUSE_FETCH_ACCESS ||
        cause == CAUSE_MISALIGNED_FETCH) {
        f->epc = f->x[REG_RA];
    } else {
        /* Skip the faulting instruction: 16 or 32 bits (code is identity-mapped) */
        uint16_t low = *(volatile uint16_t *)f->epc;
        f->epc += (low & 3) == 3 ? 4 : 2;
    }
    return 0;
}
