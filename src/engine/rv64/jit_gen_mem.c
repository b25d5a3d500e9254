/* rv64 JIT: loads and stores. The fast path is inline: the data TLB entry of the address's page
 * (the same entries the interpreter uses, so the dirty log and every flush apply), a check that
 * the access stays within the page, then one host access. Everything else (a TLB miss, MMIO, a
 * page-crossing access, a fault) goes out of line to rv64_load/rv64_store through the helpers,
 * with h->pc set to the instruction so that a trap is precise. */
#include "engine/rv64/jit_gen.h"

static int32_t tlb_off(int set, int acc)
{
    return HOFF(tlb) + (int32_t)(((set * 3 + acc) * TLB_SIZE) * sizeof(struct rv64_tlb_entry));
}

/* The address (rs1 + imm) into RSI. */
static void gen_addr(struct x86_buf *b, const struct rv64_dinsn *d)
{
    int p = jit_pin(d->rs1);

    if (p >= 0 && d->imm) {
        x86_lea(b, RSI, p, d->imm);
    } else {
        gen_ld(b, RSI, d->rs1);
        if (d->imm)
            x86_alu_ri(b, 1, ALU_ADD, RSI, d->imm);
    }
}

/* TLB check for the address in RSI; leaves the entry's addend in RDX. Fills s->jumps. */
static void gen_tlb(struct jit_gen *g, struct jit_slow *s, int acc, int size)
{
    struct x86_buf *b = g->b;
    int32_t off = tlb_off(g->dset, acc);

    x86_mov_rr(b, RDX, RSI);
    x86_shift(b, 1, SH_SHR, RDX, 12);
    x86_movzx8(b, RCX, RDX);
    x86_shift(b, 0, SH_SHL, RCX, 4);
    x86_alu_rr(b, 1, ALU_ADD, RDX, RDX);
    x86_op_mem(b, 1, X86_OP(0x3b), RDX, RBP, RCX, off, false); /* cmp rdx, tag */
    s->jumps[0] = x86_jcc(b, CC_NE, 0);
    s->jumps[1] = NULL;
    if (size > 1) {
        x86_mov_rr32(b, RDX, RSI);
        x86_alu_ri(b, 0, ALU_AND, RDX, 0xfff);
        x86_alu_ri(b, 0, ALU_CMP, RDX, 4096 - size);
        s->jumps[1] = x86_jcc(b, CC_A, 0);
    }
    x86_op_mem(b, 1, X86_OP(0x8b), RDX, RBP, RCX, off + 8, false); /* mov rdx, addend */
}

static struct jit_slow *slow_new(struct jit_gen *g, int kind, int size, int sign, int reg)
{
    struct jit_slow *s = &g->slow[g->nslow++];

    s->pc = g->pc;
    s->idx = g->idx;
    s->kind = kind;
    s->size = size;
    s->sign = sign;
    s->dst = reg;
    return s;
}

void jit_gen_load(struct jit_gen *g, const struct rv64_dinsn *d, int size, bool sign)
{
    struct x86_buf *b = g->b;
    int p = jit_pin(d->rd);
    int dst = p >= 0 ? p : RAX;
    struct jit_slow *s = slow_new(g, 0, size, sign, dst);

    gen_addr(b, d);
    gen_tlb(g, s, ACC_R, size);
    x86_load_ext(b, dst, RSI, RDX, size, sign);
    s->resume = x86_here(b);
    if (p < 0 && d->rd != 32)
        x86_store64(b, RBP, XOFF(d->rd), RAX);
}

void jit_gen_store(struct jit_gen *g, const struct rv64_dinsn *d, int size)
{
    struct x86_buf *b = g->b;
    int p = jit_pin(d->rs2);
    int val = p >= 0 ? p : RDI;
    struct jit_slow *s;

    if (p < 0)
        gen_ld(b, RDI, d->rs2);
    s = slow_new(g, 1, size, 0, val);
    gen_addr(b, d);
    gen_tlb(g, s, ACC_W, size);
    x86_store_sized(b, RSI, RDX, size, val);
    s->resume = x86_here(b);
}

/* RSI holds the address, s->dst the value (stores) or the register to load into. */
static void gen_slow(struct jit_gen *g, struct jit_slow *s)
{
    struct x86_buf *b = g->b;
    uint8_t *ok;

    for (int i = 0; i < 2; i++)
        if (s->jumps[i])
            x86_patch(b, s->jumps[i], x86_here(b));
    x86_store_imm(b, RBP, HOFF(pc), s->pc);
    if (s->kind == 1)
        x86_mov_rr(b, RCX, s->dst);
    x86_mov_imm(b, RDX, (uint64_t)s->size | (s->sign ? 0x10 : 0));
    x86_call_rel(b, s->kind == 1 ? g->j->call_store : g->j->call_load);
    ok = x86_jcc(b, CC_NE, 0);
    jit_gen_trap_exit(g, s->idx);
    x86_patch(b, ok, x86_here(b));
    if (s->kind == 0)
        x86_load64(b, s->dst, RBP, HOFF(jit_val));
    x86_jmp(b, s->resume);
}

void jit_gen_slow_paths(struct jit_gen *g)
{
    for (int i = 0; i < g->nslow; i++)
        gen_slow(g, &g->slow[i]);
}
