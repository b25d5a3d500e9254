/* The reference: the smallest VMM that runs the benchmark guest. It loads the ELF's PT_LOAD
 * segments into 2 MiB of RAM, enters its 32-bit entry (flat protected mode, paging off) and
 * loops on KVM_RUN: port 0x3f8 output goes to stdout, port 0x64 (value 0xfe) ends the run. */
#include <elf.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAM (2u << 20)

static void die(const char *what)
{
    perror(what);
    exit(2);
}

int main(int argc, char **argv)
{
    struct kvm_userspace_memory_region mr = {.memory_size = RAM};
    struct kvm_sregs sr;
    struct kvm_regs r = {.rflags = 2};
    struct kvm_segment cs = {
        .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .db = 1, .s = 1, .g = 1};
    struct kvm_segment ds = cs;
    struct kvm_run *run;
    struct stat st;
    Elf64_Ehdr *eh;
    uint8_t *ram, *img;
    int kvm, vm, cpu, fd;

    if (argc != 2) {
        fprintf(stderr, "usage: %s GUEST.elf\n", argv[0]);
        return 1;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0 || fstat(fd, &st) < 0)
        die(argv[1]);
    img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (img == MAP_FAILED)
        die("mmap guest");
    eh = (Elf64_Ehdr *)img;
    if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
        die("/dev/kvm");
    if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
        die("KVM_CREATE_VM");
    ram =
        mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED)
        die("mmap RAM");
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff + (size_t)i * eh->e_phentsize);
        if (ph->p_type == PT_LOAD && ph->p_paddr + ph->p_memsz <= RAM)
            memcpy(ram + ph->p_paddr, img + ph->p_offset, ph->p_filesz);
    }
    mr.userspace_addr = (uint64_t)(uintptr_t)ram;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    if ((cpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
        die("KVM_CREATE_VCPU");
    run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
               MAP_SHARED, cpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    if (ioctl(cpu, KVM_GET_SREGS, &sr) < 0)
        die("KVM_GET_SREGS");
    ds.type = 3;
    ds.selector = 0x10;
    sr.cs = cs;
    sr.ds = sr.es = sr.fs = sr.gs = sr.ss = ds;
    sr.cr0 = 0x11;
    if (ioctl(cpu, KVM_SET_SREGS, &sr) < 0)
        die("KVM_SET_SREGS");
    r.rip = eh->e_entry;
    if (ioctl(cpu, KVM_SET_REGS, &r) < 0)
        die("KVM_SET_REGS");
    for (;;) {
        if (ioctl(cpu, KVM_RUN, 0) < 0)
            die("KVM_RUN");
        if (run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "raw: exit reason %u\n", run->exit_reason);
            return 3;
        }
        uint8_t v = *((uint8_t *)run + run->io.data_offset);
        if (run->io.port == 0x3f8) {
            if (write(1, &v, 1) != 1)
                die("write");
        } else if (run->io.port == 0x64 && v == 0xfe) {
            return 0;
        }
    }
}
