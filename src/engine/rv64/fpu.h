/* rv64 F and D extensions: the arithmetic (OP-FP and the fused multiply-add family). Loads and
 * stores of FP registers are done by the core, which owns memory access. */
#ifndef VESSEL_ENGINE_RV64_FPU_H
#define VESSEL_ENGINE_RV64_FPU_H

#include <stdint.h>

struct rv64_fpu {
    uint64_t f[32];  /* raw register bits; singles are NaN-boxed (upper 32 bits all ones) */
    uint32_t fflags; /* NV DZ OF UF NX in bits 4..0 */
    uint32_t frm;    /* dynamic rounding mode, 0..7 as written (only 0..4 are valid to use) */
};

#define RV64_FFLAG_NX 0x01
#define RV64_FFLAG_UF 0x02
#define RV64_FFLAG_OF 0x04
#define RV64_FFLAG_DZ 0x08
#define RV64_FFLAG_NV 0x10

/* Executes one instruction with major opcode OP-FP (0x53), FMADD (0x43), FMSUB (0x47),
 * FNMSUB (0x4b) or FNMADD (0x4f). x is the integer register file; x[0] is never written.
 * Returns 0, or -1 when the instruction is illegal (reserved encoding, or an invalid static or
 * dynamic rounding mode); then no state has changed and the caller raises illegal-instruction. */
int rv64_fpu_exec(struct rv64_fpu *fp, uint64_t *x, uint32_t insn);

#endif
