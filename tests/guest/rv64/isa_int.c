/* RV64I and M: every ALU op (with the W forms and their sign extension), shifts at the edges,
 * LUI/AUIPC, branches, JAL/JALR, loads/stores of every width, misaligned accesses,
 * multiply/divide including the division-by-zero and overflow results, fence.i. */
#include "rt.h"

#define RR(op, a, b)                                                                               \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)));    \
        r_;                                                                                        \
    })
#define RI(op, a, imm)                                                                             \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "i"(imm));              \
        r_;                                                                                        \
    })
/* 1 if the branch is taken */
#define BR(op, a, b)                                                                               \
    ({                                                                                             \
        uint64_t t_ = 1;                                                                           \
        __asm__ volatile(op " %1, %2, 1f\n li %0, 0\n1:"                                           \
                         : "+r"(t_)                                                                \
                         : "r"((uint64_t)(a)), "r"((uint64_t)(b)));                                \
        t_;                                                                                        \
    })
#define LOAD(op, addr)                                                                             \
    ({                                                                                             \
        uint64_t r_;                                                                               \
        __asm__ volatile(op " %0, 0(%1)" : "=r"(r_) : "r"(addr) : "memory");                       \
        r_;                                                                                        \
    })
#define STORE(op, addr, v)                                                                         \
    __asm__ volatile(op " %0, 0(%1)" ::"r"((uint64_t)(v)), "r"(addr) : "memory")

#define MIN64 0x8000000000000000UL
#define ALL1  0xffffffffffffffffUL

static void test_alu(void)
{
    rt_section("alu");
    CHECK_EQ("add", RR("add", 1, 2), 3);
    CHECK_EQ("add wrap", RR("add", ALL1, 1), 0);
    CHECK_EQ("sub", RR("sub", 0, 1), ALL1);
    CHECK_EQ("sub min", RR("sub", MIN64, 1), 0x7fffffffffffffffUL);
    CHECK_EQ("addi neg", RI("addi", 5, -2048), (uint64_t)(5 - 2048));
    CHECK_EQ("addi pos", RI("addi", 5, 2047), 2052);
    CHECK_EQ("addw overflow", RR("addw", 0x7fffffff, 1), 0xffffffff80000000UL);
    CHECK_EQ("addw ignores high", RR("addw", 0xffffffff00000001UL, 0x1234567800000000UL), 1);
    CHECK_EQ("subw", RR("subw", 0, 0x80000000UL), 0xffffffff80000000UL);
    CHECK_EQ("subw positive", RR("subw", 0x100000005UL, 3), 2);
    CHECK_EQ("addiw overflow", RI("addiw", 0x7fffffff, 1), 0xffffffff80000000UL);
    CHECK_EQ("sext.w", RI("addiw", 0x80000000UL, 0), 0xffffffff80000000UL);
    CHECK_EQ("addiw neg", RI("addiw", 0x1ffffffffUL, -1), 0xfffffffffffffffeUL);
    CHECK_EQ("slt", RR("slt", ALL1, 1), 1);
    CHECK_EQ("slt eq", RR("slt", 1, 1), 0);
    CHECK_EQ("sltu", RR("sltu", ALL1, 1), 0);
    CHECK_EQ("sltu less", RR("sltu", 1, ALL1), 1);
    CHECK_EQ("slti", RI("slti", (uint64_t)-5, -4), 1);
    CHECK_EQ("slti not", RI("slti", 0, -1), 0);
    CHECK_EQ("sltiu -1", RI("sltiu", 5, -1), 1);
    CHECK_EQ("sltiu seqz", RI("sltiu", 0, 1), 1);
    CHECK_EQ("sltiu seqz not", RI("sltiu", 7, 1), 0);
    CHECK_EQ("and", RR("and", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0x0f000f000f000f00UL);
    CHECK_EQ("or", RR("or", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xfff0fff0fff0fff0UL);
    CHECK_EQ("xor", RR("xor", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xf0f0f0f0f0f0f0f0UL);
    CHECK_EQ("andi neg", RI("andi", ALL1, -16), 0xfffffffffffffff0UL);
    CHECK_EQ("andi pos", RI("andi", 0x123456789abcdef0UL, 0x7ff), 0x6f0);
    CHECK_EQ("ori neg", RI("ori", 0, -2048), 0xfffffffffffff800UL);
    CHECK_EQ("xori not", RI("xori", 0x0123456789abcdefUL, -1), 0xfedcba9876543210UL);
    uint64_t z;
    __asm__ volatile("addi x0, x0, 5\n mv %0, x0" : "=r"(z));
    CHECK_EQ("x0 stays zero", z, 0);
}

static void test_shifts(void)
{
    rt_section("shifts");
    CHECK_EQ("sll 0", RR("sll", 0x1234, 0), 0x1234);
    CHECK_EQ("sll 31", RR("sll", 1, 31), 0x80000000UL);
    CHECK_EQ("sll 32", RR("sll", 1, 32), 0x100000000UL);
    CHECK_EQ("sll 63", RR("sll", 1, 63), MIN64);
    CHECK_EQ("sll 64 masks", RR("sll", 1, 64), 1);
    CHECK_EQ("sll 65 masks", RR("sll", 1, 65), 2);
    CHECK_EQ("srl 63", RR("srl", MIN64, 63), 1);
    CHECK_EQ("srl 32", RR("srl", MIN64, 32), 0x80000000UL);
    CHECK_EQ("srl 0", RR("srl", MIN64, 0), MIN64);
    CHECK_EQ("sra 63", RR("sra", MIN64, 63), ALL1);
    CHECK_EQ("sra 32", RR("sra", MIN64, 32), 0xffffffff80000000UL);
    CHECK_EQ("sra 31", RR("sra", MIN64, 31), 0xffffffff00000000UL);
    CHECK_EQ("sra positive", RR("sra", 0x7000000000000000UL, 60), 7);
    CHECK_EQ("slli 63", RI("slli", 3, 63), MIN64);
    CHECK_EQ("srli 63", RI("srli", ALL1, 63), 1);
    CHECK_EQ("srai 63", RI("srai", MIN64, 63), ALL1);
    CHECK_EQ("srai 0", RI("srai", MIN64, 0), MIN64);
    CHECK_EQ("srli 32", RI("srli", ALL1, 32), 0xffffffffUL);
    CHECK_EQ("slliw 31", RI("slliw", 1, 31), 0xffffffff80000000UL);
    CHECK_EQ("slliw 0 sext", RI("slliw", 0xffffffffUL, 0), ALL1);
    CHECK_EQ("slliw drops high", RI("slliw", 0x180000001UL, 1), 2);
    CHECK_EQ("srliw 31", RI("srliw", 0xffffffff80000000UL, 31), 1);
    CHECK_EQ("srliw 0 sext", RI("srliw", 0x80000000UL, 0), 0xffffffff80000000UL);
    CHECK_EQ("srliw 1", RI("srliw", 0xffffffffUL, 1), 0x7fffffff);
    CHECK_EQ("srliw ignores high", RI("srliw", 0x1234567880000000UL, 4), 0x08000000);
    CHECK_EQ("sraiw 31", RI("sraiw", 0x80000000UL, 31), ALL1);
    CHECK_EQ("sraiw 31 pos", RI("sraiw", 0x7fffffff, 31), 0);
    CHECK_EQ("sraiw 0 sext", RI("sraiw", 0x80000000UL, 0), 0xffffffff80000000UL);
    CHECK_EQ("sraiw ignores high", RI("sraiw", 0x12345678f0000000UL, 4), 0xffffffffff000000UL);
    CHECK_EQ("sllw masks 5 bits", RR("sllw", 1, 32), 1);
    CHECK_EQ("sllw 31", RR("sllw", 1, 31), 0xffffffff80000000UL);
    CHECK_EQ("srlw masks", RR("srlw", 0x80000000UL, 33), 0x40000000);
    CHECK_EQ("srlw 0 sext", RR("srlw", 0x80000000UL, 0), 0xffffffff80000000UL);
    CHECK_EQ("sraw masks", RR("sraw", 0x80000000UL, 63), ALL1);
    CHECK_EQ("sraw 4", RR("sraw", 0xfffffff0UL, 4), ALL1);
}

static void test_upper(void)
{
    uint64_t r, here;

    rt_section("lui/auipc");
    __asm__ volatile("lui %0, 0x80000" : "=r"(r));
    CHECK_EQ("lui sext", r, 0xffffffff80000000UL);
    __asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
    CHECK_EQ("lui max", r, 0x7ffff000UL);
    __asm__ volatile("lui %0, 0xfffff" : "=r"(r));
    CHECK_EQ("lui -1", r, 0xfffffffffffff000UL);
    __asm__ volatile("1: auipc %0, 0\n lla %1, 1b" : "=r"(r), "=r"(here));
    CHECK_EQ("auipc 0", r, here);
    __asm__ volatile("1: auipc %0, 1\n lla %1, 1b" : "=r"(r), "=r"(here));
    CHECK_EQ("auipc 1", r - here, 0x1000);
    __asm__ volatile("1: auipc %0, 0xfffff\n lla %1, 1b" : "=r"(r), "=r"(here));
    CHECK_EQ("auipc -1", here - r, 0x1000);
    __asm__ volatile("1: auipc %0, 0x80000\n lla %1, 1b" : "=r"(r), "=r"(here));
    CHECK_EQ("auipc sext", here - r, 0x80000000UL);
}

static void test_branches(void)
{
    rt_section("branches");
    CHECK_EQ("beq taken", BR("beq", 5, 5), 1);
    CHECK_EQ("beq not", BR("beq", 5, 6), 0);
    CHECK_EQ("bne taken", BR("bne", 5, 6), 1);
    CHECK_EQ("bne not", BR("bne", 5, 5), 0);
    CHECK_EQ("blt taken", BR("blt", ALL1, 0), 1);
    CHECK_EQ("blt not eq", BR("blt", 0, 0), 0);
    CHECK_EQ("blt not", BR("blt", 0, ALL1), 0);
    CHECK_EQ("bge taken eq", BR("bge", 0, 0), 1);
    CHECK_EQ("bge not", BR("bge", ALL1, 0), 0);
    CHECK_EQ("bge min", BR("bge", MIN64, 0x7fffffffffffffffUL), 0);
    CHECK_EQ("bltu not", BR("bltu", ALL1, 0), 0);
    CHECK_EQ("bltu taken", BR("bltu", 0, ALL1), 1);
    CHECK_EQ("bgeu taken", BR("bgeu", ALL1, 0), 1);
    CHECK_EQ("bgeu eq", BR("bgeu", 7, 7), 1);
    CHECK_EQ("bgeu not", BR("bgeu", 0, 1), 0);

    uint64_t n = 0, i = 10;
    __asm__ volatile("1: addi %0, %0, 3\n addi %1, %1, -1\n bnez %1, 1b" : "+r"(n), "+r"(i));
    CHECK_EQ("backward loop", n, 30);
}

static void test_jumps(void)
{
    uint64_t link, want, r;

    rt_section("jal/jalr");
    __asm__ volatile("1: jal %0, 2f\n li %0, 0\n2: lla %1, 1b" : "=&r"(link), "=r"(want));
    CHECK_EQ("jal link", link, want + 4);
    /* The target's low bit is cleared */
    __asm__ volatile("lla t0, 2f\n ori t0, t0, 1\n li %1, 0\n"
                     "1: jalr %0, 0(t0)\n li %1, 1\n 2: lla %2, 1b"
                     : "=&r"(link), "=&r"(r), "=r"(want)
                     :
                     : "t0");
    CHECK_EQ("jalr odd target skipped", r, 0);
    CHECK_EQ("jalr link", link, want + 4);
    __asm__ volatile("lla t0, 2f + 16\n li %1, 0\n jalr %0, -16(t0)\n li %1, 1\n 2:"
                     : "=&r"(link), "=&r"(r)
                     :
                     : "t0");
    CHECK_EQ("jalr negative offset", r, 0);
    /* rd == rs1: the target uses the old value */
    __asm__ volatile("lla %0, 2f\n li %1, 0\n 1: jalr %0, 0(%0)\n li %1, 1\n 2: lla %2, 1b"
                     : "=&r"(link), "=&r"(r), "=r"(want));
    CHECK_EQ("jalr rd=rs1 target", r, 0);
    CHECK_EQ("jalr rd=rs1 link", link, want + 4);
}

static uint64_t mem[4] __attribute__((aligned(4096)));
static uint8_t page2[8192] __attribute__((aligned(4096)));

static void test_loads_stores(void)
{
    uint8_t *b = (uint8_t *)mem;

    rt_section("loads/stores");
    mem[0] = 0x8001800280048008UL;
    mem[1] = 0x7f017f027f047f08UL;
    CHECK_EQ("lb", LOAD("lb", b + 0), 0x0000000000000008UL);
    CHECK_EQ("lb neg", LOAD("lb", b + 1), 0xffffffffffffff80UL);
    CHECK_EQ("lbu", LOAD("lbu", b + 1), 0x80);
    CHECK_EQ("lh sext", LOAD("lh", b + 6), 0xffffffffffff8001UL);
    CHECK_EQ("lhu", LOAD("lhu", b + 6), 0x8001);
    CHECK_EQ("lh pos", LOAD("lh", b + 14), 0x7f01);
    CHECK_EQ("lw sext", LOAD("lw", b + 4), 0xffffffff80018002UL);
    CHECK_EQ("lwu", LOAD("lwu", b + 4), 0x80018002UL);
    CHECK_EQ("lw pos", LOAD("lw", b + 12), 0x7f017f02UL);
    CHECK_EQ("ld", LOAD("ld", b), 0x8001800280048008UL);
    uint64_t r;
    __asm__ volatile("ld %0, -8(%1)" : "=r"(r) : "r"(b + 16) : "memory");
    CHECK_EQ("ld negative offset", r, 0x7f017f027f047f08UL);
    __asm__ volatile("lbu %0, 2047(%1)" : "=r"(r) : "r"((uintptr_t)b + 1 - 2047) : "memory");
    CHECK_EQ("lbu offset 2047", r, 0x80);

    mem[2] = 0x1111111111111111UL;
    STORE("sb", b + 16 + 3, 0x12345678abUL);
    CHECK_EQ("sb", mem[2], 0x11111111ab111111UL);
    STORE("sh", b + 16 + 6, 0xfedcUL | 0xffff0000UL);
    CHECK_EQ("sh", mem[2], 0xfedc1111ab111111UL);
    STORE("sw", b + 16, 0xdeadbeefcafef00dUL);
    CHECK_EQ("sw", mem[2], 0xfedc1111cafef00dUL);
    STORE("sd", b + 16, 0x0123456789abcdefUL);
    CHECK_EQ("sd", mem[2], 0x0123456789abcdefUL);
}

/* Misaligned accesses either work (Vessel and QEMU do them) or trap with the address in
 * mtval; either way the behaviour must be consistent. */
static void check_misaligned(const char *name, uint64_t got, uint64_t want, uint64_t addr,
                             int store)
{
    struct rt_trap_state *t = rt_trap_self();
    int n = rt_trap_disarm();

    if (n == 0) {
        CHECK_EQ(name, got, want);
        return;
    }
    CHECK_EQ(name, t->cause, store ? CAUSE_MISALIGNED_STORE : CAUSE_MISALIGNED_LOAD);
    CHECK_EQ(name, t->tval, addr);
}

static void test_misaligned(void)
{
    uint8_t *b = (uint8_t *)mem;
    uint64_t r = 0;

    rt_section("misaligned");
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(0x10 + i);
    rt_trap_arm();
    r = LOAD("ld", b + 1);
    check_misaligned("ld +1", r, 0x1817161514131211UL, (uint64_t)(b + 1), 0);
    rt_trap_arm();
    r = LOAD("lw", b + 3);
    check_misaligned("lw +3", r, 0x16151413UL, (uint64_t)(b + 3), 0);
    rt_trap_arm();
    r = LOAD("lwu", b + 6);
    check_misaligned("lwu +6", r, 0x19181716UL, (uint64_t)(b + 6), 0);
    rt_trap_arm();
    r = LOAD("lh", b + 7);
    check_misaligned("lh +7", r, 0x1817, (uint64_t)(b + 7), 0);
    b[9] = 0x80;
    b[10] = 0x9a;
    rt_trap_arm();
    r = LOAD("lh", b + 9);
    check_misaligned("lh sext", r, 0xffffffffffff9a80UL, (uint64_t)(b + 9), 0);
    rt_trap_arm();
    STORE("sd", b + 5, 0xa1a2a3a4a5a6a7a8UL);
    r = rt_trap_self()->count ? 0 : *(volatile uint64_t *)mem;
    check_misaligned("sd +5", r, 0xa6a7a81413121110UL, (uint64_t)(b + 5), 1);
    rt_trap_arm();
    STORE("sw", b + 17, 0xb1b2b3b4UL);
    r = rt_trap_self()->count ? 0 : mem[2];
    check_misaligned("sw +1", r, 0x272625b1b2b3b420UL, (uint64_t)(b + 17), 1);
    rt_trap_arm();
    STORE("sh", b + 27, 0xc1c2UL);
    r = rt_trap_self()->count ? 0 : mem[3];
    check_misaligned("sh +3", r, 0x2f2e2dc1c22a2928UL, (uint64_t)(b + 27), 1);

    /* Across a page boundary */
    for (int i = 0; i < 16; i++)
        page2[4088 + i] = (uint8_t)(0x40 + i);
    rt_trap_arm();
    r = LOAD("ld", page2 + 4093);
    check_misaligned("ld across page", r, 0x4c4b4a4948474645UL, (uint64_t)(page2 + 4093), 0);
    rt_trap_arm();
    STORE("sw", page2 + 4094, 0xd1d2d3d4UL);
    r = rt_trap_self()->count ? 0 : *(volatile uint64_t *)(page2 + 4088);
    check_misaligned("sw across page", r, 0xd3d4454443424140UL, (uint64_t)(page2 + 4094), 1);
}

static void test_muldiv(void)
{
    rt_section("mul/div");
    CHECK_EQ("mul", RR("mul", 3, (uint64_t)-7), (uint64_t)-21);
    CHECK_EQ("mul low", RR("mul", 0x100000000UL, 0x100000001UL), 0x100000000UL);
    CHECK_EQ("mul wrap", RR("mul", 0x100000000UL, 0x100000000UL), 0);
    CHECK_EQ("mulh -1*-1", RR("mulh", ALL1, ALL1), 0);
    CHECK_EQ("mulh min*min", RR("mulh", MIN64, MIN64), 0x4000000000000000UL);
    CHECK_EQ("mulh min*-1", RR("mulh", MIN64, ALL1), 0);
    CHECK_EQ("mulh -2*3", RR("mulh", (uint64_t)-2, 3), ALL1);
    CHECK_EQ("mulhu", RR("mulhu", ALL1, ALL1), 0xfffffffffffffffeUL);
    CHECK_EQ("mulhu small", RR("mulhu", 0x100000000UL, 0x100000000UL), 1);
    CHECK_EQ("mulhsu -1*max", RR("mulhsu", ALL1, ALL1), ALL1);
    CHECK_EQ("mulhsu 2*2^63", RR("mulhsu", 2, MIN64), 1);
    CHECK_EQ("mulhsu -2*2^63", RR("mulhsu", (uint64_t)-2, MIN64), ALL1);
    CHECK_EQ("mulhsu 1*max", RR("mulhsu", 1, ALL1), 0);
    CHECK_EQ("mulw", RR("mulw", 0x7fffffff, 2), (uint64_t)-2);
    CHECK_EQ("mulw ignores high", RR("mulw", 0x100000003UL, 0x500000005UL), 15);
    CHECK_EQ("mulw sext", RR("mulw", 0x10000, 0x8000), 0xffffffff80000000UL);

    CHECK_EQ("div", RR("div", (uint64_t)-7, 2), (uint64_t)-3);
    CHECK_EQ("div neg divisor", RR("div", 7, (uint64_t)-2), (uint64_t)-3);
    CHECK_EQ("rem", RR("rem", (uint64_t)-7, 2), ALL1);
    CHECK_EQ("rem neg divisor", RR("rem", 7, (uint64_t)-2), 1);
    CHECK_EQ("divu", RR("divu", ALL1, 2), 0x7fffffffffffffffUL);
    CHECK_EQ("remu", RR("remu", ALL1, 2), 1);
    CHECK_EQ("div by 0", RR("div", 5, 0), ALL1);
    CHECK_EQ("divu by 0", RR("divu", 5, 0), ALL1);
    CHECK_EQ("rem by 0", RR("rem", 5, 0), 5);
    CHECK_EQ("rem neg by 0", RR("rem", (uint64_t)-5, 0), (uint64_t)-5);
    CHECK_EQ("remu by 0", RR("remu", ALL1, 0), ALL1);
    CHECK_EQ("div overflow", RR("div", MIN64, ALL1), MIN64);
    CHECK_EQ("rem overflow", RR("rem", MIN64, ALL1), 0);

    CHECK_EQ("divw", RR("divw", (uint64_t)-7, 2), (uint64_t)-3);
    CHECK_EQ("divw ignores high", RR("divw", 0x12345678fffffff9UL, 0xabcd000000000002UL),
             (uint64_t)-3);
    CHECK_EQ("remw", RR("remw", (uint64_t)-7, 2), ALL1);
    CHECK_EQ("divw by 0", RR("divw", 7, 0), ALL1);
    CHECK_EQ("divw by 0 high", RR("divw", 7, 0x100000000UL), ALL1);
    CHECK_EQ("divuw by 0", RR("divuw", 7, 0), ALL1);
    CHECK_EQ("remw by 0", RR("remw", 0x80000000UL, 0), 0xffffffff80000000UL);
    CHECK_EQ("remuw by 0", RR("remuw", 0x80000000UL, 0), 0xffffffff80000000UL);
    CHECK_EQ("remw by 0 pos", RR("remw", 0x100000007UL, 0), 7);
    CHECK_EQ("divw overflow", RR("divw", 0x80000000UL, ALL1), 0xffffffff80000000UL);
    CHECK_EQ("remw overflow", RR("remw", 0x80000000UL, ALL1), 0);
    CHECK_EQ("divuw sext", RR("divuw", 0xffffffffUL, 1), ALL1);
    CHECK_EQ("divuw", RR("divuw", 0xffffffffUL, 2), 0x7fffffff);
    CHECK_EQ("divuw ignores high", RR("divuw", 0x100000010UL, 2), 8);
    CHECK_EQ("remuw", RR("remuw", 0xffffffffUL, 0x10), 0xf);
}

/* Code written at run time: the second version must run after fence.i */
static uint32_t code_buf[4] __attribute__((aligned(16)));

#define INSN_LI_A0(imm) (((uint32_t)(imm) << 20) | (10u << 7) | 0x13u) /* addi a0, x0, imm */
#define INSN_RET        0x00008067u                                    /* jalr x0, 0(ra) */

static uint64_t call_buf(void)
{
    uint64_t (*fn)(void) = (uint64_t(*)(void))(uintptr_t)code_buf;
    return fn();
}

static void test_fence_i(void)
{
    rt_section("fence.i");
    code_buf[0] = INSN_LI_A0(1);
    code_buf[1] = INSN_RET;
    __asm__ volatile("fence.i" ::: "memory");
    CHECK_EQ("generated code", call_buf(), 1);
    code_buf[0] = INSN_LI_A0(2);
    __asm__ volatile("fence.i" ::: "memory");
    CHECK_EQ("rewritten code after fence.i", call_buf(), 2);
    __asm__ volatile("fence\n fence rw, rw\n fence r, r\n fence.tso" ::: "memory");
    CHECK("fences execute", 1);
}

int main(void)
{
    test_alu();
    test_shifts();
    test_upper();
    test_branches();
    test_jumps();
    test_loads_stores();
    test_misaligned();
    test_muldiv();
    test_fence_i();
    return 0;
}
