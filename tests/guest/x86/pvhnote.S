/* The Xen ELF note that marks a PVH kernel: XEN_ELFNOTE_PHYS32_ENTRY (18), the 32-bit entry. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                     /* namesz */
    .long 4                     /* descsz */
    .long 18                    /* type: XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start32
