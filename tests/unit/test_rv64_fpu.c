/* rv64 F/D arithmetic (src/engine/rv64/fpu.c). Instruction words are built by hand; expected
 * values follow the RISC-V unprivileged spec (F and D chapters). */
#include <fenv.h>
#include <string.h>

#include "engine/rv64/fpu.h"
#include "harness.h"

enum { S = 0, D = 1 };
enum { RNE, RTZ, RDN, RUP, RMM, DYN = 7 };
enum {
    F_ADD = 0x00,
    F_SUB = 0x01,
    F_MUL = 0x02,
    F_DIV = 0x03,
    F_SGNJ = 0x04,
    F_MINMAX = 0x05,
    F_CVT_FF = 0x08,
    F_SQRT = 0x0b,
    F_CMP = 0x14,
    F_CVT_XF = 0x18, /* FCVT.{W,WU,L,LU}.fmt */
    F_CVT_FX = 0x1a, /* FCVT.fmt.{W,WU,L,LU} */
    F_MV_XF = 0x1c,  /* FMV.X.fmt, FCLASS */
    F_MV_FX = 0x1e,  /* FMV.fmt.X */
};
enum { CV_W, CV_WU, CV_L, CV_LU };
enum { FMADD = 0x43, FMSUB = 0x47, FNMSUB = 0x4b, FNMADD = 0x4f };

#define NV RV64_FFLAG_NV
#define DZ RV64_FFLAG_DZ
#define OF RV64_FFLAG_OF
#define UF RV64_FFLAG_UF
#define NX RV64_FFLAG_NX

#define CNAN_S 0x7fc00000ULL
#define CNAN_D 0x7ff8000000000000ULL
#define SNAN_S 0x7f800001ULL
#define SNAN_D 0x7ff0000000000001ULL
#define QNAN_S 0x7fc12345ULL /* quiet, with a payload */
#define QNAN_D 0x7ff8000000012345ULL
#define INF_S  0x7f800000ULL
#define INF_D  0x7ff0000000000000ULL
#define MAX_S  0x7f7fffffULL
#define MAX_D  0x7fefffffffffffffULL
#define NEG_S  0x80000000ULL
#define NEG_D  0x8000000000000000ULL
#define BOX    0xffffffff00000000ULL

static struct rv64_fpu fp;
static uint64_t x[32];

static uint32_t enc(unsigned f5, unsigned fmt, unsigned rs2, unsigned rs1, unsigned rm, unsigned rd)
{
    return f5 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | 0x53;
}

static uint32_t enc4(unsigned opc, unsigned rs3, unsigned fmt, unsigned rs2, unsigned rs1,
                     unsigned rm, unsigned rd)
{
    return rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | opc;
}

static uint64_t sb(float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof(v));
    return v;
}

static uint64_t db(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    return v;
}

static void setup(void)
{
    memset(&fp, 0, sizeof(fp));
    memset(x, 0, sizeof(x));
}

static uint64_t put(unsigned fmt, uint64_t v)
{
    return fmt == S ? BOX | (uint32_t)v : v;
}

/* Runs insn with f1, f2, f3 = a, b, c (in fmt) and fflags cleared; returns f5, whose NaN-boxing
 * is checked for singles. */
static uint64_t run_f(uint32_t insn, unsigned fmt, uint64_t a, uint64_t b, uint64_t c)
{
    int rc;

    fp.f[1] = put(fmt, a);
    fp.f[2] = put(fmt, b);
    fp.f[3] = put(fmt, c);
    fp.f[5] = 0x5555;
    fp.fflags = 0;
    rc = rv64_fpu_exec(&fp, x, insn);
    CHECK_EQ(rc, 0);
    if (fmt == S) {
        CHECK_EQ(fp.f[5] >> 32, 0xffffffffULL);
        return (uint32_t)fp.f[5];
    }
    return fp.f[5];
}

/* Runs insn with f1, f2 = a, b and x7 preset; returns x7. */
static uint64_t run_x(uint32_t insn, unsigned fmt, uint64_t a, uint64_t b)
{
    fp.f[1] = put(fmt, a);
    fp.f[2] = put(fmt, b);
    x[7] = 0x5555;
    fp.fflags = 0;
    CHECK_EQ(rv64_fpu_exec(&fp, x, insn), 0);
    return x[7];
}

#define OP2(f5, fmt, rm, a, b)     run_f(enc(f5, fmt, 2, 1, rm, 5), fmt, a, b, 0)
#define SQRT(fmt, rm, a)           run_f(enc(F_SQRT, fmt, 0, 1, rm, 5), fmt, a, 0, 0)
#define FMA(opc, fmt, rm, a, b, c) run_f(enc4(opc, 3, fmt, 2, 1, rm, 5), fmt, a, b, c)
#define SGNJ(fmt, k, a, b)         run_f(enc(F_SGNJ, fmt, 2, 1, k, 5), fmt, a, b, 0)
#define FMIN(fmt, a, b)            run_f(enc(F_MINMAX, fmt, 2, 1, 0, 5), fmt, a, b, 0)
#define FMAX(fmt, a, b)            run_f(enc(F_MINMAX, fmt, 2, 1, 1, 5), fmt, a, b, 0)
#define FEQ(fmt, a, b)             run_x(enc(F_CMP, fmt, 2, 1, 2, 7), fmt, a, b)
#define FLT(fmt, a, b)             run_x(enc(F_CMP, fmt, 2, 1, 1, 7), fmt, a, b)
#define FLE(fmt, a, b)             run_x(enc(F_CMP, fmt, 2, 1, 0, 7), fmt, a, b)
#define FCLASS(fmt, a)             run_x(enc(F_MV_XF, fmt, 0, 1, 1, 7), fmt, a, 0)
#define CVT_XF(fmt, kind, rm, a)   run_x(enc(F_CVT_XF, fmt, kind, 1, rm, 7), fmt, a, 0)
#define CVT_FX(fmt, kind, rm, v)   cvt_fx(fmt, kind, rm, v)
#define CVT_FF(to_fmt, rm, v)      cvt_ff(to_fmt, rm, v)

static uint64_t cvt_fx(unsigned fmt, unsigned kind, unsigned rm, uint64_t v)
{
    x[6] = v;
    return run_f(enc(F_CVT_FX, fmt, kind, 6, rm, 5), fmt, 0, 0, 0);
}

/* FCVT.S.D (to_fmt S) or FCVT.D.S (to_fmt D) of v, given in the source format */
static uint64_t cvt_ff(unsigned to_fmt, unsigned rm, uint64_t v)
{
    uint32_t insn = enc(F_CVT_FF, to_fmt, to_fmt == S ? 1 : 0, 4, rm, 5);

    fp.f[4] = put(!to_fmt, v);
    return run_f(insn, to_fmt, 0, 0, 0);
}

TEST(fpu_basic_arith)
{
    setup();
    CHECK_EQ(OP2(F_ADD, S, RNE, sb(1.5f), sb(2.25f)), sb(3.75f));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(OP2(F_SUB, S, RNE, sb(1.5f), sb(2.25f)), sb(-0.75f));
    CHECK_EQ(OP2(F_MUL, S, RNE, sb(1.5f), sb(-4.0f)), sb(-6.0f));
    CHECK_EQ(OP2(F_DIV, S, RNE, sb(1.5f), sb(0.5f)), sb(3.0f));
    CHECK_EQ(SQRT(S, RNE, sb(2.25f)), sb(1.5f));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(OP2(F_ADD, D, RNE, db(1.5), db(2.25)), db(3.75));
    CHECK_EQ(OP2(F_SUB, D, RNE, db(1.5), db(2.25)), db(-0.75));
    CHECK_EQ(OP2(F_MUL, D, RNE, db(1.5), db(-4.0)), db(-6.0));
    CHECK_EQ(OP2(F_DIV, D, RNE, db(1.5), db(0.5)), db(3.0));
    CHECK_EQ(SQRT(D, RNE, db(2.25)), db(1.5));
    CHECK_EQ(fp.fflags, 0);
    /* x - x is +0 except in RDN */
    CHECK_EQ(OP2(F_SUB, D, RNE, db(1.0), db(1.0)), 0);
    CHECK_EQ(OP2(F_SUB, D, RDN, db(1.0), db(1.0)), NEG_D);
    CHECK_EQ(OP2(F_SUB, S, RDN, sb(1.0f), sb(1.0f)), NEG_S);
    CHECK_EQ(SQRT(D, RNE, NEG_D), NEG_D);
    CHECK_EQ(fp.fflags, 0);
    /* rd = rs1 works */
    fp.f[1] = db(2.0);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MUL, D, 1, 1, RNE, 1)), 0);
    CHECK_EQ(fp.f[1], db(4.0));
}

TEST(fpu_inexact_and_rounding_modes)
{
    static const uint64_t third_s[5] = {0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab};
    static const uint64_t mthird_s[5] = {0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0xbeaaaaaa,
                                         0xbeaaaaab};
    static const uint64_t third_d[5] = {0x3fd5555555555555, 0x3fd5555555555555, 0x3fd5555555555555,
                                        0x3fd5555555555556, 0x3fd5555555555555};
    static const uint64_t sqrt2_d[5] = {0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcc,
                                        0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcd};

    setup();
    for (unsigned rm = RNE; rm <= RMM; rm++) {
        CHECK_EQ(OP2(F_DIV, S, rm, sb(1.0f), sb(3.0f)), third_s[rm]);
        CHECK_EQ(fp.fflags, NX);
        CHECK_EQ(OP2(F_DIV, S, rm, sb(-1.0f), sb(3.0f)), mthird_s[rm]);
        CHECK_EQ(fp.fflags, NX);
        CHECK_EQ(OP2(F_DIV, D, rm, db(1.0), db(3.0)), third_d[rm]);
        CHECK_EQ(fp.fflags, NX);
        CHECK_EQ(SQRT(D, rm, db(2.0)), sqrt2_d[rm]);
        CHECK_EQ(fp.fflags, NX);
        /* dynamic: the same through frm */
        fp.frm = rm;
        CHECK_EQ(OP2(F_DIV, S, DYN, sb(-1.0f), sb(3.0f)), mthird_s[rm]);
        CHECK_EQ(OP2(F_DIV, D, DYN, db(1.0), db(3.0)), third_d[rm]);
    }
    /* 1 + 2^-60: RUP goes up one ulp, the others stay */
    CHECK_EQ(OP2(F_ADD, D, RUP, db(1.0), db(0x1p-60)), 0x3ff0000000000001);
    CHECK_EQ(OP2(F_ADD, D, RDN, db(1.0), db(0x1p-60)), db(1.0));
    CHECK_EQ(OP2(F_ADD, D, RDN, db(-1.0), db(-0x1p-60)), 0xbff0000000000001);
    CHECK_EQ(OP2(F_MUL, S, RUP, sb(1.0f + 0x1p-23f), sb(1.0f + 0x1p-23f)), 0x3f800003);
    CHECK_EQ(OP2(F_MUL, S, RTZ, sb(1.0f + 0x1p-23f), sb(1.0f + 0x1p-23f)), 0x3f800002);
    /* the host is left rounding to nearest */
    CHECK_EQ(OP2(F_DIV, D, RUP, db(1.0), db(3.0)), third_d[RUP]);
    CHECK_EQ(fegetround(), FE_TONEAREST);
    {
        volatile double one = 1.0, three = 3.0, q = one / three;
        CHECK_EQ(db(q), third_d[RNE]);
    }
}

TEST(fpu_rmm_ties)
{
    setup();
    /* 1 + 2^-24 is halfway between 1 and 1 + 2^-23 */
    CHECK_EQ(OP2(F_ADD, S, RNE, sb(1.0f), sb(0x1p-24f)), sb(1.0f));
    CHECK_EQ(OP2(F_ADD, S, RMM, sb(1.0f), sb(0x1p-24f)), 0x3f800001);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(OP2(F_ADD, S, RMM, sb(-1.0f), sb(-0x1p-24f)), 0xbf800001);
    CHECK_EQ(OP2(F_ADD, S, RMM, sb(1.0f), sb(0x1p-25f)), sb(1.0f)); /* below the tie */
    CHECK_EQ(OP2(F_ADD, S, RMM, 0x3f800001, sb(0x1p-24f)), 0x3f800002);
    CHECK_EQ(OP2(F_ADD, D, RNE, db(1.0), db(0x1p-53)), db(1.0));
    CHECK_EQ(OP2(F_ADD, D, RMM, db(1.0), db(0x1p-53)), 0x3ff0000000000001);
    CHECK_EQ(OP2(F_SUB, D, RMM, db(-1.0), db(0x1p-53)), 0xbff0000000000001);
    /* 3 * (1 + 3*2^-23) = 2 * (1.5 + 4.5*2^-23): a tie */
    CHECK_EQ(OP2(F_MUL, S, RNE, sb(3.0f), 0x3f800003), 0x40400004);
    CHECK_EQ(OP2(F_MUL, S, RMM, sb(3.0f), 0x3f800003), 0x40400005);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(OP2(F_MUL, D, RMM, db(3.0), 0x3ff0000000000003), 0x4008000000000005);
    /* subnormal tie: 5 * 2^-149 / 2 */
    CHECK_EQ(OP2(F_DIV, S, RNE, 5, sb(2.0f)), 2);
    CHECK_EQ(OP2(F_DIV, S, RMM, 5, sb(2.0f)), 3);
    CHECK_EQ(fp.fflags, UF | NX);
    CHECK_EQ(OP2(F_DIV, D, RMM, 5, db(-2.0)), NEG_D | 3);
    CHECK_EQ(FMA(FMADD, S, RMM, sb(1.0f), sb(1.0f), sb(0x1p-24f)), 0x3f800001);
    CHECK_EQ(FMA(FMADD, D, RMM, db(1.0), db(1.0), db(0x1p-53)), 0x3ff0000000000001);
    CHECK_EQ(SQRT(D, RMM, db(2.0)), 0x3ff6a09e667f3bcd);
    /* RMM rounds up to overflow like RNE */
    CHECK_EQ(OP2(F_MUL, S, RMM, MAX_S, sb(2.0f)), INF_S);
    CHECK_EQ(fp.fflags, OF | NX);
    /* through frm */
    fp.frm = RMM;
    CHECK_EQ(OP2(F_ADD, S, DYN, sb(1.0f), sb(0x1p-24f)), 0x3f800001);
}

TEST(fpu_flags)
{
    setup();
    /* overflow */
    CHECK_EQ(OP2(F_MUL, S, RNE, MAX_S, sb(2.0f)), INF_S);
    CHECK_EQ(fp.fflags, OF | NX);
    CHECK_EQ(OP2(F_MUL, S, RTZ, MAX_S, sb(2.0f)), MAX_S);
    CHECK_EQ(fp.fflags, OF | NX);
    CHECK_EQ(OP2(F_MUL, D, RUP, MAX_D, db(-2.0)), NEG_D | MAX_D);
    CHECK_EQ(fp.fflags, OF | NX);
    CHECK_EQ(OP2(F_MUL, D, RDN, MAX_D, db(-2.0)), NEG_D | INF_D);
    CHECK_EQ(OP2(F_ADD, D, RNE, MAX_D, MAX_D), INF_D);
    CHECK_EQ(fp.fflags, OF | NX);
    /* division by zero */
    CHECK_EQ(OP2(F_DIV, S, RNE, sb(1.0f), 0), INF_S);
    CHECK_EQ(fp.fflags, DZ);
    CHECK_EQ(OP2(F_DIV, D, RNE, db(-1.0), 0), NEG_D | INF_D);
    CHECK_EQ(fp.fflags, DZ);
    CHECK_EQ(OP2(F_DIV, D, RNE, INF_D, 0), INF_D); /* inf / 0 is exact */
    CHECK_EQ(fp.fflags, 0);
    /* invalid: the result is the canonical NaN, never the host's negative default NaN */
    CHECK_EQ(OP2(F_DIV, S, RNE, 0, 0), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(SQRT(S, RNE, sb(-1.0f)), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(SQRT(D, RNE, db(-1.0)), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(OP2(F_MUL, D, RNE, 0, INF_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(OP2(F_MUL, S, RNE, NEG_S | INF_S, 0), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(OP2(F_ADD, D, RNE, INF_D, NEG_D | INF_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    /* NaN operands: sNaN raises NV, qNaN does not; payloads are not propagated */
    CHECK_EQ(OP2(F_ADD, S, RNE, SNAN_S, sb(1.0f)), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(OP2(F_ADD, S, RNE, QNAN_S, sb(1.0f)), CNAN_S);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(OP2(F_MUL, D, RNE, db(1.0), NEG_D | QNAN_D), CNAN_D);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(OP2(F_DIV, D, RNE, SNAN_D, QNAN_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(SQRT(D, RNE, NEG_D | SNAN_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    /* underflow: tiny and inexact */
    CHECK_EQ(OP2(F_MUL, D, RNE, 1, db(0.5)), 0);
    CHECK_EQ(fp.fflags, UF | NX);
    CHECK_EQ(OP2(F_MUL, D, RUP, 1, db(0.5)), 1);
    CHECK_EQ(fp.fflags, UF | NX);
    CHECK_EQ(OP2(F_MUL, S, RNE, 3, sb(0.5f)), 2);
    CHECK_EQ(fp.fflags, UF | NX);
    /* tiny but exact: no flag */
    CHECK_EQ(OP2(F_MUL, D, RNE, 0x0010000000000000, db(0.5)), 0x0008000000000000);
    CHECK_EQ(fp.fflags, 0);
    /* tininess is detected after rounding: (1 + 2^-52)(2^-1022 - 2^-1074) = 2^-1022 (1 - 2^-104)
     * rounds to 2^-1022 at unbounded exponent, so it is not tiny: NX without UF */
    CHECK_EQ(OP2(F_MUL, D, RNE, 0x3ff0000000000001, 0x000fffffffffffff), 0x0010000000000000);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(OP2(F_MUL, S, RNE, 0x3f800001, 0x007fffff), 0x00800000);
    CHECK_EQ(fp.fflags, NX);
    /* ... while 2^-1022 (1 - 2^-53) is tiny after rounding */
    CHECK_EQ(OP2(F_MUL, D, RNE, 0x3fefffffffffffff, 0x0010000000000000), 0x0010000000000000);
    CHECK_EQ(fp.fflags, UF | NX);
    /* the same through the software rounder (RMM, and conversions) */
    CHECK_EQ(OP2(F_MUL, S, RMM, 0x3f800001, 0x007fffff), 0x00800000);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_FF(S, RNE, db(0x1p-126 * (1.0 - 0x1p-25))), 0x00800000);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_FF(S, RNE, db(0x1p-126 * (1.0 - 0x1p-24))), 0x00800000);
    CHECK_EQ(fp.fflags, UF | NX);
    /* flags accumulate */
    fp.fflags = 0;
    fp.f[1] = db(1.0);
    fp.f[2] = 0;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_DIV, D, 2, 1, RNE, 5)), 0);
    fp.f[2] = db(3.0);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_DIV, D, 2, 1, RNE, 5)), 0);
    CHECK_EQ(fp.fflags, DZ | NX);
}

TEST(fpu_nan_boxing)
{
    setup();
    /* an improperly boxed single reads as the canonical NaN (quiet: no NV) */
    fp.f[1] = 0x000000003f800000;
    fp.f[2] = BOX | sb(1.0f);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_ADD, S, 2, 1, RNE, 5)), 0);
    CHECK_EQ(fp.f[5], BOX | CNAN_S);
    CHECK_EQ(fp.fflags, 0);
    fp.f[1] = 0xfffffffe3f800000;                                   /* one zero bit is enough */
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_SGNJ, S, 2, 1, 1, 5)), 0); /* FSGNJN */
    CHECK_EQ(fp.f[5], BOX | NEG_S | CNAN_S);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_XF, S, 0, 1, 1, 7)), 0); /* FCLASS */
    CHECK_EQ(x[7], 1 << 9);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MINMAX, S, 2, 1, 0, 5)), 0);
    CHECK_EQ(fp.f[5], BOX | sb(1.0f));
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_CVT_FF, D, 0, 1, RNE, 5)), 0); /* FCVT.D.S */
    CHECK_EQ(fp.f[5], CNAN_D);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_CVT_XF, S, CV_W, 1, RTZ, 7)), 0);
    CHECK_EQ(x[7], 0x7fffffff);
    /* a double register read as a single */
    fp.f[1] = db(1.0);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MUL, S, 2, 1, RNE, 5)), 0);
    CHECK_EQ(fp.f[5], BOX | CNAN_S);
    /* results are boxed, also from FSGNJ on raw bits and FMV.W.X */
    CHECK_EQ(SGNJ(S, 0, sb(2.0f), sb(-1.0f)), sb(-2.0f));
    x[6] = 0x12345678deadbeef;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_FX, S, 0, 6, 0, 5)), 0);
    CHECK_EQ(fp.f[5], 0xffffffffdeadbeef);
    /* FMV.X.W moves the low bits whatever the upper half holds */
    fp.f[1] = 0x1234567880000001;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_XF, S, 0, 1, 0, 7)), 0);
    CHECK_EQ(x[7], 0xffffffff80000001);
}

TEST(fpu_sign_injection)
{
    setup();
    CHECK_EQ(SGNJ(S, 0, sb(3.0f), sb(-1.0f)), sb(-3.0f));
    CHECK_EQ(SGNJ(S, 0, sb(-3.0f), sb(1.0f)), sb(3.0f));
    CHECK_EQ(SGNJ(S, 1, sb(3.0f), sb(1.0f)), sb(-3.0f));
    CHECK_EQ(SGNJ(S, 1, sb(3.0f), sb(-1.0f)), sb(3.0f));
    CHECK_EQ(SGNJ(S, 2, sb(-3.0f), sb(-1.0f)), sb(3.0f));
    CHECK_EQ(SGNJ(S, 2, sb(-3.0f), sb(1.0f)), sb(-3.0f));
    CHECK_EQ(SGNJ(D, 0, db(3.0), db(-0.0)), db(-3.0));
    CHECK_EQ(SGNJ(D, 1, db(-3.0), db(-3.0)), db(3.0)); /* fneg */
    CHECK_EQ(SGNJ(D, 2, db(-3.0), db(-3.0)), db(3.0)); /* fabs */
    CHECK_EQ(SGNJ(D, 2, db(3.0), db(-1.0)), db(-3.0));
    /* pure bit operations: NaN payloads kept, no flags even for sNaN */
    CHECK_EQ(SGNJ(D, 1, SNAN_D, SNAN_D), NEG_D | SNAN_D);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(SGNJ(S, 0, QNAN_S, sb(-1.0f)), NEG_S | QNAN_S);
    CHECK_EQ(fp.fflags, 0);
}

TEST(fpu_min_max)
{
    setup();
    CHECK_EQ(FMIN(S, sb(1.0f), sb(2.0f)), sb(1.0f));
    CHECK_EQ(FMAX(S, sb(1.0f), sb(2.0f)), sb(2.0f));
    CHECK_EQ(FMIN(S, sb(-1.0f), sb(-2.0f)), sb(-2.0f));
    CHECK_EQ(FMAX(S, sb(-1.0f), sb(-2.0f)), sb(-1.0f));
    CHECK_EQ(FMAX(D, NEG_D | INF_D, db(3.0)), db(3.0));
    CHECK_EQ(FMIN(D, NEG_D | INF_D, db(3.0)), NEG_D | INF_D);
    CHECK_EQ(FMIN(D, db(1e-310), db(2e-310)), db(1e-310));
    CHECK_EQ(fp.fflags, 0);
    /* -0 < +0, in either operand order */
    CHECK_EQ(FMIN(S, 0, NEG_S), NEG_S);
    CHECK_EQ(FMIN(S, NEG_S, 0), NEG_S);
    CHECK_EQ(FMAX(S, 0, NEG_S), 0);
    CHECK_EQ(FMAX(S, NEG_S, 0), 0);
    CHECK_EQ(FMIN(D, 0, NEG_D), NEG_D);
    CHECK_EQ(FMAX(D, NEG_D, 0), 0);
    /* one NaN: the other operand; NV only for a signaling NaN */
    CHECK_EQ(FMIN(S, QNAN_S, sb(1.0f)), sb(1.0f));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(FMAX(S, sb(1.0f), QNAN_S), sb(1.0f));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(FMIN(D, SNAN_D, db(-1.0)), db(-1.0));
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FMAX(D, db(-1.0), SNAN_D), db(-1.0));
    CHECK_EQ(fp.fflags, NV);
    /* both NaN: the canonical NaN */
    CHECK_EQ(FMIN(S, QNAN_S, QNAN_S), CNAN_S);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(FMAX(D, SNAN_D, QNAN_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
}

TEST(fpu_compare)
{
    setup();
    CHECK_EQ(FEQ(S, sb(1.0f), sb(1.0f)), 1);
    CHECK_EQ(FEQ(S, sb(1.0f), sb(2.0f)), 0);
    CHECK_EQ(FLT(S, sb(1.0f), sb(2.0f)), 1);
    CHECK_EQ(FLT(S, sb(2.0f), sb(1.0f)), 0);
    CHECK_EQ(FLT(S, sb(1.0f), sb(1.0f)), 0);
    CHECK_EQ(FLE(S, sb(1.0f), sb(1.0f)), 1);
    CHECK_EQ(FLE(S, sb(2.0f), sb(1.0f)), 0);
    CHECK_EQ(FLT(D, db(-2.0), db(-1.0)), 1);
    CHECK_EQ(FLE(D, db(-1.0), db(-2.0)), 0);
    CHECK_EQ(FLT(D, NEG_D | INF_D, db(-1e300)), 1);
    CHECK_EQ(FLE(D, db(1e300), INF_D), 1);
    CHECK_EQ(fp.fflags, 0);
    /* -0 == +0 */
    CHECK_EQ(FEQ(D, NEG_D, 0), 1);
    CHECK_EQ(FLT(D, NEG_D, 0), 0);
    CHECK_EQ(FLE(D, 0, NEG_D), 1);
    CHECK_EQ(FEQ(S, 0, NEG_S), 1);
    CHECK_EQ(fp.fflags, 0);
    /* FEQ is quiet: NV only for sNaN; FLT and FLE signal on any NaN */
    CHECK_EQ(FEQ(S, QNAN_S, QNAN_S), 0);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(FEQ(D, db(1.0), SNAN_D), 0);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FLT(S, QNAN_S, sb(1.0f)), 0);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FLE(D, db(1.0), QNAN_D), 0);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FLE(D, SNAN_D, SNAN_D), 0);
    CHECK_EQ(fp.fflags, NV);
}

TEST(fpu_fclass)
{
    const struct {
        uint64_t s, d;
    } v[10] = {
        {NEG_S | INF_S, NEG_D | INF_D},   /* -inf */
        {sb(-1.0f), db(-1.0)},            /* negative normal */
        {NEG_S | 1, NEG_D | 1},           /* negative subnormal */
        {NEG_S, NEG_D},                   /* -0 */
        {0, 0},                           /* +0 */
        {0x007fffff, 0x000fffffffffffff}, /* positive subnormal */
        {0x00800000, 0x0010000000000000}, /* positive normal */
        {INF_S, INF_D},                   /* +inf */
        {SNAN_S, SNAN_D},                 /* sNaN */
        {CNAN_S, CNAN_D},                 /* qNaN */
    };

    setup();
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(FCLASS(S, v[i].s), 1u << i);
        CHECK_EQ(FCLASS(D, v[i].d), 1u << i);
    }
    CHECK_EQ(FCLASS(S, NEG_S | 0x7fbfffff), 1 << 8); /* negative sNaN, largest payload */
    CHECK_EQ(FCLASS(D, NEG_D | QNAN_D), 1 << 9);
    CHECK_EQ(fp.fflags, 0);
}

TEST(fpu_fmv)
{
    setup();
    fp.f[1] = BOX | 0x80000000;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_XF, S, 0, 1, 0, 7)), 0);
    CHECK_EQ(x[7], 0xffffffff80000000);
    fp.f[1] = BOX | 0x7fc00001;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_XF, S, 0, 1, 0, 7)), 0);
    CHECK_EQ(x[7], 0x7fc00001);
    fp.f[1] = SNAN_D;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_XF, D, 0, 1, 0, 7)), 0);
    CHECK_EQ(x[7], SNAN_D);
    x[6] = 0xfff0000000000001; /* a negative sNaN goes in unchanged */
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_FX, D, 0, 6, 0, 5)), 0);
    CHECK_EQ(fp.f[5], 0xfff0000000000001);
    x[6] = 0x7f800001;
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_FX, S, 0, 6, 0, 5)), 0);
    CHECK_EQ(fp.f[5], BOX | 0x7f800001);
    CHECK_EQ(fp.fflags, 0);
}

TEST(fpu_fused_multiply_add)
{
    setup();
    CHECK_EQ(FMA(FMADD, S, RNE, sb(2.0f), sb(3.0f), sb(1.0f)), sb(7.0f));
    CHECK_EQ(FMA(FMSUB, S, RNE, sb(2.0f), sb(3.0f), sb(1.0f)), sb(5.0f));
    CHECK_EQ(FMA(FNMSUB, S, RNE, sb(2.0f), sb(3.0f), sb(1.0f)), sb(-5.0f));
    CHECK_EQ(FMA(FNMADD, S, RNE, sb(2.0f), sb(3.0f), sb(1.0f)), sb(-7.0f));
    CHECK_EQ(FMA(FMADD, D, RNE, db(2.0), db(3.0), db(1.0)), db(7.0));
    CHECK_EQ(FMA(FMSUB, D, RNE, db(2.0), db(3.0), db(1.0)), db(5.0));
    CHECK_EQ(FMA(FNMSUB, D, RNE, db(2.0), db(3.0), db(1.0)), db(-5.0));
    CHECK_EQ(FMA(FNMADD, D, RNE, db(2.0), db(3.0), db(1.0)), db(-7.0));
    CHECK_EQ(fp.fflags, 0);
    /* one rounding: (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60, which two roundings lose */
    CHECK_EQ(FMA(FMADD, D, RNE, db(1.0 + 0x1p-30), db(1.0 - 0x1p-30), db(-1.0)), db(-0x1p-60));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(FMA(FMSUB, S, RNE, sb(1.0f + 0x1p-12f), sb(1.0f - 0x1p-12f), sb(1.0f)), sb(-0x1p-24f));
    /* rounding modes */
    CHECK_EQ(FMA(FMADD, S, RUP, sb(1.0f), sb(1.0f), sb(0x1p-30f)), 0x3f800001);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(FMA(FMADD, S, RNE, sb(1.0f), sb(1.0f), sb(0x1p-30f)), sb(1.0f));
    CHECK_EQ(FMA(FNMADD, D, RDN, db(1.0), db(1.0), db(0x1p-60)), 0xbff0000000000001);
    /* signed zeros: -(+0) - (+0) = -0; 1 * 1 - 1 = -0 in RDN */
    CHECK_EQ(FMA(FNMADD, D, RNE, 0, db(1.0), 0), NEG_D);
    CHECK_EQ(FMA(FMADD, D, RDN, db(1.0), db(1.0), db(-1.0)), NEG_D);
    CHECK_EQ(FMA(FMADD, D, RNE, db(1.0), db(1.0), db(-1.0)), 0);
    /* inf * 0 raises NV even with a quiet NaN addend */
    CHECK_EQ(FMA(FMADD, D, RNE, INF_D, 0, QNAN_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FMA(FNMSUB, S, RNE, 0, NEG_S | INF_S, QNAN_S), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FMA(FMADD, S, RNE, INF_S, 0, sb(1.0f)), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FMA(FMADD, D, RNE, db(1.0), db(1.0), QNAN_D), CNAN_D);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(FMA(FMADD, D, RNE, db(1.0), SNAN_D, db(1.0)), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FMA(FMADD, D, RNE, INF_D, db(1.0), NEG_D | INF_D), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(FMA(FMADD, S, RNE, MAX_S, sb(2.0f), sb(-1.0f)), INF_S);
    CHECK_EQ(fp.fflags, OF | NX);
    /* the addend register is rs3 */
    fp.f[9] = db(10.0);
    fp.f[1] = db(2.0);
    fp.f[2] = db(4.0);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc4(FMADD, 9, D, 2, 1, RNE, 5)), 0);
    CHECK_EQ(fp.f[5], db(18.0));
}

TEST(fpu_cvt_to_int_saturation)
{
    const struct {
        uint64_t in_d;
        uint64_t out[4]; /* W WU L LU, as written to x (32-bit results sign-extended) */
        uint32_t fl[4];
    } t[] = {
        {CNAN_D, {0x7fffffff, ~0ULL, 0x7fffffffffffffff, ~0ULL}, {NV, NV, NV, NV}},
        {NEG_D | SNAN_D, {0x7fffffff, ~0ULL, 0x7fffffffffffffff, ~0ULL}, {NV, NV, NV, NV}},
        {INF_D, {0x7fffffff, ~0ULL, 0x7fffffffffffffff, ~0ULL}, {NV, NV, NV, NV}},
        {NEG_D | INF_D, {0xffffffff80000000, 0, 0x8000000000000000, 0}, {NV, NV, NV, NV}},
        {db(1e30), {0x7fffffff, ~0ULL, 0x7fffffffffffffff, ~0ULL}, {NV, NV, NV, NV}},
        {db(-1e30), {0xffffffff80000000, 0, 0x8000000000000000, 0}, {NV, NV, NV, NV}},
        {db(-1.5), {~1ULL, 0, ~1ULL, 0}, {NX, NV, NX, NV}}, /* rounds to -2 */
        {db(-0.5), {0, 0, 0, 0}, {NX, NX, NX, NX}},         /* rounds to -0 */
        {NEG_D, {0, 0, 0, 0}, {0, 0, 0, 0}},
        {db(0x1p31), {0x7fffffff, 0xffffffff80000000, 0x80000000, 0x80000000}, {NV, 0, 0, 0}},
        {db(-0x1p31), {0xffffffff80000000, 0, 0xffffffff80000000, 0}, {0, NV, 0, NV}},
        {db(0x1p32 - 1), {0x7fffffff, ~0ULL, 0xffffffff, 0xffffffff}, {NV, 0, 0, 0}},
        {db(0x1p32), {0x7fffffff, ~0ULL, 0x100000000, 0x100000000}, {NV, NV, 0, 0}},
        {db(3e9), {0x7fffffff, 0xffffffffb2d05e00, 3000000000, 3000000000}, {NV, 0, 0, 0}},
        {db(0x1p63), {0x7fffffff, ~0ULL, 0x7fffffffffffffff, 0x8000000000000000}, {NV, NV, NV, 0}},
        {db(-0x1p63), {0xffffffff80000000, 0, 0x8000000000000000, 0}, {NV, NV, 0, NV}},
        {db(0x1p64), {0x7fffffff, ~0ULL, 0x7fffffffffffffff, ~0ULL}, {NV, NV, NV, NV}},
        {0x43efffffffffffff,
         {0x7fffffff, ~0ULL, 0x7fffffffffffffff, 0xfffffffffffff800},
         {NV, NV, NV, 0}},
        {db(2147483647.5),
         {0x7fffffff, 0xffffffff80000000, 0x80000000, 0x80000000},
         {NV, NX, NX, NX}},
    };

    setup();
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        for (unsigned k = CV_W; k <= CV_LU; k++) {
            uint64_t r = CVT_XF(D, k, RNE, t[i].in_d);
            if (r != t[i].out[k] || fp.fflags != t[i].fl[k])
                test_fail(__FILE__, __LINE__, "row %zu kind %u: 0x%llx flags 0x%x", i, k,
                          (unsigned long long)r, fp.fflags);
        }
    }
    /* the same from singles */
    CHECK_EQ(CVT_XF(S, CV_W, RNE, CNAN_S), 0x7fffffff);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(CVT_XF(S, CV_WU, RNE, CNAN_S), ~0ULL);
    CHECK_EQ(CVT_XF(S, CV_LU, RNE, NEG_S | INF_S), 0);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(CVT_XF(S, CV_L, RNE, sb(0x1p63f)), 0x7fffffffffffffff);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(CVT_XF(S, CV_L, RNE, sb(-0x1p63f)), 0x8000000000000000);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_XF(S, CV_LU, RNE, sb(0x1p63f)), 0x8000000000000000);
    CHECK_EQ(CVT_XF(S, CV_WU, RTZ, sb(-1.5f)), 0);
    CHECK_EQ(fp.fflags, NV); /* -1 after rounding is out of range */
    CHECK_EQ(CVT_XF(S, CV_WU, RTZ, sb(-0.75f)), 0);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_XF(S, CV_W, RNE, sb(-0x1p31f)), 0xffffffff80000000);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_XF(S, CV_W, RNE, 1), 0); /* smallest subnormal */
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_XF(S, CV_W, RUP, 1), 1);
    CHECK_EQ(CVT_XF(S, CV_L, RDN, NEG_S | 1), ~0ULL);
}

TEST(fpu_cvt_to_int_rounding)
{
    /* results for 1.5, -1.5, 2.5, -2.5, 0.3 in RNE RTZ RDN RUP RMM */
    static const double in[5] = {1.5, -1.5, 2.5, -2.5, 0.3};
    static const int64_t out[5][5] = {
        {2, 1, 1, 2, 2},      {-2, -1, -2, -1, -2}, {2, 2, 2, 3, 3},
        {-2, -2, -3, -2, -3}, {0, 0, 0, 1, 0},
    };

    setup();
    for (int i = 0; i < 5; i++) {
        for (unsigned rm = RNE; rm <= RMM; rm++) {
            CHECK_EQ(CVT_XF(D, CV_L, rm, db(in[i])), out[i][rm]);
            CHECK_EQ(fp.fflags, NX);
            CHECK_EQ(CVT_XF(S, CV_W, rm, sb((float)in[i])), out[i][rm]);
            CHECK_EQ(fp.fflags, NX);
            fp.frm = rm;
            CHECK_EQ(CVT_XF(D, CV_W, DYN, db(in[i])), out[i][rm]);
        }
    }
    CHECK_EQ(CVT_XF(D, CV_L, RNE, db(3.5)), 4);
    CHECK_EQ(CVT_XF(D, CV_LU, RNE, db(42.0)), 42);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_XF(D, CV_W, RNE, db(-42.0)), (uint64_t)-42);
    CHECK_EQ(CVT_XF(S, CV_LU, RNE, sb(0x1.fffffep63f)), 0xffffff0000000000);
    CHECK_EQ(fp.fflags, 0);
}

TEST(fpu_cvt_from_int)
{
    setup();
    CHECK_EQ(CVT_FX(S, CV_W, RNE, (uint64_t)-1), sb(-1.0f));
    CHECK_EQ(CVT_FX(D, CV_W, RNE, 0x00000000ffffffff), db(-1.0)); /* low 32 bits, signed */
    CHECK_EQ(CVT_FX(D, CV_WU, RNE, 0xffffffff00000005), db(5.0)); /* upper bits ignored */
    CHECK_EQ(CVT_FX(D, CV_WU, RNE, 0xffffffff), db(4294967295.0));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FX(S, CV_WU, RNE, 0xffffffff), sb(0x1p32f));
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_FX(S, CV_WU, RTZ, 0xffffffff), 0x4f7fffff);
    CHECK_EQ(CVT_FX(D, CV_L, RNE, 0x8000000000000000), db(-0x1p63));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FX(D, CV_LU, RNE, ~0ULL), db(0x1p64));
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_FX(D, CV_LU, RTZ, ~0ULL), 0x43efffffffffffff);
    CHECK_EQ(CVT_FX(D, CV_L, RNE, ~0ULL), db(-1.0));
    CHECK_EQ(CVT_FX(S, CV_L, RNE, 0), 0);
    CHECK_EQ(CVT_FX(D, CV_LU, RNE, 0), 0);
    CHECK_EQ(fp.fflags, 0);
    /* 2^24 + 1 is a tie for single precision */
    CHECK_EQ(CVT_FX(S, CV_W, RNE, 0x1000001), 0x4b800000);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_FX(S, CV_W, RMM, 0x1000001), 0x4b800001);
    CHECK_EQ(CVT_FX(S, CV_W, RTZ, 0x1000001), 0x4b800000);
    CHECK_EQ(CVT_FX(S, CV_W, RUP, 0x1000001), 0x4b800001);
    CHECK_EQ(CVT_FX(S, CV_W, RDN, (uint64_t)-0x1000001), 0xcb800001);
    CHECK_EQ(CVT_FX(S, CV_W, RMM, (uint64_t)-0x1000001), 0xcb800001);
    CHECK_EQ(CVT_FX(S, CV_W, RNE, (uint64_t)-0x1000003), 0xcb800002);
    CHECK_EQ(CVT_FX(D, CV_L, RMM, 0x20000000000001), 0x4340000000000001);
    CHECK_EQ(CVT_FX(D, CV_L, RNE, 0x20000000000001), 0x4340000000000000);
    fp.frm = RUP;
    CHECK_EQ(CVT_FX(S, CV_W, DYN, 0x1000001), 0x4b800001);
}

TEST(fpu_cvt_float_float)
{
    setup();
    CHECK_EQ(CVT_FF(S, RNE, db(1.0 / 3.0)), 0x3eaaaaab);
    CHECK_EQ(fp.fflags, NX);
    CHECK_EQ(CVT_FF(S, RTZ, db(1.0 / 3.0)), 0x3eaaaaaa);
    CHECK_EQ(CVT_FF(S, RNE, db(1.0 + 0x1p-24)), sb(1.0f));
    CHECK_EQ(CVT_FF(S, RMM, db(1.0 + 0x1p-24)), 0x3f800001);
    CHECK_EQ(CVT_FF(S, RNE, db(-2.5)), sb(-2.5f));
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FF(S, RNE, db(1e300)), INF_S);
    CHECK_EQ(fp.fflags, OF | NX);
    CHECK_EQ(CVT_FF(S, RTZ, db(1e300)), MAX_S);
    CHECK_EQ(CVT_FF(S, RDN, db(-1e300)), NEG_S | INF_S);
    CHECK_EQ(CVT_FF(S, RNE, db(1e-300)), 0);
    CHECK_EQ(fp.fflags, UF | NX);
    CHECK_EQ(CVT_FF(S, RUP, db(1e-300)), 1);
    CHECK_EQ(CVT_FF(S, RNE, db(0x1p-149)), 1); /* exact subnormal */
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FF(S, RNE, NEG_D | INF_D), NEG_S | INF_S);
    CHECK_EQ(CVT_FF(S, RNE, NEG_D), NEG_S);
    CHECK_EQ(CVT_FF(S, RNE, QNAN_D), CNAN_S);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FF(S, RNE, SNAN_D), CNAN_S);
    CHECK_EQ(fp.fflags, NV);
    CHECK_EQ(CVT_FF(D, RNE, 0x3eaaaaab), 0x3fd5555560000000);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FF(D, RNE, 1), db(0x1p-149));
    CHECK_EQ(CVT_FF(D, RNE, NEG_S | 0x007fffff), db(-0x1.fffffcp-127));
    CHECK_EQ(CVT_FF(D, RNE, INF_S), INF_D);
    CHECK_EQ(CVT_FF(D, RNE, NEG_S), NEG_D);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FF(D, RNE, NEG_S | QNAN_S), CNAN_D);
    CHECK_EQ(fp.fflags, 0);
    CHECK_EQ(CVT_FF(D, RNE, SNAN_S), CNAN_D);
    CHECK_EQ(fp.fflags, NV);
}

TEST(fpu_x0_never_written)
{
    const uint32_t insns[] = {
        enc(F_CMP, D, 2, 1, 2, 0),         /* FEQ.D x0 */
        enc(F_CMP, S, 2, 1, 1, 0),         /* FLT.S x0 */
        enc(F_MV_XF, D, 0, 1, 1, 0),       /* FCLASS.D x0 */
        enc(F_MV_XF, D, 0, 1, 0, 0),       /* FMV.X.D x0 */
        enc(F_MV_XF, S, 0, 1, 0, 0),       /* FMV.X.W x0 */
        enc(F_CVT_XF, D, CV_L, 1, RNE, 0), /* FCVT.L.D x0 */
        enc(F_CVT_XF, S, CV_W, 1, RTZ, 0), /* FCVT.W.S x0 */
    };

    setup();
    fp.f[1] = db(1.0);
    fp.f[2] = db(1.0);
    for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        CHECK_EQ(rv64_fpu_exec(&fp, x, insns[i]), 0);
        CHECK_EQ(x[0], 0);
    }
    /* and x0 reads as the caller's zero: FMV.D.X f5, x0 */
    fp.f[5] = db(3.0);
    CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_MV_FX, D, 0, 0, 0, 5)), 0);
    CHECK_EQ(fp.f[5], 0);
}

TEST(fpu_illegal_encodings)
{
    const uint32_t insns[] = {
        enc(F_ADD, 2, 2, 1, RNE, 5),     /* half precision */
        enc(F_ADD, 3, 2, 1, RNE, 5),     /* quad precision */
        enc(F_ADD, D, 2, 1, 5, 5),       /* reserved static rm */
        enc(F_MUL, S, 2, 1, 6, 5),       /* reserved static rm */
        enc(F_SQRT, D, 1, 1, RNE, 5),    /* FSQRT with rs2 != 0 */
        enc(0x06, D, 2, 1, RNE, 5),      /* unassigned funct5 */
        enc(0x1f, D, 2, 1, 0, 5),        /* unassigned funct5 */
        enc(F_SGNJ, D, 2, 1, 3, 5),      /* FSGNJ funct3 3 */
        enc(F_MINMAX, S, 2, 1, 2, 5),    /* FMINM (Zfa) */
        enc(F_CMP, D, 2, 1, 3, 7),       /* compare funct3 3 */
        enc(F_CMP, D, 2, 1, 4, 7),       /* FLEQ (Zfa) */
        enc(F_CVT_XF, D, 4, 1, RNE, 7),  /* FCVT to an unknown integer type */
        enc(F_CVT_XF, D, 8, 1, RTZ, 7),  /* FCVTMOD.W.D (Zfa) */
        enc(F_CVT_FX, S, 5, 1, RNE, 5),  /* FCVT from an unknown integer type */
        enc(F_CVT_XF, D, CV_L, 1, 5, 7), /* reserved rm on a conversion */
        enc(F_CVT_FF, S, 0, 1, RNE, 5),  /* FCVT.S.S */
        enc(F_CVT_FF, D, 1, 1, RNE, 5),  /* FCVT.D.D */
        enc(F_CVT_FF, D, 0, 1, 6, 5),    /* FCVT.D.S with reserved rm */
        enc(F_CVT_FF, S, 4, 1, RNE, 5),  /* FROUND.S (Zfa) */
        enc(F_MV_XF, D, 0, 1, 2, 7),     /* FMV.X.D funct3 2 */
        enc(F_MV_XF, D, 1, 1, 0, 7),     /* FMVH.X.D (Zfa) */
        enc(F_MV_XF, S, 1, 1, 1, 7),     /* FCLASS with rs2 != 0 */
        enc(F_MV_FX, S, 0, 6, 1, 5),     /* FMV.W.X funct3 1 */
        enc(F_MV_FX, S, 1, 0, 0, 5),     /* FLI.S (Zfa) */
        enc4(FMADD, 3, 2, 2, 1, RNE, 5), /* FMADD.H */
        enc4(FNMADD, 3, D, 2, 1, 5, 5),  /* reserved rm */
        enc4(FMSUB, 3, S, 2, 1, 6, 5),   /* reserved rm */
        0x00002087,                      /* FLW (a load: not ours) */
        0x00000013,                      /* ADDI */
    };
    struct rv64_fpu before;
    uint64_t xb[32];

    setup();
    for (int i = 0; i < 32; i++) {
        fp.f[i] = BOX | sb((float)i);
        x[i] = i ? 0x1000 + i : 0;
    }
    fp.fflags = NX;
    fp.frm = RUP;
    before = fp;
    memcpy(xb, x, sizeof(x));
    for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        if (rv64_fpu_exec(&fp, x, insns[i]) != -1)
            test_fail(__FILE__, __LINE__, "insn 0x%08x accepted", insns[i]);
    }
    CHECK(memcmp(&fp, &before, sizeof(fp)) == 0);
    CHECK(memcmp(x, xb, sizeof(x)) == 0);

    /* dynamic rounding with frm 5, 6 or 7 is illegal for instructions that round, even when
     * they are exact; instructions without a rounding mode do not care */
    for (uint32_t frm = 5; frm <= 7; frm++) {
        fp.frm = frm;
        before = fp;
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_ADD, D, 2, 1, DYN, 5)), -1);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_SQRT, S, 0, 1, DYN, 5)), -1);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc4(FMADD, 3, D, 2, 1, DYN, 5)), -1);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_CVT_XF, S, CV_W, 1, DYN, 7)), -1);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_CVT_FX, D, CV_W, 6, DYN, 5)), -1);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_CVT_FF, D, 0, 1, DYN, 5)), -1);
        CHECK(memcmp(&fp, &before, sizeof(fp)) == 0);
        CHECK(memcmp(x, xb, sizeof(x)) == 0);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_SGNJ, S, 2, 1, 0, 5)), 0);
        CHECK_EQ(rv64_fpu_exec(&fp, x, enc(F_CMP, S, 2, 1, 2, 7)), 0);
        memcpy(x, xb, sizeof(x));
    }
}
