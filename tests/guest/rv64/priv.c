/* Privileged architecture: misa, CSR access rules, exceptions and their mcause/mepc/mtval,
 * mret/sret into S and U, delegation, sstatus/sie/sip as views, CLINT timer and software
 * interrupts, S-level interrupts, counters and their enables. */
#include "rt.h"

#define MIP_SSIP (1UL << 1)
#define MIP_MSIP (1UL << 3)
#define MIP_STIP (1UL << 5)
#define MIP_MTIP (1UL << 7)
#define MIP_SEIP (1UL << 9)

#define IRQ_CAUSE(n) (CAUSE_INTERRUPT | (n))
#define SPIN_LIMIT   1000000
#define WFI_LIMIT    100000

/* Runs an asm snippet with the trap recorder armed; returns how many exceptions it took. */
#define TRAPS(insns)                                                                               \
    ({                                                                                             \
        rt_trap_arm();                                                                             \
        __asm__ volatile(insns ::: "memory", "t0", "t1");                                          \
        rt_trap_disarm();                                                                          \
    })

static uint32_t insn_at(uint64_t epc)
{
    volatile uint16_t *p = (volatile uint16_t *)epc;
    return (p[0] & 3) == 3 ? p[0] | (uint32_t)p[1] << 16 : p[0];
}

static void check_illegal(const char *name, int n)
{
    struct rt_trap_state *t = rt_trap_self();

    CHECK_EQ(name, n, 1);
    CHECK_EQ(name, t->cause, CAUSE_ILLEGAL);
    if (n == 1 && t->tval != 0 && t->tval != insn_at(t->epc))
        CHECK_EQ(name, t->tval, insn_at(t->epc)); /* mtval: 0 or the instruction bits */
}

static void test_misa(void)
{
    uint64_t misa = csr_read(misa);
    static const char want[] = "IMAFDCSU";

    rt_section("misa/ids");
    CHECK_EQ("misa MXL=64", misa >> 62, 2);
    for (const char *c = want; *c; c++) {
        char name[] = "misa has X";
        name[9] = *c;
        CHECK(name, misa & (1UL << (*c - 'A')));
    }
    CHECK_EQ("mhartid", csr_read(mhartid), 0);
    CHECK_EQ("read ids", TRAPS("csrr t0, mvendorid\n csrr t0, marchid\n csrr t0, mimpid"), 0);
}

static void test_csr_access(void)
{
    uint64_t old, saved = csr_read(mscratch);

    rt_section("csr access");
    csr_write(mscratch, 0x0123456789abcdefUL);
    CHECK_EQ("mscratch rw", csr_read(mscratch), 0x0123456789abcdefUL);
    csr_write(mscratch, 0xf0);
    __asm__ volatile("csrrs %0, mscratch, %1" : "=r"(old) : "r"(0x0fUL));
    CHECK_EQ("csrrs old", old, 0xf0);
    CHECK_EQ("csrrs new", csr_read(mscratch), 0xff);
    __asm__ volatile("csrrc %0, mscratch, %1" : "=r"(old) : "r"(0xf0UL));
    CHECK_EQ("csrrc old", old, 0xff);
    CHECK_EQ("csrrc new", csr_read(mscratch), 0x0f);
    __asm__ volatile("csrrwi %0, mscratch, 5" : "=r"(old));
    CHECK_EQ("csrrwi old", old, 0x0f);
    __asm__ volatile("csrrsi %0, mscratch, 0x18" : "=r"(old));
    CHECK_EQ("csrrsi", csr_read(mscratch), 0x1d);
    __asm__ volatile("csrrci %0, mscratch, 1" : "=r"(old));
    CHECK_EQ("csrrci", csr_read(mscratch), 0x1c);
    CHECK_EQ("csrrw swap", csr_swap(mscratch, 7), 0x1c);
    csr_write(mscratch, saved);

    /* rs1 = x0 / uimm = 0: no write, so no trap on read-only CSRs */
    CHECK_EQ("csrrs x0 on mhartid",
             TRAPS("csrrs t0, mhartid, x0\n csrrc t0, mvendorid, x0\n"
                   "csrrsi t0, mimpid, 0\n csrrci t0, marchid, 0"),
             0);
    check_illegal("csrrw mhartid", TRAPS("csrrw t0, mhartid, x0"));
    check_illegal("csrw mvendorid", TRAPS("li t0, 1\n csrw mvendorid, t0"));
    /* The spec says rs1 != x0 attempts the write even when the value is 0; QEMU does not trap */
    CHECK_SPEC("csrrs mhartid with a register holding 0 traps",
               TRAPS("li t1, 0\n csrrs t0, mhartid, t1") == 1);
    check_illegal("csrrsi mhartid 1", TRAPS("csrrsi t0, mhartid, 1"));
    check_illegal("missing csr 0x0ff", TRAPS("csrr t0, 0x0ff"));
    check_illegal("missing csr 0x7c0", TRAPS("csrr t0, 0x7c0"));

    csr_write(mepc, 0x80000001UL);
    CHECK_EQ("mepc keeps the address", csr_read(mepc) & ~1UL, 0x80000000UL);
    CHECK_SPEC("mepc bit 0 reads 0", csr_read(mepc) == 0x80000000UL);
}

static void test_exceptions(void)
{
    struct rt_trap_state *t = rt_trap_self();
    uint64_t at;

    rt_section("exceptions");
    rt_trap_arm();
    __asm__ volatile("li a7, 0\n lla %0, 1f\n 1: ecall" : "=r"(at)::"a7", "memory");
    CHECK_EQ("ecall M count", rt_trap_disarm(), 1);
    CHECK_EQ("ecall M cause", t->cause, CAUSE_ECALL_M);
    CHECK_EQ("ecall M epc", t->epc, at);
    CHECK_EQ("ecall M tval", t->tval, 0);
    CHECK_EQ("ecall M MPP", (t->status & MSTATUS_MPP) >> 11, RT_MODE_M);

    rt_trap_arm();
    __asm__ volatile("lla %0, 1f\n 1: ebreak" : "=r"(at)::"memory");
    CHECK_EQ("ebreak count", rt_trap_disarm(), 1);
    CHECK_EQ("ebreak cause", t->cause, CAUSE_BREAKPOINT);
    CHECK_EQ("ebreak epc", t->epc, at);
    CHECK("ebreak tval is pc or 0", t->tval == at || t->tval == 0);

    rt_trap_arm();
    __asm__ volatile("lla %0, 1f\n 1: .2byte 0" : "=r"(at)::"memory");
    check_illegal("zero halfword", rt_trap_disarm());
    CHECK_EQ("zero halfword epc", t->epc, at);
    rt_trap_arm();
    __asm__ volatile("lla %0, 1f\n 1: .4byte 0xfe000033" : "=r"(at)::"memory");
    check_illegal("reserved OP funct7", rt_trap_disarm());
    CHECK_EQ("reserved OP epc", t->epc, at);

    /* mret in M: MIE <- MPIE, MPIE <- 1, MPP <- U */
    uint64_t ms;
    __asm__ volatile("li t0, 0x1800\n csrs mstatus, t0\n li t0, 0x80\n csrc mstatus, t0\n"
                     "lla t0, 1f\n csrw mepc, t0\n mret\n 1: csrr %0, mstatus"
                     : "=r"(ms)
                     :
                     : "t0", "memory");
    CHECK_EQ("mret MIE<-MPIE", ms & MSTATUS_MIE, 0);
    CHECK_EQ("mret MPIE<-1", ms & MSTATUS_MPIE, MSTATUS_MPIE);
    CHECK_EQ("mret MPP<-U", ms & MSTATUS_MPP, 0);
}

static uint64_t s_probe(uint64_t arg)
{
    struct rt_trap_state *t = rt_trap_self();
    uint64_t r = 0;

    (void)arg;
    rt_trap_arm();
    (void)csr_read(sstatus);
    (void)csr_read(sscratch);
    r |= (uint64_t)rt_trap_disarm() << 0; /* 0: S CSRs readable */
    rt_trap_arm();
    (void)csr_read(mscratch);
    r |= (uint64_t)rt_trap_disarm() << 4; /* 1: M CSR trapped */
    r |= (t->cause == CAUSE_ILLEGAL) << 8;
    rt_trap_arm();
    __asm__ volatile("mret" ::: "memory");
    r |= (uint64_t)rt_trap_disarm() << 12; /* 1: mret in S trapped */
    r |= (t->cause == CAUSE_ILLEGAL) << 16;
    return r;
}

static uint64_t u_probe(uint64_t arg)
{
    struct rt_trap_state *t = rt_trap_self();
    uint64_t r = 0;

    (void)arg;
    rt_trap_arm();
    (void)csr_read(sstatus);
    r |= (uint64_t)rt_trap_disarm() << 0;
    r |= (t->cause == CAUSE_ILLEGAL) << 4;
    rt_trap_arm();
    __asm__ volatile("sret" ::: "memory");
    r |= (uint64_t)rt_trap_disarm() << 8;
    r |= (t->cause == CAUSE_ILLEGAL) << 12;
    return r;
}

static uint64_t do_ecall(uint64_t arg)
{
    uint64_t at;

    rt_trap_arm();
    __asm__ volatile("li a7, 0\n lla %0, 1f\n 1: ecall" : "=r"(at)::"a7", "memory");
    rt_trap_disarm();
    return at + arg;
}

static uint64_t add_one(uint64_t arg)
{
    return arg + 1;
}

static void test_modes(void)
{
    struct rt_trap_state *t = rt_trap_self();
    uint64_t at;

    rt_section("mret to S/U, ecall");
    CHECK_EQ("S-mode returns value", rt_enter(RT_MODE_S, add_one, 41), 42);
    CHECK_EQ("U-mode returns value", rt_enter(RT_MODE_U, add_one, 99), 100);
    CHECK_EQ("S-mode CSR rules", rt_enter(RT_MODE_S, s_probe, 0), 0x11110);
    CHECK_EQ("U-mode CSR rules", rt_enter(RT_MODE_U, u_probe, 0), 0x1111);

    at = rt_enter(RT_MODE_S, do_ecall, 0);
    CHECK_EQ("ecall S cause", t->cause, CAUSE_ECALL_S);
    CHECK_EQ("ecall S epc", t->epc, at);
    CHECK_EQ("ecall S level", t->level, RT_MODE_M);
    CHECK_EQ("ecall S MPP", (t->status & MSTATUS_MPP) >> 11, RT_MODE_S);
    at = rt_enter(RT_MODE_U, do_ecall, 0);
    CHECK_EQ("ecall U cause", t->cause, CAUSE_ECALL_U);
    CHECK_EQ("ecall U epc", t->epc, at);
    CHECK_EQ("ecall U MPP", (t->status & MSTATUS_MPP) >> 11, RT_MODE_U);

    /* mret to a lower mode clears MPRV */
    csr_set(mstatus, MSTATUS_MPRV);
    rt_enter(RT_MODE_S, add_one, 0);
    CHECK_SPEC("mret to S clears MPRV (priv 1.12)", !(csr_read(mstatus) & MSTATUS_MPRV));
    csr_clear(mstatus, MSTATUS_MPRV);
}

static uint64_t u_deleg(uint64_t arg)
{
    struct rt_trap_state *t = rt_trap_self();
    uint64_t r = 0;

    (void)arg;
    r |= (uint64_t)(do_ecall(0) != 0);
    r |= (uint64_t)(t->level == RT_MODE_S) << 4;
    r |= (uint64_t)(t->cause == CAUSE_ECALL_U) << 8;
    r |= (uint64_t)((t->status & MSTATUS_SPP) == 0) << 12;
    rt_trap_arm();
    __asm__ volatile(".4byte 0xfe000033" ::: "memory");
    r |= (uint64_t)rt_trap_disarm() << 16;
    r |= (uint64_t)(t->level == RT_MODE_S && t->cause == CAUSE_ILLEGAL) << 20;
    return r;
}

static uint64_t s_ecall_not_delegated(uint64_t arg)
{
    (void)arg;
    return do_ecall(0);
}

static void test_delegation(void)
{
    struct rt_trap_state *t = rt_trap_self();

    rt_section("delegation");
    csr_write(medeleg, ~0UL);
    CHECK_SPEC("medeleg[11] (ecall M) is 0", !(csr_read(medeleg) & (1UL << CAUSE_ECALL_M)));
    csr_write(stvec, (uint64_t)rt_trap_entry_s);
    csr_write(medeleg, (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_ILLEGAL));
    CHECK_EQ("medeleg readback", csr_read(medeleg),
             (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_ILLEGAL));
    CHECK_EQ("U ecall/illegal handled in S", rt_enter(RT_MODE_U, u_deleg, 0), 0x111111);
    rt_enter(RT_MODE_S, s_ecall_not_delegated, 0);
    CHECK_EQ("S ecall still goes to M", t->level, RT_MODE_M);
    CHECK_EQ("S ecall cause", t->cause, CAUSE_ECALL_S);
    csr_write(medeleg, 0);
}

static void test_status_views(void)
{
    rt_section("sstatus/sie/sip views");
    csr_set(mstatus, MSTATUS_SUM);
    CHECK("sstatus shows SUM", csr_read(sstatus) & MSTATUS_SUM);
    csr_clear(sstatus, MSTATUS_SUM);
    CHECK_EQ("sstatus clears mstatus.SUM", csr_read(mstatus) & MSTATUS_SUM, 0);
    csr_set(sstatus, MSTATUS_SIE | MSTATUS_MXR);
    CHECK_EQ("sstatus sets SIE/MXR", csr_read(mstatus) & (MSTATUS_SIE | MSTATUS_MXR),
             MSTATUS_SIE | MSTATUS_MXR);
    csr_clear(mstatus, MSTATUS_SIE | MSTATUS_MXR);
    CHECK_EQ("sstatus SIE cleared", csr_read(sstatus) & MSTATUS_SIE, 0);

    csr_set(mstatus, MSTATUS_MPP);
    CHECK_EQ("sstatus hides MPP", csr_read(sstatus) & MSTATUS_MPP, 0);
    csr_write(sstatus, csr_read(sstatus) & ~MSTATUS_MPP);
    CHECK_EQ("sstatus write keeps MPP", csr_read(mstatus) & MSTATUS_MPP, MSTATUS_MPP);
    csr_write(mie, 0);
    csr_set(mstatus, MSTATUS_MIE);
    CHECK_EQ("sstatus hides MIE", csr_read(sstatus) & MSTATUS_MIE, 0);
    csr_clear(mstatus, MSTATUS_MIE);

    csr_write(mideleg, MIP_SSIP | MIP_STIP | MIP_SEIP);
    CHECK_EQ("mideleg readback", csr_read(mideleg) & (MIP_SSIP | MIP_STIP | MIP_SEIP),
             MIP_SSIP | MIP_STIP | MIP_SEIP);
    csr_write(sie, MIP_SSIP | MIP_STIP | MIP_SEIP);
    CHECK_EQ("sie writes mie", csr_read(mie), MIP_SSIP | MIP_STIP | MIP_SEIP);
    csr_write(sie, 0);
    CHECK_EQ("sie clears mie", csr_read(mie), 0);
    csr_set(mip, MIP_SSIP);
    CHECK("sip shows SSIP", csr_read(sip) & MIP_SSIP);
    csr_clear(sip, MIP_SSIP);
    CHECK_EQ("sip clears SSIP", csr_read(mip) & MIP_SSIP, 0);
    csr_write(mideleg, 0);
}

static void clear_msip(uint64_t cause, int level)
{
    (void)cause;
    (void)level;
    mmio_write32(RT_CLINT_MSIP(0), 0);
}

static int wait_irq(struct rt_trap_state *t, int n)
{
    for (int i = 0; i < WFI_LIMIT && t->irq_count < n; i++)
        __asm__ volatile("wfi");
    return t->irq_count;
}

static void test_m_interrupts(void)
{
    struct rt_trap_state *t = rt_trap_self();
    uint64_t now, deadline;

    rt_section("M interrupts");
    mmio_write64(RT_CLINT_MTIMECMP(0), ~0UL);
    CHECK_EQ("MTIP clear with far mtimecmp", csr_read(mip) & MIP_MTIP, 0);
    mmio_write64(RT_CLINT_MTIMECMP(0), 0);
    CHECK_EQ("MTIP set when mtime >= mtimecmp", csr_read(mip) & MIP_MTIP, MIP_MTIP);
    mmio_write64(RT_CLINT_MTIMECMP(0), ~0UL);
    CHECK_EQ("mip.MTIP not writable", csr_read(mip) & MIP_MTIP, 0);

    /* wfi wakes for a locally enabled interrupt even with MIE = 0 */
    csr_write(mie, MIP_MTIP);
    now = rt_mtime();
    mmio_write64(RT_CLINT_MTIMECMP(0), now + 1000);
    for (int i = 0; i < WFI_LIMIT && !(csr_read(mip) & MIP_MTIP); i++)
        __asm__ volatile("wfi");
    CHECK("wfi wakes with MIE=0", csr_read(mip) & MIP_MTIP);
    CHECK_EQ("no trap with MIE=0", t->irq_count, 0);

    /* Timer interrupt taken in M */
    now = rt_mtime();
    deadline = now + 1000;
    mmio_write64(RT_CLINT_MTIMECMP(0), deadline);
    t->irq_count = 0;
    csr_write(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    wait_irq(t, 1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ("timer irq count", t->irq_count, 1);
    CHECK_EQ("timer irq cause", t->irq_cause, IRQ_CAUSE(7));
    CHECK("timer fired after deadline", rt_mtime() >= deadline);
    CHECK_EQ("trap MPIE<-MIE", t->irq_status & (MSTATUS_MPIE | MSTATUS_MIE), MSTATUS_MPIE);
    CHECK_EQ("trap MPP=M", (t->irq_status & MSTATUS_MPP) >> 11, RT_MODE_M);
    mmio_write64(RT_CLINT_MTIMECMP(0), ~0UL);

    /* Software interrupt */
    mmio_write32(RT_CLINT_MSIP(0), 1);
    CHECK("msip sets mip.MSIP", csr_read(mip) & MIP_MSIP);
    mmio_write32(RT_CLINT_MSIP(0), 0);
    CHECK_EQ("msip clear", csr_read(mip) & MIP_MSIP, 0);
    t->irq_count = 0;
    t->irq_hook = clear_msip;
    csr_write(mie, MIP_MSIP);
    csr_set(mstatus, MSTATUS_MIE);
    mmio_write32(RT_CLINT_MSIP(0), 1);
    wait_irq(t, 1);
    csr_clear(mstatus, MSTATUS_MIE);
    t->irq_hook = 0;
    CHECK_EQ("soft irq count", t->irq_count, 1);
    CHECK_EQ("soft irq cause", t->irq_cause, IRQ_CAUSE(3));
    CHECK_EQ("msip cleared by handler", mmio_read32(RT_CLINT_MSIP(0)), 0);
    csr_write(mie, 0);
}

static uint64_t spin(uint64_t n)
{
    struct rt_trap_state *t = rt_trap_self();

    for (uint64_t i = 0; i < n && !t->irq_count; i++)
        __asm__ volatile("nop");
    return t->irq_count;
}

static uint64_t s_wait_stip(uint64_t arg)
{
    (void)arg;
    csr_set(sie, MIP_STIP);
    csr_set(sstatus, MSTATUS_SIE);
    spin(SPIN_LIMIT);
    csr_clear(sstatus, MSTATUS_SIE);
    return rt_trap_self()->irq_count;
}

static uint64_t s_self_ssip(uint64_t arg)
{
    (void)arg;
    csr_set(sie, MIP_SSIP);
    csr_set(sstatus, MSTATUS_SIE);
    csr_set(sip, MIP_SSIP);
    spin(SPIN_LIMIT);
    csr_clear(sstatus, MSTATUS_SIE);
    csr_clear(sip, MIP_SSIP);
    return rt_trap_self()->irq_count;
}

static void test_lower_interrupts(void)
{
    struct rt_trap_state *t = rt_trap_self();

    rt_section("interrupts below M");
    /* A pending, enabled M interrupt is taken in S even with mstatus.MIE = 0 */
    csr_clear(mstatus, MSTATUS_MIE);
    t->irq_count = 0;
    mmio_write64(RT_CLINT_MTIMECMP(0), 0);
    csr_write(mie, MIP_MTIP);
    CHECK_EQ("M timer preempts S", rt_enter(RT_MODE_S, spin, SPIN_LIMIT), 1);
    CHECK_EQ("preempt level", t->irq_level, RT_MODE_M);
    CHECK_EQ("preempt cause", t->irq_cause, IRQ_CAUSE(7));
    CHECK_EQ("preempt MPP=S", (t->irq_status & MSTATUS_MPP) >> 11, RT_MODE_S);
    mmio_write64(RT_CLINT_MTIMECMP(0), ~0UL);
    csr_write(mie, 0);

    /* What OpenSBI does for Linux: M sets mip.STIP, S takes the delegated timer interrupt */
    csr_write(stvec, (uint64_t)rt_trap_entry_s);
    csr_write(mideleg, MIP_SSIP | MIP_STIP | MIP_SEIP);
    csr_set(mip, MIP_STIP);
    t->irq_count = 0;
    CHECK_EQ("S timer via mip.STIP", rt_enter(RT_MODE_S, s_wait_stip, 0), 1);
    CHECK_EQ("S timer level", t->irq_level, RT_MODE_S);
    CHECK_EQ("S timer scause", t->irq_cause, IRQ_CAUSE(5));
    CHECK("S timer SPP=S", t->irq_status & MSTATUS_SPP);
    CHECK_EQ("S timer SPIE<-SIE", t->irq_status & (MSTATUS_SPIE | MSTATUS_SIE), MSTATUS_SPIE);
    csr_clear(mip, MIP_STIP);

    t->irq_count = 0;
    CHECK_EQ("S soft irq via sip.SSIP", rt_enter(RT_MODE_S, s_self_ssip, 0), 1);
    CHECK_EQ("S soft irq scause", t->irq_cause, IRQ_CAUSE(1));
    CHECK_EQ("S soft irq level", t->irq_level, RT_MODE_S);
    csr_write(mideleg, 0);
    csr_write(mie, 0);
}

#define COUNTER_TRAPS(name)                                                                        \
    static uint64_t read_##name(uint64_t arg)                                                      \
    {                                                                                              \
        (void)arg;                                                                                 \
        rt_trap_arm();                                                                             \
        __asm__ volatile("rd" #name " t0" ::: "t0", "memory");                                     \
        return rt_trap_disarm();                                                                   \
    }
COUNTER_TRAPS(cycle)
COUNTER_TRAPS(time)
COUNTER_TRAPS(instret)

static void test_counters(void)
{
    uint64_t a, b, m1, m2;

    rt_section("counters");
    __asm__ volatile("rdcycle %0" : "=r"(a));
    spin(1000);
    __asm__ volatile("rdcycle %0" : "=r"(b));
    CHECK("cycle increases", b > a);
    uint64_t n = 1000;
    __asm__ volatile("rdinstret %0\n 1: addi %1, %1, -1\n bnez %1, 1b\n rdinstret %2"
                     : "=&r"(a), "+r"(n), "=r"(b));
    CHECK("instret increases", b > a);
    CHECK("instret counted the 2000-instruction loop", b - a >= 2000);
    m1 = rt_mtime();
    __asm__ volatile("rdtime %0" : "=r"(a));
    m2 = rt_mtime();
    CHECK("time between mtime reads", m1 <= a && a <= m2);
    for (int i = 0; i < SPIN_LIMIT && rt_mtime() <= a + 10; i++)
        ;
    __asm__ volatile("rdtime %0" : "=r"(b));
    CHECK("time increases", b > a);
    CHECK_EQ("mcycle readable", TRAPS("csrr t0, mcycle\n csrr t0, minstret"), 0);

    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
    CHECK_EQ("S rdcycle, mcounteren=0", rt_enter(RT_MODE_S, read_cycle, 0), 1);
    CHECK_EQ("S rdtime, mcounteren=0", rt_enter(RT_MODE_S, read_time, 0), 1);
    csr_write(mcounteren, 7);
    CHECK_EQ("S rdcycle, mcounteren=7", rt_enter(RT_MODE_S, read_cycle, 0), 0);
    CHECK_EQ("S rdtime, mcounteren=7", rt_enter(RT_MODE_S, read_time, 0), 0);
    CHECK_EQ("S rdinstret, mcounteren=7", rt_enter(RT_MODE_S, read_instret, 0), 0);
    CHECK_EQ("U rdtime, scounteren=0", rt_enter(RT_MODE_U, read_time, 0), 1);
    csr_write(scounteren, 7);
    CHECK_EQ("U rdtime, scounteren=7", rt_enter(RT_MODE_U, read_time, 0), 0);
    CHECK_EQ("U rdcycle, scounteren=7", rt_enter(RT_MODE_U, read_cycle, 0), 0);
    csr_write(mcounteren, 0);
    CHECK_EQ("U rdtime, mcounteren=0", rt_enter(RT_MODE_U, read_time, 0), 1);
}

int main(void)
{
    test_misa();
    test_csr_access();
    test_exceptions();
    test_modes();
    test_delegation();
    test_status_views();
    test_m_interrupts();
    test_lower_interrupts();
    test_counters();
    return 0;
}
