/* rv64 engine: the privileged architecture (traps, xRET, delegation, CSRs, interrupts). */
#include "rv64_test_util.h"

#define PC0 (RVT_BASE + 0x400)

/* Runs insn at PC0 in privilege priv (bare translation) and returns the new pc. */
static uint64_t run_at(struct rvt *t, int priv, uint32_t insn)
{
    rvt_w32(t, PC0, insn);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_set_priv(t->h, priv);
    rv64_hart_step(t->h, 1);
    return rvt_pc(t);
}

TEST(rv64_priv_illegal_ecall_ebreak)
{
    RVT_SETUP(t);
    const uint32_t bad = CSRRW(0, 0x7ff, 5); /* a CSR that does not exist */

    run_at(t, 3, bad);
    CHECK_MTRAP(t, 2, PC0, bad);
    run_at(t, 3, ECALL);
    CHECK_MTRAP(t, 11, PC0, 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & ST_MPP_MASK, ST_MPP(3));
    run_at(t, 1, ECALL);
    CHECK_MTRAP(t, 9, PC0, 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & ST_MPP_MASK, ST_MPP(1));
    run_at(t, 0, ECALL);
    CHECK_MTRAP(t, 8, PC0, 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & ST_MPP_MASK, ST_MPP(0));
    run_at(t, 0, EBREAK);
    CHECK_MTRAP(t, 3, PC0, PC0);
    /* the trap saves MIE in MPIE and clears MIE */
    rvt_set_csr(t, CSR_MSTATUS, ST_MIE);
    run_at(t, 3, EBREAK);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_MIE | ST_MPIE), ST_MPIE);
    /* instret counts */
    CHECK(rvt_csr(t, CSR_INSTRET) >= 6);
    rvt_fini(t);
}

TEST(rv64_priv_mret)
{
    RVT_SETUP(t);
    rvt_set_csr(t, CSR_MEPC, RVT_BASE + 0x800);
    rvt_set_csr(t, CSR_MSTATUS, ST_MPP(1) | ST_MPIE | ST_MPRV);
    CHECK_EQ(run_at(t, 3, MRET), RVT_BASE + 0x800);
    CHECK_EQ(rv64_hart_get_priv(t->h), 1);
    /* MIE = MPIE, MPIE = 1, MPP = U (least privileged), MPRV cleared as MPP != M */
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_MIE | ST_MPIE | ST_MPP_MASK | ST_MPRV),
             ST_MIE | ST_MPIE);

    rvt_set_csr(t, CSR_MSTATUS, ST_MPP(3) | ST_MPRV);
    CHECK_EQ(run_at(t, 3, MRET), RVT_BASE + 0x800);
    CHECK_EQ(rv64_hart_get_priv(t->h), 3);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_MIE | ST_MPIE | ST_MPP_MASK | ST_MPRV),
             ST_MPIE | ST_MPRV); /* MPP was M: MPRV stays */

    rvt_set_csr(t, CSR_MSTATUS, ST_MPP(0));
    run_at(t, 3, MRET);
    CHECK_EQ(rv64_hart_get_priv(t->h), 0);

    /* mret below M is illegal */
    run_at(t, 1, MRET);
    CHECK_MTRAP(t, 2, PC0, MRET);
    run_at(t, 0, MRET);
    CHECK_MTRAP(t, 2, PC0, MRET);

    /* MPP = 2 is reserved: WARL keeps a legal value */
    rvt_set_csr(t, CSR_MSTATUS, ST_MPP(2));
    CHECK(((rvt_csr(t, CSR_MSTATUS) >> 11) & 3) != 2);
    rvt_fini(t);
}

TEST(rv64_priv_sret)
{
    RVT_SETUP(t);
    rvt_set_csr(t, CSR_SEPC, RVT_BASE + 0x900);
    rvt_set_csr(t, CSR_MSTATUS, ST_SPIE); /* SPP = U */
    CHECK_EQ(run_at(t, 1, SRET), RVT_BASE + 0x900);
    CHECK_EQ(rv64_hart_get_priv(t->h), 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_SIE | ST_SPIE | ST_SPP), ST_SIE | ST_SPIE);

    rvt_set_csr(t, CSR_MSTATUS, ST_SPP | ST_SIE);   /* SPIE = 0 */
    CHECK_EQ(run_at(t, 3, SRET), RVT_BASE + 0x900); /* M may sret */
    CHECK_EQ(rv64_hart_get_priv(t->h), 1);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_SIE | ST_SPIE | ST_SPP), ST_SPIE);

    run_at(t, 0, SRET);
    CHECK_MTRAP(t, 2, PC0, SRET);
    rvt_set_csr(t, CSR_MSTATUS, ST_TSR);
    run_at(t, 1, SRET);
    CHECK_MTRAP(t, 2, PC0, SRET);
    /* TW: wfi in S traps */
    rvt_set_csr(t, CSR_MSTATUS, ST_TW);
    run_at(t, 1, WFI);
    CHECK_MTRAP(t, 2, PC0, WFI);
    /* TVM: satp and sfence.vma in S trap */
    rvt_set_csr(t, CSR_MSTATUS, ST_TVM);
    run_at(t, 1, CSRRS(5, CSR_SATP, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_SATP, 0));
    run_at(t, 1, SFENCE_VMA(0, 0));
    CHECK_MTRAP(t, 2, PC0, SFENCE_VMA(0, 0));
    rvt_fini(t);
}

TEST(rv64_priv_delegation)
{
    RVT_SETUP(t);
    rvt_set_csr(t, CSR_MEDELEG, (1 << 8) | (1 << 2) | (1 << 3));
    CHECK_EQ(rvt_csr(t, CSR_MEDELEG), (1 << 8) | (1 << 2) | (1 << 3));
    rvt_set_csr(t, CSR_MSTATUS, ST_SIE);

    run_at(t, 0, ECALL);
    CHECK_STRAP(t, 8, PC0, 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_SIE | ST_SPIE | ST_SPP), ST_SPIE);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead); /* M state untouched */

    run_at(t, 1, 0xffffffff); /* illegal from S, delegated */
    CHECK_STRAP(t, 2, PC0, 0xffffffff);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & ST_SPP, ST_SPP);

    run_at(t, 1, ECALL); /* ecall from S is not delegated */
    CHECK_MTRAP(t, 9, PC0, 0);

    run_at(t, 3, EBREAK); /* traps from M never go to S */
    CHECK_MTRAP(t, 3, PC0, PC0);

    /* ecall from M cannot be delegated: medeleg[11] is read-only zero */
    rvt_set_csr(t, CSR_MEDELEG, ~0ULL);
    CHECK_EQ(rvt_csr(t, CSR_MEDELEG) & (1 << 11), 0);
    /* vectored stvec is only for interrupts */
    rvt_set_csr(t, CSR_STVEC, RVT_SHANDLER | 1);
    run_at(t, 0, ECALL);
    CHECK_EQ(rvt_pc(t), RVT_SHANDLER);
    rvt_fini(t);
}

TEST(rv64_priv_csr_access)
{
    RVT_SETUP(t);
    /* lower privilege: M CSRs from S, S CSRs from U */
    run_at(t, 1, CSRRS(5, CSR_MSTATUS, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_MSTATUS, 0));
    run_at(t, 1, CSRRW(0, CSR_MSCRATCH, 5));
    CHECK_MTRAP(t, 2, PC0, CSRRW(0, CSR_MSCRATCH, 5));
    run_at(t, 0, CSRRS(5, CSR_SSTATUS, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_SSTATUS, 0));
    run_at(t, 0, CSRRS(5, CSR_MHARTID, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_MHARTID, 0));
    rvt_set_csr(t, CSR_SSCRATCH, 0x55);
    CHECK_EQ(run_at(t, 1, CSRRS(5, CSR_SSCRATCH, 0)), PC0 + 4);
    CHECK_EQ(rvt_x(t, 5), 0x55);

    /* read-only CSRs: reading is fine, any write attempt is illegal */
    rv64_hart_set_x(t->h, 5, 7);
    CHECK_EQ(run_at(t, 3, CSRRS(5, CSR_MHARTID, 0)), PC0 + 4);
    CHECK_EQ(rvt_x(t, 5), 0);
    CHECK_EQ(run_at(t, 3, CSRRSI(6, CSR_MHARTID, 0)), PC0 + 4);
    CHECK_EQ(run_at(t, 3, CSRRCI(6, CSR_MHARTID, 0)), PC0 + 4);
    CHECK_EQ(run_at(t, 3, CSRRS(6, CSR_CYCLE, 0)), PC0 + 4);
    CHECK_EQ(run_at(t, 3, CSRRS(6, CSR_INSTRET, 0)), PC0 + 4);
    CHECK(rvt_x(t, 6) > 0);
    run_at(t, 3, CSRRW(0, CSR_MHARTID, 5));
    CHECK_MTRAP(t, 2, PC0, CSRRW(0, CSR_MHARTID, 5));
    rv64_hart_set_x(t->h, 6, 0); /* rs1 != x0 is a write even when the value is 0 */
    run_at(t, 3, CSRRS(5, CSR_MHARTID, 6));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_MHARTID, 6));
    run_at(t, 3, CSRRWI(0, CSR_CYCLE, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRWI(0, CSR_CYCLE, 0));
    /* counters from S/U need mcounteren/scounteren */
    run_at(t, 1, CSRRS(5, CSR_CYCLE, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_CYCLE, 0));
    rvt_set_csr(t, 0x306, 7); /* mcounteren */
    CHECK_EQ(run_at(t, 1, CSRRS(5, CSR_CYCLE, 0)), PC0 + 4);
    run_at(t, 0, CSRRS(5, CSR_CYCLE, 0));
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    rvt_set_csr(t, 0x106, 7); /* scounteren */
    CHECK_EQ(run_at(t, 0, CSRRS(5, CSR_CYCLE, 0)), PC0 + 4);
    rvt_fini(t);
}

TEST(rv64_priv_csr_ops)
{
    RVT_SETUP(t);
    rvt_set_csr(t, CSR_MSCRATCH, 0xf0);
    rv64_hart_set_x(t->h, 5, 0x0f);
    run_at(t, 3, CSRRW(7, CSR_MSCRATCH, 5));
    CHECK_EQ(rvt_x(t, 7), 0xf0);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 0x0f);
    rv64_hart_set_x(t->h, 5, 0x300);
    run_at(t, 3, CSRRS(7, CSR_MSCRATCH, 5));
    CHECK_EQ(rvt_x(t, 7), 0x0f);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 0x30f);
    rv64_hart_set_x(t->h, 5, 0x101);
    run_at(t, 3, CSRRC(7, CSR_MSCRATCH, 5));
    CHECK_EQ(rvt_x(t, 7), 0x30f);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 0x20e);
    run_at(t, 3, CSRRWI(7, CSR_MSCRATCH, 31));
    CHECK_EQ(rvt_x(t, 7), 0x20e);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 31);
    run_at(t, 3, CSRRCI(7, CSR_MSCRATCH, 5));
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 26);
    run_at(t, 3, CSRRSI(7, CSR_MSCRATCH, 16 + 1));
    CHECK_EQ(rvt_x(t, 7), 26);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 27);
    /* rd == rs1: the old value goes to rd, the write uses the old rs1 */
    rv64_hart_set_x(t->h, 5, 0x1234);
    run_at(t, 3, CSRRW(5, CSR_MSCRATCH, 5));
    CHECK_EQ(rvt_x(t, 5), 27);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 0x1234);
    /* misa reads RV64 with I, M, A, F, D, C, S, U */
    CHECK_EQ(rvt_csr(t, CSR_MISA) >> 62, 2);
    CHECK_EQ(rvt_csr(t, CSR_MISA) & 0x3ffffff, 0x14112d);
    /* mepc/sepc bit 0 is always zero */
    rvt_set_csr(t, CSR_MEPC, 0x1235);
    CHECK_EQ(rvt_csr(t, CSR_MEPC), 0x1234);
    rvt_fini(t);
}

TEST(rv64_priv_sstatus_sie_sip_views)
{
    RVT_SETUP(t);
    uint64_t v;

    rvt_set_csr(t, CSR_MSTATUS, ST_MIE | ST_MPIE | ST_MPP(3) | ST_TVM | ST_SIE | ST_SUM);
    v = rvt_csr(t, CSR_SSTATUS);
    CHECK_EQ(v & (ST_MIE | ST_MPIE | ST_MPP_MASK | ST_TVM), 0);
    CHECK_EQ(v & (ST_SIE | ST_SUM), ST_SIE | ST_SUM);
    CHECK_EQ((v >> 32) & 3, 2);                             /* UXL = 64 */
    rvt_set_csr(t, CSR_SSTATUS, ST_SPP | ST_SPIE | ST_MXR); /* clears SIE and SUM */
    v = rvt_csr(t, CSR_MSTATUS);
    CHECK_EQ(v & (ST_SIE | ST_SUM), 0);
    CHECK_EQ(v & (ST_SPP | ST_SPIE | ST_MXR), ST_SPP | ST_SPIE | ST_MXR);
    CHECK_EQ(v & (ST_MIE | ST_MPIE | ST_MPP_MASK | ST_TVM), /* M bits untouched */
             ST_MIE | ST_MPIE | ST_MPP(3) | ST_TVM);
    rvt_set_csr(t, CSR_SSTATUS, ~0ULL);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_MIE | ST_MPRV | ST_TSR), ST_MIE);
    /* FS dirty shows as SD in both */
    rvt_set_csr(t, CSR_MSTATUS, ST_FS(3));
    CHECK(rvt_csr(t, CSR_MSTATUS) & ST_SD);
    CHECK(rvt_csr(t, CSR_SSTATUS) & ST_SD);

    /* sie/sip: only delegated interrupts are visible */
    rvt_set_csr(t, CSR_MIDELEG, (1 << 1) | (1 << 5));
    rvt_set_csr(t, CSR_MIE, (1 << 1) | (1 << 5) | (1 << 9) | (1 << 7));
    CHECK_EQ(rvt_csr(t, CSR_SIE), (1 << 1) | (1 << 5));
    rvt_set_csr(t, CSR_SIE, 0);
    CHECK_EQ(rvt_csr(t, CSR_MIE), (1 << 9) | (1 << 7));
    rvt_set_csr(t, CSR_SIE, 1 << 1);
    CHECK_EQ(rvt_csr(t, CSR_MIE), (1 << 9) | (1 << 7) | (1 << 1));
    rvt_set_csr(t, CSR_MIP, (1 << 1) | (1 << 9)); /* SSIP, SEIP */
    CHECK_EQ(rvt_csr(t, CSR_SIP), 1 << 1);
    CHECK_EQ(rvt_csr(t, CSR_MIP), (1 << 1) | (1 << 9));
    rvt_set_csr(t, CSR_SIP, 0);
    CHECK_EQ(rvt_csr(t, CSR_MIP), 1 << 9);
    rvt_set_csr(t, CSR_MIE, 0);          /* else the pending SEIP would trap to M at once */
    run_at(t, 1, CSRRSI(0, CSR_SIP, 2)); /* S sets its own SSIP */
    CHECK_EQ(rvt_csr(t, CSR_MIP), (1 << 9) | (1 << 1));
    rvt_fini(t);
}

TEST(rv64_priv_satp_modes)
{
    RVT_SETUP(t);
    const uint64_t sv39 = 8ULL << 60 | 0x80123;

    rvt_set_csr(t, CSR_SATP, sv39);
    CHECK_EQ(rvt_csr(t, CSR_SATP), sv39);
    rv64_hart_set_x(t->h, 5, 10ULL << 60 | 0x80456);
    run_at(t, 3, CSRRW(0, CSR_SATP, 5)); /* unsupported mode: no effect at all */
    CHECK_EQ(rvt_pc(t), PC0 + 4);
    CHECK_EQ(rvt_csr(t, CSR_SATP), sv39);
    rv64_hart_set_x(t->h, 5, 11ULL << 60 | 0x80456);
    run_at(t, 3, CSRRW(0, CSR_SATP, 5));
    CHECK_EQ(rvt_csr(t, CSR_SATP), sv39);
    rv64_hart_set_x(t->h, 5, 1ULL << 60 | 0x80456);
    run_at(t, 3, CSRRW(0, CSR_SATP, 5));
    CHECK_EQ(rvt_csr(t, CSR_SATP), sv39);
    rv64_hart_set_x(t->h, 5, 9ULL << 60 | 0x80456);
    run_at(t, 3, CSRRW(0, CSR_SATP, 5));
    CHECK_EQ(rvt_csr(t, CSR_SATP), 9ULL << 60 | 0x80456);
    rv64_hart_set_x(t->h, 5, 0);
    run_at(t, 3, CSRRW(0, CSR_SATP, 5));
    CHECK_EQ(rvt_csr(t, CSR_SATP), 0);
    rvt_fini(t);
}

TEST(rv64_priv_fs_off)
{
    RVT_SETUP(t);
    rv64_hart_set_x(t->h, 10, RVT_DATA);
    rvt_w64(t, RVT_DATA, 0x3ff0000000000000ULL);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & ST_FS_MASK, 0); /* off at reset */
    run_at(t, 3, FLW(1, 10, 0));
    CHECK_MTRAP(t, 2, PC0, FLW(1, 10, 0));
    run_at(t, 3, FLD(1, 10, 0));
    CHECK_MTRAP(t, 2, PC0, FLD(1, 10, 0));
    run_at(t, 3, FSD(1, 10, 8));
    CHECK_MTRAP(t, 2, PC0, FSD(1, 10, 8));
    run_at(t, 3, CSRRS(5, CSR_FCSR, 0));
    CHECK_MTRAP(t, 2, PC0, CSRRS(5, CSR_FCSR, 0));
    run_at(t, 3, 0x02000053); /* fadd.d f0, f0, f0 */
    CHECK_MTRAP(t, 2, PC0, 0x02000053);
    rvt_set_csr(t, CSR_MSTATUS, ST_FS(1)); /* initial */
    CHECK_EQ(run_at(t, 3, FLD(1, 10, 0)), PC0 + 4);
    CHECK_EQ(rv64_hart_get_f(t->h, 1), 0x3ff0000000000000ULL);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_FS_MASK | ST_SD), ST_FS(3) | ST_SD); /* dirty */
    CHECK_EQ(run_at(t, 3, FLW(2, 10, 4)), PC0 + 4);
    CHECK_EQ(rv64_hart_get_f(t->h, 2), 0xffffffff3ff00000ULL); /* NaN-boxed */
    rvt_fini(t);
}

TEST(rv64_priv_ssip_to_s)
{
    RVT_SETUP(t);
    /* M: delegate SSI, enable it in sie and sstatus.SIE, then raise mip.SSIP with csrrs */
    rvt_set_csr(t, CSR_MIDELEG, 1 << 1);
    rvt_set_csr(t, CSR_MIE, 1 << 1);
    rvt_set_csr(t, CSR_MSTATUS, ST_SIE | ST_MPP(1));
    rvt_set_csr(t, CSR_MEPC, RVT_BASE + 0x800);
    rvt_w32(t, RVT_BASE + 0x800, RVT_NOP);
    rv64_hart_set_x(t->h, 5, 2);
    RVT_PROG(t, PC0, CSRRS(0, CSR_MIP, 5), RVT_NOP, MRET);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_step(t->h, 2); /* in M a pending S interrupt is not taken */
    CHECK_EQ(rvt_pc(t), PC0 + 8);
    CHECK_EQ(rvt_csr(t, CSR_MIP), 2);
    CHECK_EQ(rvt_csr(t, CSR_SIP), 2);
    rv64_hart_step(t->h, 2); /* mret to S: now it is taken */
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), INTR | 1);
    CHECK_EQ(rvt_csr(t, CSR_SEPC), RVT_BASE + 0x800);
    CHECK_EQ(rvt_csr(t, CSR_STVAL), 0);
    CHECK_EQ(rv64_hart_get_priv(t->h), 1);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_SIE | ST_SPIE | ST_SPP), ST_SPIE | ST_SPP);
    CHECK(rvt_pc(t) == RVT_SHANDLER || rvt_pc(t) == RVT_SHANDLER + 4);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);

    /* with SIE clear, S does not take it; U always does */
    rvt_set_csr(t, CSR_MSTATUS, 0);
    rv64_hart_set_pc(t->h, RVT_BASE + 0x800);
    rv64_hart_set_priv(t->h, 1);
    rvt_set_csr(t, CSR_SCAUSE, 0);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), RVT_BASE + 0x804);
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), 0);
    rv64_hart_set_pc(t->h, RVT_BASE + 0x800);
    rv64_hart_set_priv(t->h, 0);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), INTR | 1);
    CHECK_EQ(rvt_csr(t, CSR_SEPC), RVT_BASE + 0x800);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & ST_SPP, 0);

    /* vectored stvec: interrupt cause 1 goes to base + 4 */
    rvt_set_csr(t, CSR_STVEC, RVT_SHANDLER | 1);
    rv64_hart_set_pc(t->h, RVT_BASE + 0x800);
    rv64_hart_set_priv(t->h, 0);
    rv64_hart_step(t->h, 1);
    CHECK(rvt_pc(t) == RVT_SHANDLER + 4 || rvt_pc(t) == RVT_SHANDLER + 8);
    rvt_fini(t);
}

TEST(rv64_priv_timer_interrupt)
{
    RVT_SETUP(t);
    RVT_PROG(t, PC0, RVT_NOP, RVT_NOP, RVT_NOP);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_set_mtimecmp(t->h, 0);
    CHECK_EQ(rvt_csr(t, CSR_MIP) & (1 << 7), 1 << 7);
    rvt_set_csr(t, CSR_MIE, 1 << 7);
    rv64_hart_step(t->h, 1); /* MIE = 0 in M: not taken */
    CHECK_EQ(rvt_pc(t), PC0 + 4);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_set_csr(t, CSR_MSTATUS, ST_MIE);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0x8000000000000007ULL);
    CHECK_EQ(rvt_csr(t, CSR_MEPC), PC0 + 4);
    CHECK_EQ(rvt_csr(t, CSR_MTVAL), 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_MIE | ST_MPIE | ST_MPP_MASK), ST_MPIE | ST_MPP(3));
    CHECK(rvt_pc(t) == RVT_HANDLER || rvt_pc(t) == RVT_HANDLER + 4);

    /* from S the M timer is taken regardless of MIE; vectored mtvec -> base + 4 * 7 */
    rvt_set_csr(t, CSR_MTVEC, RVT_HANDLER | 1);
    rvt_set_csr(t, CSR_MSTATUS, 0);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), INTR | 7);
    CHECK_EQ(rvt_csr(t, CSR_MEPC), PC0);
    CHECK_EQ(rv64_hart_get_priv(t->h), 3);
    CHECK(rvt_pc(t) == RVT_HANDLER + 28 || rvt_pc(t) == RVT_HANDLER + 32);

    /* priority: MSI before MTI */
    rv64_hart_set_irq(t->h, (1 << 3), 1);
    rvt_set_csr(t, CSR_MIE, (1 << 7) | (1 << 3));
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), INTR | 3);
    rv64_hart_set_irq(t->h, (1 << 3), 0);

    /* disarmed timer */
    rv64_hart_set_mtimecmp(t->h, ~0ULL);
    CHECK_EQ(rvt_csr(t, CSR_MIP) & (1 << 7), 0);
    rvt_fini(t);
}

TEST(rv64_priv_wfi)
{
    RVT_SETUP(t);
    RVT_PROG(t, PC0, WFI, ADDI(5, 0, 1), ADDI(5, 5, 1));
    rv64_hart_set_pc(t->h, PC0);
    rvt_set_csr(t, CSR_MIE, 1 << 7);
    CHECK_EQ(rv64_hart_step(t->h, 3), 1); /* wfi returns early: nothing pending */
    CHECK_EQ(rvt_pc(t), PC0 + 4);
    CHECK_EQ(rvt_x(t, 5), 0);
    rv64_hart_set_mtimecmp(t->h, 0); /* pending and enabled in mie, MIE = 0: resume, no trap */
    CHECK_EQ(rv64_hart_step(t->h, 2), 2);
    CHECK_EQ(rvt_x(t, 5), 2);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rv64_hart_set_mtimecmp(t->h, ~0ULL);
    run_at(t, 0, WFI); /* U-mode wfi is illegal (S-mode exists) */
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    rvt_fini(t);
}

TEST(rv64_priv_reset_state)
{
    RVT_SETUP(t);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_x(t->h, 20, 5);
    rv64_hart_reset(t->h, RVT_BASE + 0x40, 0x1111, 0x2222);
    CHECK_EQ(rvt_pc(t), RVT_BASE + 0x40);
    CHECK_EQ(rv64_hart_get_priv(t->h), 3);
    CHECK_EQ(rvt_x(t, 10), 0); /* a0 = hart id */
    CHECK_EQ(rvt_x(t, 11), 0x1111);
    CHECK_EQ(rvt_x(t, 12), 0x2222);
    CHECK_EQ(rvt_x(t, 20), 0);
    CHECK_EQ(rvt_csr(t, CSR_SATP), 0);
    CHECK_EQ(rvt_csr(t, CSR_MSTATUS) & (ST_MIE | ST_MPRV), 0);
    CHECK_EQ(rvt_csr(t, CSR_MIE), 0);
    rvt_fini(t);
}

TEST(rv64_priv_s_interrupt_not_delegated)
{
    RVT_SETUP(t);
    /* STIP raised by M software, not delegated: an M-level interrupt with cause 5 */
    rvt_set_csr(t, CSR_MIP, 1 << 5);
    rvt_set_csr(t, CSR_MIE, 1 << 5);
    rvt_w32(t, PC0, RVT_NOP);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_step(t->h, 1); /* M with MIE = 0: nothing */
    CHECK_EQ(rvt_pc(t), PC0 + 4);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_set_priv(t->h, 0); /* from U it is taken, MIE or not */
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), INTR | 5);
    CHECK_EQ(rvt_csr(t, CSR_MEPC), PC0);
    CHECK_EQ(rv64_hart_get_priv(t->h), 3);
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), 0);
    /* MTIP in mip cannot be written by software */
    rvt_set_csr(t, CSR_MIP, 1 << 7);
    CHECK_EQ(rvt_csr(t, CSR_MIP) & (1 << 7), 0);
    rvt_fini(t);
}
