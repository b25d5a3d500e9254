/* kvm engine: /dev/kvm checks, the VM (in-kernel IRQ chip and PIT), memory slots and dirty-page
 * logging. vCPUs live in vcpu.c, interrupts and ioeventfds in irq.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "engine/kvm/kvm_int.h"

#define KVM_DEV         "/dev/kvm"
#define KVM_API_VERSION 12
/* Where KVM puts its three-page TSS and identity page table on Intel hosts: just below the
 * IOAPIC, inside the board's MMIO gap, never guest RAM. */
#define KVM_TSS_ADDR      0xfffbd000ULL
#define KVM_IDENT_MAP_ADR 0xfffbc000ULL

static const struct {
    int cap;
    const char *name;
} required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_XSAVE, "KVM_CAP_XSAVE"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS"},
    {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS"},
    {KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
};

/* MSRs a vCPU state carries (those the host's KVM also lists). Segment bases, EFER and the
 * APIC base travel in kvm_sregs. */
static const uint32_t state_msrs[] = {
    0x10,       /* TSC */
    0x174,      /* SYSENTER_CS */
    0x175,      /* SYSENTER_ESP */
    0x176,      /* SYSENTER_EIP */
    0x1a0,      /* MISC_ENABLE */
    0x277,      /* PAT */
    0x2ff,      /* MTRR default type */
    0x6e0,      /* TSC_DEADLINE */
    0xc0000081, /* STAR */
    0xc0000082, /* LSTAR */
    0xc0000083, /* CSTAR */
    0xc0000084, /* SFMASK */
    0xc0000102, /* KERNEL_GS_BASE */
    0xc0000103, /* TSC_AUX */
    0x4b564d00, /* kvm-clock wall clock */
    0x4b564d01, /* kvm-clock system time */
    0x4b564d02, /* async page fault */
    0x4b564d03, /* steal time */
    0x4b564d04, /* PV EOI */
    0x4b564d05, /* poll control */
    0x4b564d06, /* async page fault "page ready" interrupt vector: without it a restored guest
                 * that has async PF on gets vector 0 for the next page-ready event */
    0x3b,       /* TSC_ADJUST */
    0x48,       /* SPEC_CTRL */
    0xda0,      /* XSS */
    0xc001011f, /* VIRT_SPEC_CTRL (AMD) */
};

static int cpuinfo_has_hw_virt(void)
{
    char line[4096];
    FILE *f = fopen("/proc/cpuinfo", "r");
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        found = strstr(line, " vmx") || strstr(line, " svm");
        break;
    }
    fclose(f);
    return found;
}

/* Checks the API version and the capabilities; on failure writes the reason to why. */
static int kvm_check(int fd, struct kvm_host_info *info, char *why, size_t len)
{
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);

    info->api_version = v;
    if (v != KVM_API_VERSION) {
        snprintf(why, len, "%s: KVM API version %d, need %d", KVM_DEV, v, KVM_API_VERSION);
        return -ENOTSUP;
    }
    for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
            info->missing_cap = required_caps[i].name;
            snprintf(why, len, "%s: the host's KVM lacks %s, which Vessel needs", KVM_DEV,
                     required_caps[i].name);
            return -ENOTSUP;
        }
    }
    v = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (v <= 0)
        v = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    info->max_vcpus = v > 0 ? v : 4;
    return 0;
}

/* Host-supported CPUID; returns a malloc'd kvm_cpuid2 or NULL (errno set). */
static struct kvm_cpuid2 *kvm_supported_cpuid(int fd)
{
    for (int n = KVM_CPUID_MAX; n <= 4 * KVM_CPUID_MAX; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));

        if (!c)
            return NULL;
        c->nent = (uint32_t)n;
        if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        free(c);
        if (errno != E2BIG)
            return NULL;
    }
    errno = E2BIG;
    return NULL;
}

int kvm_probe(struct kvm_host_info *info, char *why, size_t len)
{
    struct kvm_cpuid2 *c;
    int fd, err;

    memset(info, 0, sizeof(*info));
    info->hw_virt = cpuinfo_has_hw_virt();
    info->pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        if (err == -ENOENT && !info->hw_virt)
            snprintf(why, len,
                     "no %s, and this CPU has no VT-x/AMD-V (no vmx or svm in /proc/cpuinfo), "
                     "which a stock x86-64 kernel needs; %s",
                     KVM_DEV, KVM_NESTED_HINT);
        else
            snprintf(why, len, "%s: %s%s", KVM_DEV, strerror(errno),
                     err == -ENOENT ? " (no KVM on this host: load kvm-intel/kvm-amd or kvm-pvm)"
                                    : "");
        return err;
    }
    err = kvm_check(fd, info, why, len);
    if (!err) {
        c = kvm_supported_cpuid(fd);
        if (c) {
            kvm_cpuid_signature(c->entries, (int)c->nent, info->signature);
            free(c);
        }
        /* A KVM without VT-x/AMD-V underneath can only be PVM (or a nested software one). */
        if (!info->hw_virt)
            info->pvm = true;
    }
    close(fd);
    return err;
}

int kvm_engine_create(struct kvm_engine **out, const struct kvm_engine_config *cfg)
{
    struct kvm_host_info info;
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    struct kvm_engine *e;
    uint64_t ident = KVM_IDENT_MAP_ADR;
    char why[256];
    int err, i;

    if (cfg->ncpus < 1 || cfg->ncpus > KVM_MAX_VCPUS)
        return -EINVAL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->vm_fd = -1;
    e->ncpus = cfg->ncpus;
    e->pio = cfg->pio;
    e->mmio = cfg->mmio;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->route_lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    for (i = 0; i < KVM_MAX_VCPUS; i++)
        e->cpu[i].fd = -1;

    e->sys_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
    if (e->sys_fd < 0) {
        err = -errno;
        log_err("kvm: %s: %s", KVM_DEV, strerror(errno));
        goto fail;
    }
    err = kvm_check(e->sys_fd, &info, why, sizeof(why));
    if (err) {
        log_err("kvm: %s", why);
        goto fail;
    }
    /* the host facts for explaining a guest that stops on an emulation failure (vcpu.c) */
    e->host_pvm = access("/sys/module/kvm_pvm", F_OK) == 0 || !cpuinfo_has_hw_virt();
    if ((err = kvm_vcpu_kick_install()))
        goto fail;
    if (cfg->ncpus > info.max_vcpus) {
        log_err("kvm: %d vCPUs requested, the host's KVM allows %d", cfg->ncpus, info.max_vcpus);
        err = -EINVAL;
        goto fail;
    }
    err = ioctl(e->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (err <= 0) {
        err = err < 0 ? -errno : -EINVAL;
        log_err("kvm: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(-err));
        goto fail;
    }
    e->run_size = (size_t)err;

    e->vm_fd = ioctl(e->sys_fd, KVM_CREATE_VM, 0);
    if (e->vm_fd < 0) {
        err = -errno;
        log_err("kvm: KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(e->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        err = -errno;
        log_err("kvm: KVM_SET_TSS_ADDR 0x%llx: %s", KVM_TSS_ADDR, strerror(errno));
        goto fail;
    }
    if (ioctl(e->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
        ioctl(e->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
        err = -errno;
        log_err("kvm: KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(e->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        err = -errno;
        log_err("kvm: KVM_CREATE_IRQCHIP: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(e->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        err = -errno;
        log_err("kvm: KVM_CREATE_PIT2: %s", strerror(errno));
        goto fail;
    }

    /* MSRs for snapshots: the intersection of ours with the host's list. */
    {
        struct kvm_msr_list *l = calloc(1, sizeof(*l) + 1024 * sizeof(uint32_t));

        if (!l) {
            err = -ENOMEM;
            goto fail;
        }
        l->nmsrs = 1024;
        if (ioctl(e->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
            err = -errno;
            log_err("kvm: KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
            free(l);
            goto fail;
        }
        for (size_t k = 0; k < sizeof(state_msrs) / sizeof(state_msrs[0]); k++)
            for (uint32_t j = 0; j < l->nmsrs; j++)
                if (l->indices[j] == state_msrs[k] && e->nmsr_index < KVM_STATE_MAX_MSRS)
                    e->msr_index[e->nmsr_index++] = state_msrs[k];
        free(l);
    }

    for (i = 0; i < cfg->ncpus; i++) {
        err = kvm_vcpu_init(e, i);
        if (err)
            goto fail;
    }
    err = kvm_engine_capture_reset(e); /* what a guest reset returns to */
    if (err)
        goto fail;
    *out = e;
    return 0;

fail:
    kvm_engine_destroy(e);
    return err;
}

void kvm_engine_destroy(struct kvm_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < KVM_MAX_VCPUS; i++)
        kvm_vcpu_fini(&e->cpu[i]);
    if (e->vm_fd >= 0)
        close(e->vm_fd);
    if (e->sys_fd >= 0)
        close(e->sys_fd);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->route_lock);
    pthread_mutex_destroy(&e->lock);
    free(e->reset_cpu);
    free(e->reset_vm);
    free(e);
}

static int kvm_set_slot(struct kvm_engine *e, int slot)
{
    struct kvm_slot *s = &e->slot[slot];
    struct kvm_userspace_memory_region r = {
        .slot = (uint32_t)slot,
        .flags = e->dirty_logging ? KVM_MEM_LOG_DIRTY_PAGES : 0,
        .guest_phys_addr = s->gpa,
        .memory_size = s->size,
        .userspace_addr = (uint64_t)(uintptr_t)s->hva,
    };

    if (ioctl(e->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        int err = -errno;
        log_err("kvm: KVM_SET_USER_MEMORY_REGION slot %d at 0x%llx (%llu KiB): %s", slot,
                (unsigned long long)s->gpa, (unsigned long long)(s->size >> 10), strerror(errno));
        return err;
    }
    return 0;
}

int kvm_engine_add_memory(struct kvm_engine *e, int slot, uint64_t gpa, uint64_t size, void *hva)
{
    if (slot < 0 || slot >= KVM_MAX_SLOTS || e->slot[slot].used || !size || (size & 0xfff) ||
        (gpa & 0xfff))
        return -EINVAL;
    e->slot[slot] = (struct kvm_slot){true, gpa, size, hva};
    if (kvm_set_slot(e, slot)) {
        e->slot[slot].used = false;
        return -EINVAL;
    }
    return 0;
}

int kvm_engine_set_dirty_logging(struct kvm_engine *e, bool on)
{
    int err;

    e->dirty_logging = on;
    for (int i = 0; i < KVM_MAX_SLOTS; i++) {
        if (!e->slot[i].used)
            continue;
        err = kvm_set_slot(e, i);
        if (err)
            return err;
    }
    return 0;
}

int kvm_engine_get_dirty_log(struct kvm_engine *e, int slot, uint64_t *bitmap)
{
    struct kvm_dirty_log d = {.slot = (uint32_t)slot, .dirty_bitmap = bitmap};

    if (slot < 0 || slot >= KVM_MAX_SLOTS || !e->slot[slot].used || !e->dirty_logging)
        return -EINVAL;
    if (ioctl(e->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
        int err = -errno;
        log_err("kvm: KVM_GET_DIRTY_LOG slot %d: %s", slot, strerror(errno));
        return err;
    }
    return 0;
}

int kvm_engine_ncpus(const struct kvm_engine *e)
{
    return e->ncpus;
}

uint64_t kvm_engine_exit_count(const struct kvm_engine *e)
{
    uint64_t n = 0;

    for (int i = 0; i < e->ncpus; i++)
        for (int k = 0; k < KVM_EXITK_COUNT; k++)
            n += __atomic_load_n(&e->cpu[i].exits[k], __ATOMIC_RELAXED);
    return n;
}
