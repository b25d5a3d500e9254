/* rv64 JIT translator: one block of guest instructions (decoded as for the interpreter, see
 * decode.h) into x86-64 code.
 *
 * A block is a straight-line run in one guest page: it ends after a control transfer, before
 * an instruction the JIT does not translate (OP_GENERIC, or one that crosses the page), at the
 * page end or at JIT_BLOCK_MAX. Its code starts with the budget check (h->jit_left), then runs
 * the instructions in order, writing each result to its guest register before the next, so
 * that a trap leaves exactly the state of the instructions before it. Leaving the block:
 * - to a pc in the same guest page: a jump that starts out returning to the dispatcher, which
 *   then points it at the target's block (linking; same page, so the same translation holds);
 * - to any other pc (JALR, other pages): the shared lookup stub (jit_cache.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rv64/jit_gen.h"

static bool same_page(uint64_t a, uint64_t b)
{
    return (a >> 12) == (b >> 12);
}

static void gen_exit_code(struct x86_buf *b, const struct rv64_jit *j, int code)
{
    x86_mov_imm(b, RAX, (uint64_t)code);
    x86_jmp(b, j->exit);
}

/* Leave for guest pc target. */
static void gen_goto(struct jit_gen *g, uint64_t target)
{
    struct x86_buf *b = g->b;

    if (same_page(target, g->blk->pc)) {
        uintptr_t jump = x86_here(b);
        x86_jmp(b, jump + 5); /* falls through until linked */
        x86_call_rel(b, g->j->link_exit);
        x86_u64(b, target);
    } else {
        x86_mov_imm(b, RAX, target);
        x86_jmp(b, g->j->lookup);
    }
}

void jit_gen_trap_exit(struct jit_gen *g, int idx)
{
    int unrun = g->n - idx - 1; /* the trapping instruction counts as executed */

    if (unrun)
        x86_alu_mi(g->b, ALU_ADD, RBP, HOFF(jit_left), unrun);
    x86_jmp(g->b, g->j->trap_exit);
}

/* The host register to compute rd in: its pinned register unless that is also a source
 * read after the destination is first written (avoid). */
static int dst_reg(unsigned rd, unsigned avoid)
{
    int p = jit_pin(rd);

    return p >= 0 && rd != avoid ? p : RAX;
}

/* op hr, guest register gr */
static void alu_src(struct x86_buf *b, int w, int op, int hr, unsigned gr)
{
    int p = jit_pin(gr);

    if (gr == 0)
        x86_alu_ri(b, w, op, hr, 0);
    else if (p >= 0)
        x86_alu_rr(b, w, op, hr, p);
    else
        x86_alu_rm(b, w, op, hr, RBP, XOFF(gr));
}

static void gen_alu_rr(struct x86_buf *b, const struct rv64_dinsn *d, int w, int op)
{
    int t = dst_reg(d->rd, d->rs2);

    gen_ld(b, t, d->rs1);
    alu_src(b, w, op, t, d->rs2);
    if (!w)
        x86_movsxd(b, t, t);
    gen_st(b, d->rd, t);
}

static void gen_alu_ri(struct x86_buf *b, const struct rv64_dinsn *d, int w, int op)
{
    int t = dst_reg(d->rd, 32);
    int p = jit_pin(d->rs1);

    if (op == ALU_ADD && w && p >= 0 && p != t && d->imm) {
        x86_lea(b, t, p, d->imm);
    } else {
        gen_ld(b, t, d->rs1);
        if (d->imm || op == ALU_AND)
            x86_alu_ri(b, w, op, t, d->imm);
    }
    if (!w)
        x86_movsxd(b, t, t);
    gen_st(b, d->rd, t);
}

static void gen_shift_imm(struct x86_buf *b, const struct rv64_dinsn *d, int w, int op)
{
    int t = dst_reg(d->rd, 32);

    gen_ld(b, t, d->rs1);
    if (d->imm)
        x86_shift(b, w, op, t, d->imm);
    if (!w)
        x86_movsxd(b, t, t);
    gen_st(b, d->rd, t);
}

static void gen_shift_reg(struct x86_buf *b, const struct rv64_dinsn *d, int w, int op)
{
    int t = dst_reg(d->rd, 32);

    gen_ld(b, RCX, d->rs2);
    gen_ld(b, t, d->rs1);
    x86_shift(b, w, op, t, -1);
    if (!w)
        x86_movsxd(b, t, t);
    gen_st(b, d->rd, t);
}

/* rd = (rs1 cc rs2) or (rs1 cc imm) */
static void gen_set(struct x86_buf *b, const struct rv64_dinsn *d, int cc, bool imm)
{
    int t = dst_reg(d->rd, 32);

    gen_ld(b, RAX, d->rs1);
    if (imm)
        x86_alu_ri(b, 1, ALU_CMP, RAX, d->imm);
    else
        alu_src(b, 1, ALU_CMP, RAX, d->rs2);
    x86_setcc(b, cc, RAX);
    x86_movzx8(b, t, RAX);
    gen_st(b, d->rd, t);
}

static void gen_mul(struct x86_buf *b, const struct rv64_dinsn *d, int w)
{
    int t = dst_reg(d->rd, 32);

    gen_ld(b, RCX, d->rs2);
    gen_ld(b, t, d->rs1);
    x86_imul_rr(b, w, t, RCX);
    if (!w)
        x86_movsxd(b, t, t);
    gen_st(b, d->rd, t);
}

/* MULH (signed), MULHU, MULHSU: the high half from RDX */
static void gen_mulh(struct x86_buf *b, const struct rv64_dinsn *d)
{
    gen_ld(b, RAX, d->rs1);
    gen_ld(b, RCX, d->rs2);
    if (d->op == OP_MULHSU)
        x86_mov_rr(b, RSI, RAX);
    x86_f7(b, d->op == OP_MULH ? 5 : 4, RCX);
    if (d->op == OP_MULHSU) { /* signed a: hi(a * b) = hiu(a * b) - (a < 0 ? b : 0) */
        x86_shift(b, 1, SH_SAR, RSI, 63);
        x86_alu_rr(b, 1, ALU_AND, RSI, RCX);
        x86_alu_rr(b, 1, ALU_SUB, RDX, RSI);
    }
    gen_st(b, d->rd, RDX);
}

static void gen_divrem(struct jit_gen *g, const struct rv64_dinsn *d)
{
    struct x86_buf *b = g->b;

    gen_ld(b, RDI, d->rs1);
    gen_ld(b, RSI, d->rs2);
    x86_mov_imm(b, RDX, d->op);
    x86_call_rel(b, g->j->call_divrem);
    gen_st(b, d->rd, RAX);
}

static void gen_branch(struct jit_gen *g, const struct rv64_dinsn *d)
{
    static const int cc[] = {CC_E, CC_NE, CC_L, CC_GE, CC_B, CC_AE};
    struct x86_buf *b = g->b;
    int p = jit_pin(d->rs1), a = p >= 0 ? p : RAX;
    uint8_t *taken;

    if (p < 0)
        gen_ld(b, RAX, d->rs1);
    alu_src(b, 1, ALU_CMP, a, d->rs2);
    taken = x86_jcc(b, cc[d->op - OP_BEQ], 0);
    gen_goto(g, g->pc + d->len);
    x86_patch(b, taken, x86_here(b));
    gen_goto(g, g->pc + (uint64_t)(int64_t)d->imm);
}

static void gen_jalr(struct jit_gen *g, const struct rv64_dinsn *d)
{
    struct x86_buf *b = g->b;
    int p = jit_pin(d->rd);

    gen_ld(b, RAX, d->rs1);
    if (d->imm)
        x86_alu_ri(b, 1, ALU_ADD, RAX, d->imm);
    x86_alu_ri(b, 1, ALU_AND, RAX, -2);
    if (d->rd != 32) {
        x86_mov_imm(b, p >= 0 ? p : RCX, g->pc + d->len);
        if (p < 0)
            x86_store64(b, RBP, XOFF(d->rd), RCX);
    }
    x86_jmp(b, g->j->lookup);
}

static uint32_t expand(uint32_t raw)
{
    return (raw & 3) == 3 ? raw : rv64_rvc_expand((uint16_t)raw);
}

/* An instruction run by rv64_exec_one(): every guest register in h->x[] around the call; the
 * block ends there when the helper says so (a trap, a CSR write that ends the batch). */
static void gen_generic(struct jit_gen *g, const struct rv64_dinsn *d)
{
    struct x86_buf *b = g->b;
    uint8_t *ok;

    x86_store_imm(b, RBP, HOFF(pc), g->pc);
    x86_mov_imm(b, RSI, expand(d->raw));
    x86_mov_imm(b, RDX, d->raw);
    x86_mov_imm(b, RCX, d->len | (uint64_t)(g->n - g->idx - 1) << 8);
    x86_call_rel(b, g->j->call_exec_one);
    ok = x86_jcc(b, CC_NE, 0);
    jit_gen_trap_exit(g, g->idx);
    x86_patch(b, ok, x86_here(b));
}

/* One instruction; returns false when it ended the block (a control transfer). */
static bool gen_insn(struct jit_gen *g, const struct rv64_dinsn *d)
{
    struct x86_buf *b = g->b;
    int t = dst_reg(d->rd, 32);

    if (d->op == OP_GENERIC && (expand(d->raw) & 0x707f) == 0x000f) {
        /* FENCE: x86 keeps every order but stores before later loads (TSO); PAUSE (FENCE
         * W,0, the spin-loop hint) is the host's PAUSE. exec_one does the same. */
        uint32_t insn = expand(d->raw);
        if (insn == 0x0100000f) {
            x86_byte(b, 0xf3);
            x86_byte(b, 0x90);
        } else if ((insn >> 24 & 1) && (insn >> 21 & 1)) {
            x86_byte(b, 0x0f); /* mfence */
            x86_byte(b, 0xae);
            x86_byte(b, 0xf0);
        }
        return true;
    }
    if (d->op == OP_GENERIC) {
        gen_generic(g, d);
        return true;
    }

    /* results to x0 are dropped; only loads must still access memory */
    if (d->rd == 32 && !(d->op >= OP_LB && d->op <= OP_LWU) && d->op != OP_JAL &&
        d->op != OP_JALR && !(d->op >= OP_BEQ && d->op <= OP_SD))
        return true;
    switch (d->op) {
    case OP_LUI:
        x86_mov_imm(b, t, (uint64_t)(int64_t)d->imm);
        gen_st(b, d->rd, t);
        return true;
    case OP_AUIPC:
        x86_mov_imm(b, t, g->pc + (uint64_t)(int64_t)d->imm);
        gen_st(b, d->rd, t);
        return true;
    case OP_JAL:
        if (d->rd != 32) {
            x86_mov_imm(b, t, g->pc + d->len);
            gen_st(b, d->rd, t);
        }
        gen_goto(g, g->pc + (uint64_t)(int64_t)d->imm);
        return false;
    case OP_JALR: gen_jalr(g, d); return false;
    case OP_BEQ:
    case OP_BNE:
    case OP_BLT:
    case OP_BGE:
    case OP_BLTU:
    case OP_BGEU: gen_branch(g, d); return false;
    case OP_LB: jit_gen_load(g, d, 1, true); return true;
    case OP_LH: jit_gen_load(g, d, 2, true); return true;
    case OP_LW: jit_gen_load(g, d, 4, true); return true;
    case OP_LD: jit_gen_load(g, d, 8, false); return true;
    case OP_LBU: jit_gen_load(g, d, 1, false); return true;
    case OP_LHU: jit_gen_load(g, d, 2, false); return true;
    case OP_LWU: jit_gen_load(g, d, 4, false); return true;
    case OP_SB: jit_gen_store(g, d, 1); return true;
    case OP_SH: jit_gen_store(g, d, 2); return true;
    case OP_SW: jit_gen_store(g, d, 4); return true;
    case OP_SD: jit_gen_store(g, d, 8); return true;
    case OP_ADDI: gen_alu_ri(b, d, 1, ALU_ADD); return true;
    case OP_XORI: gen_alu_ri(b, d, 1, ALU_XOR); return true;
    case OP_ORI: gen_alu_ri(b, d, 1, ALU_OR); return true;
    case OP_ANDI: gen_alu_ri(b, d, 1, ALU_AND); return true;
    case OP_ADDIW: gen_alu_ri(b, d, 0, ALU_ADD); return true;
    case OP_SLTI: gen_set(b, d, CC_L, true); return true;
    case OP_SLTIU: gen_set(b, d, CC_B, true); return true;
    case OP_SLT: gen_set(b, d, CC_L, false); return true;
    case OP_SLTU: gen_set(b, d, CC_B, false); return true;
    case OP_SLLI: gen_shift_imm(b, d, 1, SH_SHL); return true;
    case OP_SRLI: gen_shift_imm(b, d, 1, SH_SHR); return true;
    case OP_SRAI: gen_shift_imm(b, d, 1, SH_SAR); return true;
    case OP_SLLIW: gen_shift_imm(b, d, 0, SH_SHL); return true;
    case OP_SRLIW: gen_shift_imm(b, d, 0, SH_SHR); return true;
    case OP_SRAIW: gen_shift_imm(b, d, 0, SH_SAR); return true;
    case OP_SLL: gen_shift_reg(b, d, 1, SH_SHL); return true;
    case OP_SRL: gen_shift_reg(b, d, 1, SH_SHR); return true;
    case OP_SRA: gen_shift_reg(b, d, 1, SH_SAR); return true;
    case OP_SLLW: gen_shift_reg(b, d, 0, SH_SHL); return true;
    case OP_SRLW: gen_shift_reg(b, d, 0, SH_SHR); return true;
    case OP_SRAW: gen_shift_reg(b, d, 0, SH_SAR); return true;
    case OP_ADD: gen_alu_rr(b, d, 1, ALU_ADD); return true;
    case OP_SUB: gen_alu_rr(b, d, 1, ALU_SUB); return true;
    case OP_XOR: gen_alu_rr(b, d, 1, ALU_XOR); return true;
    case OP_OR: gen_alu_rr(b, d, 1, ALU_OR); return true;
    case OP_AND: gen_alu_rr(b, d, 1, ALU_AND); return true;
    case OP_ADDW: gen_alu_rr(b, d, 0, ALU_ADD); return true;
    case OP_SUBW: gen_alu_rr(b, d, 0, ALU_SUB); return true;
    case OP_MUL: gen_mul(b, d, 1); return true;
    case OP_MULW: gen_mul(b, d, 0); return true;
    case OP_MULH:
    case OP_MULHU:
    case OP_MULHSU: gen_mulh(b, d); return true;
    default: gen_divrem(g, d); return true; /* DIV..REMU, DIVW..REMUW */
    }
}

/* Decodes the block's instructions into insn; returns how many. */
static int gen_decode(const struct jit_block *blk, struct rv64_dinsn *insn)
{
    uint64_t pc = blk->pc;
    const uint8_t *host = (const uint8_t *)blk->host;
    int n = 0;

    while (n < JIT_BLOCK_MAX) {
        struct rv64_dinsn *d = &insn[n];
        uint32_t raw;
        uint16_t lo;

        if ((pc & 0xfff) > 0xffe)
            break;
        memcpy(&lo, host, 2);
        if ((lo & 3) == 3) {
            if ((pc & 0xfff) > 0xffc)
                break; /* crosses into the next page: the interpreter runs it */
            memcpy(&raw, host, 4);
        } else {
            raw = lo;
        }
        rv64_decode(d, raw);
        if (d->op == OP_END || (d->op == OP_GENERIC && !rv64_jit_inline_generic(expand(raw))))
            break;
        n++;
        pc += d->len;
        host += d->len;
        if ((d->op != OP_GENERIC && rv64_op_ends_block(d->op)) || (pc & 0xfff) == 0)
            break;
    }
    return n;
}

void rv64_jit_scan(struct jit_block *blk)
{
    struct rv64_dinsn insn[JIT_BLOCK_MAX];

    blk->ninsns = (uint16_t)gen_decode(blk, insn);
}

int rv64_jit_translate(struct rv64_hart *h, struct jit_block *blk, struct x86_buf *b)
{
    struct jit_gen *g = calloc(1, sizeof(*g));
    uint8_t *budget, *stale;
    bool open = true;
    int err = 0;

    if (!g)
        return -ENOMEM;
    g->h = h;
    g->j = h->jit;
    g->b = b;
    g->blk = blk;
    g->dset = (int)(blk->mode >> 2);
    g->n = gen_decode(blk, g->insn);
    blk->ninsns = (uint16_t)g->n;
    blk->code = 0;
    blk->glen = 0;
    if (!g->n) {
        err = -ENOENT;
        goto out;
    }
    blk->code = x86_here(b);
    x86_op_mem(b, 0, X86_OP(0x81), ALU_CMP, RBP, -1, HOFF(jit_epoch), false);
    x86_u32(b, blk->epoch);
    blk->epoch_off = (uint8_t)(x86_here(b) - 4 - blk->code);
    stale = x86_jcc(b, CC_NE, 0);
    x86_alu_mi(b, ALU_SUB, RBP, HOFF(jit_left), g->n);
    budget = x86_jcc(b, CC_S, 0);
    g->pc = blk->pc;
    for (g->idx = 0; g->idx < g->n && open; g->idx++) {
        open = gen_insn(g, &g->insn[g->idx]);
        g->pc += g->insn[g->idx].len;
    }
    if (open)
        gen_goto(g, g->pc);
    x86_patch(b, budget, x86_here(b));
    x86_alu_mi(b, ALU_ADD, RBP, HOFF(jit_left), g->n);
    x86_patch(b, stale, x86_here(b));
    x86_store_imm(b, RBP, HOFF(pc), blk->pc);
    gen_exit_code(b, g->j, JIT_EXIT_NORMAL);
    jit_gen_slow_paths(g);
    blk->glen = (uint16_t)(g->pc - blk->pc);
    blk->copy = b->p;
    for (uint32_t i = 0; i < blk->glen; i++)
        x86_byte(b, ((const uint8_t *)blk->host)[i]);
    if (b->full) {
        err = -ENOSPC;
        blk->code = 0;
    }
out:
    free(g);
    return err;
}
