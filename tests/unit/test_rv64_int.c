/* rv64 engine: RV64I and M instructions, loads/stores (RAM, MMIO, misaligned), x0. */
#include "rv64_test_util.h"

/* x7 = x5 op x6 */
#define R(f7, f3)  OP(f7, f3, 7, 5, 6)
#define RW(f7, f3) OPW(f7, f3, 7, 5, 6)
/* x7 = x5 op imm */
#define I(f3, imm)  OPI(f3, 7, 5, imm)
#define IW(f3, imm) OPIW(f3, 7, 5, imm)

#define ILLEGAL 0xbad0bad0bad0bad0ULL

TEST(rv64_int_alu_reg)
{
    RVT_SETUP(t);
    CHECK_EQ(rvt_alu(t, R(0, 0), 5, 7), 12);                        /* add */
    CHECK_EQ(rvt_alu(t, R(0, 0), ~0ULL, 1), 0);                     /* add wraps */
    CHECK_EQ(rvt_alu(t, R(0x20, 0), 5, 7), (uint64_t)-2);           /* sub */
    CHECK_EQ(rvt_alu(t, R(0x20, 0), 0, 1), ~0ULL);                  /* sub */
    CHECK_EQ(rvt_alu(t, R(0, 1), 1, 63), 1ULL << 63);               /* sll */
    CHECK_EQ(rvt_alu(t, R(0, 1), 1, 64 + 3), 8);                    /* sll: 6 bits */
    CHECK_EQ(rvt_alu(t, R(0, 2), (uint64_t)-1, 0), 1);              /* slt */
    CHECK_EQ(rvt_alu(t, R(0, 2), 0, (uint64_t)-1), 0);              /* slt */
    CHECK_EQ(rvt_alu(t, R(0, 3), (uint64_t)-1, 0), 0);              /* sltu */
    CHECK_EQ(rvt_alu(t, R(0, 3), 0, (uint64_t)-1), 1);              /* sltu */
    CHECK_EQ(rvt_alu(t, R(0, 4), 0xff00, 0x0ff0), 0xf0f0);          /* xor */
    CHECK_EQ(rvt_alu(t, R(0, 5), 1ULL << 63, 63), 1);               /* srl */
    CHECK_EQ(rvt_alu(t, R(0, 5), 1ULL << 63, 64), 1ULL << 63);      /* srl: 6 bits */
    CHECK_EQ(rvt_alu(t, R(0x20, 5), 1ULL << 63, 63), ~0ULL);        /* sra */
    CHECK_EQ(rvt_alu(t, R(0x20, 5), 0x4000000000000000ULL, 62), 1); /* sra pos */
    CHECK_EQ(rvt_alu(t, R(0, 6), 0xff00, 0x0ff0), 0xfff0);          /* or */
    CHECK_EQ(rvt_alu(t, R(0, 7), 0xff00, 0x0ff0), 0x0f00);          /* and */
    CHECK_EQ(rvt_alu(t, R(0x20, 1), 1, 1), ILLEGAL);                /* no "subsll" */
    CHECK_EQ(rvt_alu(t, R(0x40, 0), 1, 1), ILLEGAL);                /* bad funct7 */
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    rvt_fini(t);
}

TEST(rv64_int_alu_imm)
{
    RVT_SETUP(t);
    CHECK_EQ(rvt_alu(t, I(0, -1), 0, 0), ~0ULL);                      /* addi sign-extends */
    CHECK_EQ(rvt_alu(t, I(0, -2048), 0, 0), (uint64_t)-2048);         /* min imm */
    CHECK_EQ(rvt_alu(t, I(0, 2047), 1, 0), 2048);                     /* max imm */
    CHECK_EQ(rvt_alu(t, I(2, -1), (uint64_t)-2, 0), 1);               /* slti */
    CHECK_EQ(rvt_alu(t, I(2, -1), 0, 0), 0);                          /* slti */
    CHECK_EQ(rvt_alu(t, I(3, -1), 0xfffffffffffffffeULL, 0), 1);      /* sltiu: imm = 2^64-1 */
    CHECK_EQ(rvt_alu(t, I(3, 1), 0, 0), 1);                           /* seqz */
    CHECK_EQ(rvt_alu(t, I(3, 1), 5, 0), 0);                           /* seqz */
    CHECK_EQ(rvt_alu(t, I(4, -1), 0x1234, 0), ~0x1234ULL);            /* xori: not */
    CHECK_EQ(rvt_alu(t, I(6, -256), 0x12, 0), 0xffffffffffffff12ULL); /* ori */
    CHECK_EQ(rvt_alu(t, I(7, -256), 0x1234, 0), 0x1200);              /* andi */
    /* shifts: shamt 0, 31, 32, 63 (imm[5] set is legal on RV64) */
    CHECK_EQ(rvt_alu(t, I(1, 0), 0x8000000000000001ULL, 0), 0x8000000000000001ULL);
    CHECK_EQ(rvt_alu(t, I(1, 31), 1, 0), 1ULL << 31);
    CHECK_EQ(rvt_alu(t, I(1, 32), 1, 0), 1ULL << 32);
    CHECK_EQ(rvt_alu(t, I(1, 63), 3, 0), 1ULL << 63);
    CHECK_EQ(rvt_alu(t, I(5, 0), 1ULL << 63, 0), 1ULL << 63);
    CHECK_EQ(rvt_alu(t, I(5, 31), 1ULL << 63, 0), 1ULL << 32);
    CHECK_EQ(rvt_alu(t, I(5, 32), 1ULL << 63, 0), 1ULL << 31);
    CHECK_EQ(rvt_alu(t, I(5, 63), 1ULL << 63, 0), 1);
    CHECK_EQ(rvt_alu(t, I(5, 0x400 | 0), 1ULL << 63, 0), 1ULL << 63); /* srai 0 */
    CHECK_EQ(rvt_alu(t, I(5, 0x400 | 31), 1ULL << 63, 0), 0xffffffff00000000ULL);
    CHECK_EQ(rvt_alu(t, I(5, 0x400 | 32), 1ULL << 63, 0), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_alu(t, I(5, 0x400 | 63), 1ULL << 63, 0), ~0ULL);
    CHECK_EQ(rvt_alu(t, I(5, 0x400 | 63), 1ULL << 62, 0), 0);
    /* imm[11:6] other than 0 (and 0x10 for srai) is reserved */
    CHECK_EQ(rvt_alu(t, I(1, 0x40 | 1), 1, 0), ILLEGAL);
    CHECK_EQ(rvt_alu(t, I(1, 0x400 | 1), 1, 0), ILLEGAL);
    CHECK_EQ(rvt_alu(t, I(5, 0x200 | 1), 1, 0), ILLEGAL);
    CHECK_EQ(rvt_alu(t, I(5, 0x440 | 1), 1, 0), ILLEGAL);
    rvt_fini(t);
}

TEST(rv64_int_word_ops)
{
    RVT_SETUP(t);
    CHECK_EQ(rvt_alu(t, RW(0, 0), 0x7fffffff, 1), 0xffffffff80000000ULL); /* addw */
    CHECK_EQ(rvt_alu(t, RW(0, 0), 0x1ffffffffULL, 1), 0);                 /* addw */
    CHECK_EQ(rvt_alu(t, RW(0x20, 0), 0, 1), ~0ULL);                       /* subw */
    CHECK_EQ(rvt_alu(t, RW(0x20, 0), 0x80000000ULL, 1), 0x7fffffff);      /* subw */
    CHECK_EQ(rvt_alu(t, RW(0, 1), 1, 31), 0xffffffff80000000ULL);         /* sllw */
    CHECK_EQ(rvt_alu(t, RW(0, 1), 1, 32), 1);                             /* sllw: 5 bits */
    CHECK_EQ(rvt_alu(t, RW(0, 5), 0xffffffff80000000ULL, 0), 0xffffffff80000000ULL); /* srlw 0 */
    CHECK_EQ(rvt_alu(t, RW(0, 5), 0xffffffff80000000ULL, 1), 0x40000000);            /* srlw */
    CHECK_EQ(rvt_alu(t, RW(0, 5), 0x1234500000000ULL, 4), 0);                    /* srlw: low 32 */
    CHECK_EQ(rvt_alu(t, RW(0x20, 5), 0x80000000ULL, 31), ~0ULL);                 /* sraw */
    CHECK_EQ(rvt_alu(t, RW(0x20, 5), 0x80000000ULL, 33), 0xffffffffc0000000ULL); /* 5 bits */
    CHECK_EQ(rvt_alu(t, IW(0, 0), 0x12345678ffffffffULL, 0), ~0ULL);             /* sext.w */
    CHECK_EQ(rvt_alu(t, IW(0, -1), 0x80000000ULL, 0), 0x7fffffff);               /* addiw */
    CHECK_EQ(rvt_alu(t, IW(1, 0), 0x80000000ULL, 0), 0xffffffff80000000ULL);     /* slliw 0 */
    CHECK_EQ(rvt_alu(t, IW(1, 31), 3, 0), 0xffffffff80000000ULL);                /* slliw 31 */
    CHECK_EQ(rvt_alu(t, IW(5, 0), 0xffffffff80000000ULL, 0), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_alu(t, IW(5, 31), 0x80000000ULL, 0), 1);             /* srliw */
    CHECK_EQ(rvt_alu(t, IW(5, 0x400 | 31), 0x80000000ULL, 0), ~0ULL); /* sraiw */
    CHECK_EQ(rvt_alu(t, IW(5, 0x400 | 4), 0x00000000f0000000ULL, 0), 0xffffffffff000000ULL);
    /* shamt[5] (insn bit 25) set is reserved for the W shifts */
    CHECK_EQ(rvt_alu(t, IW(1, 32), 1, 0), ILLEGAL);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    CHECK_EQ(rvt_csr(t, CSR_MTVAL), IW(1, 32));
    CHECK_EQ(rvt_alu(t, IW(5, 32), 1, 0), ILLEGAL);
    CHECK_EQ(rvt_alu(t, IW(5, 0x400 | 32), 1, 0), ILLEGAL);
    CHECK_EQ(rvt_alu(t, RW(0, 2), 1, 1), ILLEGAL); /* no sltw */
    CHECK_EQ(rvt_alu(t, IW(2, 0), 1, 0), ILLEGAL);
    rvt_fini(t);
}

TEST(rv64_int_mul)
{
    RVT_SETUP(t);
    const uint64_t m1 = ~0ULL, min = 1ULL << 63;
    CHECK_EQ(rvt_alu(t, R(1, 0), 0x100000001ULL, 0x100000001ULL), 0x200000001ULL); /* mul */
    CHECK_EQ(rvt_alu(t, R(1, 0), m1, 3), (uint64_t)-3);
    CHECK_EQ(rvt_alu(t, R(1, 1), m1, m1), 0); /* mulh: (-1)(-1) = 1 */
    CHECK_EQ(rvt_alu(t, R(1, 1), m1, 2), m1); /* mulh: -2 -> high = -1 */
    CHECK_EQ(rvt_alu(t, R(1, 1), min, min), 1ULL << 62);
    CHECK_EQ(rvt_alu(t, R(1, 2), m1, m1), m1);     /* mulhsu: -1 * (2^64-1) */
    CHECK_EQ(rvt_alu(t, R(1, 2), 2, m1), 1);       /* mulhsu: 2 * (2^64-1) */
    CHECK_EQ(rvt_alu(t, R(1, 2), min, 2), m1);     /* mulhsu: -2^63 * 2 = -2^64 */
    CHECK_EQ(rvt_alu(t, R(1, 3), m1, m1), m1 - 1); /* mulhu */
    CHECK_EQ(rvt_alu(t, R(1, 3), min, 4), 2);
    CHECK_EQ(rvt_alu(t, RW(1, 0), 0x10000, 0x8000), 0xffffffff80000000ULL); /* mulw */
    CHECK_EQ(rvt_alu(t, RW(1, 0), 0xffffffff00000003ULL, 0x500000002ULL), 6);
    CHECK_EQ(rvt_alu(t, RW(1, 1), 1, 1), ILLEGAL); /* no mulhw */
    rvt_fini(t);
}

TEST(rv64_int_div)
{
    RVT_SETUP(t);
    const uint64_t m1 = ~0ULL, min = 1ULL << 63;
    CHECK_EQ(rvt_alu(t, R(1, 4), (uint64_t)-7, 2), (uint64_t)-3); /* div truncates */
    CHECK_EQ(rvt_alu(t, R(1, 6), (uint64_t)-7, 2), (uint64_t)-1); /* rem has dividend's sign */
    CHECK_EQ(rvt_alu(t, R(1, 6), 7, (uint64_t)-2), 1);
    CHECK_EQ(rvt_alu(t, R(1, 5), (uint64_t)-7, 2), 0x7ffffffffffffffcULL); /* divu */
    CHECK_EQ(rvt_alu(t, R(1, 7), (uint64_t)-7, 2), 1);                     /* remu */
    /* by zero: quotient all ones, remainder the dividend */
    CHECK_EQ(rvt_alu(t, R(1, 4), 42, 0), m1);
    CHECK_EQ(rvt_alu(t, R(1, 5), 42, 0), m1);
    CHECK_EQ(rvt_alu(t, R(1, 6), (uint64_t)-42, 0), (uint64_t)-42);
    CHECK_EQ(rvt_alu(t, R(1, 7), 42, 0), 42);
    /* overflow: -2^63 / -1 */
    CHECK_EQ(rvt_alu(t, R(1, 4), min, m1), min);
    CHECK_EQ(rvt_alu(t, R(1, 6), min, m1), 0);
    /* W forms: 32-bit operands, sign-extended results */
    CHECK_EQ(rvt_alu(t, RW(1, 4), 0xffffffff80000000ULL, m1), 0xffffffff80000000ULL); /* divw ovf */
    CHECK_EQ(rvt_alu(t, RW(1, 6), 0x80000000ULL, m1), 0);                             /* remw ovf */
    CHECK_EQ(rvt_alu(t, RW(1, 4), 0x100000007ULL, 0), m1);                            /* divw /0 */
    CHECK_EQ(rvt_alu(t, RW(1, 5), 0x100000007ULL, 0x100000000ULL), m1);               /* divuw /0 */
    CHECK_EQ(rvt_alu(t, RW(1, 6), 0x1fffffff9ULL, 0), (uint64_t)-7);                  /* remw /0 */
    CHECK_EQ(rvt_alu(t, RW(1, 7), 0x180000000ULL, 0), 0xffffffff80000000ULL);         /* remuw /0 */
    CHECK_EQ(rvt_alu(t, RW(1, 4), (uint64_t)-7, 2), (uint64_t)-3);                    /* divw */
    CHECK_EQ(rvt_alu(t, RW(1, 5), 0xfffffffeULL, 1), m1 - 1); /* divuw sext */
    CHECK_EQ(rvt_alu(t, RW(1, 5), 0xfffffffeULL, 2), 0x7fffffff);
    CHECK_EQ(rvt_alu(t, RW(1, 6), (uint64_t)-7, 2), m1);                      /* remw */
    CHECK_EQ(rvt_alu(t, RW(1, 7), 0xffffffffULL, 0x80000000ULL), 0x7fffffff); /* remuw */
    CHECK_EQ(rvt_alu(t, RW(1, 7), 0xffffffffULL, 0xc0000000ULL), 0x3fffffff);
    CHECK_EQ(rvt_alu(t, RW(1, 7), 0xfffffffeULL, 0xffffffffULL), 0xfffffffffffffffeULL);
    rvt_fini(t);
}

TEST(rv64_int_lui_auipc)
{
    RVT_SETUP(t);
    CHECK_EQ(rvt_alu(t, LUI(7, 0x12345), 0, 0), 0x12345000);
    CHECK_EQ(rvt_alu(t, LUI(7, 0x80000), 0, 0), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_alu(t, LUI(7, 0xfffff), 0, 0), 0xfffffffffffff000ULL);
    CHECK_EQ(rvt_alu(t, AUIPC(7, 0), 0, 0), RVT_BASE);
    CHECK_EQ(rvt_alu(t, AUIPC(7, 1), 0, 0), RVT_BASE + 0x1000);
    CHECK_EQ(rvt_alu(t, AUIPC(7, 0x80000), 0, 0), 0); /* pc - 2^31 */
    CHECK_EQ(rvt_alu(t, AUIPC(7, 0xfffff), 0, 0), RVT_BASE - 0x1000);
    rvt_fini(t);
}

/* Runs a branch at RVT_BASE + 0x100 with offset off; returns the new pc. */
static uint64_t run_branch(struct rvt *t, unsigned f3, uint64_t a, uint64_t b, int32_t off)
{
    uint64_t pc = RVT_BASE + 0x100;

    rvt_w32(t, pc, BR(f3, 5, 6, off));
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_set_x(t->h, 5, a);
    rv64_hart_set_x(t->h, 6, b);
    rv64_hart_step(t->h, 1);
    return rvt_pc(t);
}

TEST(rv64_int_branches)
{
    RVT_SETUP(t);
    const uint64_t pc = RVT_BASE + 0x100, m1 = ~0ULL;
    CHECK_EQ(run_branch(t, 0, 3, 3, 8), pc + 8);  /* beq taken */
    CHECK_EQ(run_branch(t, 0, 3, 4, 8), pc + 4);  /* beq not */
    CHECK_EQ(run_branch(t, 1, 3, 4, -8), pc - 8); /* bne taken backwards */
    CHECK_EQ(run_branch(t, 1, 3, 3, -8), pc + 4);
    CHECK_EQ(run_branch(t, 4, m1, 0, 16), pc + 16); /* blt signed */
    CHECK_EQ(run_branch(t, 4, 0, m1, 16), pc + 4);
    CHECK_EQ(run_branch(t, 4, 5, 5, 16), pc + 4);
    CHECK_EQ(run_branch(t, 5, 0, m1, 16), pc + 16); /* bge */
    CHECK_EQ(run_branch(t, 5, 5, 5, 16), pc + 16);
    CHECK_EQ(run_branch(t, 5, m1, 0, 16), pc + 4);
    CHECK_EQ(run_branch(t, 6, 0, m1, 16), pc + 16); /* bltu unsigned */
    CHECK_EQ(run_branch(t, 6, m1, 0, 16), pc + 4);
    CHECK_EQ(run_branch(t, 7, m1, 0, 16), pc + 16); /* bgeu */
    CHECK_EQ(run_branch(t, 7, 0, m1, 16), pc + 4);
    CHECK_EQ(run_branch(t, 7, 7, 7, 16), pc + 16);
    CHECK_EQ(run_branch(t, 0, 0, 0, 4094), pc + 4094); /* largest offsets */
    CHECK_EQ(run_branch(t, 0, 0, 0, -4096), pc - 4096);
    CHECK_EQ(run_branch(t, 0, 0, 0, 2), pc + 2);      /* 2-byte aligned is fine with C */
    CHECK_EQ(run_branch(t, 2, 0, 0, 8), RVT_HANDLER); /* funct3 2 and 3 are reserved */
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    CHECK_EQ(run_branch(t, 3, 0, 0, 8), RVT_HANDLER);
    rvt_fini(t);
}

TEST(rv64_int_jal_jalr)
{
    RVT_SETUP(t);
    const uint64_t pc = RVT_BASE + 0x800;

    rvt_w32(t, pc, JAL(1, 0x100));
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), pc + 0x100);
    CHECK_EQ(rvt_x(t, 1), pc + 4);

    rvt_w32(t, pc, JAL(0, -0x800)); /* j: rd = x0 */
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), pc - 0x800);
    CHECK_EQ(rvt_x(t, 0), 0);

    rvt_w32(t, pc, JAL(5, 0xffffe)); /* largest forward offset */
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), pc + 0xffffe);

    rvt_w32(t, pc, JAL(5, -0x100000)); /* largest backward offset */
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), pc - 0x100000);

    /* jalr: target = (rs1 + imm) & ~1 */
    rvt_w32(t, pc, JALR(1, 5, 3));
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_set_x(t->h, 5, RVT_BASE + 0x200);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), RVT_BASE + 0x202);
    CHECK_EQ(rvt_x(t, 1), pc + 4);

    rvt_w32(t, pc, JALR(5, 5, -1)); /* rd == rs1: the old value is used */
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_set_x(t->h, 5, RVT_BASE + 0x301);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), RVT_BASE + 0x300);
    CHECK_EQ(rvt_x(t, 5), pc + 4);

    rvt_w32(t, pc, JALR(0, 1, 0)); /* ret */
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_set_x(t->h, 1, RVT_BASE + 0x40);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), RVT_BASE + 0x40);
    CHECK_EQ(rvt_x(t, 0), 0);

    rvt_w32(t, pc, rv_i(0, 1, 1, 0, 0x67)); /* jalr funct3 != 0 is reserved */
    rv64_hart_set_pc(t->h, pc);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 2, pc, rv_i(0, 1, 1, 0, 0x67));
    rvt_fini(t);
}

TEST(rv64_int_loads_stores)
{
    RVT_SETUP(t);
    const uint64_t d = RVT_DATA + 0x100;

    rvt_w64(t, d, 0x8091a2b3c4d5e6f7ULL);
    rv64_hart_set_x(t->h, 10, d + 16); /* negative offsets below */
    CHECK_EQ(rvt_alu(t, LB(7, 10, -16), 0, 0), 0xfffffffffffffff7ULL);
    CHECK_EQ(rvt_alu(t, LBU(7, 10, -16), 0, 0), 0xf7);
    CHECK_EQ(rvt_alu(t, LB(7, 10, -13), 0, 0), 0xffffffffffffffc4ULL);
    CHECK_EQ(rvt_alu(t, LH(7, 10, -16), 0, 0), 0xffffffffffffe6f7ULL);
    CHECK_EQ(rvt_alu(t, LHU(7, 10, -16), 0, 0), 0xe6f7);
    CHECK_EQ(rvt_alu(t, LW(7, 10, -16), 0, 0), 0xffffffffc4d5e6f7ULL);
    CHECK_EQ(rvt_alu(t, LWU(7, 10, -16), 0, 0), 0xc4d5e6f7);
    CHECK_EQ(rvt_alu(t, LW(7, 10, -12), 0, 0), 0xffffffff8091a2b3ULL);
    CHECK_EQ(rvt_alu(t, LD(7, 10, -16), 0, 0), 0x8091a2b3c4d5e6f7ULL);
    rvt_w64(t, d, 0x0102030405060708ULL);
    CHECK_EQ(rvt_alu(t, LB(7, 10, -16), 0, 0), 8);
    CHECK_EQ(rvt_alu(t, LH(7, 10, -16), 0, 0), 0x0708);
    CHECK_EQ(rvt_alu(t, LW(7, 10, -16), 0, 0), 0x05060708);
    CHECK_EQ(rvt_alu(t, LOAD(7, 7, 10, 0), 0, 0), ILLEGAL); /* no ldu */

    rvt_w64(t, d, 0);
    rvt_w64(t, d + 8, 0);
    rv64_hart_set_x(t->h, 10, d);
    CHECK_EQ(rvt_alu(t, SB(5, 10, 0), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, d), 0x88);
    CHECK_EQ(rvt_alu(t, SH(5, 10, 2), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, d), 0x77880088);
    CHECK_EQ(rvt_alu(t, SW(5, 10, 4), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, d), 0x5566778877880088ULL);
    CHECK_EQ(rvt_alu(t, SD(5, 10, 8), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, d + 8), 0x1122334455667788ULL);
    rv64_hart_set_x(t->h, 10, d + 0x800);
    CHECK_EQ(rvt_alu(t, SD(5, 10, -0x800), 0xabcdULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, d), 0xabcd);
    CHECK_EQ(rvt_alu(t, STORE(4, 5, 10, 0), 1, 0), ILLEGAL); /* reserved store width */
    rvt_fini(t);
}

TEST(rv64_int_misaligned)
{
    RVT_SETUP(t);
    const uint64_t d = RVT_DATA + 0x200, pg = RVT_DATA + 0x1000; /* pg: a page boundary */

    for (int i = 0; i < 16; i++)
        *(uint8_t *)rvt_ptr(t, d + (uint64_t)i) = (uint8_t)(0xf0 + i);
    for (int i = -8; i < 8; i++)
        *(uint8_t *)rvt_ptr(t, pg + (uint64_t)i) = (uint8_t)(0x80 + 8 + i);
    rv64_hart_set_x(t->h, 10, d);
    CHECK_EQ(rvt_alu(t, LH(7, 10, 1), 0, 0), 0xfffffffffffff2f1ULL);
    CHECK_EQ(rvt_alu(t, LW(7, 10, 3), 0, 0), 0xfffffffff6f5f4f3ULL);
    CHECK_EQ(rvt_alu(t, LWU(7, 10, 3), 0, 0), 0xf6f5f4f3ULL);
    CHECK_EQ(rvt_alu(t, LD(7, 10, 5), 0, 0), 0xfcfbfaf9f8f7f6f5ULL);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead); /* nothing trapped */
    /* across a page boundary */
    rv64_hart_set_x(t->h, 10, pg);
    CHECK_EQ(rvt_alu(t, LD(7, 10, -3), 0, 0), 0x8c8b8a8988878685ULL);
    CHECK_EQ(rvt_alu(t, LW(7, 10, -1), 0, 0), 0xffffffff8a898887ULL);
    CHECK_EQ(rvt_alu(t, LHU(7, 10, -1), 0, 0), 0x8887);
    CHECK_EQ(rvt_alu(t, SD(5, 10, -5), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, pg - 8), 0x4455667788828180ULL);
    CHECK_EQ(rvt_r64(t, pg), 0x8f8e8d8c8b112233ULL);
    CHECK_EQ(rvt_alu(t, SW(5, 10, -2), 0xaabbccdd, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, pg - 8), 0xccdd667788828180ULL);
    CHECK_EQ(rvt_r64(t, pg), 0x8f8e8d8c8b11aabbULL);
    CHECK_EQ(rvt_alu(t, SH(5, 10, 3), 0xeeff, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(rvt_r64(t, pg), 0x8f8e8deeff11aabbULL);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}

TEST(rv64_int_x0_discarded)
{
    RVT_SETUP(t);
    rvt_w64(t, RVT_DATA, 0x1234);
    rv64_hart_set_x(t->h, 10, RVT_DATA);
    rv64_hart_set_x(t->h, 0, 99); /* the API must not write x0 either */
    RVT_PROG(t, RVT_BASE, ADDI(0, 0, 5), LD(0, 10, 0), LUI(0, 0x12345), AUIPC(0, 1), JAL(0, 8),
             ADDI(9, 0, 1), ADD(8, 0, 0), CSRRS(0, CSR_MSCRATCH, 10));
    rvt_set_csr(t, CSR_MSCRATCH, 0x77);
    for (int i = 0; i < 5; i++) {
        rv64_hart_step(t->h, 1);
        CHECK_EQ(rvt_x(t, 0), 0);
    }
    CHECK_EQ(rvt_pc(t), RVT_BASE + 24);
    CHECK_EQ(rvt_x(t, 9), 0); /* skipped */
    rv64_hart_step(t->h, 2);
    CHECK_EQ(rvt_x(t, 8), 0);
    CHECK_EQ(rvt_x(t, 0), 0);
    CHECK_EQ(rvt_csr(t, CSR_MSCRATCH), 0x77 | RVT_DATA);
    rvt_fini(t);
}

TEST(rv64_int_fence_and_illegal)
{
    RVT_SETUP(t);
    CHECK_EQ(rvt_alu(t, 0x0ff0000f, 0, 0), 0x5a5a5a5a5a5a5a5aULL); /* fence iorw, iorw */
    CHECK_EQ(rvt_alu(t, 0x0000100f, 0, 0), 0x5a5a5a5a5a5a5a5aULL); /* fence.i */
    CHECK_EQ(rvt_alu(t, 0x8330000f, 0, 0), 0x5a5a5a5a5a5a5a5aULL); /* fence.tso */
    rvt_w32(t, RVT_BASE, 0xffffffff);
    rv64_hart_set_pc(t->h, RVT_BASE);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 2, RVT_BASE, 0xffffffff);
    rvt_w32(t, RVT_BASE + 4, 0x0000707f); /* custom-3 opcode */
    rv64_hart_set_pc(t->h, RVT_BASE + 4);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 2, RVT_BASE + 4, 0x0000707f);
    rvt_fini(t);
}

/* ---- MMIO through a bus window ---- */
struct mmio_log {
    uint64_t off, val;
    unsigned size;
    int reads, writes;
};

/* Returns more than size bytes on purpose, as a careless device might (the CLINT does for
 * sub-word reads): the CPU must only use the bytes it asked for. */
static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct mmio_log *l = opaque;
    l->off = off;
    l->size = size;
    l->reads++;
    return 0x89abcdeff1f2f3f4ULL;
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct mmio_log *l = opaque;
    l->off = off;
    l->size = size;
    l->val = val;
    l->writes++;
}

static const struct bus_ops mmio_ops = {.read = mmio_read, .write = mmio_write};

TEST(rv64_int_mmio)
{
    RVT_SETUP(t);
    struct mmio_log l = {0};
    const uint64_t base = 0x10000000;

    CHECK_EQ(bus_register(&t->bus, base, 0x1000, &mmio_ops, &l, "test"), 0);
    rv64_hart_set_x(t->h, 10, base);
    CHECK_EQ(rvt_alu(t, LD(7, 10, 0x10), 0, 0), 0x89abcdeff1f2f3f4ULL);
    CHECK_EQ(l.off, 0x10);
    CHECK_EQ(l.size, 8);
    CHECK_EQ(rvt_alu(t, LW(7, 10, 0x20), 0, 0), 0xfffffffff1f2f3f4ULL);
    CHECK_EQ(l.size, 4);
    CHECK_EQ(rvt_alu(t, LWU(7, 10, 0x20), 0, 0), 0xf1f2f3f4ULL);
    CHECK_EQ(rvt_alu(t, LH(7, 10, 0x22), 0, 0), 0xfffffffffffff3f4ULL);
    CHECK_EQ(l.off, 0x22);
    CHECK_EQ(l.size, 2);
    CHECK_EQ(rvt_alu(t, LHU(7, 10, 0x22), 0, 0), 0xf3f4ULL);
    CHECK_EQ(rvt_alu(t, LB(7, 10, 0x23), 0, 0), 0xfffffffffffffff4ULL);
    CHECK_EQ(rvt_alu(t, LBU(7, 10, 0x23), 0, 0), 0xf4ULL);
    CHECK_EQ(l.size, 1);
    CHECK_EQ(rvt_alu(t, SW(5, 10, 0x30), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(l.off, 0x30);
    CHECK_EQ(l.size, 4);
    CHECK_EQ(l.val & 0xffffffff, 0x55667788);
    CHECK_EQ(rvt_alu(t, SB(5, 10, 0x31), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(l.size, 1);
    CHECK_EQ(l.val & 0xff, 0x88);
    CHECK_EQ(rvt_alu(t, SD(5, 10, 0x38), 0x1122334455667788ULL, 0), 0x5a5a5a5a5a5a5a5aULL);
    CHECK_EQ(l.val, 0x1122334455667788ULL);
    CHECK_EQ(l.writes, 3);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);

    /* outside RAM and every bus window: access faults with the address in mtval */
    rv64_hart_set_x(t->h, 10, 0x20000000);
    CHECK_EQ(rvt_alu(t, LW(7, 10, 8), 0, 0), ILLEGAL);
    CHECK_MTRAP(t, 5, RVT_BASE, 0x20000008);
    CHECK_EQ(rvt_alu(t, SD(7, 10, 16), 0, 0), ILLEGAL);
    CHECK_MTRAP(t, 7, RVT_BASE, 0x20000010);
    /* straddling the end of the window */
    rv64_hart_set_x(t->h, 10, base + 0xffc);
    CHECK_EQ(rvt_alu(t, LD(7, 10, 0), 0, 0), ILLEGAL);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 5);
    /* just past the end of RAM */
    rv64_hart_set_x(t->h, 10, RVT_BASE + RVT_RAM_SIZE);
    CHECK_EQ(rvt_alu(t, LB(7, 10, 0), 0, 0), ILLEGAL);
    CHECK_MTRAP(t, 5, RVT_BASE, RVT_BASE + RVT_RAM_SIZE);
    /* fetch from MMIO or from nowhere: instruction access fault */
    rvt_set_csr(t, CSR_MTVEC, RVT_HANDLER);
    rv64_hart_set_pc(t->h, base + 0x100);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 1, base + 0x100, base + 0x100);
    rv64_hart_set_pc(t->h, 0x30000000);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 1, 0x30000000, 0x30000000);
    rvt_fini(t);
}
