/* rv64 instruction fields and immediates, shared by the decoder and the reference executor. */
#ifndef VESSEL_ENGINE_RV64_INSN_H
#define VESSEL_ENGINE_RV64_INSN_H

#include <stdint.h>

#define RD    ((insn >> 7) & 31)
#define RS1   ((insn >> 15) & 31)
#define RS2   ((insn >> 20) & 31)
#define F3    ((insn >> 12) & 7)
#define F7    (insn >> 25)
#define IMM_I ((int64_t)(int32_t)insn >> 20)
#define IMM_S ((int64_t)((int32_t)insn >> 25) * 32 | ((insn >> 7) & 31))
#define IMM_U ((int64_t)(int32_t)(insn & 0xfffff000))

static inline int64_t imm_b(uint32_t insn)
{
    uint32_t v = ((insn >> 31) & 1) << 12 | ((insn >> 7) & 1) << 11 | ((insn >> 25) & 0x3f) << 5 |
                 ((insn >> 8) & 0xf) << 1;
    return (int64_t)((int32_t)(v << 19) >> 19);
}

static inline int64_t imm_j(uint32_t insn)
{
    uint32_t v = ((insn >> 31) & 1) << 20 | ((insn >> 12) & 0xff) << 12 | ((insn >> 20) & 1) << 11 |
                 ((insn >> 21) & 0x3ff) << 1;
    return (int64_t)((int32_t)(v << 11) >> 11);
}

static inline uint64_t sext32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)v;
}

#endif
