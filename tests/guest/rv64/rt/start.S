/* Entry of every rv64 test program: all harts start here in M-mode with a0 = hartid.
 * Sets up tp = hartid, a stack per hart, clears bss (hart 0), installs the trap vector,
 * opens PMP for S/U, enables the FPU (FS = Initial) and calls main / rt_secondary. */

#define STACK_SIZE 16384
#define MAX_HARTS 8
#define FRAME 288
#define F_EPC 256
#define F_CAUSE 264
#define F_TVAL 272
#define F_STATUS 280
#define LEAVE_MAGIC 0x56455353

    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    csrr a0, mhartid
    mv tp, a0
    li t0, MAX_HARTS
    bgeu a0, t0, park
    la sp, rt_stacks_end
    li t0, STACK_SIZE
    mul t0, t0, a0
    sub sp, sp, t0
    la t0, rt_trap_entry_m
    csrw mtvec, t0
    bnez a0, wait_boot

    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  fence rw, rw
    la t0, rt_boot_done
    li t1, 1
    sw t1, 0(t0)
    j common

wait_boot:
    la t0, rt_boot_done
1:  lw t1, 0(t0)
    beqz t1, 1b
    fence rw, rw

common:
    /* PMP entry 0: NAPOT over the whole address space, RWX, so S/U can reach memory */
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    csrw satp, zero
    csrw mie, zero
    li t0, (1 << 13)
    csrs mstatus, t0
    csrw fcsr, zero
    mv a0, tp
    bnez tp, 3f
    call main
    call rt_finish
3:  call rt_secondary
park:
    wfi
    j park
    .option pop

/* Default secondary: park */
    .weak rt_secondary
rt_secondary:
1:  wfi
    j 1b

/* Trap entry, one copy per level. Saves every integer register in a frame on the current
 * stack (all test code runs on identity-mapped stacks), calls rt_trap_handler(frame, level)
 * and returns with xret unless the handler asked to leave rt_enter()'s function. */
.macro TRAP_ENTRY name, epc, cause, tval, status, xret, level
    .align 2
    .globl \name
\name:
    addi sp, sp, -FRAME
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    addi t0, sp, FRAME
    sd t0, 16(sp)
    csrr t0, \epc
    sd t0, F_EPC(sp)
    csrr t0, \cause
    sd t0, F_CAUSE(sp)
    csrr t0, \tval
    sd t0, F_TVAL(sp)
    csrr t0, \status
    sd t0, F_STATUS(sp)
    mv a0, sp
    li a1, \level
    call rt_trap_handler
    bnez a0, rt_leave_mode
    ld t0, F_EPC(sp)
    csrw \epc, t0
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    addi sp, sp, FRAME
    \xret
.endm

    .text
    TRAP_ENTRY rt_trap_entry_m, mepc, mcause, mtval, mstatus, mret, 3
    TRAP_ENTRY rt_trap_entry_s, sepc, scause, stval, sstatus, sret, 1

/* uint64_t rt_enter(int mode, uint64_t (*fn)(uint64_t), uint64_t arg) */
    .globl rt_enter
rt_enter:
    la t0, rt_ctx
    slli t1, tp, 7
    add t0, t0, t1
    sd ra, 0(t0)
    sd sp, 8(t0)
    sd s0, 16(t0)
    sd s1, 24(t0)
    sd s2, 32(t0)
    sd s3, 40(t0)
    sd s4, 48(t0)
    sd s5, 56(t0)
    sd s6, 64(t0)
    sd s7, 72(t0)
    sd s8, 80(t0)
    sd s9, 88(t0)
    sd s10, 96(t0)
    sd s11, 104(t0)
    li t1, (3 << 11)
    csrc mstatus, t1
    andi a0, a0, 3
    slli a0, a0, 11
    csrs mstatus, a0
    la t1, rt_mode_tramp
    csrw mepc, t1
    mv a0, a2
    li a7, 0
    mret

rt_mode_tramp:
    jalr a1
    li a7, LEAVE_MAGIC
    ecall
1:  j 1b

/* Reached from a trap entry when the function run by rt_enter() has ended: a0 of the frame
 * is its result; restore rt_enter()'s caller and return in M-mode. */
rt_leave_mode:
    ld a0, 80(sp)
    la t0, rt_ctx
    slli t1, tp, 7
    add t0, t0, t1
    ld ra, 0(t0)
    ld sp, 8(t0)
    ld s0, 16(t0)
    ld s1, 24(t0)
    ld s2, 32(t0)
    ld s3, 40(t0)
    ld s4, 48(t0)
    ld s5, 56(t0)
    ld s6, 64(t0)
    ld s7, 72(t0)
    ld s8, 80(t0)
    ld s9, 88(t0)
    ld s10, 96(t0)
    ld s11, 104(t0)
    ret

    .data
    .align 3
rt_boot_done:
    .word 0
    .word 0

    .bss
    .align 4
rt_ctx:
    .space 128 * MAX_HARTS

    .section .stack, "aw", @nobits
    .align 12
rt_stacks:
    .space STACK_SIZE * MAX_HARTS
rt_stacks_end:
