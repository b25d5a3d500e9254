/* rv64 JIT tier against the interpreter: randomized instruction streams run on two machines,
 * one per tier, from the same state; after the same number of instructions every register,
 * pc, the trap CSRs, instret and the data memory must agree. The streams mix every integer
 * instruction the JIT translates with the ones it leaves to the interpreter (CSR, AMO, FP),
 * loads and stores that cross pages, miss the RAM (access faults) or are misaligned, forward
 * branches and jumps (direct and through JALR), compressed instructions and illegal words. */
#include <stdlib.h>

#include "rv64_test_util.h"

#define PROG_WORDS 512 /* at RVT_BASE + 0x4000: the handlers' NOPs are below */
#define PROG       (RVT_BASE + 0x4000)
#define DATA_BASE  (RVT_DATA + 0x1000) /* x31; accesses reach +-2 KiB around it */

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static unsigned pick(struct rng *r, unsigned n)
{
    return (unsigned)(rnd(r) % n);
}

/* a destination: x1..x27 (x28..x31 hold bases) */
static unsigned rdst(struct rng *r)
{
    return 1 + pick(r, 27);
}

static unsigned rsrc(struct rng *r)
{
    return pick(r, 32);
}

static int32_t imm12(struct rng *r)
{
    static const int32_t special[] = {0, 1, -1, 2047, -2048, 31, 32, 63};
    return pick(r, 4) ? (int32_t)(rnd(r) & 0xfff) - 2048 : special[pick(r, 8)];
}

/* One random instruction (or two: AUIPC+JALR) at word index i of n; returns words written. */
static int gen_one(struct rng *r, uint32_t *w, int i, int n)
{
    unsigned k = pick(r, 100), f3 = pick(r, 8), rd = rdst(r), a = rsrc(r), b = rsrc(r);
    int fwd = 1 + (int)pick(r, 12);

    if (i + fwd >= n)
        fwd = n - 1 - i;
    if (k < 20) { /* OP, OP-32 with funct7 0, 0x20, 1 */
        static const unsigned f7s[] = {0, 0x20, 1};
        unsigned f7 = f7s[pick(r, 3)];
        w[0] = pick(r, 2) ? OP(f7, f3, rd, a, b) : OPW(f7, f3, rd, a, b);
        return 1;
    }
    if (k < 40) { /* OP-IMM, OP-IMM-32 */
        int32_t imm = imm12(r);
        if (f3 == 1 || f3 == 5) /* shifts: sometimes an arithmetic one, sometimes illegal */
            imm = (imm & 63) | (pick(r, 3) == 0 ? 0x400 : 0) | (pick(r, 40) == 0 ? 0x80 : 0);
        w[0] = pick(r, 3) ? OPI(f3, rd, a, imm) : OPIW(f3, rd, a, pick(r, 4) ? imm & 0x41f : imm);
        return 1;
    }
    if (k < 45) {
        w[0] = pick(r, 2) ? LUI(rd, rnd(r) & 0xfffff) : AUIPC(rd, rnd(r) & 0xfffff);
        return 1;
    }
    if (k < 60) { /* loads: mostly around x31, some through x29 (no RAM there) */
        unsigned base = pick(r, 20) ? 31 : 29;
        w[0] = LOAD(pick(r, 8) ? f3 % 7 : 7, rd, base, imm12(r));
        return 1;
    }
    if (k < 72) {
        unsigned base = pick(r, 20) ? 31 : 29;
        w[0] = STORE(pick(r, 10) ? f3 % 4 : 4 + f3 % 4, b, base, imm12(r));
        return 1;
    }
    if (k < 80 && fwd > 0) { /* forward branch */
        w[0] = BR(pick(r, 8) ? "\0\1\4\5\6\7"[pick(r, 6)] : 2, a, b, 4 * fwd);
        return 1;
    }
    if (k < 83 && fwd > 0) {
        w[0] = JAL(pick(r, 2) ? rd : 0, 4 * fwd);
        return 1;
    }
    if (k < 86 && fwd > 2 && i + 2 < n) { /* auipc x30; jalr rd, fwd*4(x30) */
        w[0] = AUIPC(30, 0);
        w[1] = JALR(pick(r, 2) ? rd : 0, 30, 4 * fwd);
        return 2;
    }
    if (k < 90) { /* compressed pairs: random, often reserved or illegal */
        uint16_t lo = (uint16_t)rnd(r), hi = (uint16_t)rnd(r);
        if ((lo & 3) == 3)
            lo ^= 1;
        if ((hi & 3) == 3)
            hi ^= 2;
        /* no compressed control transfers (they could jump anywhere) */
        if (((lo >> 13) >= 5 && (lo & 3) == 1) || ((lo & 0xe003) == 0x8002 && !(lo & 0x7c)) ||
            ((hi >> 13) >= 5 && (hi & 3) == 1) || ((hi & 0xe003) == 0x8002 && !(hi & 0x7c)))
            return gen_one(r, w, i, n);
        /* and no stack-relative accesses far from the data (x2 is random) */
        if ((lo & 3) == 2 || (hi & 3) == 2 || (lo & 3) == 0 || (hi & 3) == 0)
            return gen_one(r, w, i, n);
        w[0] = (uint32_t)hi << 16 | lo;
        return 1;
    }
    if (k < 93) { /* CSR reads and writes of a scratch CSR, and counters */
        static const unsigned csrs[] = {CSR_MSCRATCH, CSR_SSCRATCH, CSR_INSTRET, CSR_MHARTID};
        w[0] = pick(r, 2) ? CSRRS(rd, csrs[pick(r, 4)], 0) : CSRRW(rd, CSR_MSCRATCH, a);
        return 1;
    }
    if (k < 96) { /* AMOs on the data */
        static const unsigned f5s[] = {0, 1, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x1c, 2, 3};
        unsigned f5 = f5s[pick(r, 11)];
        w[0] = AMO(f5, pick(r, 2) ? 2 : 3, rd, 31, f5 == 2 ? 0 : b);
        return 1;
    }
    if (k < 98) {
        w[0] = (uint32_t)rnd(r); /* anything at all: mostly illegal */
        if ((w[0] & 0x7f) == 0x6f || (w[0] & 0x7f) == 0x67 || (w[0] & 0x7f) == 0x63 ||
            (w[0] & 0x7f) == 0x73)
            w[0] = 0;
        return 1;
    }
    w[0] = RVT_NOP;
    return 1;
}

static int mach_init(struct rvt *t, enum rv64_tier tier)
{
    return rvt_init_tier(t, tier);
}

/* Same program, registers and data into both machines. */
static void load_case(struct rvt *t, const uint32_t *prog, const uint64_t *regs,
                      const uint8_t *data)
{
    /* the trap handler skips 4 bytes past the trapping instruction and returns */
    RVT_PROG(t, RVT_HANDLER, CSRRS(28, CSR_MEPC, 0), ADDI(28, 28, 4), CSRRW(0, CSR_MEPC, 28), MRET);
    rvt_prog(t, PROG, prog, PROG_WORDS);
    memcpy(rvt_ptr(t, RVT_DATA), data, 0x2000);
    for (int i = 1; i < 32; i++)
        rv64_hart_set_x(t->h, i, regs[i]);
    rv64_hart_set_pc(t->h, PROG);
    rvt_set_csr(t, CSR_MSTATUS, ST_FS(1));
}

#define VOFF 0x100000000ULL /* virtual = physical + VOFF when paged */

/* Paged cases run in S- or U-mode over an Sv39 table that maps the program and the data
 * pages at physical + VOFF, except one data page (page faults). */
static void enter_paged(struct rvt *t, int priv, uint64_t holes)
{
    uint64_t satp, u = priv == 0 ? PTE_U : 0;

    t->pt_next = RVT_PT_AREA; /* the machines serve case after case */
    satp = rvt_pt_new(t, 8);

    for (uint64_t off = 0; off < 0x1000ULL * PROG_WORDS / 1024 + 0x1000; off += 0x1000)
        rvt_map(t, PROG + VOFF + off, PROG + off, 0, PTE_V | PTE_R | PTE_X | PTE_A | u);
    for (uint64_t off = 0; off < 0x2000; off += 0x1000)
        if (!((holes >> (off >> 12)) & 1))
            rvt_map(t, RVT_DATA + VOFF + off, RVT_DATA + off, 0,
                    PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | u);
    rvt_set_csr(t, CSR_SATP, satp);
    rv64_hart_set_x(t->h, 31, DATA_BASE + VOFF);
    rv64_hart_set_pc(t->h, PROG + VOFF);
    rvt_set_csr(t, CSR_MSTATUS, ST_FS(1) | ST_MPP(priv));
    rv64_hart_set_priv(t->h, priv);
}

static int compare(struct rvt *a, struct rvt *b, uint64_t seed)
{
    static const unsigned csrs[] = {CSR_MCAUSE,   CSR_MEPC,    CSR_MTVAL,
                                    CSR_MSCRATCH, CSR_INSTRET, CSR_MSTATUS};
    int bad = 0;

    for (int i = 1; i < 32; i++)
        if (rvt_x(a, i) != rvt_x(b, i)) {
            test_fail(__FILE__, __LINE__,
                      "seed %" PRIu64 ": x%d interp 0x%" PRIx64 " jit 0x%" PRIx64, seed, i,
                      rvt_x(a, i), rvt_x(b, i));
            bad++;
        }
    if (rvt_pc(a) != rvt_pc(b)) {
        test_fail(__FILE__, __LINE__, "seed %" PRIu64 ": pc interp 0x%" PRIx64 " jit 0x%" PRIx64,
                  seed, rvt_pc(a), rvt_pc(b));
        bad++;
    }
    for (unsigned i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        if (rvt_csr(a, csrs[i]) != rvt_csr(b, csrs[i])) {
            test_fail(__FILE__, __LINE__,
                      "seed %" PRIu64 ": csr 0x%x interp 0x%" PRIx64 " jit 0x%" PRIx64, seed,
                      csrs[i], rvt_csr(a, csrs[i]), rvt_csr(b, csrs[i]));
            bad++;
        }
    for (int i = 0; i < 0x2000; i += 8)
        if (rvt_r64(a, RVT_DATA + (uint64_t)i) != rvt_r64(b, RVT_DATA + (uint64_t)i)) {
            test_fail(__FILE__, __LINE__,
                      "seed %" PRIu64 ": data at +0x%x interp 0x%" PRIx64 " jit 0x%" PRIx64, seed,
                      i, rvt_r64(a, RVT_DATA + (uint64_t)i), rvt_r64(b, RVT_DATA + (uint64_t)i));
            bad++;
            break;
        }
    return bad;
}

/* Runs case seed on both tiers in chunks of steps instructions, comparing after each. */
static int run_case(struct rvt *ti, struct rvt *tj, uint64_t seed, int chunks, int steps)
{
    struct rng r = {seed * 0x9e3779b97f4a7c15ULL + 1};
    uint32_t prog[PROG_WORDS];
    uint64_t regs[32];
    uint8_t data[0x2000];

    for (int i = 0; i < PROG_WORDS;)
        i += gen_one(&r, &prog[i], i, PROG_WORDS - 4);
    prog[PROG_WORDS - 4] = JAL(0, -4 * (PROG_WORDS - 4)); /* loop back to the start */
    for (int i = 1; i < 32; i++) {
        static const uint64_t special[] = {0,          1,          ~0ULL,      1ULL << 63,
                                           0x7fffffff, 0x80000000, 0xffffffff, (1ULL << 63) - 1};
        regs[i] = pick(&r, 3) ? rnd(&r) : special[pick(&r, 8)];
    }
    regs[31] = DATA_BASE;
    regs[29] = 0x40000000 + (rnd(&r) & 0xfff); /* no RAM, no device */
    for (int i = 0; i < 0x2000; i++)
        data[i] = (uint8_t)rnd(&r);
    load_case(ti, prog, regs, data);
    load_case(tj, prog, regs, data);
    if (seed % 3) { /* 1: S-mode, 2: U-mode, paged; 0: M-mode */
        int priv = seed % 3 == 1 ? 1 : 0;
        uint64_t holes = pick(&r, 4) ? 0 : 1 + pick(&r, 2);
        enter_paged(ti, priv, holes);
        enter_paged(tj, priv, holes);
    }
    for (int c = 0; c < chunks; c++) {
        uint64_t ni = rv64_hart_step(ti->h, (uint64_t)steps);
        uint64_t nj = rv64_hart_step(tj->h, (uint64_t)steps);
        if (ni != nj) {
            test_fail(__FILE__, __LINE__,
                      "seed %" PRIu64 " chunk %d: %" PRIu64 " instructions interp, %" PRIu64 " jit",
                      seed, c, ni, nj);
            return 1;
        }
        if (compare(ti, tj, seed))
            return 1;
    }
    return 0;
}

TEST(rv64_jit_random_streams)
{
    struct rvt ti, tj;
    int bad = 0;

    if (mach_init(&ti, RV64_TIER_INTERP)) {
        CHECK(!"interp machine");
        return;
    }
    if (mach_init(&tj, RV64_TIER_JIT)) {
        CHECK(!"jit machine");
        rvt_fini(&ti);
        return;
    }
    CHECK_EQ(rv64_machine_tier(ti.m), RV64_TIER_INTERP);
    CHECK_EQ(rv64_machine_tier(tj.m), RV64_TIER_JIT);
    const char *one = getenv("VESSEL_JIT_TEST_SEED"); /* to debug one case */
    uint64_t first = one ? strtoull(one, NULL, 0) : 1, last = one ? first : 400;

    for (uint64_t seed = first; seed <= last && bad < 3; seed++)
        bad += run_case(&ti, &tj, seed, 8, 1 + (int)(seed % 7) * 397);
    CHECK_EQ(bad, 0);
    rvt_fini(&ti);
    rvt_fini(&tj);
}

/* A jump into page 0 (no RAM) is an instruction access fault on both tiers; the interpreter
 * once took page 0 for its cached code page and read host address pc. */
TEST(rv64_jit_fetch_page0)
{
    static const enum rv64_tier tiers[] = {RV64_TIER_INTERP, RV64_TIER_JIT};

    for (int i = 0; i < 2; i++) {
        struct rvt t;
        if (rvt_init_tier(&t, tiers[i])) {
            CHECK(!"rvt_init_tier");
            return;
        }
        RVT_PROG(&t, RVT_BASE, ADDI(5, 0, 0x10), JALR(0, 5, 0));
        CHECK_EQ(rv64_hart_step(t.h, 3), 3);
        CHECK_MTRAP(&t, 1, 0x10, 0x10);
        rvt_fini(&t);
    }
}
