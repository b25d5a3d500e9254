/* rv64 F and D arithmetic.
 *
 * add, sub, mul, div, sqrt and the fused multiply-adds run on the host's IEEE 754 unit with its
 * rounding mode set from the RISC-V one, and the host's exception flags are collected afterwards.
 * RMM (round to nearest, ties to max magnitude) has no host mode: the host computes in RNE, and
 * only when that result is inexact is the value recomputed exactly in integers and rounded in
 * software (fpu_soft.c). Conversions, comparisons, min/max, sign injection and classification are
 * bit manipulation, so they honour all five rounding modes and the RISC-V saturation rules
 * exactly. Every NaN produced is the canonical NaN. */
#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rv64/fpu.h"

#include "base/dynlib.h"
#include "engine/rv64/fpu_bits.h"

/* ---- host FPU environment ---- */

/* Keeps the compiler from moving an FP operation across the rounding-mode and flag accesses. */
#if defined(__x86_64__)
#define FPU_PIN(v) __asm__ volatile("" : "+x"(v))
#elif defined(__aarch64__)
#define FPU_PIN(v) __asm__ volatile("" : "+w"(v))
#else
#define FPU_PIN(v) __asm__ volatile("" : "+m"(v))
#endif

static const int fe_round[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};

static inline uint32_t fe_flags(int e)
{
    return (e & FE_INVALID ? RV64_FFLAG_NV : 0) | (e & FE_DIVBYZERO ? RV64_FFLAG_DZ : 0) |
           (e & FE_OVERFLOW ? RV64_FFLAG_OF : 0) | (e & FE_UNDERFLOW ? RV64_FFLAG_UF : 0) |
           (e & FE_INEXACT ? RV64_FFLAG_NX : 0);
}

#if defined(__x86_64__) && defined(__SSE2_MATH__)
#define MXCSR_DEFAULT 0x1f80u /* exceptions masked, round to nearest, no FTZ/DAZ */

/* IE ZE OE UE PE (bits 0, 2, 3, 4, 5; DE is ignored) -> NV DZ OF UF NX */
static inline uint32_t mxcsr_flags(uint32_t m)
{
    return ((m & 0x01) << 4) | ((m & 0x04) << 1) | ((m & 0x08) >> 1) | ((m & 0x10) >> 3) |
           ((m & 0x20) >> 5);
}

/* Sets the rounding mode and clears the flags with one blind LDMXCSR: reading MXCSR first to skip
 * the write when it is already right costs more than the write (STMXCSR is the slow one on Zen). */
static inline void host_begin(int rm)
{
    /* RISC-V RNE RTZ RDN RUP -> MXCSR.RC 00 11 01 10 */
    static const uint32_t rc[4] = {0x0000, 0x6000, 0x2000, 0x4000};

    __builtin_ia32_ldmxcsr(MXCSR_DEFAULT | rc[rm]);
}

static inline uint32_t host_end(int rm)
{
    uint32_t m = __builtin_ia32_stmxcsr();

    if (rm != RM_RNE)
        __builtin_ia32_ldmxcsr(MXCSR_DEFAULT);
    return mxcsr_flags(m);
}
#else
static inline void host_begin(int rm)
{
    feclearexcept(FE_ALL_EXCEPT);
    if (rm != RM_RNE)
        fesetround(fe_round[rm]);
}

static inline uint32_t host_end(int rm)
{
    int e = fetestexcept(FE_ALL_EXCEPT);

    if (rm != RM_RNE)
        fesetround(FE_TONEAREST);
    return fe_flags(e);
}
#endif

#if defined(__x86_64__)
/* Without FMA3 the library fma may use x87 code, so that case goes through <fenv.h> whole. */
__attribute__((target("fma"))) static double fma_hw_d(double a, double b, double c)
{
    return __builtin_fma(a, b, c);
}

__attribute__((target("fma"))) static float fma_hw_s(float a, float b, float c)
{
    return __builtin_fmaf(a, b, c);
}

/* libm is needed only here, on hosts without FMA3: it is loaded on first use (base/dynlib.h)
 * so that VM processes do not map it (a quarter MiB of resident memory otherwise). */
static const char *const libm_names[] = {"feclearexcept", "fesetround", "fetestexcept", "fma",
                                         "fmaf"};
static struct {
    typeof(feclearexcept) *feclearexcept;
    typeof(fesetround) *fesetround;
    typeof(fetestexcept) *fetestexcept;
    typeof(fma) *fma;
    typeof(fmaf) *fmaf;
} lm;

__attribute__((noinline, cold)) static uint64_t host_fma_lib(int dbl, uint64_t a, uint64_t b,
                                                             uint64_t c, int rm, uint32_t *fl)
{
    uint64_t r;
    int e;

    if (dynlib_load("libm.so.6", "fused multiply-add without FMA3", libm_names, (void **)&lm,
                    sizeof(libm_names) / sizeof(libm_names[0])))
        abort(); /* cannot happen: libm is part of the C library */
    lm.feclearexcept(FE_ALL_EXCEPT);
    lm.fesetround(fe_round[rm]);
    if (dbl) {
        volatile double va = bits_d(a), vb = bits_d(b), vc = bits_d(c), vr;
        vr = lm.fma(va, vb, vc);
        r = d_bits(vr);
    } else {
        volatile float va = bits_s(a), vb = bits_s(b), vc = bits_s(c), vr;
        vr = lm.fmaf(va, vb, vc);
        r = s_bits(vr);
    }
    e = lm.fetestexcept(FE_ALL_EXCEPT);
    lm.fesetround(FE_TONEAREST);
    *fl = fe_flags(e);
    return r;
}
#else
static inline double fma_hw_d(double a, double b, double c)
{
    return fma(a, b, c);
}

static inline float fma_hw_s(float a, float b, float c)
{
    return fmaf(a, b, c);
}
#endif

/* One operation on the host in rounding mode rm (not RMM); returns raw result bits. */
static uint64_t host_arith(int dbl, enum fop op, uint64_t ua, uint64_t ub, uint64_t uc, int rm,
                           uint32_t *fl)
{
#if defined(__x86_64__)
    if (op == FOP_FMA && !__builtin_cpu_supports("fma"))
        return host_fma_lib(dbl, ua, ub, uc, rm, fl);
#endif
    if (dbl) {
        double a = bits_d(ua), b = bits_d(ub), c = bits_d(uc), r;

        host_begin(rm);
        FPU_PIN(a);
        FPU_PIN(b);
        FPU_PIN(c);
        switch (op) {
        case FOP_ADD: r = a + b; break;
        case FOP_SUB: r = a - b; break;
        case FOP_MUL: r = a * b; break;
        case FOP_DIV: r = a / b; break;
        case FOP_SQRT: r = __builtin_sqrt(a); break;
        default: r = fma_hw_d(a, b, c); break;
        }
        FPU_PIN(r);
        *fl = host_end(rm);
        return d_bits(r);
    } else {
        float a = bits_s(ua), b = bits_s(ub), c = bits_s(uc), r;

        host_begin(rm);
        FPU_PIN(a);
        FPU_PIN(b);
        FPU_PIN(c);
        switch (op) {
        case FOP_ADD: r = a + b; break;
        case FOP_SUB: r = a - b; break;
        case FOP_MUL: r = a * b; break;
        case FOP_DIV: r = a / b; break;
        case FOP_SQRT: r = __builtin_sqrtf(a); break;
        default: r = fma_hw_s(a, b, c); break;
        }
        FPU_PIN(r);
        *fl = host_end(rm);
        return s_bits(r);
    }
}

/* An arithmetic instruction's result bits and flags. */
static uint64_t arith(int dbl, enum fop op, uint64_t a, uint64_t b, uint64_t c, int rm,
                      uint32_t *fl)
{
    uint64_t r = host_arith(dbl, op, a, b, c, rm == RM_RMM ? RM_RNE : rm, fl);

    if (is_nan(dbl, r)) {
        /* RISC-V raises NV for inf * 0 in an fma even when the addend is a quiet NaN */
        if (op == FOP_FMA &&
            ((is_inf(dbl, a) && is_zero(dbl, b)) || (is_zero(dbl, a) && is_inf(dbl, b))))
            *fl |= RV64_FFLAG_NV;
        return dbl ? CANON_D : CANON_S;
    }
    if (rm == RM_RMM && (*fl & RV64_FFLAG_NX)) {
        *fl = 0;
        r = rv64_fpsoft_arith(dbl, op, a, b, c, rm, fl);
    }
    return r;
}

/* ---- conversions ---- */

/* FCVT.{W,WU,L,LU}.{S,D}: kind is rs2 (0 W, 1 WU, 2 L, 3 LU). */
static uint64_t cvt_f2i(int dbl, uint64_t v, unsigned kind, int rm, uint32_t *fl)
{
    static const uint64_t max_pos[4] = {0x7fffffffULL, 0xffffffffULL, 0x7fffffffffffffffULL, ~0ULL};
    static const uint64_t max_neg[4] = {1ULL << 31, 0, 1ULL << 63, 0}; /* magnitudes */
    struct fnum n;
    uint64_t mag = 0, r;
    int inexact = 0, sign = !!(v & sign_bit(dbl)), range = 1;

    if (is_zero(dbl, v))
        return 0;
    if (is_nan(dbl, v)) {
        sign = 0;
        range = 0;
    } else if (is_inf(dbl, v)) {
        range = 0;
    } else {
        rv64_fpsoft_unpack(dbl, v, &n);
        if (n.exp > 11) {
            range = 0;
        } else if (n.exp >= 0) {
            mag = n.sig << n.exp;
        } else {
            mag = rv64_fpsoft_shift_round(n.sig, -n.exp, sign, rm, &inexact);
        }
        if (range)
            range = mag <= (sign ? max_neg[kind] : max_pos[kind]);
    }
    if (!range) {
        *fl |= RV64_FFLAG_NV;
        r = sign ? -max_neg[kind] : max_pos[kind];
    } else {
        if (inexact)
            *fl |= RV64_FFLAG_NX;
        r = sign ? -mag : mag;
    }
    return kind < 2 ? sext32(r) : r;
}

/* FCVT.{S,D}.{W,WU,L,LU} */
static uint64_t cvt_i2f(int dbl, uint64_t v, unsigned kind, int rm, uint32_t *fl)
{
    int sign = 0;

    switch (kind) {
    case 0: v = sext32(v); /* fall through */
    case 2:
        sign = (int64_t)v < 0;
        if (sign)
            v = -v;
        break;
    case 1: v = (uint32_t)v; break;
    default: break;
    }
    return rv64_fpsoft_round_pack(dbl, sign, 0, v, rm, fl);
}

/* FCVT.S.D (to_dbl = 0) and FCVT.D.S (to_dbl = 1) */
static uint64_t cvt_f2f(int to_dbl, uint64_t v, int rm, uint32_t *fl)
{
    int from = !to_dbl;
    struct fnum n;

    if (is_nan(from, v)) {
        if (is_snan(from, v))
            *fl |= RV64_FFLAG_NV;
        return to_dbl ? CANON_D : CANON_S;
    }
    if (is_inf(from, v) || is_zero(from, v))
        return (v & sign_bit(from) ? sign_bit(to_dbl) : 0) |
               (is_inf(from, v) ? inf_bits(to_dbl) : 0);
    rv64_fpsoft_unpack(from, v, &n);
    return rv64_fpsoft_round_pack(to_dbl, n.sign, n.exp, n.sig, rm, fl);
}

static uint64_t fclass(int dbl, uint64_t v)
{
    int neg = !!(v & sign_bit(dbl)), mbits = dbl ? 52 : 23;
    uint64_t e = (v & ~sign_bit(dbl)) >> mbits, emax = dbl ? 0x7ff : 0xff;

    if (e == emax) {
        if (is_nan(dbl, v))
            return v & quiet_bit(dbl) ? 1 << 9 : 1 << 8;
        return neg ? 1 << 0 : 1 << 7;
    }
    if (is_zero(dbl, v))
        return neg ? 1 << 3 : 1 << 4;
    if (e == 0)
        return neg ? 1 << 2 : 1 << 5;
    return neg ? 1 << 1 : 1 << 6;
}

/* ---- registers and decode ---- */

/* A source operand: binary64 bits, or binary32 bits with an improperly NaN-boxed value read as
 * the canonical NaN. */
static inline uint64_t freg(const struct rv64_fpu *fp, unsigned r, int dbl)
{
    uint64_t v = fp->f[r];

    if (dbl)
        return v;
    return (v & BOX_S) == BOX_S ? (uint32_t)v : CANON_S;
}

static inline void freg_set(struct rv64_fpu *fp, unsigned r, int dbl, uint64_t v)
{
    fp->f[r] = dbl ? v : BOX_S | (uint32_t)v;
}

/* The effective rounding mode, or -1 when it is reserved. */
static inline int rounding(const struct rv64_fpu *fp, unsigned rm)
{
    if (rm == RM_DYN)
        rm = fp->frm;
    return rm <= RM_RMM ? (int)rm : -1;
}

int rv64_fpu_exec(struct rv64_fpu *fp, uint64_t *x, uint32_t insn)
{
    unsigned opc = insn & 0x7f, rd = (insn >> 7) & 31, funct3 = (insn >> 12) & 7;
    unsigned rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31, fmt = (insn >> 25) & 3;
    int dbl = fmt == 1, rm, to_x = 0;
    uint64_t a, b, r;
    uint32_t fl = 0;

    if (fmt > 1)
        return -1;
    if (opc != OPC_OP_FP) {
        uint64_t c;

        if (opc != OPC_FMADD && opc != OPC_FMSUB && opc != OPC_FNMSUB && opc != OPC_FNMADD)
            return -1;
        if ((rm = rounding(fp, funct3)) < 0)
            return -1;
        a = freg(fp, rs1, dbl);
        b = freg(fp, rs2, dbl);
        c = freg(fp, insn >> 27, dbl);
        if (opc == OPC_FNMSUB || opc == OPC_FNMADD)
            a ^= sign_bit(dbl);
        if (opc == OPC_FMSUB || opc == OPC_FNMADD)
            c ^= sign_bit(dbl);
        r = arith(dbl, FOP_FMA, a, b, c, rm, &fl);
        fp->fflags |= fl;
        freg_set(fp, rd, dbl, r);
        return 0;
    }

    a = freg(fp, rs1, dbl);
    b = freg(fp, rs2, dbl);
    switch (insn >> 27) {
    case 0x00: /* FADD FSUB FMUL FDIV */
    case 0x01:
    case 0x02:
    case 0x03:
        if ((rm = rounding(fp, funct3)) < 0)
            return -1;
        r = arith(dbl, (enum fop)(insn >> 27), a, b, 0, rm, &fl);
        break;
    case 0x0b: /* FSQRT */
        if (rs2 != 0 || (rm = rounding(fp, funct3)) < 0)
            return -1;
        r = arith(dbl, FOP_SQRT, a, 0, 0, rm, &fl);
        break;
    case 0x04: /* FSGNJ FSGNJN FSGNJX */
        if (funct3 > 2)
            return -1;
        if (funct3 == 0)
            r = (a & ~sign_bit(dbl)) | (b & sign_bit(dbl));
        else if (funct3 == 1)
            r = (a & ~sign_bit(dbl)) | (~b & sign_bit(dbl));
        else
            r = a ^ (b & sign_bit(dbl));
        break;
    case 0x05: /* FMIN FMAX */
        if (funct3 > 1)
            return -1;
        if (is_snan(dbl, a) || is_snan(dbl, b))
            fl |= RV64_FFLAG_NV;
        if (is_nan(dbl, a) && is_nan(dbl, b))
            r = dbl ? CANON_D : CANON_S;
        else if (is_nan(dbl, a))
            r = b;
        else if (is_nan(dbl, b))
            r = a;
        else
            r = (order_key(dbl, a) < order_key(dbl, b)) == (funct3 == 0) ? a : b;
        break;
    case 0x08: /* FCVT.S.D FCVT.D.S */
        if (rs2 != (unsigned)!dbl || (rm = rounding(fp, funct3)) < 0)
            return -1;
        r = cvt_f2f(dbl, freg(fp, rs1, !dbl), rm, &fl);
        break;
    case 0x14: /* FLE FLT FEQ */
        if (funct3 > 2)
            return -1;
        to_x = 1;
        if (is_nan(dbl, a) || is_nan(dbl, b)) {
            if (funct3 != 2 || is_snan(dbl, a) || is_snan(dbl, b))
                fl |= RV64_FFLAG_NV;
            r = 0;
        } else if (is_zero(dbl, a) && is_zero(dbl, b)) {
            r = funct3 != 1;
        } else if (funct3 == 2) {
            r = a == b;
        } else if (funct3 == 1) {
            r = order_key(dbl, a) < order_key(dbl, b);
        } else {
            r = order_key(dbl, a) <= order_key(dbl, b);
        }
        break;
    case 0x18: /* FCVT.{W,WU,L,LU}.fmt */
        if (rs2 > 3 || (rm = rounding(fp, funct3)) < 0)
            return -1;
        to_x = 1;
        r = cvt_f2i(dbl, a, rs2, rm, &fl);
        break;
    case 0x1a: /* FCVT.fmt.{W,WU,L,LU} */
        if (rs2 > 3 || (rm = rounding(fp, funct3)) < 0)
            return -1;
        r = cvt_i2f(dbl, x[rs1], rs2, rm, &fl);
        break;
    case 0x1c: /* FMV.X.{W,D} FCLASS */
        if (rs2 != 0 || funct3 > 1)
            return -1;
        to_x = 1;
        if (funct3 == 1)
            r = fclass(dbl, a);
        else
            r = dbl ? fp->f[rs1] : sext32(fp->f[rs1]); /* raw bits, NaN-boxed or not */
        break;
    case 0x1e: /* FMV.{W,D}.X */
        if (rs2 != 0 || funct3 != 0)
            return -1;
        r = x[rs1];
        break;
    default: return -1;
    }
    fp->fflags |= fl;
    if (to_x) {
        if (rd)
            x[rd] = r;
        return 0;
    }
    freg_set(fp, rd, dbl, r);
    return 0;
}
