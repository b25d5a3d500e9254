/* RV64A: LR/SC rules, every AMO in .W (sign-extended result, 32-bit operand) and .D forms,
 * signed vs unsigned min/max, misaligned atomics, and a two-hart contention test on shared
 * counters (amoadd.w, amoadd.d, LR/SC and an amoswap spinlock around plain accesses). */
#include "rt.h"

#define AMO(op, addr, v)                                                                           \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile(op " %0, %2, (%1)"                                                        \
                         : "=r"(r_)                                                                \
                         : "r"(addr), "r"((uint64_t)(v))                                           \
                         : "memory");                                                              \
        r_;                                                                                        \
    })

#define HI 0xaaaaaaaa00000000UL

static uint64_t cell[4] __attribute__((aligned(16)));

struct amo_case {
    const char *name;
    uint64_t before, src, ret, after;
};

#define W_CASE(op, lo, src, ret, lo_after)                                                         \
    {                                                                                              \
        op, HI | (lo), src, ret, HI | (lo_after)                                                   \
    }

static const struct amo_case w_cases[] = {
    W_CASE("amoswap.w", 0x80000000UL, 0x100000005UL, 0xffffffff80000000UL, 0x5),
    W_CASE("amoadd.w", 0x80000000UL, 0xffffffffUL, 0xffffffff80000000UL, 0x7fffffff),
    W_CASE("amoadd.w carry stays in word", 0xffffffffUL, 1, 0xffffffffffffffffUL, 0),
    W_CASE("amoxor.w", 0x80000000UL, 0xffff0000UL, 0xffffffff80000000UL, 0x7fff0000),
    W_CASE("amoand.w", 0xf0f0f0f0UL, 0xff00ff00UL, 0xfffffffff0f0f0f0UL, 0xf000f000),
    W_CASE("amoor.w", 0x80000000UL, 1, 0xffffffff80000000UL, 0x80000001),
    W_CASE("amomin.w", 0x80000000UL, 0x100000000UL, 0xffffffff80000000UL, 0x80000000),
    W_CASE("amomin.w -1", 5, 0xffffffffUL, 5, 0xffffffff),
    W_CASE("amomax.w", 0x80000000UL, 1, 0xffffffff80000000UL, 1),
    W_CASE("amominu.w", 0x80000000UL, 1, 0xffffffff80000000UL, 1),
    W_CASE("amomaxu.w", 0x80000000UL, 1, 0xffffffff80000000UL, 0x80000000),
    W_CASE("amomaxu.w ignores high", 1, 0x180000000UL, 1, 0x80000000),
};

static const struct amo_case d_cases[] = {
    {"amoswap.d", 0x8000000000000001UL, 7, 0x8000000000000001UL, 7},
    {"amoadd.d", ~0UL, 2, ~0UL, 1},
    {"amoxor.d", 0xff00ff00ff00ff00UL, ~0UL, 0xff00ff00ff00ff00UL, 0x00ff00ff00ff00ffUL},
    {"amoand.d", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL, 0xff00ff00ff00ff00UL,
     0x0f000f000f000f00UL},
    {"amoor.d", 0xff00000000000000UL, 0xffUL, 0xff00000000000000UL, 0xff000000000000ffUL},
    {"amomin.d", ~0UL, 1, ~0UL, ~0UL},
    {"amomax.d", ~0UL, 1, ~0UL, 1},
    {"amominu.d", ~0UL, 1, ~0UL, 1},
    {"amomaxu.d", ~0UL, 1, ~0UL, ~0UL},
};

/* The mnemonic is the case name up to the first space */
static uint64_t run_amo(const char *name, uint64_t *a, uint64_t v)
{
    char m[16];
    unsigned n = 0;

    while (name[n] && name[n] != ' ' && n < sizeof(m) - 1) {
        m[n] = name[n];
        n++;
    }
    m[n] = 0;
#define TRY(mn)                                                                                    \
    do {                                                                                           \
        const char *p_ = mn, *q_ = m;                                                              \
        while (*p_ && *p_ == *q_)                                                                  \
            p_++, q_++;                                                                            \
        if (!*p_ && !*q_)                                                                          \
            return AMO(mn, a, v);                                                                  \
    } while (0)
    TRY("amoswap.w");
    TRY("amoadd.w");
    TRY("amoxor.w");
    TRY("amoand.w");
    TRY("amoor.w");
    TRY("amomin.w");
    TRY("amomax.w");
    TRY("amominu.w");
    TRY("amomaxu.w");
    TRY("amoswap.d");
    TRY("amoadd.d");
    TRY("amoxor.d");
    TRY("amoand.d");
    TRY("amoor.d");
    TRY("amomin.d");
    TRY("amomax.d");
    TRY("amominu.d");
    TRY("amomaxu.d");
#undef TRY
    rt_fail_stop(name);
}

static void check_case(const struct amo_case *c)
{
    cell[0] = c->before;
    cell[1] = 0x5555555555555555UL;
    CHECK_EQ(c->name, run_amo(c->name, &cell[0], c->src), c->ret);
    CHECK_EQ(c->name, cell[0], c->after);
    CHECK_EQ(c->name, cell[1], 0x5555555555555555UL);
}

static void test_amos(void)
{
    rt_section("amo");
    for (unsigned i = 0; i < sizeof(w_cases) / sizeof(w_cases[0]); i++)
        check_case(&w_cases[i]);
    for (unsigned i = 0; i < sizeof(d_cases) / sizeof(d_cases[0]); i++)
        check_case(&d_cases[i]);
    cell[0] = 10;
    __asm__ volatile("amoadd.d zero, %1, (%0)" ::"r"(cell), "r"(5UL) : "memory");
    CHECK_EQ("amoadd.d rd=x0", cell[0], 15);
    cell[0] = 10;
    CHECK_EQ("amoadd.d.aqrl", AMO("amoadd.d.aqrl", cell, 1), 10);
    CHECK_EQ("amoadd.d.aqrl value", cell[0], 11);
}

static void test_lrsc(void)
{
    uint64_t old, rc, rc2;

    rt_section("lr/sc");
    cell[0] = 100;
    __asm__ volatile("lr.d %0, (%2)\n sc.d %1, %3, (%2)"
                     : "=&r"(old), "=&r"(rc)
                     : "r"(cell), "r"(200UL)
                     : "memory");
    CHECK_EQ("lr.d value", old, 100);
    CHECK_EQ("sc.d succeeds", rc, 0);
    CHECK_EQ("sc.d stored", cell[0], 200);
    __asm__ volatile("sc.d %0, %2, (%1)" : "=r"(rc) : "r"(cell), "r"(300UL) : "memory");
    CHECK("sc.d after sc.d fails", rc != 0);
    CHECK_EQ("failed sc.d stores nothing", cell[0], 200);

    cell[1] = 7;
    __asm__ volatile("lr.d %0, (%3)\n sc.d %1, %4, (%5)\n sc.d %2, %4, (%3)"
                     : "=&r"(old), "=&r"(rc), "=&r"(rc2)
                     : "r"(&cell[0]), "r"(9UL), "r"(&cell[2])
                     : "memory");
    CHECK("sc.d to another address fails", rc != 0);
    CHECK("sc.d after a failed sc.d fails", rc2 != 0);
    CHECK_EQ("other address untouched", cell[2], 0);
    CHECK_EQ("reserved address untouched", cell[0], 200);

    cell[0] = HI | 0x80000000UL;
    __asm__ volatile("lr.w %0, (%2)\n sc.w %1, %3, (%2)"
                     : "=&r"(old), "=&r"(rc)
                     : "r"(cell), "r"(0x123456789UL)
                     : "memory");
    CHECK_EQ("lr.w sign-extends", old, 0xffffffff80000000UL);
    CHECK_EQ("sc.w succeeds", rc, 0);
    CHECK_EQ("sc.w stores 32 bits", cell[0], HI | 0x23456789UL);
    __asm__ volatile("sc.w %0, %2, (%1)" : "=r"(rc) : "r"(cell), "r"(1UL) : "memory");
    CHECK("sc.w without reservation fails", rc != 0);

    /* A store by the same hart between lr and sc to the same address: sc may fail or succeed,
     * but the loop form always makes progress */
    cell[0] = 0;
    for (int i = 0; i < 100; i++)
        __asm__ volatile(
            "1: lr.d t0, (%0)\n addi t0, t0, 1\n sc.d t1, t0, (%0)\n bnez t1, 1b" ::"r"(cell)
            : "t0", "t1", "memory");
    CHECK_EQ("lr/sc loop", cell[0], 100);
}

static void test_misaligned(void)
{
    struct rt_trap_state *t = rt_trap_self();
    uint8_t *p = (uint8_t *)cell + 2;
    int n;

    rt_section("misaligned atomics");
    rt_trap_arm();
    __asm__ volatile("amoadd.w zero, %1, (%0)" ::"r"(p), "r"(1UL) : "memory");
    n = rt_trap_disarm();
    CHECK_EQ("misaligned amoadd.w traps", n, 1);
    CHECK("misaligned amo cause",
          t->cause == CAUSE_MISALIGNED_STORE || t->cause == CAUSE_STORE_ACCESS);
    CHECK_EQ("misaligned amo tval", t->tval, (uint64_t)p);
    rt_trap_arm();
    __asm__ volatile("lr.d t0, (%0)" ::"r"(p) : "t0", "memory");
    n = rt_trap_disarm();
    CHECK_EQ("misaligned lr.d traps", n, 1);
    CHECK("misaligned lr cause",
          t->cause == CAUSE_MISALIGNED_LOAD || t->cause == CAUSE_LOAD_ACCESS);
    CHECK_EQ("misaligned lr tval", t->tval, (uint64_t)p);
    rt_trap_arm();
    __asm__ volatile("sc.w t0, zero, (%0)" ::"r"(p) : "t0", "memory");
    n = rt_trap_disarm();
    /* The spec requires the trap; QEMU 7.2 fails the sc (no reservation) without one */
    if (CHECK_SPEC("misaligned sc.w traps", n == 1))
        CHECK("misaligned sc cause",
              t->cause == CAUSE_MISALIGNED_STORE || t->cause == CAUSE_STORE_ACCESS);
}

/* Two harts */
#define ITERS      100000
#define LOCK_ITERS 20000
#define TICKS_S    10000000UL /* mtime runs at 10 MHz on the virt board */

static volatile uint32_t ready, go, done, lock;
static volatile uint32_t count_w;
static volatile uint64_t count_d, count_lrsc, count_locked;

static void hammer(void)
{
    for (int i = 0; i < ITERS; i++) {
        __asm__ volatile("amoadd.w zero, %1, (%0)" ::"r"(&count_w), "r"(1UL) : "memory");
        __asm__ volatile("amoadd.d zero, %1, (%0)" ::"r"(&count_d), "r"(1UL) : "memory");
        __asm__ volatile(
            "1: lr.d t0, (%0)\n addi t0, t0, 1\n sc.d t1, t0, (%0)\n bnez t1, 1b" ::"r"(&count_lrsc)
            : "t0", "t1", "memory");
    }
    for (int i = 0; i < LOCK_ITERS; i++) {
        __asm__ volatile("li t1, 1\n 1: amoswap.w.aq t0, t1, (%0)\n bnez t0, 1b" ::"r"(&lock)
                         : "t0", "t1", "memory");
        count_locked = count_locked + 1;
        __asm__ volatile("amoswap.w.rl zero, zero, (%0)" ::"r"(&lock) : "memory");
    }
}

void rt_secondary(uint64_t hartid)
{
    if (hartid == 1) {
        __asm__ volatile("amoadd.w zero, %1, (%0)" ::"r"(&ready), "r"(1UL) : "memory");
        while (!go)
            ;
        hammer();
        __asm__ volatile("amoadd.w zero, %1, (%0)" ::"r"(&done), "r"(1UL) : "memory");
    }
    for (;;)
        __asm__ volatile("wfi");
}

static int wait_flag(volatile uint32_t *flag, uint64_t ticks)
{
    uint64_t end = rt_mtime() + ticks;

    while (!*flag)
        if (rt_mtime() > end)
            return 0;
    return 1;
}

static void test_two_harts(void)
{
    rt_section("two harts");
    if (!CHECK("hart 1 is running (run with 2 harts)", wait_flag(&ready, 10 * TICKS_S)))
        return;
    go = 1;
    hammer();
    if (!CHECK("hart 1 finished", wait_flag(&done, 40 * TICKS_S)))
        return;
    CHECK_EQ("amoadd.w total", count_w, 2 * ITERS);
    CHECK_EQ("amoadd.d total", count_d, 2 * ITERS);
    CHECK_EQ("lr/sc total", count_lrsc, 2 * ITERS);
    CHECK_EQ("spinlock total", count_locked, 2 * LOCK_ITERS);
}

int main(void)
{
    test_amos();
    test_lrsc();
    test_misaligned();
    test_two_harts();
    return 0;
}
