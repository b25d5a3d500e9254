/* A minimal bzImage setup area (boot protocol 2.15, Documentation/arch/x86/boot.rst): one
 * setup sector after the boot sector, no real-mode code (the VMM uses the 64-bit entry). */
    .section .header, "a"
    .org 0x1f1
    .byte 1                     /* setup_sects */
    .word 0                     /* root_flags */
    .long 0                     /* syssize (unused by 64-bit loaders) */
    .word 0                     /* ram_size */
    .word 0xffff                /* vid_mode */
    .word 0                     /* root_dev */
    .word 0xaa55                /* boot_flag */
    .byte 0xeb, hdr_end - hdr  /* jump over the header; its target marks the header end */
hdr:
    .ascii "HdrS"
    .word 0x020f                /* version */
    .long 0                     /* realmode_swtch */
    .word 0                     /* start_sys_seg */
    .word 0                     /* kernel_version */
    .byte 0                     /* type_of_loader */
    .byte 0x01                  /* loadflags: LOADED_HIGH */
    .word 0                     /* setup_move_size */
    .long 0x100000              /* code32_start */
    .long 0                     /* ramdisk_image */
    .long 0                     /* ramdisk_size */
    .long 0                     /* bootsect_kludge */
    .word 0                     /* heap_end_ptr */
    .byte 0                     /* ext_loader_ver */
    .byte 0                     /* ext_loader_type */
    .long 0                     /* cmd_line_ptr */
    .long 0x7fffffff            /* initrd_addr_max */
    .long 0x200000              /* kernel_alignment */
    .byte 0                     /* relocatable_kernel */
    .byte 0                     /* min_alignment */
    .word 0x0001                /* xloadflags: XLF_KERNEL_64 */
    .long 2047                  /* cmdline_size */
    .long 0                     /* hardware_subarch */
    .quad 0                     /* hardware_subarch_data */
    .long 0                     /* payload_offset */
    .long 0                     /* payload_length */
    .quad 0                     /* setup_data */
    .quad 0x100000              /* pref_address */
    .long 0x100000              /* init_size: 1 MiB is plenty for the test guest */
    .long 0                     /* handover_offset */
    .long 0                     /* kernel_info_offset */
hdr_end:
    .org 1024
