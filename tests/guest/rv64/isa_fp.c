/* F and D: arithmetic results bit for bit, fflags, rounding modes (dynamic and static, and an
 * invalid frm), conversions with saturation, fmin/fmax with NaNs, fclass, NaN boxing,
 * comparisons, sign injection, and mstatus.FS: Off traps, writes make it Dirty. */
#include "rt.h"

#define FLAG_NX 0x01
#define FLAG_UF 0x02
#define FLAG_OF 0x04
#define FLAG_DZ 0x08
#define FLAG_NV 0x10

#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

#define D_1    0x3ff0000000000000UL
#define D_1_5  0x3ff8000000000000UL
#define D_2    0x4000000000000000UL
#define D_2_25 0x4002000000000000UL
#define D_2_5  0x4004000000000000UL
#define D_3    0x4008000000000000UL
#define D_M1   0xbff0000000000000UL
#define D_M2_5 0xc004000000000000UL
#define D_0    0x0000000000000000UL
#define D_M0   0x8000000000000000UL
#define D_INF  0x7ff0000000000000UL
#define D_MINF 0xfff0000000000000UL
#define D_QNAN 0x7ff8000000000000UL /* also the canonical NaN */
#define D_SNAN 0x7ff0000000000001UL
#define D_MAX  0x7fefffffffffffffUL
#define D_3E9  0x41e65a0bc0000000UL
#define D_M3E9 0xc1e65a0bc0000000UL
#define D_5E9  0x41f2a05f20000000UL
#define D_1E19 0x43e158e460913d00UL
#define S_1    0x3f800000UL
#define S_1_5  0x3fc00000UL
#define S_2_25 0x40100000UL
#define S_QNAN 0x7fc00000UL
#define BOX(s) (0xffffffff00000000UL | (s))

#define D2(op, a, b)                                                                               \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " op                                 \
                         " ft2, ft0, ft1\n fmv.x.d %0, ft2"                                        \
                         : "=r"(r_)                                                                \
                         : "r"((uint64_t)(a)), "r"((uint64_t)(b))                                  \
                         : "ft0", "ft1", "ft2");                                                   \
        r_;                                                                                        \
    })
#define D3(op, a, b, c)                                                                            \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n fmv.d.x ft3, %3\n " op               \
                         " ft2, ft0, ft1, ft3\n fmv.x.d %0, ft2"                                   \
                         : "=r"(r_)                                                                \
                         : "r"((uint64_t)(a)), "r"((uint64_t)(b)), "r"((uint64_t)(c))              \
                         : "ft0", "ft1", "ft2", "ft3");                                            \
        r_;                                                                                        \
    })
/* op with one FP source, FP destination */
#define D1(op, a)                                                                                  \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile("fmv.d.x ft0, %1\n " op " ft2, ft0\n fmv.x.d %0, ft2"                     \
                         : "=r"(r_)                                                                \
                         : "r"((uint64_t)(a))                                                      \
                         : "ft0", "ft2");                                                          \
        r_;                                                                                        \
    })
/* insn reads ft0 (set to the raw 64 bits a) and writes integer %0 */
#define TOIX(insn, a)                                                                              \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile("fmv.d.x ft0, %1\n " insn : "=r"(r_) : "r"((uint64_t)(a)) : "ft0");       \
        r_;                                                                                        \
    })
#define TOI(op, a) TOIX(op " %0, ft0", a)
/* compare: integer destination, two FP sources */
#define CMP(op, a, b)                                                                              \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " op " %0, ft0, ft1"                 \
                         : "=r"(r_)                                                                \
                         : "r"((uint64_t)(a)), "r"((uint64_t)(b))                                  \
                         : "ft0", "ft1");                                                          \
        r_;                                                                                        \
    })
/* integer source, FP destination */
#define FROMI(op, a)                                                                               \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile(op " ft2, %1\n fmv.x.d %0, ft2" : "=r"(r_) : "r"((uint64_t)(a)) : "ft2"); \
        r_;                                                                                        \
    })

static void clear_flags(void)
{
    csr_write(fflags, 0);
}

static uint64_t flags(void)
{
    return csr_read(fflags);
}

static void test_fs(void)
{
    struct rt_trap_state *t = rt_trap_self();

    rt_section("mstatus.FS");
    csr_clear(mstatus, MSTATUS_FS);
    csr_set(mstatus, 1UL << 13); /* Initial */
    (void)D2("fadd.d", D_1, D_1);
    CHECK_EQ("FP write makes FS Dirty", (csr_read(mstatus) & MSTATUS_FS) >> 13, 3);
    CHECK("SD set with FS Dirty", csr_read(mstatus) & MSTATUS_SD);

    csr_clear(mstatus, MSTATUS_FS);
    rt_trap_arm();
    __asm__ volatile("fadd.d ft0, ft0, ft0" ::: "ft0");
    CHECK_EQ("fadd.d with FS=Off traps", rt_trap_disarm(), 1);
    CHECK_EQ("FS=Off cause", t->cause, CAUSE_ILLEGAL);
    rt_trap_arm();
    __asm__ volatile("csrr t0, fflags" ::: "t0");
    CHECK_EQ("fflags with FS=Off traps", rt_trap_disarm(), 1);
    rt_trap_arm();
    __asm__ volatile("fmv.x.d t0, ft0" ::: "t0");
    CHECK_EQ("fmv.x.d with FS=Off traps", rt_trap_disarm(), 1);
    rt_trap_arm();
    __asm__ volatile("fld ft0, 0(sp)" ::: "ft0");
    CHECK_EQ("fld with FS=Off traps", rt_trap_disarm(), 1);
    CHECK_EQ("FS stays Off", csr_read(mstatus) & MSTATUS_FS, 0);
    csr_set(mstatus, MSTATUS_FS);
}

static void test_arith(void)
{
    rt_section("arithmetic");
    clear_flags();
    CHECK_EQ("fadd.d", D2("fadd.d", D_1_5, D_2_25), 0x400e000000000000UL);
    CHECK_EQ("exact add: no flags", flags(), 0);
    CHECK_EQ("fsub.d", D2("fsub.d", 0x400e000000000000UL, D_2_25), D_1_5);
    CHECK_EQ("fmul.d", D2("fmul.d", D_1_5, D_2_25), 0x400b000000000000UL);
    CHECK_EQ("fdiv.d 1/3", D2("fdiv.d", D_1, D_3), 0x3fd5555555555555UL);
    CHECK_EQ("fdiv.d inexact", flags(), FLAG_NX);
    clear_flags();
    CHECK_EQ("fsqrt.d 2", D1("fsqrt.d", D_2), 0x3ff6a09e667f3bcdUL);
    CHECK_EQ("fsqrt.d inexact", flags(), FLAG_NX);
    clear_flags();
    CHECK_EQ("fsqrt.d -1", D1("fsqrt.d", D_M1), D_QNAN);
    CHECK_EQ("fsqrt.d -1 invalid", flags(), FLAG_NV);
    clear_flags();
    CHECK_EQ("fdiv.d 1/0", D2("fdiv.d", D_1, D_0), D_INF);
    CHECK_EQ("fdiv.d 1/0 flag", flags(), FLAG_DZ);
    clear_flags();
    CHECK_EQ("fmul.d overflow", D2("fmul.d", D_MAX, D_2), D_INF);
    CHECK_EQ("overflow flags", flags(), FLAG_OF | FLAG_NX);
    clear_flags();
    CHECK_EQ("inf - inf", D2("fsub.d", D_INF, D_INF), D_QNAN);
    CHECK_EQ("inf - inf invalid", flags(), FLAG_NV);
    CHECK_EQ("fmadd.d", D3("fmadd.d", D_2, D_3, D_1), 0x401c000000000000UL);
    CHECK_EQ("fnmsub.d", D3("fnmsub.d", D_2, D_3, D_1), 0xc014000000000000UL); /* -(2*3)+1 */
    /* fused: (1+2^-52)*(1-2^-53) - 1 = 2^-53 - 2^-105 exactly; rounding the product first
     * would give 1 - 1 = 0 */
    CHECK_EQ("fmsub.d is fused", D3("fmsub.d", 0x3ff0000000000001UL, 0x3fefffffffffffffUL, D_1),
             0x3c9ffffffffffffeUL);

    CHECK_EQ("fadd.s boxed result", D2("fadd.s", BOX(S_1_5), BOX(S_2_25)), BOX(0x40700000UL));
    CHECK_EQ("fdiv.s 1/3", D2("fdiv.s", BOX(S_1), BOX(0x40400000UL)), BOX(0x3eaaaaabUL));
    CHECK_EQ("fmv.x.w sign-extends", TOI("fmv.x.w", BOX(0xbf800000UL)), 0xffffffffbf800000UL);
    CHECK_EQ("fmv.w.x boxes", FROMI("fmv.w.x", 0x123456783f800000UL), BOX(S_1));
    clear_flags();
}

static void test_convert(void)
{
    rt_section("conversions");
    clear_flags();
    CHECK_EQ("fcvt.w.d 3e9 saturates", TOIX("fcvt.w.d %0, ft0, rtz", D_3E9), 0x7fffffffUL);
    CHECK_EQ("fcvt.w.d saturation NV", flags(), FLAG_NV);
    CHECK_EQ("fcvt.w.d -3e9", TOIX("fcvt.w.d %0, ft0, rtz", D_M3E9), 0xffffffff80000000UL);
    CHECK_EQ("fcvt.w.d NaN", TOIX("fcvt.w.d %0, ft0, rtz", D_QNAN), 0x7fffffffUL);
    CHECK_EQ("fcvt.w.d +inf", TOIX("fcvt.w.d %0, ft0, rtz", D_INF), 0x7fffffffUL);
    CHECK_EQ("fcvt.w.d -inf", TOIX("fcvt.w.d %0, ft0, rtz", D_MINF), 0xffffffff80000000UL);
    CHECK_EQ("fcvt.w.d -1", TOIX("fcvt.w.d %0, ft0, rtz", D_M1), ~0UL);
    CHECK_EQ("fcvt.wu.d 3e9 sign-extends", TOIX("fcvt.wu.d %0, ft0, rtz", D_3E9),
             0xffffffffb2d05e00UL);
    CHECK_EQ("fcvt.wu.d 5e9 saturates", TOIX("fcvt.wu.d %0, ft0, rtz", D_5E9), ~0UL);
    clear_flags();
    CHECK_EQ("fcvt.wu.d -1", TOIX("fcvt.wu.d %0, ft0, rtz", D_M1), 0);
    CHECK_EQ("fcvt.wu.d -1 NV", flags(), FLAG_NV);
    CHECK_EQ("fcvt.l.d 1e19 saturates", TOIX("fcvt.l.d %0, ft0, rtz", D_1E19),
             0x7fffffffffffffffUL);
    clear_flags();
    CHECK_EQ("fcvt.lu.d 1e19", TOIX("fcvt.lu.d %0, ft0, rtz", D_1E19), 0x8ac7230489e80000UL);
    CHECK_EQ("fcvt.lu.d 1e19 exact", flags(), 0);
    CHECK_EQ("fcvt.lu.d -1", TOIX("fcvt.lu.d %0, ft0, rtz", D_M1), 0);
    CHECK_EQ("fcvt.lu.d NaN", TOIX("fcvt.lu.d %0, ft0, rtz", D_QNAN), ~0UL);
    CHECK_EQ("fcvt.l.d -inf", TOIX("fcvt.l.d %0, ft0, rtz", D_MINF), 0x8000000000000000UL);
    CHECK_EQ("fcvt.d.w uses 32 bits", FROMI("fcvt.d.w", 0x12345678ffffffffUL), D_M1);
    CHECK_EQ("fcvt.d.wu", FROMI("fcvt.d.wu", 0xffffffffUL), 0x41efffffffe00000UL);
    CHECK_EQ("fcvt.d.l", FROMI("fcvt.d.l", ~0UL), D_M1);
    CHECK_EQ("fcvt.d.lu", FROMI("fcvt.d.lu", 0x8000000000000000UL), 0x43e0000000000000UL);
    CHECK_EQ("fcvt.s.d", D1("fcvt.s.d", 0x3fd5555555555555UL), BOX(0x3eaaaaabUL));
    CHECK_EQ("fcvt.d.s", D1("fcvt.d.s", BOX(S_1_5)), D_1_5);
    clear_flags();
}

static uint64_t cvt_dyn(uint64_t rm, uint64_t v)
{
    csr_write(frm, rm);
    return TOIX("fcvt.w.d %0, ft0, dyn", v);
}

static void test_rounding(void)
{
    struct rt_trap_state *t = rt_trap_self();

    rt_section("rounding modes");
    CHECK_EQ("2.5 RNE", cvt_dyn(RM_RNE, D_2_5), 2);
    CHECK_EQ("2.5 RTZ", cvt_dyn(RM_RTZ, D_2_5), 2);
    CHECK_EQ("2.5 RDN", cvt_dyn(RM_RDN, D_2_5), 2);
    CHECK_EQ("2.5 RUP", cvt_dyn(RM_RUP, D_2_5), 3);
    CHECK_EQ("2.5 RMM", cvt_dyn(RM_RMM, D_2_5), 3);
    CHECK_EQ("-2.5 RNE", cvt_dyn(RM_RNE, D_M2_5), (uint64_t)-2);
    CHECK_EQ("-2.5 RTZ", cvt_dyn(RM_RTZ, D_M2_5), (uint64_t)-2);
    CHECK_EQ("-2.5 RDN", cvt_dyn(RM_RDN, D_M2_5), (uint64_t)-3);
    CHECK_EQ("-2.5 RUP", cvt_dyn(RM_RUP, D_M2_5), (uint64_t)-2);
    CHECK_EQ("-2.5 RMM", cvt_dyn(RM_RMM, D_M2_5), (uint64_t)-3);
    csr_write(frm, RM_RUP);
    CHECK_EQ("static rtz overrides frm", TOIX("fcvt.w.d %0, ft0, rtz", D_2_5), 2);
    CHECK_EQ("1/3 RUP", D2("fdiv.d", D_1, D_3), 0x3fd5555555555556UL);
    csr_write(frm, RM_RDN);
    CHECK_EQ("1/3 RDN", D2("fdiv.d", D_1, D_3), 0x3fd5555555555555UL);
    CHECK_EQ("-1/3 RDN", D2("fdiv.d", D_M1, D_3), 0xbfd5555555555556UL);

    csr_write(fcsr, (RM_RUP << 5) | 0x1f);
    CHECK_EQ("fcsr sets frm", csr_read(frm), RM_RUP);
    CHECK_EQ("fcsr sets fflags", csr_read(fflags), 0x1f);
    csr_write(fflags, 0);
    CHECK_EQ("fflags write leaves frm", csr_read(fcsr), RM_RUP << 5);
    uint64_t old;
    __asm__ volatile("fsrm %0, %1" : "=r"(old) : "r"((uint64_t)RM_RTZ));
    CHECK_EQ("fsrm returns old frm", old, RM_RUP);
    CHECK_EQ("fsrm sets frm", csr_read(frm), RM_RTZ);
    __asm__ volatile("fsflags %0, %1" : "=r"(old) : "r"((uint64_t)FLAG_DZ));
    CHECK_EQ("fsflags returns old", old, 0);
    CHECK_EQ("frflags", csr_read(fflags), FLAG_DZ);

    /* frm 5..7 are invalid: a dynamic-rounding instruction traps */
    csr_write(frm, 5);
    rt_trap_arm();
    __asm__ volatile("fadd.d ft0, ft1, ft1, dyn" ::: "ft0");
    CHECK_EQ("dyn with frm=5 traps", rt_trap_disarm(), 1);
    CHECK_EQ("dyn with frm=5 cause", t->cause, CAUSE_ILLEGAL);
    rt_trap_arm();
    __asm__ volatile("fadd.d ft0, ft1, ft1, rne" ::: "ft0");
    CHECK_EQ("static rm with frm=5 runs", rt_trap_disarm(), 0);
    csr_write(fcsr, 0);
}

static void test_minmax_class(void)
{
    rt_section("fmin/fmax/fclass");
    clear_flags();
    CHECK_EQ("fmin.d qNaN,1", D2("fmin.d", D_QNAN, D_1), D_1);
    CHECK_EQ("fmax.d 1,qNaN", D2("fmax.d", D_1, D_QNAN), D_1);
    CHECK_EQ("quiet NaN: no NV", flags(), 0);
    CHECK_EQ("fmin.d NaN,NaN canonical", D2("fmin.d", 0x7ff8000000000123UL, D_QNAN), D_QNAN);
    CHECK_EQ("fmin.d sNaN,1", D2("fmin.d", D_SNAN, D_1), D_1);
    CHECK_EQ("sNaN sets NV", flags(), FLAG_NV);
    CHECK_EQ("fmin.d -0,+0", D2("fmin.d", D_0, D_M0), D_M0);
    CHECK_EQ("fmax.d -0,+0", D2("fmax.d", D_M0, D_0), D_0);
    CHECK_EQ("fmin.d -1,1", D2("fmin.d", D_M1, D_1), D_M1);
    CHECK_EQ("fmin.s qNaN,1", D2("fmin.s", BOX(S_QNAN), BOX(S_1)), BOX(S_1));

    static const struct {
        const char *name;
        uint64_t v, cls;
    } cls[] = {
        {"fclass -inf", D_MINF, 1 << 0},
        {"fclass -normal", D_M1, 1 << 1},
        {"fclass -subnormal", 0x8000000000000001UL, 1 << 2},
        {"fclass -0", D_M0, 1 << 3},
        {"fclass +0", D_0, 1 << 4},
        {"fclass +subnormal", 1, 1 << 5},
        {"fclass +normal", D_1, 1 << 6},
        {"fclass +inf", D_INF, 1 << 7},
        {"fclass sNaN", D_SNAN, 1 << 8},
        {"fclass qNaN", D_QNAN, 1 << 9},
    };
    for (unsigned i = 0; i < sizeof(cls) / sizeof(cls[0]); i++)
        CHECK_EQ(cls[i].name, TOIX("fclass.d %0, ft0", cls[i].v), cls[i].cls);
    CHECK_EQ("fclass.s -inf", TOIX("fclass.s %0, ft0", BOX(0xff800000UL)), 1);
    CHECK_EQ("fclass.s sNaN", TOIX("fclass.s %0, ft0", BOX(0x7f800001UL)), 1 << 8);
    clear_flags();
}

static volatile uint32_t single_mem[2] = {0x3f800000, 0x55555555};
static volatile uint64_t double_mem[2];

static void test_boxing(void)
{
    uint64_t r;

    rt_section("NaN boxing, loads/stores");
    __asm__ volatile("flw ft0, 0(%1)\n fmv.x.d %0, ft0" : "=r"(r) : "r"(single_mem) : "ft0");
    CHECK_EQ("flw boxes", r, BOX(S_1));
    __asm__ volatile("flw ft0, 0(%1)\n fclass.d %0, ft0" : "=r"(r) : "r"(single_mem) : "ft0");
    CHECK_EQ("boxed single read as double is qNaN", r, 1 << 9);
    clear_flags();
    __asm__ volatile("flw ft0, 0(%1)\n fmv.d.x ft1, %2\n fadd.d ft2, ft0, ft1\n fmv.x.d %0, ft2"
                     : "=r"(r)
                     : "r"(single_mem), "r"(D_1)
                     : "ft0", "ft1", "ft2");
    CHECK_EQ("double op on boxed single: canonical NaN", r, D_QNAN);
    CHECK_EQ("no NV for the quiet NaN", flags(), 0);
    CHECK_EQ("unboxed single is canonical NaN", D2("fadd.s", S_1, S_1), BOX(S_QNAN));
    CHECK_EQ("fclass.s unboxed", TOIX("fclass.s %0, ft0", S_1), 1 << 9);
    CHECK_EQ("fmv.x.w moves low bits", TOIX("fmv.x.w %0, ft0", 0x000000003f800000UL), S_1);

    __asm__ volatile("fmv.d.x ft0, %0\n fsw ft0, 0(%1)" ::"r"(BOX(0x40490fdbUL)), "r"(single_mem)
                     : "ft0", "memory");
    CHECK_EQ("fsw stores 32 bits", single_mem[0], 0x40490fdb);
    CHECK_EQ("fsw leaves neighbour", single_mem[1], 0x55555555);
    __asm__ volatile("fmv.d.x ft0, %0\n fsd ft0, 8(%1)\n fld ft1, 8(%1)\n fmv.x.d %0, ft1"
                     : "=r"(r)
                     : "r"(double_mem), "0"(D_SNAN)
                     : "ft0", "ft1", "memory");
    CHECK_EQ("fsd/fld keep sNaN bits", r, D_SNAN);
    CHECK_EQ("fsd wrote memory", double_mem[1], D_SNAN);
}

static void test_compare_sign(void)
{
    rt_section("compare, sign injection");
    clear_flags();
    CHECK_EQ("feq.d qNaN", CMP("feq.d", D_QNAN, D_QNAN), 0);
    CHECK_EQ("feq qNaN: no NV", flags(), 0);
    CHECK_EQ("flt.d qNaN", CMP("flt.d", D_QNAN, D_1), 0);
    CHECK_EQ("flt qNaN: NV", flags(), FLAG_NV);
    clear_flags();
    CHECK_EQ("feq.d sNaN", CMP("feq.d", D_SNAN, D_1), 0);
    CHECK_EQ("feq sNaN: NV", flags(), FLAG_NV);
    CHECK_EQ("feq.d -0,+0", CMP("feq.d", D_M0, D_0), 1);
    CHECK_EQ("flt.d -1,1", CMP("flt.d", D_M1, D_1), 1);
    CHECK_EQ("fle.d 1,1", CMP("fle.d", D_1, D_1), 1);
    CHECK_EQ("flt.d 1,1", CMP("flt.d", D_1, D_1), 0);
    CHECK_EQ("fsgnjn.d (fneg)", D2("fsgnjn.d", D_1, D_1), D_M1);
    CHECK_EQ("fsgnjx.d", D2("fsgnjx.d", D_M1, D_M1), D_1);
    CHECK_EQ("fsgnj.d", D2("fsgnj.d", D_1, D_M0), D_M1);
    CHECK_EQ("fsgnj.d on NaN keeps payload", D2("fsgnj.d", D_SNAN, D_M1), D_SNAN | D_M0);
    clear_flags();
}

int main(void)
{
    test_fs();
    test_arith();
    test_convert();
    test_rounding();
    test_minmax_class();
    test_boxing();
    test_compare_sign();
    return 0;
}
