/* rv64 F and D internals shared by the FPU (fpu.c) and its software rounding (fpu_soft.c):
 * rounding modes, IEEE bit patterns and the exact-arithmetic entry points. */
#ifndef VESSEL_ENGINE_RV64_FPU_BITS_H
#define VESSEL_ENGINE_RV64_FPU_BITS_H

#include <stdint.h>
#include <string.h>

#include "engine/rv64/fpu.h"

enum { RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM, RM_DYN = 7 };
enum fop { FOP_ADD, FOP_SUB, FOP_MUL, FOP_DIV, FOP_SQRT, FOP_FMA };

#define OPC_FMADD  0x43
#define OPC_FMSUB  0x47
#define OPC_FNMSUB 0x4b
#define OPC_FNMADD 0x4f
#define OPC_OP_FP  0x53

#define CANON_S 0x7fc00000ULL
#define CANON_D 0x7ff8000000000000ULL
#define BOX_S   0xffffffff00000000ULL

typedef unsigned __int128 u128;

/* ---- IEEE bit patterns; dbl selects binary64, else binary32 in the low 32 bits ---- */

static inline uint64_t sign_bit(int dbl)
{
    return dbl ? 1ULL << 63 : 1ULL << 31;
}

static inline uint64_t quiet_bit(int dbl)
{
    return dbl ? 1ULL << 51 : 1ULL << 22;
}

static inline uint64_t inf_bits(int dbl)
{
    return dbl ? 0x7ff0000000000000ULL : 0x7f800000ULL;
}

static inline int is_nan(int dbl, uint64_t v)
{
    return (v & ~sign_bit(dbl)) > inf_bits(dbl);
}

static inline int is_snan(int dbl, uint64_t v)
{
    return is_nan(dbl, v) && !(v & quiet_bit(dbl));
}

static inline int is_inf(int dbl, uint64_t v)
{
    return (v & ~sign_bit(dbl)) == inf_bits(dbl);
}

static inline int is_zero(int dbl, uint64_t v)
{
    return (v & ~sign_bit(dbl)) == 0;
}

/* Maps non-NaN values to unsigned keys in numeric order, with -0 below +0. */
static inline uint64_t order_key(int dbl, uint64_t v)
{
    if (v & sign_bit(dbl))
        return ~v & (dbl ? ~0ULL : 0xffffffffULL);
    return v | sign_bit(dbl);
}

static inline double bits_d(uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

static inline uint64_t d_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    return v;
}

static inline float bits_s(uint64_t v)
{
    uint32_t w = (uint32_t)v;
    float f;
    memcpy(&f, &w, sizeof(f));
    return f;
}

static inline uint64_t s_bits(float f)
{
    uint32_t w;
    memcpy(&w, &f, sizeof(w));
    return w;
}

static inline uint64_t sext32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
}

/* ---- fpu_soft.c: exact arithmetic and software rounding ---- */

/* A finite nonzero value sig * 2^exp with the top bit of sig at bit 52. */
struct fnum {
    int sign;
    int exp;
    uint64_t sig;
};

void rv64_fpsoft_unpack(int dbl, uint64_t v, struct fnum *n);
/* sig / 2^shift rounded to an integer per rm (sign is the value's); sets *inexact. */
uint64_t rv64_fpsoft_shift_round(uint64_t sig, int shift, int sign, int rm, int *inexact);
/* Rounds (-1)^sign * sig * 2^exp to the format per rm, with RISC-V flags (tininess after
 * rounding). */
uint64_t rv64_fpsoft_round_pack(int dbl, int sign, int exp, uint64_t sig, int rm, uint32_t *fl);
/* Computes op exactly and rounds per rm (operands as for soft_arith in fpu_soft.c). */
uint64_t rv64_fpsoft_arith(int dbl, enum fop op, uint64_t ua, uint64_t ub, uint64_t uc, int rm,
                           uint32_t *fl);

#endif
