/* RV64C: every compressed instruction, written with explicit c. mnemonics. rvc_run(out)
 * stores one result per check into out[]; isa_rvc.c holds the expected values in the
 * same order. */
    .option rvc

    .set SLOT, 0
.macro RES r
    sd \r, (SLOT * 8)(t6)
    .set SLOT, SLOT + 1
.endm

    .data
    .balign 8
rvc_data:
    .word 0x80000000          /* 0 */
    .word 0x7fffffff          /* 4 */
    .dword 0x0123456789abcdef /* 8 */
    .dword 0x3ff8000000000000 /* 16: 1.5 */
    .space 96                 /* 24..119: store area */
    .word 0                   /* 120 */
    .word 0xcafef00d          /* 124 */
    .space 120                /* 128..247 */
    .dword 0x5a5a5a5aa5a5a5a5 /* 248 */

    .text
    .globl rvc_run
rvc_run:
    addi sp, sp, -32
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    mv t6, a0

    /* constants */
    c.li a0, -32
    RES a0
    c.li a1, 31
    RES a1
    c.lui a2, 0xfffe1
    RES a2
    c.lui a3, 1
    RES a3
    c.lui a4, 0x1f
    RES a4

    /* immediates */
    li a0, 10
    c.addi a0, -32
    RES a0
    c.addi a0, 31
    RES a0
    li a0, 0x80000000
    c.addiw a0, -1
    RES a0
    li a1, 0xffffffff
    c.addiw a1, 0
    RES a1
    li a2, 0x7fffffff
    c.addiw a2, 1
    RES a2

    /* stack-pointer arithmetic */
    mv t0, sp
    c.addi16sp sp, -512
    sub t1, t0, sp
    RES t1
    c.addi16sp sp, 496
    sub t1, t0, sp
    RES t1
    c.addi16sp sp, 16
    sub t1, t0, sp
    RES t1
    c.addi4spn a0, sp, 1020
    sub a0, a0, sp
    RES a0
    c.addi4spn s1, sp, 4
    sub s1, s1, sp
    RES s1

    /* shifts and andi */
    li a0, 1
    c.slli a0, 63
    RES a0
    li a1, 3
    c.slli a1, 1
    RES a1
    c.srli a0, 63
    RES a0
    li a1, -1
    c.srli a1, 1
    RES a1
    li a2, -1
    c.srli a2, 32
    RES a2
    li a3, 1
    slli a3, a3, 63
    c.srai a3, 63
    RES a3
    li a4, -256
    c.srai a4, 4
    RES a4
    li a5, 0xff
    c.andi a5, -32
    RES a5
    li s0, 0xff
    c.andi s0, 15
    RES s0

    /* register-register */
    li a0, 10
    li a1, 3
    c.sub a0, a1
    RES a0
    li a0, 0
    li a1, 1
    c.sub a0, a1
    RES a0
    li a2, 0xf0f0
    li a3, 0xff00
    c.xor a2, a3
    RES a2
    li a2, 0xf0f0
    c.or a2, a3
    RES a2
    li a2, 0xf0f0
    c.and a2, a3
    RES a2
    li a4, 0
    li a5, 0x80000000
    c.subw a4, a5
    RES a4
    li a4, 0x7fffffff
    li a5, 1
    c.addw a4, a5
    RES a4
    li a4, 0x100000005
    li a5, 3
    c.subw a4, a5
    RES a4
    li t0, 0x123
    c.mv a0, t0
    RES a0
    li t1, 0x1000
    c.add a0, t1
    RES a0

    /* loads and stores */
    lla s0, rvc_data
    c.lw a0, 0(s0)
    RES a0
    c.lw a1, 4(s0)
    RES a1
    c.ld a2, 8(s0)
    RES a2
    c.lw a3, 124(s0)
    RES a3
    c.ld a4, 248(s0)
    RES a4
    c.sd a2, 32(s0)
    ld t0, 32(s0)
    RES t0
    c.sw a0, 40(s0)
    ld t0, 40(s0)
    RES t0
    c.fld fa0, 16(s0)
    fmv.x.d t0, fa0
    RES t0
    c.fsd fa0, 48(s0)
    ld t0, 48(s0)
    RES t0

    /* sp-relative loads and stores */
    c.addi16sp sp, -512
    c.sdsp a2, 504(sp)
    c.ldsp t0, 504(sp)
    RES t0
    c.swsp a0, 252(sp)
    c.lwsp t0, 252(sp)
    RES t0
    ld t0, 248(sp)
    srli t0, t0, 32
    RES t0
    c.fsdsp fa0, 8(sp)
    c.fldsp fa1, 8(sp)
    fmv.x.d t0, fa1
    RES t0
    c.addi16sp sp, 496
    c.addi16sp sp, 16

    /* control flow */
    li t0, 0
    c.j 1f
    li t0, 1
1:  RES t0
    li a0, 0
    li t0, 0
    c.beqz a0, 1f
    li t0, 1
1:  RES t0
    li a0, 5
    li t0, 0
    c.beqz a0, 1f
    li t0, 1
1:  RES t0
    li a0, 5
    li t0, 0
    c.bnez a0, 1f
    li t0, 1
1:  RES t0
    li a0, 0
    li t0, 0
    c.bnez a0, 1f
    li t0, 1
1:  RES t0
    li a1, 5
    li t0, 0
1:  addi t0, t0, 2
    c.addi a1, -1
    c.bnez a1, 1b
    RES t0
    li t0, 0
    c.j 2f
1:  addi t0, t0, 1
    c.j 3f
2:  c.j 1b
3:  RES t0
    lla a0, 1f
    li t0, 0
    c.jr a0
    li t0, 1
1:  RES t0
    lla a0, 2f
1:  c.jalr a0
    c.nop
2:  lla t1, 1b
    sub t0, ra, t1
    RES t0
    c.nop

    /* a 32-bit instruction that starts 2 bytes before a page boundary */
    call rvc_cross
    RES a0

    ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    addi sp, sp, 32
    ret

    .globl rvc_slots
    .section .rodata
    .balign 4
rvc_slots:
    .word SLOT

    .text
/* uint64_t rvc_ebreak(void): returns the address of its c.ebreak */
    .globl rvc_ebreak
rvc_ebreak:
    lla a0, 1f
1:  c.ebreak
    ret

    .section .text.rvc_cross, "ax"
    .balign 4096
    .skip 4092
rvc_cross:
    c.nop
    .option push
    .option norvc
    addi a0, zero, 77
    .option pop
    ret
