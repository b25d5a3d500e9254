/* Helpers shared by the rv64 engine tests: a one-hart machine over 4 MiB of RAM, hand
 * encoders for the instruction formats (no assembler at unit-test time), and an Sv39/Sv48
 * page-table builder. Expected values come from the RISC-V unprivileged and privileged specs. */
#ifndef VESSEL_TESTS_RV64_TEST_UTIL_H
#define VESSEL_TESTS_RV64_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "bus/bus.h"
#include "engine/rv64/rv64.h"
#include "harness.h"
#include "mem/gmem.h"

#define RVT_BASE     0x80000000ULL
#define RVT_RAM_SIZE (4ULL << 20)
#define RVT_HANDLER  (RVT_BASE + 0x1000) /* mtvec */
#define RVT_SHANDLER (RVT_BASE + 0x2000) /* stvec */
#define RVT_DATA     (RVT_BASE + 0x10000)
#define RVT_PT_AREA  (RVT_BASE + 0x100000) /* page tables are allocated from here */

#define RVT_NOP 0x00000013u

/* CSR numbers */
enum {
    CSR_FFLAGS = 0x001,
    CSR_FCSR = 0x003,
    CSR_SSTATUS = 0x100,
    CSR_SIE = 0x104,
    CSR_STVEC = 0x105,
    CSR_SSCRATCH = 0x140,
    CSR_SEPC = 0x141,
    CSR_SCAUSE = 0x142,
    CSR_STVAL = 0x143,
    CSR_SIP = 0x144,
    CSR_SATP = 0x180,
    CSR_MSTATUS = 0x300,
    CSR_MISA = 0x301,
    CSR_MEDELEG = 0x302,
    CSR_MIDELEG = 0x303,
    CSR_MIE = 0x304,
    CSR_MTVEC = 0x305,
    CSR_MSCRATCH = 0x340,
    CSR_MEPC = 0x341,
    CSR_MCAUSE = 0x342,
    CSR_MTVAL = 0x343,
    CSR_MIP = 0x344,
    CSR_CYCLE = 0xc00,
    CSR_INSTRET = 0xc02,
    CSR_MHARTID = 0xf14,
};

/* mstatus bits (privileged spec, 3.1.6) */
#define ST_SIE      (1ULL << 1)
#define ST_MIE      (1ULL << 3)
#define ST_SPIE     (1ULL << 5)
#define ST_MPIE     (1ULL << 7)
#define ST_SPP      (1ULL << 8)
#define ST_MPP(p)   ((uint64_t)(p) << 11)
#define ST_MPP_MASK (3ULL << 11)
#define ST_FS_MASK  (3ULL << 13)
#define ST_FS(v)    ((uint64_t)(v) << 13)
#define ST_MPRV     (1ULL << 17)
#define ST_SUM      (1ULL << 18)
#define ST_MXR      (1ULL << 19)
#define ST_TVM      (1ULL << 20)
#define ST_TW       (1ULL << 21)
#define ST_TSR      (1ULL << 22)
#define ST_SD       (1ULL << 63)

#define INTR (1ULL << 63)

/* PTE bits */
#define PTE_V 0x01ULL
#define PTE_R 0x02ULL
#define PTE_W 0x04ULL
#define PTE_X 0x08ULL
#define PTE_U 0x10ULL
#define PTE_A 0x40ULL
#define PTE_D 0x80ULL

struct rvt {
    struct gmem ram;
    struct bus bus;
    struct rv64_machine *m;
    struct rv64_hart *h;
    uint64_t pt_root, pt_next;
    int levels;
};

static inline void *rvt_ptr(struct rvt *t, uint64_t pa)
{
    return t->ram.hva + (pa - RVT_BASE);
}

static inline void rvt_w32(struct rvt *t, uint64_t pa, uint32_t v)
{
    memcpy(rvt_ptr(t, pa), &v, 4);
}

static inline void rvt_w16(struct rvt *t, uint64_t pa, uint16_t v)
{
    memcpy(rvt_ptr(t, pa), &v, 2);
}

static inline void rvt_w64(struct rvt *t, uint64_t pa, uint64_t v)
{
    memcpy(rvt_ptr(t, pa), &v, 8);
}

static inline uint64_t rvt_r64(struct rvt *t, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, rvt_ptr(t, pa), 8);
    return v;
}

static inline uint32_t rvt_r32(struct rvt *t, uint64_t pa)
{
    uint32_t v;
    memcpy(&v, rvt_ptr(t, pa), 4);
    return v;
}

/* Machine with one hart at RVT_BASE in M-mode; mtvec and stvec point at pages of NOPs. The
 * tier is the default one (VESSEL_RV64_TIER chooses) unless given. */
static inline int rvt_init_tier(struct rvt *t, enum rv64_tier tier)
{
    struct rv64_config cfg = {.nharts = 1, .tier = tier};

    memset(t, 0, sizeof(*t));
    if (gmem_create(&t->ram, RVT_BASE, RVT_RAM_SIZE))
        return -1;
    bus_init(&t->bus);
    cfg.ram = &t->ram;
    cfg.bus = &t->bus;
    if (rv64_machine_create(&t->m, &cfg)) {
        gmem_destroy(&t->ram);
        return -1;
    }
    t->h = rv64_machine_hart(t->m, 0);
    rv64_hart_reset(t->h, RVT_BASE, 0, 0);
    for (int i = 0; i < 1024; i++) {
        rvt_w32(t, RVT_HANDLER + 4 * (uint64_t)i, RVT_NOP);
        rvt_w32(t, RVT_SHANDLER + 4 * (uint64_t)i, RVT_NOP);
    }
    rv64_hart_set_csr(t->h, CSR_MTVEC, RVT_HANDLER);
    rv64_hart_set_csr(t->h, CSR_STVEC, RVT_SHANDLER);
    rv64_hart_set_csr(t->h, CSR_MCAUSE, 0xdead);
    t->pt_next = RVT_PT_AREA;
    return 0;
}

static inline int rvt_init(struct rvt *t)
{
    return rvt_init_tier(t, RV64_TIER_DEFAULT);
}

static inline void rvt_fini(struct rvt *t)
{
    rv64_machine_destroy(t->m);
    gmem_destroy(&t->ram);
}

#define RVT_SETUP(t)                                                                               \
    struct rvt t##_s, *t = &t##_s;                                                                 \
    if (rvt_init(t)) {                                                                             \
        CHECK(!"rvt_init");                                                                        \
        return;                                                                                    \
    }

static inline uint64_t rvt_csr(struct rvt *t, unsigned csr)
{
    uint64_t v = 0xbadbadbadULL;
    if (rv64_hart_get_csr(t->h, csr, &v))
        return 0xbadbadbadULL;
    return v;
}

static inline void rvt_set_csr(struct rvt *t, unsigned csr, uint64_t v)
{
    CHECK_EQ(rv64_hart_set_csr(t->h, csr, v), 0);
}

static inline uint64_t rvt_x(struct rvt *t, int r)
{
    return rv64_hart_get_x(t->h, r);
}

static inline uint64_t rvt_pc(struct rvt *t)
{
    return rv64_hart_get_pc(t->h);
}

/* Writes n instruction words at pa. */
static inline void rvt_prog(struct rvt *t, uint64_t pa, const uint32_t *w, int n)
{
    for (int i = 0; i < n; i++)
        rvt_w32(t, pa + 4 * (uint64_t)i, w[i]);
}

#define RVT_PROG(t, pa, ...)                                                                       \
    do {                                                                                           \
        const uint32_t w_[] = {__VA_ARGS__};                                                       \
        rvt_prog(t, pa, w_, (int)(sizeof(w_) / sizeof(w_[0])));                                    \
    } while (0)

/* Runs one instruction at RVT_BASE with x5 = a, x6 = b; returns x7 (rd of the instruction),
 * or 0xbad0bad0bad0bad0 when pc did not advance by 4 (the instruction trapped). */
static inline uint64_t rvt_alu(struct rvt *t, uint32_t insn, uint64_t a, uint64_t b)
{
    rvt_w32(t, RVT_BASE, insn);
    rv64_hart_set_pc(t->h, RVT_BASE);
    rv64_hart_set_x(t->h, 5, a);
    rv64_hart_set_x(t->h, 6, b);
    rv64_hart_set_x(t->h, 7, 0x5a5a5a5a5a5a5a5aULL);
    rv64_hart_step(t->h, 1);
    if (rvt_pc(t) != RVT_BASE + 4)
        return 0xbad0bad0bad0bad0ULL;
    return rvt_x(t, 7);
}

/* The last step trapped to M-mode with these values. */
#define CHECK_MTRAP(t, cause, epc, tval)                                                           \
    do {                                                                                           \
        CHECK_EQ(rvt_csr(t, CSR_MCAUSE), (cause));                                                 \
        CHECK_EQ(rvt_csr(t, CSR_MEPC), (epc));                                                     \
        CHECK_EQ(rvt_csr(t, CSR_MTVAL), (tval));                                                   \
        CHECK_EQ(rvt_pc(t), RVT_HANDLER);                                                          \
        CHECK_EQ(rv64_hart_get_priv((t)->h), 3);                                                   \
    } while (0)

#define CHECK_STRAP(t, cause, epc, tval)                                                           \
    do {                                                                                           \
        CHECK_EQ(rvt_csr(t, CSR_SCAUSE), (cause));                                                 \
        CHECK_EQ(rvt_csr(t, CSR_SEPC), (epc));                                                     \
        CHECK_EQ(rvt_csr(t, CSR_STVAL), (tval));                                                   \
        CHECK_EQ(rvt_pc(t), RVT_SHANDLER);                                                         \
        CHECK_EQ(rv64_hart_get_priv((t)->h), 1);                                                   \
    } while (0)

/* ---- 32-bit encoders ---- */
static inline uint32_t rv_r(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd,
                            unsigned op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static inline uint32_t rv_i(int32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static inline uint32_t rv_s(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned op)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | op;
}

static inline uint32_t rv_b(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
           ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}

static inline uint32_t rv_j(int32_t imm, unsigned rd)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
           ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}

#define OP(f7, f3, rd, rs1, rs2)  rv_r(f7, rs2, rs1, f3, rd, 0x33)
#define OPW(f7, f3, rd, rs1, rs2) rv_r(f7, rs2, rs1, f3, rd, 0x3b)
#define OPI(f3, rd, rs1, imm)     rv_i(imm, rs1, f3, rd, 0x13)
#define OPIW(f3, rd, rs1, imm)    rv_i(imm, rs1, f3, rd, 0x1b)
#define ADDI(rd, rs1, imm)        OPI(0, rd, rs1, imm)
#define ADD(rd, rs1, rs2)         OP(0, 0, rd, rs1, rs2)
#define LUI(rd, imm20)            ((uint32_t)(imm20) << 12 | (rd) << 7 | 0x37)
#define AUIPC(rd, imm20)          ((uint32_t)(imm20) << 12 | (rd) << 7 | 0x17)
#define JAL(rd, off)              rv_j(off, rd)
#define JALR(rd, rs1, off)        rv_i(off, rs1, 0, rd, 0x67)
#define BR(f3, rs1, rs2, off)     rv_b(off, rs2, rs1, f3)
#define LOAD(f3, rd, rs1, off)    rv_i(off, rs1, f3, rd, 0x03)
#define STORE(f3, rs2, rs1, off)  rv_s(off, rs2, rs1, f3, 0x23)
#define LB(rd, rs1, off)          LOAD(0, rd, rs1, off)
#define LH(rd, rs1, off)          LOAD(1, rd, rs1, off)
#define LW(rd, rs1, off)          LOAD(2, rd, rs1, off)
#define LD(rd, rs1, off)          LOAD(3, rd, rs1, off)
#define LBU(rd, rs1, off)         LOAD(4, rd, rs1, off)
#define LHU(rd, rs1, off)         LOAD(5, rd, rs1, off)
#define LWU(rd, rs1, off)         LOAD(6, rd, rs1, off)
#define SB(rs2, rs1, off)         STORE(0, rs2, rs1, off)
#define SH(rs2, rs1, off)         STORE(1, rs2, rs1, off)
#define SW(rs2, rs1, off)         STORE(2, rs2, rs1, off)
#define SD(rs2, rs1, off)         STORE(3, rs2, rs1, off)
#define FLW(rd, rs1, off)         rv_i(off, rs1, 2, rd, 0x07)
#define FLD(rd, rs1, off)         rv_i(off, rs1, 3, rd, 0x07)
#define FSD(rs2, rs1, off)        rv_s(off, rs2, rs1, 3, 0x27)
#define CSRRW(rd, csr, rs1)       ((uint32_t)(csr) << 20 | (rs1) << 15 | 1 << 12 | (rd) << 7 | 0x73)
#define CSRRS(rd, csr, rs1)       ((uint32_t)(csr) << 20 | (rs1) << 15 | 2 << 12 | (rd) << 7 | 0x73)
#define CSRRC(rd, csr, rs1)       ((uint32_t)(csr) << 20 | (rs1) << 15 | 3 << 12 | (rd) << 7 | 0x73)
#define CSRRWI(rd, csr, u)        ((uint32_t)(csr) << 20 | (u) << 15 | 5 << 12 | (rd) << 7 | 0x73)
#define CSRRSI(rd, csr, u)        ((uint32_t)(csr) << 20 | (u) << 15 | 6 << 12 | (rd) << 7 | 0x73)
#define CSRRCI(rd, csr, u)        ((uint32_t)(csr) << 20 | (u) << 15 | 7 << 12 | (rd) << 7 | 0x73)
#define ECALL                     0x00000073u
#define EBREAK                    0x00100073u
#define MRET                      0x30200073u
#define SRET                      0x10200073u
#define WFI                       0x10500073u
#define SFENCE_VMA(rs1, rs2)      (0x09u << 25 | (rs2) << 20 | (rs1) << 15 | 0x73)
#define AMO(f5, f3, rd, rs1, rs2)                                                                  \
    ((uint32_t)(f5) << 27 | (rs2) << 20 | (rs1) << 15 | (f3) << 12 | (rd) << 7 | 0x2f)
#define AMO_W(f5, rd, rs1, rs2) AMO(f5, 2, rd, rs1, rs2)
#define AMO_D(f5, rd, rs1, rs2) AMO(f5, 3, rd, rs1, rs2)
#define LR_W(rd, rs1)           AMO_W(0x02, rd, rs1, 0)
#define LR_D(rd, rs1)           AMO_D(0x02, rd, rs1, 0)
#define SC_W(rd, rs1, rs2)      AMO_W(0x03, rd, rs1, rs2)
#define SC_D(rd, rs1, rs2)      AMO_D(0x03, rd, rs1, rs2)

/* ---- 16-bit (RVC) encoders, from the RVC format tables of the unprivileged spec ---- */
#define BIT(v, n)       (((uint32_t)(v) >> (n)) & 1u)
#define BITS(v, hi, lo) (((uint32_t)(v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))
#define CP(r)           ((uint32_t)(r)-8u) /* x8..x15 -> 3-bit field */

static inline uint16_t c_ci(unsigned f3, unsigned rd, int32_t imm, unsigned op)
{
    return (uint16_t)(f3 << 13 | BIT(imm, 5) << 12 | rd << 7 | BITS(imm, 4, 0) << 2 | op);
}
static inline uint16_t c_addi4spn(unsigned rd, uint32_t u)
{
    return (uint16_t)(BITS(u, 5, 4) << 11 | BITS(u, 9, 6) << 7 | BIT(u, 2) << 6 | BIT(u, 3) << 5 |
                      CP(rd) << 2);
}
/* c.lw / c.sw (f3 2 / 6) */
static inline uint16_t c_lsw(unsigned f3, unsigned r, unsigned rs1, uint32_t u)
{
    return (uint16_t)(f3 << 13 | BITS(u, 5, 3) << 10 | CP(rs1) << 7 | BIT(u, 2) << 6 |
                      BIT(u, 6) << 5 | CP(r) << 2);
}
/* c.ld / c.sd / c.fld / c.fsd (f3 3 / 7 / 1 / 5) */
static inline uint16_t c_lsd(unsigned f3, unsigned r, unsigned rs1, uint32_t u)
{
    return (uint16_t)(f3 << 13 | BITS(u, 5, 3) << 10 | CP(rs1) << 7 | BITS(u, 7, 6) << 5 |
                      CP(r) << 2);
}
#define C_ADDI(rd, imm)  c_ci(0, rd, imm, 1)
#define C_ADDIW(rd, imm) c_ci(1, rd, imm, 1)
#define C_LI(rd, imm)    c_ci(2, rd, imm, 1)
#define C_LUI(rd, imm6)  c_ci(3, rd, imm6, 1) /* imm6 = nzimm[17:12] */
#define C_SLLI(rd, sh)   c_ci(0, rd, sh, 2)
static inline uint16_t C_ADDI16SP(int32_t imm)
{
    return (uint16_t)(3u << 13 | BIT(imm, 9) << 12 | 2u << 7 | BIT(imm, 4) << 6 | BIT(imm, 6) << 5 |
                      BITS(imm, 8, 7) << 3 | BIT(imm, 5) << 2 | 1);
}
/* c.srli (sub 0), c.srai (1), c.andi (2) */
static inline uint16_t c_cb_alu(unsigned sub, unsigned rd, int32_t imm)
{
    return (uint16_t)(4u << 13 | BIT(imm, 5) << 12 | sub << 10 | CP(rd) << 7 |
                      BITS(imm, 4, 0) << 2 | 1);
}
/* c.sub 0, c.xor 1, c.or 2, c.and 3, c.subw 4, c.addw 5 */
static inline uint16_t c_ca(unsigned f, unsigned rd, unsigned rs2)
{
    return (uint16_t)(4u << 13 | (f >> 2) << 12 | 3u << 10 | CP(rd) << 7 | (f & 3) << 5 |
                      CP(rs2) << 2 | 1);
}
static inline uint16_t C_J(int32_t off)
{
    return (uint16_t)(5u << 13 | BIT(off, 11) << 12 | BIT(off, 4) << 11 | BITS(off, 9, 8) << 9 |
                      BIT(off, 10) << 8 | BIT(off, 6) << 7 | BIT(off, 7) << 6 |
                      BITS(off, 3, 1) << 3 | BIT(off, 5) << 2 | 1);
}
/* c.beqz (f3 6), c.bnez (7) */
static inline uint16_t c_br(unsigned f3, unsigned rs1, int32_t off)
{
    return (uint16_t)(f3 << 13 | BIT(off, 8) << 12 | BITS(off, 4, 3) << 10 | CP(rs1) << 7 |
                      BITS(off, 7, 6) << 5 | BITS(off, 2, 1) << 3 | BIT(off, 5) << 2 | 1);
}
/* c.lwsp */
static inline uint16_t C_LWSP(unsigned rd, uint32_t u)
{
    return (uint16_t)(2u << 13 | BIT(u, 5) << 12 | rd << 7 | BITS(u, 4, 2) << 4 |
                      BITS(u, 7, 6) << 2 | 2);
}
/* c.ldsp (f3 3), c.fldsp (1) */
static inline uint16_t c_ldsp(unsigned f3, unsigned rd, uint32_t u)
{
    return (uint16_t)(f3 << 13 | BIT(u, 5) << 12 | rd << 7 | BITS(u, 4, 3) << 5 |
                      BITS(u, 8, 6) << 2 | 2);
}
static inline uint16_t C_SWSP(unsigned rs2, uint32_t u)
{
    return (uint16_t)(6u << 13 | BITS(u, 5, 2) << 9 | BITS(u, 7, 6) << 7 | rs2 << 2 | 2);
}
/* c.sdsp (f3 7), c.fsdsp (5) */
static inline uint16_t c_sdsp(unsigned f3, unsigned rs2, uint32_t u)
{
    return (uint16_t)(f3 << 13 | BITS(u, 5, 3) << 10 | BITS(u, 8, 6) << 7 | rs2 << 2 | 2);
}
#define C_JR(rs1)      ((uint16_t)(0x8002u | (rs1) << 7))
#define C_MV(rd, rs2)  ((uint16_t)(0x8002u | (rd) << 7 | (rs2) << 2))
#define C_EBREAK       ((uint16_t)0x9002u)
#define C_JALR(rs1)    ((uint16_t)(0x9002u | (rs1) << 7))
#define C_ADD(rd, rs2) ((uint16_t)(0x9002u | (rd) << 7 | (rs2) << 2))

/* ---- page tables ---- */
static inline uint64_t rvt_alloc_page(struct rvt *t)
{
    uint64_t pa = t->pt_next;
    t->pt_next += 4096;
    memset(rvt_ptr(t, pa), 0, 4096);
    return pa;
}

/* Starts a page table of the given satp mode (8 = Sv39, 9 = Sv48); returns the satp value. */
static inline uint64_t rvt_pt_new(struct rvt *t, unsigned mode)
{
    t->levels = mode == 9 ? 4 : 3;
    t->pt_root = rvt_alloc_page(t);
    return (uint64_t)mode << 60 | t->pt_root >> 12;
}

/* Address of the PTE for va at level (0 = 4 KiB leaf), creating intermediate tables. */
static inline uint64_t rvt_pte_addr(struct rvt *t, uint64_t va, int level)
{
    uint64_t table = t->pt_root;

    for (int l = t->levels - 1; l > level; l--) {
        uint64_t a = table + ((va >> (12 + 9 * l)) & 0x1ff) * 8;
        uint64_t pte = rvt_r64(t, a);
        if (!(pte & PTE_V)) {
            uint64_t next = rvt_alloc_page(t);
            pte = (next >> 12) << 10 | PTE_V;
            rvt_w64(t, a, pte);
        }
        table = ((pte >> 10) & ((1ULL << 44) - 1)) << 12;
    }
    return table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
}

static inline void rvt_map(struct rvt *t, uint64_t va, uint64_t pa, int level, uint64_t flags)
{
    rvt_w64(t, rvt_pte_addr(t, va, level), (pa >> 12) << 10 | flags);
}

#endif
