/* A small x86-64 instruction encoder for the rv64 JIT: just the forms the translator uses.
 * Registers are numbered as in the encoding (RAX 0 .. R15 15). Code is written through the
 * buffer's writable view; rel32 targets are computed for where the code will run (the
 * executable view, exec_delta bytes away). An emitter that runs out of room sets full and
 * keeps writing nothing, so that a translation fails as a whole. */
#ifndef VESSEL_ENGINE_RV64_JIT_X86_H
#define VESSEL_ENGINE_RV64_JIT_X86_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* condition codes (the low nibble of Jcc/SETcc) */
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7, CC_S = 8, CC_NS = 9 };
enum { CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf };

/* group-1 ALU operations (the /digit of 81 and 83, and op = digit * 8 + 1 for r/m, r) */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
/* group-2 shifts (the /digit of C1 and D3) */
enum { SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

struct x86_buf {
    uint8_t *p, *end;    /* writable view */
    intptr_t exec_delta; /* executable address = writable address + exec_delta */
    bool full;
};

static inline void x86_byte(struct x86_buf *b, unsigned v)
{
    if (b->p < b->end)
        *b->p++ = (uint8_t)v;
    else
        b->full = true;
}

static inline void x86_u32(struct x86_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x86_byte(b, (v >> (8 * i)) & 0xff);
}

static inline void x86_u64(struct x86_buf *b, uint64_t v)
{
    x86_u32(b, (uint32_t)v);
    x86_u32(b, (uint32_t)(v >> 32));
}

/* Where the next byte will run. */
static inline uintptr_t x86_here(const struct x86_buf *b)
{
    return (uintptr_t)b->p + (uintptr_t)b->exec_delta;
}

/* REX prefix: w = 64-bit operand, r = ModRM.reg, x = SIB.index, bm = ModRM.rm or SIB.base.
 * force emits it even when empty (byte registers SPL..DIL). */
static inline void x86_rex(struct x86_buf *b, int w, int r, int x, int bm, bool force)
{
    unsigned v = 0x40 | (w ? 8 : 0) | ((r & 8) ? 4 : 0) | ((x & 8) ? 2 : 0) | ((bm & 8) ? 1 : 0);
    if (v != 0x40 || force)
        x86_byte(b, v);
}

/* ModRM for a register operand. */
static inline void x86_modrm_reg(struct x86_buf *b, int reg, int rm)
{
    x86_byte(b, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* ModRM (+SIB) for [base + index + disp32] (index -1: none; scale 1). */
static inline void x86_modrm_mem(struct x86_buf *b, int reg, int base, int index, int32_t disp)
{
    bool d8 = disp >= -128 && disp <= 127;
    unsigned mod = d8 ? 0x40 : 0x80;

    if (index < 0 && (base & 7) != RSP) {
        x86_byte(b, mod | (reg & 7) << 3 | (base & 7));
    } else {
        x86_byte(b, mod | (reg & 7) << 3 | 4);
        x86_byte(b, (index < 0 ? 4 : (index & 7)) << 3 | (base & 7));
    }
    if (d8)
        x86_byte(b, (uint8_t)disp);
    else
        x86_u32(b, (uint32_t)disp);
}

/* op with a register and a memory operand: [rex] opcode bytes, modrm. */
static inline void x86_op_mem(struct x86_buf *b, int w, const uint8_t *op, int oplen, int reg,
                              int base, int index, int32_t disp, bool force_rex)
{
    x86_rex(b, w, reg, index < 0 ? 0 : index, base, force_rex);
    for (int i = 0; i < oplen; i++)
        x86_byte(b, op[i]);
    x86_modrm_mem(b, reg, base, index, disp);
}

static inline void x86_op_reg(struct x86_buf *b, int w, const uint8_t *op, int oplen, int reg,
                              int rm, bool force_rex)
{
    x86_rex(b, w, reg, 0, rm, force_rex);
    for (int i = 0; i < oplen; i++)
        x86_byte(b, op[i]);
    x86_modrm_reg(b, reg, rm);
}

#define X86_OP(...) ((const uint8_t[]){__VA_ARGS__}), (int)sizeof((const uint8_t[]){__VA_ARGS__})

/* mov dst, src (64-bit) */
static inline void x86_mov_rr(struct x86_buf *b, int dst, int src)
{
    if (dst != src)
        x86_op_reg(b, 1, X86_OP(0x89), src, dst, false);
}

/* mov dst32, src32 (zero-extends) */
static inline void x86_mov_rr32(struct x86_buf *b, int dst, int src)
{
    x86_op_reg(b, 0, X86_OP(0x89), src, dst, false);
}

/* mov r64, [base + disp] / mov [base + disp], r64 */
static inline void x86_load64(struct x86_buf *b, int dst, int base, int32_t disp)
{
    x86_op_mem(b, 1, X86_OP(0x8b), dst, base, -1, disp, false);
}

static inline void x86_store64(struct x86_buf *b, int base, int32_t disp, int src)
{
    x86_op_mem(b, 1, X86_OP(0x89), src, base, -1, disp, false);
}

/* A load of size 1, 2, 4 or 8 bytes from [base + index] into dst, sign- or zero-extended. */
static inline void x86_load_ext(struct x86_buf *b, int dst, int base, int index, int size,
                                bool sign)
{
    switch (size) {
    case 1:
    case 2: {
        uint8_t op[2] = {0x0f, (uint8_t)((sign ? 0xbe : 0xb6) + (size == 2))};
        x86_op_mem(b, sign, op, 2, dst, base, index, 0, false);
        break;
    }
    case 4:
        if (sign)
            x86_op_mem(b, 1, X86_OP(0x63), dst, base, index, 0, false);
        else
            x86_op_mem(b, 0, X86_OP(0x8b), dst, base, index, 0, false);
        break;
    default: x86_op_mem(b, 1, X86_OP(0x8b), dst, base, index, 0, false); break;
    }
}

/* A store of the low size bytes of src to [base + index]. */
static inline void x86_store_sized(struct x86_buf *b, int base, int index, int size, int src)
{
    switch (size) {
    case 1: x86_op_mem(b, 0, X86_OP(0x88), src, base, index, 0, src >= 4); break;
    case 2:
        x86_byte(b, 0x66);
        x86_op_mem(b, 0, X86_OP(0x89), src, base, index, 0, false);
        break;
    case 4: x86_op_mem(b, 0, X86_OP(0x89), src, base, index, 0, false); break;
    default: x86_op_mem(b, 1, X86_OP(0x89), src, base, index, 0, false); break;
    }
}

/* mov r64, imm (the shortest form) */
static inline void x86_mov_imm(struct x86_buf *b, int dst, uint64_t imm)
{
    if (imm == 0) {
        x86_op_reg(b, 0, X86_OP(0x31), dst, dst, false); /* xor r32, r32 */
    } else if (imm <= 0xffffffffULL) {
        x86_rex(b, 0, 0, 0, dst, false);
        x86_byte(b, 0xb8 + (dst & 7));
        x86_u32(b, (uint32_t)imm);
    } else if ((int64_t)imm == (int32_t)imm) {
        x86_op_reg(b, 1, X86_OP(0xc7), 0, dst, false);
        x86_u32(b, (uint32_t)imm);
    } else {
        x86_rex(b, 1, 0, 0, dst, false);
        x86_byte(b, 0xb8 + (dst & 7));
        x86_u64(b, imm);
    }
}

/* ALU op dst, src (w: 64-bit) */
static inline void x86_alu_rr(struct x86_buf *b, int w, int op, int dst, int src)
{
    x86_op_reg(b, w, X86_OP((uint8_t)(op * 8 + 1)), src, dst, false);
}

/* ALU op reg, [base + disp] */
static inline void x86_alu_rm(struct x86_buf *b, int w, int op, int reg, int base, int32_t disp)
{
    x86_op_mem(b, w, X86_OP((uint8_t)(op * 8 + 3)), reg, base, -1, disp, false);
}

/* ALU op dst, imm32 (sign-extended) */
static inline void x86_alu_ri(struct x86_buf *b, int w, int op, int dst, int32_t imm)
{
    if (imm >= -128 && imm <= 127) {
        x86_op_reg(b, w, X86_OP(0x83), op, dst, false);
        x86_byte(b, (uint8_t)imm);
    } else {
        x86_op_reg(b, w, X86_OP(0x81), op, dst, false);
        x86_u32(b, (uint32_t)imm);
    }
}

/* ALU op qword [base + disp], imm32 */
static inline void x86_alu_mi(struct x86_buf *b, int op, int base, int32_t disp, int32_t imm)
{
    if (imm >= -128 && imm <= 127) {
        x86_op_mem(b, 1, X86_OP(0x83), op, base, -1, disp, false);
        x86_byte(b, (uint8_t)imm);
    } else {
        x86_op_mem(b, 1, X86_OP(0x81), op, base, -1, disp, false);
        x86_u32(b, (uint32_t)imm);
    }
}

/* mov qword [base + disp], imm (through RAX unless imm is a sign-extended imm32) */
static inline void x86_store_imm(struct x86_buf *b, int base, int32_t disp, uint64_t imm)
{
    if ((int64_t)imm == (int32_t)imm) {
        x86_op_mem(b, 1, X86_OP(0xc7), 0, base, -1, disp, false);
        x86_u32(b, (uint32_t)imm);
    } else {
        x86_rex(b, 1, 0, 0, RAX, false);
        x86_byte(b, 0xb8);
        x86_u64(b, imm);
        x86_op_mem(b, 1, X86_OP(0x89), RAX, base, -1, disp, false);
    }
}

/* call rel32 to an executable address within the code buffer */
static inline void x86_call_rel(struct x86_buf *b, uintptr_t target)
{
    x86_byte(b, 0xe8);
    x86_u32(b, (uint32_t)(target - (x86_here(b) + 4)));
}

/* lea dst, [base + disp] (64-bit) */
static inline void x86_lea(struct x86_buf *b, int dst, int base, int32_t disp)
{
    x86_op_mem(b, 1, X86_OP(0x8d), dst, base, -1, disp, false);
}

/* shift dst by imm (w: 64-bit) or by CL (imm < 0) */
static inline void x86_shift(struct x86_buf *b, int w, int op, int dst, int imm)
{
    if (imm < 0) {
        x86_op_reg(b, w, X86_OP(0xd3), op, dst, false);
    } else {
        x86_op_reg(b, w, X86_OP(0xc1), op, dst, false);
        x86_byte(b, (uint8_t)imm);
    }
}

/* movsxd dst, src32 */
static inline void x86_movsxd(struct x86_buf *b, int dst, int src)
{
    x86_op_reg(b, 1, X86_OP(0x63), dst, src, false);
}

/* movzx dst32, src8 */
static inline void x86_movzx8(struct x86_buf *b, int dst, int src)
{
    x86_op_reg(b, 0, X86_OP(0x0f, 0xb6), dst, src, src >= 4);
}

/* setcc dst8 */
static inline void x86_setcc(struct x86_buf *b, int cc, int dst)
{
    x86_op_reg(b, 0, X86_OP(0x0f, (uint8_t)(0x90 | cc)), 0, dst, dst >= 4);
}

/* imul dst, src (w: 64-bit) */
static inline void x86_imul_rr(struct x86_buf *b, int w, int dst, int src)
{
    x86_op_reg(b, w, X86_OP(0x0f, 0xaf), dst, src, false);
}

/* one-operand F7 group: /4 mul, /5 imul (rdx:rax = rax * src) */
static inline void x86_f7(struct x86_buf *b, int ext, int src)
{
    x86_op_reg(b, 1, X86_OP(0xf7), ext, src, false);
}

/* jmp/jcc rel32 to an executable address, or to be patched (target 0: rel32 = 0). Returns
 * the writable address of the rel32 field. */
static inline uint8_t *x86_jmp(struct x86_buf *b, uintptr_t target)
{
    uint8_t *field;

    x86_byte(b, 0xe9);
    field = b->p;
    x86_u32(b, target ? (uint32_t)(target - (x86_here(b) + 4)) : 0);
    return field;
}

static inline uint8_t *x86_jcc(struct x86_buf *b, int cc, uintptr_t target)
{
    uint8_t *field;

    x86_byte(b, 0x0f);
    x86_byte(b, 0x80 | cc);
    field = b->p;
    x86_u32(b, target ? (uint32_t)(target - (x86_here(b) + 4)) : 0);
    return field;
}

/* Points a rel32 field (writable address) at the executable address target. */
static inline void x86_patch(const struct x86_buf *b, uint8_t *field, uintptr_t target)
{
    uint32_t rel = (uint32_t)(target - ((uintptr_t)field + (uintptr_t)b->exec_delta + 4));

    if (field + 4 <= b->end)
        memcpy(field, &rel, 4);
}

/* call an absolute address through RAX */
static inline void x86_call(struct x86_buf *b, const void *fn)
{
    x86_mov_imm(b, RAX, (uint64_t)(uintptr_t)fn);
    x86_op_reg(b, 0, X86_OP(0xff), 2, RAX, false);
}

/* jmp reg */
static inline void x86_jmp_reg(struct x86_buf *b, int reg)
{
    x86_op_reg(b, 0, X86_OP(0xff), 4, reg, false);
}

/* jmp qword [base + disp] */
static inline void x86_jmp_mem(struct x86_buf *b, int base, int32_t disp)
{
    x86_op_mem(b, 0, X86_OP(0xff), 4, base, -1, disp, false);
}

static inline void x86_push(struct x86_buf *b, int reg)
{
    x86_rex(b, 0, 0, 0, reg, false);
    x86_byte(b, 0x50 + (reg & 7));
}

static inline void x86_pop(struct x86_buf *b, int reg)
{
    x86_rex(b, 0, 0, 0, reg, false);
    x86_byte(b, 0x58 + (reg & 7));
}

static inline void x86_ret(struct x86_buf *b)
{
    x86_byte(b, 0xc3);
}

#endif
