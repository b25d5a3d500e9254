/* The port-I/O exit benchmark guest: 32-bit protected mode, ring 0, entered through PVH (the
 * Xen PHYS32_ENTRY note), so that vessel, QEMU and the raw KVM_RUN loop run the same code.
 * It writes one byte to COM1 (the start-up marker), does LOOPS `out` instructions to port 0x80,
 * then resets through the keyboard controller (every VMM under test exits on that). */
    .section .text, "ax"
    .code32
    .globl _start32
_start32:
    cli
    mov $0x3f8, %dx
    mov $'R', %al
    out %al, %dx
    mov $LOOPS, %ecx
1:  out %al, $0x80
    dec %ecx
    jnz 1b
    mov $0xfe, %al
    out %al, $0x64
2:  hlt
    jmp 2b

    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 4, 18              /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start32
