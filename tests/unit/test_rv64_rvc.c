/* rv64 engine: the RV64C compressed instructions, run through the interpreter. */
#include "rv64_test_util.h"

#define PC0 (RVT_BASE + 0x400)

/* Runs one 16-bit instruction at PC0 (followed by a NOP); returns the new pc. */
static uint64_t run16(struct rvt *t, uint16_t c)
{
    rvt_w16(t, PC0, c);
    rvt_w32(t, PC0 + 2, RVT_NOP);
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_step(t->h, 1);
    return rvt_pc(t);
}

TEST(rv64_rvc_encoder_selfcheck)
{
    /* encodings as printed by GNU objdump for common prologue/epilogue code */
    CHECK_EQ(C_ADDI(2, -16), 0x1141);
    CHECK_EQ(c_sdsp(7, 1, 8), 0xe406);
    CHECK_EQ(c_ldsp(3, 1, 8), 0x60a2);
    CHECK_EQ(C_JR(1), 0x8082);
    CHECK_EQ(C_MV(10, 11), 0x852e);
    CHECK_EQ(C_LI(10, 0), 0x4501);
    CHECK_EQ(C_ADDI16SP(-48), 0x7179);
    CHECK_EQ(C_EBREAK, 0x9002);
}

TEST(rv64_rvc_alu)
{
    RVT_SETUP(t);
    rv64_hart_set_x(t->h, 8, 100);
    CHECK_EQ(run16(t, C_ADDI(8, -32)), PC0 + 2);
    CHECK_EQ(rvt_x(t, 8), 68);
    run16(t, C_ADDI(8, 31));
    CHECK_EQ(rvt_x(t, 8), 99);
    CHECK_EQ(run16(t, 0x0001), PC0 + 2); /* c.nop */
    rv64_hart_set_x(t->h, 9, 0x7fffffff);
    run16(t, C_ADDIW(9, 1));
    CHECK_EQ(rvt_x(t, 9), 0xffffffff80000000ULL);
    rv64_hart_set_x(t->h, 9, 0x123456789ULL);
    run16(t, C_ADDIW(9, 0)); /* sext.w */
    CHECK_EQ(rvt_x(t, 9), 0x23456789);
    run16(t, C_LI(10, -1));
    CHECK_EQ(rvt_x(t, 10), ~0ULL);
    run16(t, C_LI(10, 17));
    CHECK_EQ(rvt_x(t, 10), 17);
    run16(t, C_LUI(11, 0x3f)); /* nzimm = 0x3f << 12, sign-extended */
    CHECK_EQ(rvt_x(t, 11), 0xfffffffffffff000ULL);
    run16(t, C_LUI(11, 0x20));
    CHECK_EQ(rvt_x(t, 11), 0xfffffffffffe0000ULL);
    run16(t, C_LUI(11, 1));
    CHECK_EQ(rvt_x(t, 11), 0x1000);
    rv64_hart_set_x(t->h, 2, 0x1000);
    run16(t, C_ADDI16SP(-512));
    CHECK_EQ(rvt_x(t, 2), 0x1000 - 512);
    run16(t, C_ADDI16SP(496));
    CHECK_EQ(rvt_x(t, 2), 0x1000 - 16);
    run16(t, C_ADDI16SP(16));
    CHECK_EQ(rvt_x(t, 2), 0x1000);
    run16(t, c_addi4spn(12, 1020));
    CHECK_EQ(rvt_x(t, 12), 0x1000 + 1020);
    run16(t, c_addi4spn(15, 4));
    CHECK_EQ(rvt_x(t, 15), 0x1004);
    /* shifts: RV64 shamt is 6 bits */
    rv64_hart_set_x(t->h, 13, 1ULL << 63);
    run16(t, c_cb_alu(0, 13, 63)); /* c.srli */
    CHECK_EQ(rvt_x(t, 13), 1);
    rv64_hart_set_x(t->h, 13, 1ULL << 63);
    run16(t, c_cb_alu(0, 13, 32));
    CHECK_EQ(rvt_x(t, 13), 1ULL << 31);
    rv64_hart_set_x(t->h, 13, 1ULL << 63);
    run16(t, c_cb_alu(1, 13, 32)); /* c.srai */
    CHECK_EQ(rvt_x(t, 13), 0xffffffff80000000ULL);
    run16(t, c_cb_alu(1, 13, 63));
    CHECK_EQ(rvt_x(t, 13), ~0ULL);
    rv64_hart_set_x(t->h, 14, 0x1234);
    run16(t, c_cb_alu(2, 14, -16)); /* c.andi */
    CHECK_EQ(rvt_x(t, 14), 0x1230);
    run16(t, c_cb_alu(2, 14, 0x1f));
    CHECK_EQ(rvt_x(t, 14), 0x10);
    rv64_hart_set_x(t->h, 20, 1);
    run16(t, C_SLLI(20, 63));
    CHECK_EQ(rvt_x(t, 20), 1ULL << 63);
    rv64_hart_set_x(t->h, 20, 3);
    run16(t, C_SLLI(20, 32));
    CHECK_EQ(rvt_x(t, 20), 3ULL << 32);
    /* CA format */
    rv64_hart_set_x(t->h, 8, 0xf0f0);
    rv64_hart_set_x(t->h, 9, 0xff00);
    run16(t, c_ca(0, 8, 9)); /* c.sub */
    CHECK_EQ(rvt_x(t, 8), (uint64_t)0xf0f0 - 0xff00);
    rv64_hart_set_x(t->h, 8, 0xf0f0);
    run16(t, c_ca(1, 8, 9)); /* c.xor */
    CHECK_EQ(rvt_x(t, 8), 0x0ff0);
    rv64_hart_set_x(t->h, 8, 0xf0f0);
    run16(t, c_ca(2, 8, 9)); /* c.or */
    CHECK_EQ(rvt_x(t, 8), 0xfff0);
    rv64_hart_set_x(t->h, 8, 0xf0f0);
    run16(t, c_ca(3, 8, 9)); /* c.and */
    CHECK_EQ(rvt_x(t, 8), 0xf000);
    rv64_hart_set_x(t->h, 8, 0x80000000ULL);
    rv64_hart_set_x(t->h, 9, 1);
    run16(t, c_ca(4, 8, 9)); /* c.subw */
    CHECK_EQ(rvt_x(t, 8), 0x7fffffff);
    run16(t, c_ca(5, 8, 9)); /* c.addw */
    CHECK_EQ(rvt_x(t, 8), 0xffffffff80000000ULL);
    /* CR format */
    rv64_hart_set_x(t->h, 21, 0x1111);
    rv64_hart_set_x(t->h, 22, 0x2222);
    run16(t, C_ADD(21, 22));
    CHECK_EQ(rvt_x(t, 21), 0x3333);
    run16(t, C_MV(23, 21));
    CHECK_EQ(rvt_x(t, 23), 0x3333);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}

TEST(rv64_rvc_loads_stores)
{
    RVT_SETUP(t);
    const uint64_t d = RVT_DATA;

    rvt_w64(t, d + 0xf8, 0x8877665544332211ULL);
    rvt_w32(t, d + 0x7c, 0x80000001);
    rv64_hart_set_x(t->h, 9, d);
    run16(t, c_lsd(3, 8, 9, 0xf8)); /* c.ld, largest offset */
    CHECK_EQ(rvt_x(t, 8), 0x8877665544332211ULL);
    run16(t, c_lsw(2, 10, 9, 0x7c)); /* c.lw sign-extends, largest offset */
    CHECK_EQ(rvt_x(t, 10), 0xffffffff80000001ULL);
    rv64_hart_set_x(t->h, 11, 0xa5a5a5a5deadbeefULL);
    run16(t, c_lsw(6, 11, 9, 0x44)); /* c.sw */
    CHECK_EQ(rvt_r64(t, d + 0x40), 0xdeadbeef00000000ULL);
    run16(t, c_lsd(7, 11, 9, 0x88)); /* c.sd */
    CHECK_EQ(rvt_r64(t, d + 0x88), 0xa5a5a5a5deadbeefULL);
    /* sp-relative */
    rv64_hart_set_x(t->h, 2, d + 0x100);
    rvt_w64(t, d + 0x100 + 0x1f8, 0x0102030405060708ULL);
    rvt_w32(t, d + 0x100 + 0xfc, 0xfffffffe);
    run16(t, c_ldsp(3, 17, 0x1f8));
    CHECK_EQ(rvt_x(t, 17), 0x0102030405060708ULL);
    run16(t, C_LWSP(18, 0xfc));
    CHECK_EQ(rvt_x(t, 18), (uint64_t)-2);
    rv64_hart_set_x(t->h, 19, 0x1122334455667788ULL);
    run16(t, c_sdsp(7, 19, 0x1f8));
    CHECK_EQ(rvt_r64(t, d + 0x100 + 0x1f8), 0x1122334455667788ULL);
    run16(t, C_SWSP(19, 0xfc));
    CHECK_EQ(rvt_r32(t, d + 0x100 + 0xfc), 0x55667788);
    /* FP forms, with the FPU on */
    rvt_set_csr(t, CSR_MSTATUS, ST_FS(1));
    rvt_w64(t, d + 0x20, 0x400921fb54442d18ULL);
    run16(t, c_lsd(1, 12, 9, 0x20)); /* c.fld */
    CHECK_EQ(rv64_hart_get_f(t->h, 12), 0x400921fb54442d18ULL);
    run16(t, c_lsd(5, 12, 9, 0x28)); /* c.fsd */
    CHECK_EQ(rvt_r64(t, d + 0x28), 0x400921fb54442d18ULL);
    run16(t, c_ldsp(1, 30, 0x1f8)); /* c.fldsp */
    CHECK_EQ(rv64_hart_get_f(t->h, 30), 0x1122334455667788ULL);
    run16(t, c_sdsp(5, 30, 0x8)); /* c.fsdsp */
    CHECK_EQ(rvt_r64(t, d + 0x108), 0x1122334455667788ULL);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}

TEST(rv64_rvc_control)
{
    RVT_SETUP(t);
    CHECK_EQ(run16(t, C_J(2046)), PC0 + 2046);
    CHECK_EQ(run16(t, C_J(-2048)), PC0 - 2048);
    CHECK_EQ(run16(t, C_J(-2)), PC0 - 2);
    CHECK_EQ(run16(t, C_J(0x2a4)), PC0 + 0x2a4); /* bits 2, 5, 7, 9 */
    CHECK_EQ(run16(t, C_J(0x55a)), PC0 + 0x55a); /* bits 1, 3, 4, 6, 8, 10 */
    rv64_hart_set_x(t->h, 8, 0);
    CHECK_EQ(run16(t, c_br(6, 8, 254)), PC0 + 254); /* c.beqz taken */
    CHECK_EQ(run16(t, c_br(6, 8, -256)), PC0 - 256);
    CHECK_EQ(run16(t, c_br(6, 8, 0xaa)), PC0 + 0xaa);
    CHECK_EQ(run16(t, c_br(6, 8, 0x54)), PC0 + 0x54);
    CHECK_EQ(run16(t, c_br(7, 8, 64)), PC0 + 2); /* c.bnez not taken */
    rv64_hart_set_x(t->h, 8, 0x100000000ULL);    /* a 64-bit compare */
    CHECK_EQ(run16(t, c_br(6, 8, 64)), PC0 + 2);
    CHECK_EQ(run16(t, c_br(7, 8, -64)), PC0 - 64);
    rv64_hart_set_x(t->h, 5, RVT_BASE + 0x123);
    CHECK_EQ(run16(t, C_JR(5)), RVT_BASE + 0x122);
    rv64_hart_set_x(t->h, 1, 0);
    CHECK_EQ(run16(t, C_JALR(5)), RVT_BASE + 0x122);
    CHECK_EQ(rvt_x(t, 1), PC0 + 2);
    rv64_hart_set_x(t->h, 1, RVT_BASE + 0x80);
    CHECK_EQ(run16(t, C_JALR(1)), RVT_BASE + 0x80); /* c.jalr ra: old ra is the target */
    CHECK_EQ(rvt_x(t, 1), PC0 + 2);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    CHECK_EQ(run16(t, C_EBREAK), RVT_HANDLER);
    CHECK_MTRAP(t, 3, PC0, PC0);
    rvt_fini(t);
}

TEST(rv64_rvc_illegal)
{
    RVT_SETUP(t);
    const uint16_t bad[] = {
        0x0000,           /* all zero */
        c_addi4spn(8, 0), /* nzuimm = 0 (0x0000 with rd' != 0) */
        c_addi4spn(13, 0),
        0x8000,          /* Q0 funct3 4: reserved */
        C_LUI(5, 0),     /* nzimm = 0 */
        C_ADDI16SP(0),   /* nzimm = 0 */
        C_LWSP(0, 4),    /* rd = 0 */
        c_ldsp(3, 0, 8), /* rd = 0 */
        C_JR(0),         /* rs1 = 0 */
        C_ADDIW(0, 1),   /* rd = 0 */
        0x9c41,          /* Q1 funct3 4, bit 12 set, funct2 2: reserved */
        0x9c61,          /* ... funct2 3: reserved */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rvt_set_csr(t, CSR_MCAUSE, 0xdead);
        rvt_w32(t, PC0, 0xffff0000u | bad[i]); /* junk in the next halfword */
        rv64_hart_set_pc(t->h, PC0);
        rv64_hart_step(t->h, 1);
        CHECK_EQ(rvt_pc(t), RVT_HANDLER);
        CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
        CHECK_EQ(rvt_csr(t, CSR_MEPC), PC0);
        CHECK_EQ(rvt_csr(t, CSR_MTVAL), bad[i]);
        if (rvt_csr(t, CSR_MCAUSE) != 2)
            fprintf(stderr, "  (encoding 0x%04x was not illegal)\n", bad[i]);
    }
    /* FP compressed loads with mstatus.FS = 0 */
    rvt_set_csr(t, CSR_MSTATUS, 0);
    rvt_w32(t, PC0, c_lsd(1, 8, 9, 0));
    rv64_hart_set_pc(t->h, PC0);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 2, PC0, c_lsd(1, 8, 9, 0));
    rvt_fini(t);
}

TEST(rv64_rvc_mixed_stream)
{
    RVT_SETUP(t);
    uint64_t p = RVT_BASE + 0xff0; /* the stream crosses into the next page */
    const uint64_t start = p;

    rvt_w16(t, p, C_LI(8, 1)); /* +0 */
    p += 2;
    rvt_w32(t, p, ADDI(8, 8, 0x10)); /* +2: 32-bit at a 2 (mod 4) address */
    p += 4;
    rvt_w16(t, p, C_ADDI(8, 2)); /* +6 */
    p += 2;
    rvt_w16(t, p, C_SLLI(8, 4)); /* +8 */
    p += 2;
    rvt_w32(t, p, ADDI(8, 8, 0x100)); /* +10 */
    p += 4;
    rvt_w32(t, p, ADDI(8, 8, 0x200)); /* +14 = 0xffe: crosses the page boundary */
    p += 4;
    rvt_w16(t, p, C_MV(9, 8)); /* +18 */
    p += 2;
    rv64_hart_set_pc(t->h, start);
    const uint64_t expect_pc[] = {2, 6, 8, 10, 14, 18, 20};
    for (int i = 0; i < 7; i++) {
        CHECK_EQ(rv64_hart_step(t->h, 1), 1);
        CHECK_EQ(rvt_pc(t), start + expect_pc[i]);
    }
    CHECK_EQ(rvt_x(t, 9), ((1 + 0x10 + 2) << 4) + 0x300);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    /* a compressed instruction in the last halfword of RAM: nothing past it is fetched */
    rvt_w16(t, RVT_BASE + RVT_RAM_SIZE - 2, C_LI(10, 5));
    rv64_hart_set_pc(t->h, RVT_BASE + RVT_RAM_SIZE - 2);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_x(t, 10), 5);
    CHECK_EQ(rvt_pc(t), RVT_BASE + RVT_RAM_SIZE);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}
