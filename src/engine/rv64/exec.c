/* rv64 fast loop. Straight-line runs of instructions are decoded once into basic blocks (see
 * struct rv64_block), cached per hart by guest physical address and FENCE.I epoch, and
 * dispatched with computed gotos, one indirect jump per handler. Within a block the next
 * instruction is the next array entry: no fetch, no lookup. The current code page's
 * translation is kept in locals. The common integer instructions run here; the rest (system,
 * atomics, floating point, fences, illegal encodings) go to rv64_exec_one() and end the block.
 *
 * Contract with callees: before calling anything that may trap, h->pc holds the current pc; a
 * callee that needs the batch to end (a trap, xRET, WFI, a CSR write) sets h->budget to 0, and
 * after a trap h->pc is the handler's address. */
#include <string.h>

#include "engine/rv64/cpu.h"
#include "engine/rv64/decode.h"
#include "engine/rv64/insn.h"

/* Decodes the block at pc, whose page is mapped at host + (pc & 0xfff) - (pc & 0xfff). An
 * instruction that crosses into the next page is fetched through the MMU (it may fault: then
 * the block is left empty and false returned). */
static bool build_block(struct rv64_hart *h, struct rv64_block *b, uint64_t pc, uint64_t caddend,
                        uint64_t tag)
{
    int n = 0;

    b->tag = 0;
    while (n < BLOCK_MAX) {
        struct rv64_dinsn *d = &b->insn[n];
        uint32_t raw;

        if ((pc & 0xfff) <= 0xffc) {
            memcpy(&raw, (const void *)(uintptr_t)(pc + caddend), 4);
            if ((raw & 3) != 3)
                raw &= 0xffff;
        } else if ((pc & 0xfff) == 0xffe) {
            uint16_t lo;
            memcpy(&lo, (const void *)(uintptr_t)(pc + caddend), 2);
            if ((lo & 3) == 3) { /* crosses the page: a block of its own */
                if (n)
                    break;
                h->pc = pc;
                if (!rv64_fetch_slow(h, pc, &raw))
                    return false;
            } else {
                raw = lo;
            }
        } else {
            break; /* the next page */
        }
        rv64_decode(d, raw);
        n++;
        pc += d->len;
        /* The page ended, or the instruction crossed it: caddend is not the next page's. */
        if (rv64_op_ends_block(d->op) || (pc & 0xfff) < d->len)
            break;
    }
    b->insn[n] = (struct rv64_dinsn){.op = OP_END};
    b->tag = tag;
    return true;
}

void rv64_dcache_flush(struct rv64_hart *h)
{
    h->jit_epoch++; /* the JIT revalidates its translations (jit_run.c) */
    if (++h->dc_epoch >= (1ULL << (64 - DCACHE_EPOCH_SHIFT))) {
        memset(h->blocks, 0, BLOCK_CACHE_SIZE * sizeof(*h->blocks));
        h->dc_epoch = 1;
    }
}

static inline uint64_t div64(int64_t a, int64_t b)
{
    if (b == 0)
        return ~0ULL;
    if (a == INT64_MIN && b == -1)
        return (uint64_t)a;
    return (uint64_t)(a / b);
}

static inline uint64_t rem64(int64_t a, int64_t b)
{
    if (b == 0)
        return (uint64_t)a;
    if (a == INT64_MIN && b == -1)
        return 0;
    return (uint64_t)(a % b);
}

static inline uint64_t div32(int32_t a, int32_t b)
{
    if (b == 0)
        return ~0ULL;
    if (a == INT32_MIN && b == -1)
        return sext32((uint32_t)a);
    return sext32((uint32_t)(a / b));
}

static inline uint64_t rem32(int32_t a, int32_t b)
{
    if (b == 0)
        return sext32((uint32_t)a);
    if (a == INT32_MIN && b == -1)
        return 0;
    return sext32((uint32_t)(a % b));
}

uint64_t rv64_exec(struct rv64_hart *h, uint64_t n)
{
    static const void *const labels[OP_COUNT] = {
        [OP_GENERIC] = &&l_generic, [OP_LUI] = &&l_lui,       [OP_AUIPC] = &&l_auipc,
        [OP_JAL] = &&l_jal,         [OP_JALR] = &&l_jalr,     [OP_BEQ] = &&l_beq,
        [OP_BNE] = &&l_bne,         [OP_BLT] = &&l_blt,       [OP_BGE] = &&l_bge,
        [OP_BLTU] = &&l_bltu,       [OP_BGEU] = &&l_bgeu,     [OP_LB] = &&l_lb,
        [OP_LH] = &&l_lh,           [OP_LW] = &&l_lw,         [OP_LD] = &&l_ld,
        [OP_LBU] = &&l_lbu,         [OP_LHU] = &&l_lhu,       [OP_LWU] = &&l_lwu,
        [OP_SB] = &&l_sb,           [OP_SH] = &&l_sh,         [OP_SW] = &&l_sw,
        [OP_SD] = &&l_sd,           [OP_ADDI] = &&l_addi,     [OP_SLTI] = &&l_slti,
        [OP_SLTIU] = &&l_sltiu,     [OP_XORI] = &&l_xori,     [OP_ORI] = &&l_ori,
        [OP_ANDI] = &&l_andi,       [OP_SLLI] = &&l_slli,     [OP_SRLI] = &&l_srli,
        [OP_SRAI] = &&l_srai,       [OP_ADD] = &&l_add,       [OP_SUB] = &&l_sub,
        [OP_SLL] = &&l_sll,         [OP_SLT] = &&l_slt,       [OP_SLTU] = &&l_sltu,
        [OP_XOR] = &&l_xor,         [OP_SRL] = &&l_srl,       [OP_SRA] = &&l_sra,
        [OP_OR] = &&l_or,           [OP_AND] = &&l_and,       [OP_ADDIW] = &&l_addiw,
        [OP_SLLIW] = &&l_slliw,     [OP_SRLIW] = &&l_srliw,   [OP_SRAIW] = &&l_sraiw,
        [OP_ADDW] = &&l_addw,       [OP_SUBW] = &&l_subw,     [OP_SLLW] = &&l_sllw,
        [OP_SRLW] = &&l_srlw,       [OP_SRAW] = &&l_sraw,     [OP_MUL] = &&l_mul,
        [OP_MULH] = &&l_mulh,       [OP_MULHSU] = &&l_mulhsu, [OP_MULHU] = &&l_mulhu,
        [OP_DIV] = &&l_div,         [OP_DIVU] = &&l_divu,     [OP_REM] = &&l_rem,
        [OP_REMU] = &&l_remu,       [OP_MULW] = &&l_mulw,     [OP_DIVW] = &&l_divw,
        [OP_DIVUW] = &&l_divuw,     [OP_REMW] = &&l_remw,     [OP_REMUW] = &&l_remuw,
        [OP_END] = &&l_end,
    };
    uint64_t *const x = h->x;
    uint64_t pc = h->pc, left = n, inst0 = h->instret, a, v;
    uint64_t cpage = 1, caddend = 0; /* current code page (1: none, never page-aligned) */
    uint64_t epoch = h->dc_epoch << DCACHE_EPOCH_SHIFT;
    int fset = rv64_tlb_set(h->priv), dset = rv64_tlb_set(rv64_data_priv(h));
    struct rv64_dinsn *d = NULL, *cur = NULL;
    struct rv64_block *b;
    struct rv64_tlb_entry *e;

    h->budget = 1;

/* The next instruction of the block (its end marker looks the next block up). */
#define NEXT()                                                                                     \
    do {                                                                                           \
        d++;                                                                                       \
        if (unlikely(left == 0))                                                                   \
            goto out;                                                                              \
        left--;                                                                                    \
        cur = d;                                                                                   \
        goto *labels[d->op];                                                                       \
    } while (0)

/* Loads and stores: the TLB hit inline, everything else through the slow path. */
#define LOAD(size, type, ext)                                                                      \
    do {                                                                                           \
        a = x[d->rs1] + (uint64_t)(int64_t)d->imm;                                                 \
        e = &h->tlb[dset][ACC_R][(a >> 12) & (TLB_SIZE - 1)];                                      \
        if (likely(e->tag == (a >> 12) << 1 && (a & 0xfff) <= 4096 - (size))) {                    \
            type t_;                                                                               \
            memcpy(&t_, (const void *)(uintptr_t)(a + e->addend), size);                           \
            v = (uint64_t)(ext)t_;                                                                 \
        } else {                                                                                   \
            h->pc = pc;                                                                            \
            if (!rv64_load(h, a, size, &v))                                                        \
                goto trapped;                                                                      \
            v = (uint64_t)(ext)(type)v;                                                            \
        }                                                                                          \
        x[d->rd] = v;                                                                              \
        pc += d->len;                                                                              \
        NEXT();                                                                                    \
    } while (0)

#define STORE(size, type)                                                                          \
    do {                                                                                           \
        a = x[d->rs1] + (uint64_t)(int64_t)d->imm;                                                 \
        e = &h->tlb[dset][ACC_W][(a >> 12) & (TLB_SIZE - 1)];                                      \
        if (likely(e->tag == (a >> 12) << 1 && (a & 0xfff) <= 4096 - (size))) {                    \
            type t_ = (type)x[d->rs2];                                                             \
            memcpy((void *)(uintptr_t)(a + e->addend), &t_, size);                                 \
        } else {                                                                                   \
            h->pc = pc;                                                                            \
            if (!rv64_store(h, a, size, x[d->rs2]))                                                \
                goto trapped;                                                                      \
        }                                                                                          \
        pc += d->len;                                                                              \
        NEXT();                                                                                    \
    } while (0)

#define ALU(expr)                                                                                  \
    do {                                                                                           \
        x[d->rd] = (expr);                                                                         \
        pc += d->len;                                                                              \
        NEXT();                                                                                    \
    } while (0)

#define BRANCH(cond)                                                                               \
    do {                                                                                           \
        pc += (cond) ? (uint64_t)(int64_t)d->imm : d->len;                                         \
        goto lookup;                                                                               \
    } while (0)

#define RS1V  x[d->rs1]
#define RS2V  x[d->rs2]
#define IMMV  ((uint64_t)(int64_t)d->imm)
#define SRS1V ((int64_t)x[d->rs1])
#define SRS2V ((int64_t)x[d->rs2])

    goto lookup;

l_lui:
    ALU(IMMV);
l_auipc:
    ALU(pc + IMMV);
l_jal:
    x[d->rd] = pc + d->len;
    pc += IMMV;
    goto lookup;
l_jalr:
    a = (RS1V + IMMV) & ~1ULL;
    x[d->rd] = pc + d->len;
    pc = a;
    goto lookup;
l_end:
    left++; /* the end marker is not an instruction */
    goto lookup;
l_beq:
    BRANCH(RS1V == RS2V);
l_bne:
    BRANCH(RS1V != RS2V);
l_blt:
    BRANCH(SRS1V < SRS2V);
l_bge:
    BRANCH(SRS1V >= SRS2V);
l_bltu:
    BRANCH(RS1V < RS2V);
l_bgeu:
    BRANCH(RS1V >= RS2V);
l_lb:
    LOAD(1, uint8_t, int8_t);
l_lh:
    LOAD(2, uint16_t, int16_t);
l_lw:
    LOAD(4, uint32_t, int32_t);
l_ld:
    LOAD(8, uint64_t, uint64_t);
l_lbu:
    LOAD(1, uint8_t, uint8_t);
l_lhu:
    LOAD(2, uint16_t, uint16_t);
l_lwu:
    LOAD(4, uint32_t, uint32_t);
l_sb:
    STORE(1, uint8_t);
l_sh:
    STORE(2, uint16_t);
l_sw:
    STORE(4, uint32_t);
l_sd:
    STORE(8, uint64_t);
l_addi:
    ALU(RS1V + IMMV);
l_slti:
    ALU(SRS1V < (int64_t)d->imm);
l_sltiu:
    ALU(RS1V < IMMV);
l_xori:
    ALU(RS1V ^ IMMV);
l_ori:
    ALU(RS1V | IMMV);
l_andi:
    ALU(RS1V & IMMV);
l_slli:
    ALU(RS1V << d->imm);
l_srli:
    ALU(RS1V >> d->imm);
l_srai:
    ALU((uint64_t)(SRS1V >> d->imm));
l_add:
    ALU(RS1V + RS2V);
l_sub:
    ALU(RS1V - RS2V);
l_sll:
    ALU(RS1V << (RS2V & 63));
l_slt:
    ALU(SRS1V < SRS2V);
l_sltu:
    ALU(RS1V < RS2V);
l_xor:
    ALU(RS1V ^ RS2V);
l_srl:
    ALU(RS1V >> (RS2V & 63));
l_sra:
    ALU((uint64_t)(SRS1V >> (RS2V & 63)));
l_or:
    ALU(RS1V | RS2V);
l_and:
    ALU(RS1V & RS2V);
l_addiw:
    ALU(sext32(RS1V + IMMV));
l_slliw:
    ALU(sext32((uint32_t)RS1V << d->imm));
l_srliw:
    ALU(sext32((uint32_t)RS1V >> d->imm));
l_sraiw:
    ALU(sext32((uint32_t)((int32_t)RS1V >> d->imm)));
l_addw:
    ALU(sext32(RS1V + RS2V));
l_subw:
    ALU(sext32(RS1V - RS2V));
l_sllw:
    ALU(sext32((uint32_t)RS1V << (RS2V & 31)));
l_srlw:
    ALU(sext32((uint32_t)RS1V >> (RS2V & 31)));
l_sraw:
    ALU(sext32((uint32_t)((int32_t)RS1V >> (RS2V & 31))));
l_mul:
    ALU(RS1V * RS2V);
l_mulh:
    ALU((uint64_t)(((__int128)SRS1V * SRS2V) >> 64));
l_mulhsu:
    ALU((uint64_t)(((__int128)SRS1V * (unsigned __int128)RS2V) >> 64));
l_mulhu:
    ALU((uint64_t)(((unsigned __int128)RS1V * RS2V) >> 64));
l_div:
    ALU(div64(SRS1V, SRS2V));
l_divu:
    ALU(RS2V ? RS1V / RS2V : ~0ULL);
l_rem:
    ALU(rem64(SRS1V, SRS2V));
l_remu:
    ALU(RS2V ? RS1V % RS2V : RS1V);
l_mulw:
    ALU(sext32(RS1V * RS2V));
l_divw:
    ALU(div32((int32_t)RS1V, (int32_t)RS2V));
l_divuw:
    ALU((uint32_t)RS2V ? sext32((uint32_t)RS1V / (uint32_t)RS2V) : ~0ULL);
l_remw:
    ALU(rem32((int32_t)RS1V, (int32_t)RS2V));
l_remuw:
    ALU((uint32_t)RS2V ? sext32((uint32_t)RS1V % (uint32_t)RS2V) : sext32(RS1V));

l_generic:
    h->pc = pc;
    h->instret = inst0 + (n - left);
    rv64_exec_one(h, (d->raw & 3) == 3 ? d->raw : rv64_rvc_expand((uint16_t)d->raw), d->raw,
                  d->len);
    inst0 = h->instret - (n - left);
    pc = h->pc;
    if (!h->budget)
        goto out_synced;
    /* privilege, translation or the decode epoch may have changed */
    fset = rv64_tlb_set(h->priv);
    dset = rv64_tlb_set(rv64_data_priv(h));
    epoch = h->dc_epoch << DCACHE_EPOCH_SHIFT;
    cpage = 1;
    goto lookup;

lookup:
    /* The block at pc: translate its page unless it is the current one, then the cache. */
    if (unlikely(left == 0))
        goto out;
    left--; /* counted here, so that a fetch fault counts as an instruction */
    if (unlikely((pc & ~0xfffULL) != cpage)) {
        e = &h->tlb[fset][ACC_X][(pc >> 12) & (TLB_SIZE - 1)];
        if (unlikely(e->tag != (pc >> 12) << 1)) {
            void *host;
            h->pc = pc;
            if (rv64_translate(h, pc, ACC_X, h->priv, &host, &a))
                goto out_synced; /* fetch page fault: h->pc is the handler */
            if (!host) {
                rv64_trap(h, EXC_INSN_ACCESS, pc);
                goto out_synced;
            }
            e = &h->tlb[fset][ACC_X][(pc >> 12) & (TLB_SIZE - 1)];
        }
        cpage = pc & ~0xfffULL;
        caddend = e->addend;
    }
    b = &h->blocks[(pc >> 1) & (BLOCK_CACHE_SIZE - 1)];
    if (unlikely(b->tag != ((pc + caddend) | epoch)) &&
        !build_block(h, b, pc, caddend, (pc + caddend) | epoch))
        goto out_synced; /* fetch fault on the second half of an instruction */
    d = b->insn;
    cur = d;
    goto *labels[d->op];

trapped:
    pc = h->pc;
    goto out_synced;
out:
    h->pc = pc;
out_synced:
    h->last_insn = cur ? cur->raw : 0;
    h->instret = inst0 + (n - left);
    return n - left;
}
