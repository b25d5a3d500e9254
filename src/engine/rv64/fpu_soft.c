/* rv64 F and D: exact arithmetic in integers and software rounding, for RMM (which the host
 * cannot do) and for the conversions that round. */
#include "engine/rv64/fpu_bits.h"

void rv64_fpsoft_unpack(int dbl, uint64_t v, struct fnum *n)
{
    int mbits = dbl ? 52 : 23, bias = dbl ? 1023 : 127;
    int e = (int)((v >> mbits) & (dbl ? 0x7ff : 0xff));
    uint64_t frac = v & ((1ULL << mbits) - 1);
    int lz;

    n->sign = !!(v & sign_bit(dbl));
    if (e) {
        n->sig = frac | 1ULL << mbits;
        n->exp = e - bias - mbits;
    } else {
        n->sig = frac;
        n->exp = 1 - bias - mbits;
    }
    lz = __builtin_clzll(n->sig) - 11;
    n->sig <<= lz;
    n->exp -= lz;
}

/* sig / 2^shift rounded to an integer per rm (sign is the value's); sets *inexact. */
uint64_t rv64_fpsoft_shift_round(uint64_t sig, int shift, int sign, int rm, int *inexact)
{
    uint64_t q, rem, half;
    int cmp, up;

    if (shift <= 0) {
        *inexact = 0;
        return sig;
    }
    if (shift < 64) {
        q = sig >> shift;
        rem = sig & ((1ULL << shift) - 1);
        half = 1ULL << (shift - 1);
        cmp = (rem > half) - (rem < half);
    } else {
        q = 0;
        rem = sig;
        cmp = shift == 64 ? (rem > 1ULL << 63) - (rem < 1ULL << 63) : -1;
    }
    *inexact = rem != 0;
    if (!rem)
        return q;
    switch (rm) {
    case RM_RNE: up = cmp > 0 || (cmp == 0 && (q & 1)); break;
    case RM_RDN: up = sign; break;
    case RM_RUP: up = !sign; break;
    case RM_RMM: up = cmp >= 0; break;
    default: up = 0; break;
    }
    return q + up;
}

/* Rounds (-1)^sign * sig * 2^exp to the format per rm, with RISC-V flags (tininess after
 * rounding). Bits below the rounding position may be a sticky bit, provided sig holds at least
 * two more significant bits than the format's precision. */
uint64_t rv64_fpsoft_round_pack(int dbl, int sign, int exp, uint64_t sig, int rm, uint32_t *fl)
{
    const int p = dbl ? 53 : 24, emin = dbl ? -1022 : -126, emax = dbl ? 1023 : 127;
    uint64_t sbit = sign ? sign_bit(dbl) : 0, q;
    int e, inexact, tiny = 0;

    if (!sig)
        return sbit;
    e = __builtin_clzll(sig);
    sig <<= e;
    e = exp - e + 63; /* the value is 1.f * 2^e */
    if (e < emin) {
        q = rv64_fpsoft_shift_round(sig, 64 - p, sign, rm, &inexact);
        tiny = !(e == emin - 1 && (q >> p));
        q = rv64_fpsoft_shift_round(sig, 64 - p + (emin - e), sign, rm, &inexact);
        if (inexact)
            *fl |= RV64_FFLAG_NX | (tiny ? RV64_FFLAG_UF : 0);
        return sbit | q; /* a subnormal, or 2^emin when rounding carried into the exponent */
    }
    q = rv64_fpsoft_shift_round(sig, 64 - p, sign, rm, &inexact);
    if (q >> p) {
        q >>= 1;
        e++;
    }
    if (inexact)
        *fl |= RV64_FFLAG_NX;
    if (e > emax) {
        *fl |= RV64_FFLAG_OF | RV64_FFLAG_NX;
        if (rm == RM_RTZ || (rm == RM_RDN && !sign) || (rm == RM_RUP && sign))
            return sbit | (inf_bits(dbl) - 1);
        return sbit | inf_bits(dbl);
    }
    return sbit | (((uint64_t)(e + emax - 1) << (p - 1)) + q);
}

static int clz128(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64);

    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)v);
}

/* Narrows nonzero v to at most 62 significant bits, the dropped bits jammed into bit 0. */
static uint64_t jam64(u128 v, int *exp)
{
    int s = 128 - clz128(v) - 62;

    if (s > 0) {
        u128 t = v >> s;
        if (t << s != v)
            t |= 1;
        v = t;
        *exp += s;
    }
    return (uint64_t)v;
}

/* (-1)^sx x 2^ex + (-1)^sy y 2^ey where x and y have their top bit at 125: the magnitude with
 * a sticky bit 0, its exponent in *e and sign in *s. Exact when the exponents differ by less than
 * the number of trailing zero bits of the smaller operand. */
static u128 sum_jam(u128 x, int ex, int sx, u128 y, int ey, int sy, int *e, int *s)
{
    int d;

    if (ey > ex || (ey == ex && y > x)) {
        u128 t = x;
        int te = ex, ts = sx;
        x = y, ex = ey, sx = sy;
        y = t, ey = te, sy = ts;
    }
    d = ex - ey;
    if (d >= 126) {
        y = 1;
    } else if (d) {
        u128 t = y >> d;
        if (t << d != y)
            t |= 1;
        y = t;
    }
    *e = ex;
    *s = sx;
    return sx == sy ? x + y : x - y;
}

static uint64_t isqrt128(u128 s, int *inexact)
{
    u128 res = 0, bit = (u128)1 << 126;

    while (bit > s)
        bit >>= 2;
    while (bit) {
        if (s >= res + bit) {
            s -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    *inexact = s != 0;
    return (uint64_t)res;
}

/* Computes op exactly and rounds per rm. Operands are finite, and those of add/sub/mul/div and
 * the multiplicands of fma nonzero (otherwise the result is exact and the host's is right). */
__attribute__((cold)) uint64_t rv64_fpsoft_arith(int dbl, enum fop op, uint64_t ua, uint64_t ub,
                                                 uint64_t uc, int rm, uint32_t *fl)
{
    struct fnum a, b, c;
    int exp, sign, inexact;
    uint64_t sig;
    u128 v;

    rv64_fpsoft_unpack(dbl, ua, &a);
    if (op != FOP_SQRT)
        rv64_fpsoft_unpack(dbl, ub, &b);
    switch (op) {
    case FOP_ADD:
    case FOP_SUB:
        v = sum_jam((u128)a.sig << 73, a.exp - 73, a.sign, (u128)b.sig << 73, b.exp - 73,
                    b.sign ^ (op == FOP_SUB), &exp, &sign);
        break;
    case FOP_MUL:
        v = (u128)a.sig * b.sig;
        exp = a.exp + b.exp;
        sign = a.sign ^ b.sign;
        break;
    case FOP_DIV:
        v = ((u128)a.sig << 64) / b.sig;
        if (v * b.sig != (u128)a.sig << 64)
            v |= 1;
        exp = a.exp - 64 - b.exp;
        sign = a.sign ^ b.sign;
        break;
    case FOP_SQRT:
        if (a.exp & 1) {
            a.sig <<= 1;
            a.exp--;
        }
        v = isqrt128((u128)a.sig << 64, &inexact) | (uint64_t)inexact;
        exp = (a.exp - 64) / 2;
        sign = 0;
        break;
    default:
        v = (u128)a.sig * b.sig; /* top bit at 104 or 105 */
        exp = a.exp + b.exp;
        sign = a.sign ^ b.sign;
        if (!is_zero(dbl, uc)) {
            int sh = clz128(v) - 2;
            rv64_fpsoft_unpack(dbl, uc, &c);
            v = sum_jam(v << sh, exp - sh, sign, (u128)c.sig << 73, c.exp - 73, c.sign, &exp,
                        &sign);
        }
        break;
    }
    if (!v) /* exact cancellation */
        return rm == RM_RDN ? sign_bit(dbl) : 0;
    sig = jam64(v, &exp);
    return rv64_fpsoft_round_pack(dbl, sign, exp, sig, rm, fl);
}
