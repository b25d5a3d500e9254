/* The AP start-up code: real mode, copied by the BSP to a page below 1 MiB and started with
 * INIT/SIPI (CS = page >> 4, IP = 0). It prints a line on COM1, sets a flag at offset 0xff0 of
 * its page (with its APIC ID + 1) and halts. Position-independent: data relative to CS. */
    .section .rodata
    .code16
    .globl ap_trampoline, ap_trampoline_end
ap_trampoline:
    cli
    mov %cs, %ax
    mov %ax, %ds
    mov $(ap_msg - ap_trampoline), %si
1:  lodsb
    test %al, %al
    jz 3f
    mov %al, %bl
    mov $0x3fd, %dx
2:  in %dx, %al
    test $0x20, %al
    jz 2b
    mov $0x3f8, %dx
    mov %bl, %al
    out %al, %dx
    jmp 1b
3:  movw $1, 0xff0              /* flag: the AP ran */
4:  cli
    hlt
    jmp 4b
ap_msg:
    .asciz "AP: hello from the second vCPU (real mode)\r\n"
ap_trampoline_end:
    .code64
