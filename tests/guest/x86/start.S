/* Entry points of the x86 test guests.
 *   _start64: the Linux 64-bit boot protocol (long mode, identity paging, %rsi = boot_params)
 *   _start32: PVH (32-bit protected mode, paging off, %ebx = hvm_start_info); builds its own
 *             identity map of the first 4 GiB, enters long mode and joins the 64-bit path.
 * Both call guest_main(kind, info) on a stack in .bss. */
    .section .text.entry, "ax"
    .code64
    .globl _start64
_start64:
    cli
    lea stack_top(%rip), %rsp
    mov %rsi, %rsi
    mov $1, %edi                /* BOOT_LINUX */
    call guest_main
1:  hlt
    jmp 1b

    .code32
    .globl _start32
_start32:
    cli
    mov %ebx, %esi              /* keep hvm_start_info */
    /* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; 2048 x 2 MiB pages */
    mov $pvh_pml4, %edi
    mov $pvh_pdpt, %eax
    or $3, %eax
    mov %eax, (%edi)
    mov $pvh_pdpt, %edi
    mov $pvh_pd, %eax
    or $3, %eax
    mov $4, %ecx
2:  mov %eax, (%edi)
    add $0x1000, %eax
    add $8, %edi
    loop 2b
    mov $pvh_pd, %edi
    mov $0x83, %eax
    mov $2048, %ecx
3:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 3b
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pvh_pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG, PE */
    mov %eax, %cr0
    lgdt pvh_gdt_desc
    ljmp $0x08, $pvh_long
    .code64
pvh_long:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    lea stack_top(%rip), %rsp
    mov $2, %edi                /* BOOT_PVH */
    mov %esi, %esi
    call guest_main
4:  hlt
    jmp 4b

/* Interrupt stubs: vectors 0-31 report an exception, 0x30 and 0x31 count interrupts. */
    .macro exc n
    .globl exc_\n
exc_\n:
    mov $\n, %edi
    jmp exc_common
    .endm
    .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    exc \n
    .endr
exc_common:
    mov (%rsp), %rsi            /* error code or rip */
    mov 8(%rsp), %rdx
    call guest_exception
5:  hlt
    jmp 5b

    .macro irqstub n, v
    .globl irq_stub\n
irq_stub\n:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov $\n, %edi
    call guest_irq
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    iretq
    .endm
    irqstub 0, 0x30
    irqstub 1, 0x31
    irqstub 2, 0x32

    .section .rodata
    .balign 8
    .globl exc_table
exc_table:                      /* the 32 exception stubs, for the IDT */
    .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc_\n
    .endr
pvh_gdt:
    .quad 0
    .quad 0x00af9b000000ffff    /* 0x08 code64 */
    .quad 0x00cf93000000ffff    /* 0x10 data */
pvh_gdt_desc:
    .word pvh_gdt_desc - pvh_gdt - 1
    .long pvh_gdt

    .section .bss
    .balign 4096
pvh_pml4: .skip 4096
pvh_pdpt: .skip 4096
pvh_pd:   .skip 4 * 4096
    .balign 16
    .skip 16384
stack_top:
