/* The start of the bzImage payload: the 32-bit entry (unused, halts) and, at +0x200, the
 * 64-bit entry that the boot protocol defines. */
    .section .text.bzentry, "ax"
    .code32
bz_start32:
    cli
1:  hlt
    jmp 1b
    .org 0x200
    .code64
    .globl bz_start64
bz_start64:
    jmp _start64
