/* RV64C: each 16-bit instruction is expanded to the 32-bit instruction it stands for, so that
 * one decoder executes both. Returns 0 for reserved and illegal encodings. */
#include "engine/rv64/cpu.h"

static uint32_t enc_r(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd,
                      uint32_t op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_i(int32_t imm, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_s(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t op)
{
    uint32_t u = (uint32_t)imm;
    return (u >> 5 & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | op;
}

static uint32_t enc_b(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3)
{
    uint32_t u = (uint32_t)imm;
    return (u >> 12 & 1) << 31 | (u >> 5 & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
           (u >> 1 & 0xf) << 8 | (u >> 11 & 1) << 7 | 0x63;
}

static uint32_t enc_j(int32_t imm, uint32_t rd)
{
    uint32_t u = (uint32_t)imm;
    return (u >> 20 & 1) << 31 | (u >> 1 & 0x3ff) << 21 | (u >> 11 & 1) << 20 |
           (u >> 12 & 0xff) << 12 | rd << 7 | 0x6f;
}

static int32_t sext(uint32_t v, int bits)
{
    return (int32_t)(v << (32 - bits)) >> (32 - bits);
}

#define OP_LOAD   0x03
#define OP_LOADFP 0x07
#define OP_IMM    0x13
#define OP_IMM32  0x1b
#define OP_STORE  0x23
#define OP_STFP   0x27
#define OP_OP     0x33
#define OP_LUI    0x37
#define OP_OP32   0x3b
#define OP_JALR   0x67

static uint32_t expand_q0(uint32_t c)
{
    uint32_t rd = 8 + (c >> 2 & 7), rs1 = 8 + (c >> 7 & 7);
    uint32_t imm_d = (c >> 7 & 0x38) | (c << 1 & 0xc0);                  /* ld, fld, sd, fsd */
    uint32_t imm_w = (c >> 7 & 0x38) | (c >> 4 & 0x4) | (c << 1 & 0x40); /* lw, sw */

    switch (c >> 13) {
    case 0: { /* c.addi4spn */
        uint32_t imm = (c >> 7 & 0x30) | (c >> 1 & 0x3c0) | (c >> 4 & 0x4) | (c >> 2 & 0x8);
        return imm ? enc_i((int32_t)imm, 2, 0, rd, OP_IMM) : 0;
    }
    case 1: return enc_i((int32_t)imm_d, rs1, 3, rd, OP_LOADFP);
    case 2: return enc_i((int32_t)imm_w, rs1, 2, rd, OP_LOAD);
    case 3: return enc_i((int32_t)imm_d, rs1, 3, rd, OP_LOAD);
    case 5: return enc_s((int32_t)imm_d, rd, rs1, 3, OP_STFP);
    case 6: return enc_s((int32_t)imm_w, rd, rs1, 2, OP_STORE);
    case 7: return enc_s((int32_t)imm_d, rd, rs1, 3, OP_STORE);
    default: return 0;
    }
}

static uint32_t expand_q1(uint32_t c)
{
    uint32_t rd = c >> 7 & 0x1f;
    int32_t imm6 = sext((c >> 7 & 0x20) | (c >> 2 & 0x1f), 6);
    uint32_t rdp = 8 + (c >> 7 & 7), rs2p = 8 + (c >> 2 & 7);

    switch (c >> 13) {
    case 0: return enc_i(imm6, rd, 0, rd, OP_IMM);            /* c.addi, c.nop */
    case 1: return rd ? enc_i(imm6, rd, 0, rd, OP_IMM32) : 0; /* c.addiw */
    case 2: return enc_i(imm6, 0, 0, rd, OP_IMM);             /* c.li */
    case 3:
        if (rd == 2) { /* c.addi16sp */
            int32_t imm = sext((c >> 3 & 0x200) | (c >> 2 & 0x10) | (c << 1 & 0x40) |
                                   (c << 4 & 0x180) | (c << 3 & 0x20),
                               10);
            return imm ? enc_i(imm, 2, 0, 2, OP_IMM) : 0;
        }
        /* c.lui */
        if (imm6 == 0)
            return 0;
        return ((uint32_t)imm6 << 12 & 0xfffff000) | rd << 7 | OP_LUI;
    case 4: {
        uint32_t shamt = (c >> 7 & 0x20) | (c >> 2 & 0x1f);
        switch (c >> 10 & 3) {
        case 0: return enc_i((int32_t)shamt, rdp, 5, rdp, OP_IMM);           /* c.srli */
        case 1: return enc_i((int32_t)(shamt | 0x400), rdp, 5, rdp, OP_IMM); /* c.srai */
        case 2: return enc_i(imm6, rdp, 7, rdp, OP_IMM);                     /* c.andi */
        default:
            switch ((c >> 10 & 4) | (c >> 5 & 3)) {
            case 0: return enc_r(0x20, rs2p, rdp, 0, rdp, OP_OP);   /* c.sub */
            case 1: return enc_r(0, rs2p, rdp, 4, rdp, OP_OP);      /* c.xor */
            case 2: return enc_r(0, rs2p, rdp, 6, rdp, OP_OP);      /* c.or */
            case 3: return enc_r(0, rs2p, rdp, 7, rdp, OP_OP);      /* c.and */
            case 4: return enc_r(0x20, rs2p, rdp, 0, rdp, OP_OP32); /* c.subw */
            case 5: return enc_r(0, rs2p, rdp, 0, rdp, OP_OP32);    /* c.addw */
            default: return 0;
            }
        }
    }
    case 5: { /* c.j */
        int32_t off =
            sext((c >> 1 & 0x800) | (c >> 7 & 0x10) | (c >> 1 & 0x300) | (c << 2 & 0x400) |
                     (c >> 1 & 0x40) | (c << 1 & 0x80) | (c >> 2 & 0xe) | (c << 3 & 0x20),
                 12);
        return enc_j(off, 0);
    }
    default: { /* c.beqz, c.bnez */
        int32_t off = sext((c >> 4 & 0x100) | (c >> 7 & 0x18) | (c << 1 & 0xc0) | (c >> 2 & 0x6) |
                               (c << 3 & 0x20),
                           9);
        return enc_b(off, 0, rdp, (c >> 13) == 6 ? 0 : 1);
    }
    }
}

static uint32_t expand_q2(uint32_t c)
{
    uint32_t rd = c >> 7 & 0x1f, rs2 = c >> 2 & 0x1f;
    uint32_t imm_dsp = (c >> 7 & 0x20) | (c >> 2 & 0x18) | (c << 4 & 0x1c0);
    uint32_t imm_wsp = (c >> 7 & 0x20) | (c >> 2 & 0x1c) | (c << 4 & 0xc0);
    uint32_t imm_sdsp = (c >> 7 & 0x38) | (c >> 1 & 0x1c0);
    uint32_t imm_swsp = (c >> 7 & 0x3c) | (c >> 1 & 0xc0);

    switch (c >> 13) {
    case 0: return enc_i((int32_t)((c >> 7 & 0x20) | rs2), rd, 1, rd, OP_IMM); /* c.slli */
    case 1: return enc_i((int32_t)imm_dsp, 2, 3, rd, OP_LOADFP);               /* c.fldsp */
    case 2: return rd ? enc_i((int32_t)imm_wsp, 2, 2, rd, OP_LOAD) : 0;        /* c.lwsp */
    case 3: return rd ? enc_i((int32_t)imm_dsp, 2, 3, rd, OP_LOAD) : 0;        /* c.ldsp */
    case 4:
        if (!(c & 0x1000)) {
            if (rs2 == 0)
                return rd ? enc_i(0, rd, 0, 0, OP_JALR) : 0; /* c.jr */
            return enc_r(0, rs2, 0, 0, rd, OP_OP);           /* c.mv */
        }
        if (rs2 == 0) {
            if (rd == 0)
                return 0x00100073;              /* c.ebreak */
            return enc_i(0, rd, 0, 1, OP_JALR); /* c.jalr */
        }
        return enc_r(0, rs2, rd, 0, rd, OP_OP);                    /* c.add */
    case 5: return enc_s((int32_t)imm_sdsp, rs2, 2, 3, OP_STFP);   /* c.fsdsp */
    case 6: return enc_s((int32_t)imm_swsp, rs2, 2, 2, OP_STORE);  /* c.swsp */
    default: return enc_s((int32_t)imm_sdsp, rs2, 2, 3, OP_STORE); /* c.sdsp */
    }
}

uint32_t rv64_rvc_expand(uint16_t c)
{
    switch (c & 3) {
    case 0: return expand_q0(c);
    case 1: return expand_q1(c);
    case 2: return expand_q2(c);
    default: return 0;
    }
}
