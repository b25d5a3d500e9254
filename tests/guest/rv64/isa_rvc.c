/* RV64C driver: runs rvc_run() from isa_rvc_asm.S and compares each result, then checks
 * c.ebreak (cause 3, epc at the 16-bit instruction, resumes 2 bytes later). */
#include "rt.h"

extern void rvc_run(uint64_t *out);
extern uint64_t rvc_ebreak(void);
extern const uint32_t rvc_slots;

static const struct {
    const char *name;
    uint64_t want;
} expect[] = {
    {"c.li -32", 0xffffffffffffffe0UL},
    {"c.li 31", 31},
    {"c.lui negative", 0xfffffffffffe1000UL},
    {"c.lui 1", 0x1000},
    {"c.lui 31", 0x1f000},
    {"c.addi -32", 0xffffffffffffffeaUL},
    {"c.addi 31", 9},
    {"c.addiw -1", 0x7fffffff},
    {"c.addiw 0 (sext.w)", 0xffffffffffffffffUL},
    {"c.addiw overflow", 0xffffffff80000000UL},
    {"c.addi16sp -512", 512},
    {"c.addi16sp 496", 16},
    {"c.addi16sp 16", 0},
    {"c.addi4spn 1020", 1020},
    {"c.addi4spn 4", 4},
    {"c.slli 63", 0x8000000000000000UL},
    {"c.slli 1", 6},
    {"c.srli 63", 1},
    {"c.srli 1", 0x7fffffffffffffffUL},
    {"c.srli 32", 0xffffffffUL},
    {"c.srai 63", 0xffffffffffffffffUL},
    {"c.srai 4", 0xfffffffffffffff0UL},
    {"c.andi -32", 0xe0},
    {"c.andi 15", 0xf},
    {"c.sub", 7},
    {"c.sub negative", 0xffffffffffffffffUL},
    {"c.xor", 0x0ff0},
    {"c.or", 0xfff0},
    {"c.and", 0xf000},
    {"c.subw", 0xffffffff80000000UL},
    {"c.addw", 0xffffffff80000000UL},
    {"c.subw ignores high", 2},
    {"c.mv", 0x123},
    {"c.add", 0x1123},
    {"c.lw sext", 0xffffffff80000000UL},
    {"c.lw", 0x7fffffff},
    {"c.ld", 0x0123456789abcdefUL},
    {"c.lw offset 124", 0xffffffffcafef00dUL},
    {"c.ld offset 248", 0x5a5a5a5aa5a5a5a5UL},
    {"c.sd", 0x0123456789abcdefUL},
    {"c.sw stores 32 bits", 0x80000000UL},
    {"c.fld", 0x3ff8000000000000UL},
    {"c.fsd", 0x3ff8000000000000UL},
    {"c.sdsp/c.ldsp 504", 0x0123456789abcdefUL},
    {"c.swsp/c.lwsp 252", 0xffffffff80000000UL},
    {"c.swsp stores 32 bits", 0x80000000UL},
    {"c.fsdsp/c.fldsp", 0x3ff8000000000000UL},
    {"c.j", 0},
    {"c.beqz taken", 0},
    {"c.beqz not taken", 1},
    {"c.bnez taken", 0},
    {"c.bnez not taken", 1},
    {"c.bnez backward loop", 10},
    {"c.j backward", 1},
    {"c.jr", 0},
    {"c.jalr link is pc+2", 2},
    {"32-bit insn across a page", 77},
};

#define NEXPECT (sizeof(expect) / sizeof(expect[0]))

static uint64_t out[128];

int main(void)
{
    struct rt_trap_state *t = rt_trap_self();

    rt_section("compressed");
    CHECK_EQ("slot count matches", rvc_slots, NEXPECT);
    for (unsigned i = 0; i < NEXPECT; i++)
        out[i] = 0xdeadbeefdeadbeefUL;
    rvc_run(out);
    for (unsigned i = 0; i < NEXPECT; i++)
        CHECK_EQ(expect[i].name, out[i], expect[i].want);

    rt_section("c.ebreak");
    rt_trap_arm();
    uint64_t at = rvc_ebreak();
    CHECK_EQ("c.ebreak traps once", rt_trap_disarm(), 1);
    CHECK_EQ("c.ebreak cause", t->cause, CAUSE_BREAKPOINT);
    CHECK_EQ("c.ebreak epc", t->epc, at);
    CHECK_EQ("c.ebreak is 16-bit", *(volatile uint16_t *)at, 0x9002);
    return 0;
}
