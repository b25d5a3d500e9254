/* rv64 reference executor: the semantics of every RV64IMAFDC + Zicsr + Zifencei instruction,
 * one at a time, from its 32-bit form. The fast loop (exec.c) handles the common integer
 * instructions itself and calls this for everything else (system, atomics, floating point) and
 * for illegal encodings. */
#include <string.h>

#include "engine/rv64/cpu.h"

#include "engine/rv64/insn.h"

static uint64_t mulh(int64_t a, int64_t b)
{
    return (uint64_t)(((__int128)a * b) >> 64);
}

static uint64_t mulhu(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static uint64_t mulhsu(int64_t a, uint64_t b)
{
    return (uint64_t)(((__int128)a * (unsigned __int128)b) >> 64);
}

static uint64_t alu_m(unsigned f3, uint64_t a, uint64_t b)
{
    switch (f3) {
    case 0: return a * b;
    case 1: return mulh((int64_t)a, (int64_t)b);
    case 2: return mulhsu((int64_t)a, b);
    case 3: return mulhu(a, b);
    case 4:
        if (b == 0)
            return ~0ULL;
        if ((int64_t)a == INT64_MIN && (int64_t)b == -1)
            return a;
        return (uint64_t)((int64_t)a / (int64_t)b);
    case 5: return b ? a / b : ~0ULL;
    case 6:
        if (b == 0)
            return a;
        if ((int64_t)a == INT64_MIN && (int64_t)b == -1)
            return 0;
        return (uint64_t)((int64_t)a % (int64_t)b);
    default: return b ? a % b : a;
    }
}

static uint64_t alu_mw(unsigned f3, uint64_t a64, uint64_t b64, bool *ok)
{
    int32_t a = (int32_t)a64, b = (int32_t)b64;
    uint32_t ua = (uint32_t)a64, ub = (uint32_t)b64;

    switch (f3) {
    case 0: return sext32((uint32_t)a * (uint32_t)b);
    case 4:
        if (b == 0)
            return ~0ULL;
        if (a == INT32_MIN && b == -1)
            return sext32((uint32_t)a);
        return sext32((uint32_t)(a / b));
    case 5: return ub ? sext32(ua / ub) : ~0ULL;
    case 6:
        if (b == 0)
            return sext32((uint32_t)a);
        if (a == INT32_MIN && b == -1)
            return 0;
        return sext32((uint32_t)(a % b));
    case 7: return ub ? sext32(ua % ub) : sext32(ua);
    default: *ok = false; return 0;
    }
}

/* AMOs on host memory: the host's atomics make them atomic across hart threads.
 * Returns 0 when executed, 1 when a trap was taken, -1 for an illegal encoding. */
enum { AMO_OK = 0, AMO_TRAP = 1, AMO_ILLEGAL = -1 };

static int exec_amo(struct rv64_hart *h, uint32_t insn)
{
    unsigned f5 = insn >> 27;
    uint64_t addr = h->x[RS1], src = h->x[RS2], old;
    bool dbl = F3 == 3;
    int size = dbl ? 8 : 4;
    void *p;

    if (F3 != 2 && F3 != 3)
        return AMO_ILLEGAL;
    if (f5 == 0x02) { /* LR */
        if (RS2)
            return AMO_ILLEGAL;
        p = rv64_amo_ptr(h, addr, size, ACC_R);
        if (!p)
            return AMO_TRAP;
        old = dbl ? __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST)
                  : sext32(__atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST));
        h->lr_valid = true;
        h->lr_addr = addr;
        h->lr_val = old;
        h->x[RD] = old;
        return AMO_OK;
    }
    if (f5 == 0x03) { /* SC */
        bool ok = false;
        if (addr & (uint64_t)(size - 1)) {
            rv64_trap(h, EXC_STORE_MISALIGNED, addr);
            return AMO_TRAP;
        }
        if (h->lr_valid && h->lr_addr == addr) {
            p = rv64_amo_ptr(h, addr, size, ACC_W);
            if (!p)
                return AMO_TRAP; /* the trap was taken: leave pc at the handler */
            if (dbl) {
                uint64_t expect = h->lr_val;
                ok = __atomic_compare_exchange_n((uint64_t *)p, &expect, src, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            } else {
                uint32_t expect = (uint32_t)h->lr_val;
                ok = __atomic_compare_exchange_n((uint32_t *)p, &expect, (uint32_t)src, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            }
        }
        h->lr_valid = false;
        h->x[RD] = ok ? 0 : 1;
        return AMO_OK;
    }
    switch (f5) {
    case 0x00:
    case 0x01:
    case 0x04:
    case 0x08:
    case 0x0c:
    case 0x10:
    case 0x14:
    case 0x18:
    case 0x1c: break;
    default: return AMO_ILLEGAL;
    }
    p = rv64_amo_ptr(h, addr, size, ACC_W);
    if (!p)
        return AMO_TRAP;
    if (dbl) {
        uint64_t *q = p;
        switch (f5) {
        case 0x00: old = __atomic_fetch_add(q, src, __ATOMIC_SEQ_CST); break;
        case 0x01: old = __atomic_exchange_n(q, src, __ATOMIC_SEQ_CST); break;
        case 0x04: old = __atomic_fetch_xor(q, src, __ATOMIC_SEQ_CST); break;
        case 0x08: old = __atomic_fetch_or(q, src, __ATOMIC_SEQ_CST); break;
        case 0x0c: old = __atomic_fetch_and(q, src, __ATOMIC_SEQ_CST); break;
        default: {
            uint64_t nv;
            old = __atomic_load_n(q, __ATOMIC_SEQ_CST);
            do {
                switch (f5) {
                case 0x10: nv = (int64_t)old < (int64_t)src ? old : src; break;
                case 0x14: nv = (int64_t)old > (int64_t)src ? old : src; break;
                case 0x18: nv = old < src ? old : src; break;
                default: nv = old > src ? old : src; break;
                }
            } while (!__atomic_compare_exchange_n(q, &old, nv, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST));
        }
        }
    } else {
        uint32_t *q = p, s = (uint32_t)src, o;
        switch (f5) {
        case 0x00: o = __atomic_fetch_add(q, s, __ATOMIC_SEQ_CST); break;
        case 0x01: o = __atomic_exchange_n(q, s, __ATOMIC_SEQ_CST); break;
        case 0x04: o = __atomic_fetch_xor(q, s, __ATOMIC_SEQ_CST); break;
        case 0x08: o = __atomic_fetch_or(q, s, __ATOMIC_SEQ_CST); break;
        case 0x0c: o = __atomic_fetch_and(q, s, __ATOMIC_SEQ_CST); break;
        default: {
            uint32_t nv;
            o = __atomic_load_n(q, __ATOMIC_SEQ_CST);
            do {
                switch (f5) {
                case 0x10: nv = (int32_t)o < (int32_t)s ? o : s; break;
                case 0x14: nv = (int32_t)o > (int32_t)s ? o : s; break;
                case 0x18: nv = o < s ? o : s; break;
                default: nv = o > s ? o : s; break;
                }
            } while (
                !__atomic_compare_exchange_n(q, &o, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
        }
        }
        old = sext32(o);
    }
    h->x[RD] = old;
    return AMO_OK;
}

/* SYSTEM major opcode. Returns false for an illegal instruction; true otherwise (including
 * when a trap was taken or pc was redirected by xRET, which set *redirect). */
static bool exec_system(struct rv64_hart *h, uint32_t insn, uint64_t npc, bool *redirect)
{
    unsigned csr = insn >> 20;
    uint64_t old, val;

    if (F3 == 0) {
        if (insn == 0x00000073) {
            rv64_trap(h, EXC_ECALL_U + (uint64_t)h->priv, 0);
            *redirect = true;
            return true;
        }
        if (insn == 0x00100073) {
            rv64_trap(h, EXC_BREAKPOINT, h->pc);
            *redirect = true;
            return true;
        }
        if (insn == 0x30200073) {
            if (h->priv != PRV_M)
                return false;
            rv64_mret(h);
            *redirect = true;
            return true;
        }
        if (insn == 0x10200073) {
            if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MS_TSR)))
                return false;
            rv64_sret(h);
            *redirect = true;
            return true;
        }
        if (insn == 0x10500073) {
            if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MS_TW)))
                return false;
            h->wfi = true;
            h->budget = 0;
            return true;
        }
        if (F7 == 0x09 && RD == 0) { /* sfence.vma */
            if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MS_TVM)))
                return false;
            if (RS1) /* one address: its page's entries (superpages included) */
                rv64_tlb_flush_va(h, h->x[RS1]);
            else
                rv64_tlb_flush(h);
            return true;
        }
        return false;
    }
    if (F3 == 4)
        return false;
    val = (F3 & 4) ? RS1 : h->x[RS1];
    if ((F3 & 3) == 1 && RD == 0) { /* csrrw(i) without a read */
        if (rv64_csr_write(h, csr, val))
            return false;
        return true;
    }
    if (rv64_csr_read(h, csr, &old))
        return false;
    if ((F3 & 3) == 1 || RS1 != 0) {
        /* A read-modify-write of mip uses the software-writable SEIP bit, not the value
         * ORed with the PLIC's line that a read returns (privileged spec, mip.SEIP). */
        uint64_t base = csr == 0x344 ? (old & ~RV64_MIP_SEIP) | (h->mip & RV64_MIP_SEIP) : old;
        uint64_t nv = (F3 & 3) == 1 ? val : (F3 & 3) == 2 ? base | val : base & ~val;
        if (rv64_csr_write(h, csr, nv))
            return false;
    }
    h->x[RD] = old;
    (void)npc;
    return true;
}

static bool fp_enabled(const struct rv64_hart *h)
{
    return (h->mstatus & MS_FS) != 0;
}

/* Executes one instruction: insn is the 32-bit form (compressed ones already expanded, 0 when
 * the compressed encoding is reserved), raw the bits as fetched (the trap value of an illegal
 * instruction), len 2 or 4. Sets h->pc to the next instruction, or to the trap handler. */
void rv64_exec_one(struct rv64_hart *h, uint32_t insn, uint32_t raw, unsigned len)
{
    uint64_t pc = h->pc, npc = pc + len, a, v;
    bool redirect = false;

    do {
        switch (insn & 0x7f) {
        case 0x03: /* LOAD */
            a = h->x[RS1] + (uint64_t)IMM_I;
            switch (F3) {
            case 0:
                if (!rv64_load(h, a, 1, &v))
                    continue;
                v = (uint64_t)(int8_t)v;
                break;
            case 1:
                if (!rv64_load(h, a, 2, &v))
                    continue;
                v = (uint64_t)(int16_t)v;
                break;
            case 2:
                if (!rv64_load(h, a, 4, &v))
                    continue;
                v = sext32(v);
                break;
            case 3:
                if (!rv64_load(h, a, 8, &v))
                    continue;
                break;
            case 4:
                if (!rv64_load(h, a, 1, &v))
                    continue;
                break;
            case 5:
                if (!rv64_load(h, a, 2, &v))
                    continue;
                break;
            case 6:
                if (!rv64_load(h, a, 4, &v))
                    continue;
                break;
            default: goto illegal;
            }
            h->x[RD] = v;
            break;
        case 0x23: /* STORE */
            if (F3 > 3)
                goto illegal;
            if (!rv64_store(h, h->x[RS1] + (uint64_t)IMM_S, 1 << F3, h->x[RS2]))
                continue;
            break;
        case 0x13: { /* OP-IMM */
            uint64_t s = h->x[RS1];
            int64_t imm = IMM_I;
            unsigned sh = (unsigned)imm & 63;
            switch (F3) {
            case 0: v = s + (uint64_t)imm; break;
            case 1:
                if ((insn >> 26) != 0)
                    goto illegal;
                v = s << sh;
                break;
            case 2: v = (int64_t)s < imm; break;
            case 3: v = s < (uint64_t)imm; break;
            case 4: v = s ^ (uint64_t)imm; break;
            case 5:
                if ((insn >> 26) == 0)
                    v = s >> sh;
                else if ((insn >> 26) == 0x10)
                    v = (uint64_t)((int64_t)s >> sh);
                else
                    goto illegal;
                break;
            case 6: v = s | (uint64_t)imm; break;
            default: v = s & (uint64_t)imm; break;
            }
            h->x[RD] = v;
            break;
        }
        case 0x1b: { /* OP-IMM-32 */
            uint32_t s = (uint32_t)h->x[RS1];
            unsigned sh = RS2;
            switch (F3) {
            case 0: v = sext32(s + (uint32_t)IMM_I); break;
            case 1:
                if (F7 != 0)
                    goto illegal;
                v = sext32(s << sh);
                break;
            case 5:
                if (F7 == 0)
                    v = sext32(s >> sh);
                else if (F7 == 0x20)
                    v = sext32((uint32_t)((int32_t)s >> sh));
                else
                    goto illegal;
                break;
            default: goto illegal;
            }
            h->x[RD] = v;
            break;
        }
        case 0x33: { /* OP */
            uint64_t s1 = h->x[RS1], s2 = h->x[RS2];
            if (F7 == 0) {
                switch (F3) {
                case 0: v = s1 + s2; break;
                case 1: v = s1 << (s2 & 63); break;
                case 2: v = (int64_t)s1 < (int64_t)s2; break;
                case 3: v = s1 < s2; break;
                case 4: v = s1 ^ s2; break;
                case 5: v = s1 >> (s2 & 63); break;
                case 6: v = s1 | s2; break;
                default: v = s1 & s2; break;
                }
            } else if (F7 == 0x20) {
                if (F3 == 0)
                    v = s1 - s2;
                else if (F3 == 5)
                    v = (uint64_t)((int64_t)s1 >> (s2 & 63));
                else
                    goto illegal;
            } else if (F7 == 1) {
                v = alu_m(F3, s1, s2);
            } else {
                goto illegal;
            }
            h->x[RD] = v;
            break;
        }
        case 0x3b: { /* OP-32 */
            uint32_t s1 = (uint32_t)h->x[RS1], s2 = (uint32_t)h->x[RS2];
            if (F7 == 0) {
                if (F3 == 0)
                    v = sext32(s1 + s2);
                else if (F3 == 1)
                    v = sext32(s1 << (s2 & 31));
                else if (F3 == 5)
                    v = sext32(s1 >> (s2 & 31));
                else
                    goto illegal;
            } else if (F7 == 0x20) {
                if (F3 == 0)
                    v = sext32(s1 - s2);
                else if (F3 == 5)
                    v = sext32((uint32_t)((int32_t)s1 >> (s2 & 31)));
                else
                    goto illegal;
            } else if (F7 == 1) {
                bool ok = true;
                v = alu_mw(F3, s1, s2, &ok);
                if (!ok)
                    goto illegal;
            } else {
                goto illegal;
            }
            h->x[RD] = v;
            break;
        }
        case 0x37: h->x[RD] = (uint64_t)IMM_U; break;
        case 0x17: h->x[RD] = pc + (uint64_t)IMM_U; break;
        case 0x6f:
            h->x[RD] = npc;
            npc = pc + (uint64_t)imm_j(insn);
            break;
        case 0x67:
            if (F3 != 0)
                goto illegal;
            v = (h->x[RS1] + (uint64_t)IMM_I) & ~1ULL;
            h->x[RD] = npc;
            npc = v;
            break;
        case 0x63: { /* BRANCH */
            uint64_t s1 = h->x[RS1], s2 = h->x[RS2];
            bool take;
            switch (F3) {
            case 0: take = s1 == s2; break;
            case 1: take = s1 != s2; break;
            case 4: take = (int64_t)s1 < (int64_t)s2; break;
            case 5: take = (int64_t)s1 >= (int64_t)s2; break;
            case 6: take = s1 < s2; break;
            case 7: take = s1 >= s2; break;
            default: goto illegal;
            }
            if (take)
                npc = pc + (uint64_t)imm_b(insn);
            break;
        }
        case 0x0f: /* MISC-MEM */
            if (F3 == 0) {
                /* fence: order stores before later loads only when asked to (x86 is TSO) */
                if ((insn >> 24 & 1) && (insn >> 21 & 1))
                    __atomic_thread_fence(__ATOMIC_SEQ_CST);
                else
                    __atomic_signal_fence(__ATOMIC_SEQ_CST);
            } else if (F3 == 1) {
                rv64_dcache_flush(h); /* fence.i */
            } else {
                goto illegal;
            }
            break;
        case 0x2f: /* AMO */
            switch (exec_amo(h, insn)) {
            case AMO_ILLEGAL: goto illegal;
            case AMO_TRAP: continue;
            default: break;
            }
            break;
        case 0x07: /* LOAD-FP */
            if (!fp_enabled(h) || (F3 != 2 && F3 != 3))
                goto illegal;
            a = h->x[RS1] + (uint64_t)IMM_I;
            if (F3 == 2) {
                if (!rv64_load(h, a, 4, &v))
                    continue;
                v |= 0xffffffff00000000ULL;
            } else if (!rv64_load(h, a, 8, &v)) {
                continue;
            }
            h->fp.f[RD] = v;
            h->mstatus |= MS_FS;
            break;
        case 0x27: /* STORE-FP */
            if (!fp_enabled(h) || (F3 != 2 && F3 != 3))
                goto illegal;
            if (!rv64_store(h, h->x[RS1] + (uint64_t)IMM_S, F3 == 2 ? 4 : 8, h->fp.f[RS2]))
                continue;
            break;
        case 0x43:
        case 0x47:
        case 0x4b:
        case 0x4f:
        case 0x53:
            if (!fp_enabled(h) || rv64_fpu_exec(&h->fp, h->x, insn))
                goto illegal;
            h->mstatus |= MS_FS;
            break;
        case 0x73:
            if (!exec_system(h, insn, npc, &redirect))
                goto illegal;
            if (redirect)
                continue;
            break;
        default: goto illegal;
        }
        h->x[0] = 0;
        h->pc = npc;
        return;
    } while (0);
    /* a trap was taken: h->pc is the handler */
    h->x[0] = 0;
    return;
illegal:
    h->x[0] = 0;
    rv64_trap(h, EXC_ILLEGAL, raw);
}
