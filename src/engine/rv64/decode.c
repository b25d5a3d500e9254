/* rv64 instruction decoding for the fast paths (see decode.h). */
#include "engine/rv64/decode.h"

#include "engine/rv64/insn.h"

static const uint8_t op_branch[8] = {OP_BEQ, OP_BNE, OP_GENERIC, OP_GENERIC,
                                     OP_BLT, OP_BGE, OP_BLTU,    OP_BGEU};
static const uint8_t op_load[8] = {OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_GENERIC};
static const uint8_t op_store[8] = {OP_SB,      OP_SH,      OP_SW,      OP_SD,
                                    OP_GENERIC, OP_GENERIC, OP_GENERIC, OP_GENERIC};
static const uint8_t op_alu[8] = {OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND};
static const uint8_t op_mul[8] = {OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
                                  OP_DIV, OP_DIVU, OP_REM,    OP_REMU};
static const uint8_t op_alui[8] = {OP_ADDI, OP_SLLI, OP_SLTI, OP_SLTIU,
                                   OP_XORI, OP_SRLI, OP_ORI,  OP_ANDI};

static uint8_t decode_op(uint32_t insn, int32_t *imm)
{
    unsigned f3 = F3, f7 = F7;

    switch (insn & 0x7f) {
    case 0x37: *imm = (int32_t)(insn & 0xfffff000); return OP_LUI;
    case 0x17: *imm = (int32_t)(insn & 0xfffff000); return OP_AUIPC;
    case 0x6f: *imm = (int32_t)imm_j(insn); return OP_JAL;
    case 0x67: *imm = (int32_t)IMM_I; return f3 == 0 ? OP_JALR : OP_GENERIC;
    case 0x63: *imm = (int32_t)imm_b(insn); return op_branch[f3];
    case 0x03: *imm = (int32_t)IMM_I; return op_load[f3];
    case 0x23: *imm = (int32_t)IMM_S; return op_store[f3];
    case 0x13:
        *imm = (int32_t)IMM_I;
        if (f3 == 1) {
            *imm &= 63;
            return (insn >> 26) == 0 ? OP_SLLI : OP_GENERIC;
        }
        if (f3 == 5) {
            *imm &= 63;
            return (insn >> 26) == 0 ? OP_SRLI : (insn >> 26) == 0x10 ? OP_SRAI : OP_GENERIC;
        }
        return op_alui[f3];
    case 0x1b:
        *imm = (int32_t)IMM_I;
        if (f3 == 0)
            return OP_ADDIW;
        *imm = (int32_t)RS2;
        if (f3 == 1)
            return f7 == 0 ? OP_SLLIW : OP_GENERIC;
        if (f3 == 5)
            return f7 == 0 ? OP_SRLIW : f7 == 0x20 ? OP_SRAIW : OP_GENERIC;
        return OP_GENERIC;
    case 0x33:
        if (f7 == 0)
            return op_alu[f3];
        if (f7 == 1)
            return op_mul[f3];
        if (f7 == 0x20)
            return f3 == 0 ? OP_SUB : f3 == 5 ? OP_SRA : OP_GENERIC;
        return OP_GENERIC;
    case 0x3b:
        if (f7 == 0)
            return f3 == 0 ? OP_ADDW : f3 == 1 ? OP_SLLW : f3 == 5 ? OP_SRLW : OP_GENERIC;
        if (f7 == 0x20)
            return f3 == 0 ? OP_SUBW : f3 == 5 ? OP_SRAW : OP_GENERIC;
        if (f7 == 1) {
            static const uint8_t w[8] = {OP_MULW, OP_GENERIC, OP_GENERIC, OP_GENERIC,
                                         OP_DIVW, OP_DIVUW,   OP_REMW,    OP_REMUW};
            return w[f3];
        }
        return OP_GENERIC;
    case 0x0f: return OP_GENERIC; /* fences; fence.i flushes the decode cache */
    default: return OP_GENERIC;
    }
}

void rv64_decode(struct rv64_dinsn *d, uint32_t raw)
{
    uint32_t insn = raw;

    d->len = 4;
    if ((raw & 3) != 3) {
        insn = rv64_rvc_expand((uint16_t)raw);
        d->len = 2;
    }
    d->raw = raw;
    d->imm = 0;
    d->op = insn ? decode_op(insn, &d->imm) : OP_GENERIC;
    d->rd = RD ? (uint8_t)RD : 32;
    d->rs1 = (uint8_t)RS1;
    d->rs2 = (uint8_t)RS2;
}

bool rv64_op_ends_block(uint8_t op)
{
    return op == OP_GENERIC || (op >= OP_JAL && op <= OP_BGEU);
}
