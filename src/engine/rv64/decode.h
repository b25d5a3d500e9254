/* rv64 instruction decoding into struct rv64_dinsn, shared by the interpreter's fast loop
 * (exec.c) and the JIT (jit_*.c). */
#ifndef VESSEL_ENGINE_RV64_DECODE_H
#define VESSEL_ENGINE_RV64_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/rv64/cpu.h"

/* The operations the fast paths run themselves; OP_GENERIC goes to rv64_exec_one(). */
enum {
    OP_GENERIC = 0,
    OP_LUI,
    OP_AUIPC,
    OP_JAL,
    OP_JALR,
    OP_BEQ,
    OP_BNE,
    OP_BLT,
    OP_BGE,
    OP_BLTU,
    OP_BGEU,
    OP_LB,
    OP_LH,
    OP_LW,
    OP_LD,
    OP_LBU,
    OP_LHU,
    OP_LWU,
    OP_SB,
    OP_SH,
    OP_SW,
    OP_SD,
    OP_ADDI,
    OP_SLTI,
    OP_SLTIU,
    OP_XORI,
    OP_ORI,
    OP_ANDI,
    OP_SLLI,
    OP_SRLI,
    OP_SRAI,
    OP_ADD,
    OP_SUB,
    OP_SLL,
    OP_SLT,
    OP_SLTU,
    OP_XOR,
    OP_SRL,
    OP_SRA,
    OP_OR,
    OP_AND,
    OP_ADDIW,
    OP_SLLIW,
    OP_SRLIW,
    OP_SRAIW,
    OP_ADDW,
    OP_SUBW,
    OP_SLLW,
    OP_SRLW,
    OP_SRAW,
    OP_MUL,
    OP_MULH,
    OP_MULHSU,
    OP_MULHU,
    OP_DIV,
    OP_DIVU,
    OP_REM,
    OP_REMU,
    OP_MULW,
    OP_DIVW,
    OP_DIVUW,
    OP_REMW,
    OP_REMUW,
    OP_END, /* end of a block that falls through: look the next one up */
    OP_COUNT
};

/* Decodes raw (a 32-bit instruction, or a 16-bit one in the low half) into d; rd 32 stands for
 * x0. */
void rv64_decode(struct rv64_dinsn *d, uint32_t raw);
/* Does the instruction end a block? Control transfers, and everything rv64_exec_one() runs. */
bool rv64_op_ends_block(uint8_t op);

#endif
