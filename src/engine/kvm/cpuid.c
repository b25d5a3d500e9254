/* CPUID policy: which of the host's KVM-supported leaves a Vessel vCPU sees, and with which
 * per-vCPU values. Pure functions on kvm_cpuid_entry2 arrays. */
#include <string.h>

#include "engine/kvm/kvm.h"

#define CPUID_HYPERVISOR_LO 0x40000000u
#define CPUID_HYPERVISOR_HI 0x400000ffu

/* leaf 1 */
#define L1_ECX_MONITOR    (1u << 3)
#define L1_ECX_VMX        (1u << 5)
#define L1_ECX_SMX        (1u << 6)
#define L1_ECX_PDCM       (1u << 15)
#define L1_ECX_HYPERVISOR (1u << 31)
#define L1_EDX_HTT        (1u << 28)
/* leaf 0x80000001 */
#define L81_ECX_SVM (1u << 2)

/* Leaves Vessel knows how to present; anything else the host offers is dropped (e.g. 0x12 SGX,
 * 0x14 processor trace, 0xa PMU, 0x8000001f SEV). */
static bool leaf_known(uint32_t f)
{
    static const uint32_t basic[] = {0x0, 0x1, 0x2, 0x4, 0x6, 0x7, 0xb, 0xd, 0x1f};
    static const uint32_t ext[] = {0x80000000, 0x80000001, 0x80000002, 0x80000003, 0x80000004,
                                   0x80000005, 0x80000006, 0x80000007, 0x80000008, 0x8000001d};

    if (f >= CPUID_HYPERVISOR_LO && f <= CPUID_HYPERVISOR_HI)
        return true;
    for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
        if (f == basic[i])
            return true;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
        if (f == ext[i])
            return true;
    return false;
}

static unsigned bits_for(int n)
{
    unsigned b = 0;

    while ((1 << b) < n)
        b++;
    return b;
}

int kvm_cpuid_filter(struct kvm_cpuid_entry2 *ent, int n, int cpu, int ncpus)
{
    uint32_t apic_id = (uint32_t)cpu;
    int out = 0;

    for (int i = 0; i < n; i++) {
        struct kvm_cpuid_entry2 c = ent[i];

        if (!leaf_known(c.function))
            continue;
        switch (c.function) {
        case 0x1:
            c.ecx &= ~(L1_ECX_MONITOR | L1_ECX_VMX | L1_ECX_SMX | L1_ECX_PDCM);
            c.ecx |= L1_ECX_HYPERVISOR;
            c.ebx = (c.ebx & 0x0000ffffu) | (apic_id << 24);
            if (ncpus > 1) {
                c.ebx |= (uint32_t)(ncpus & 0xff) << 16;
                c.edx |= L1_EDX_HTT;
            } else {
                c.ebx |= 1u << 16;
            }
            break;
        case 0x4:
            /* one package of ncpus cores, each with its own thread */
            if (c.eax & 0x1f) {
                c.eax &= 0x3ffu; /* cache type, level, self-init, fully associative */
                c.eax |= (uint32_t)(ncpus - 1) << 26;
            }
            break;
        case 0x6:
            /* no thermal or power management; keep ARAT (APIC timer always running) */
            c.eax &= 1u << 2;
            c.ebx = c.ecx = c.edx = 0;
            break;
        case 0xb:
        case 0x1f:
            /* x2APIC topology: level 0 SMT (1 thread), level 1 core (ncpus) */
            if (c.index == 0) {
                c.eax = 0;
                c.ebx = 1;
                c.ecx = (1u << 8) | c.index;
            } else if (c.index == 1) {
                c.eax = bits_for(ncpus);
                c.ebx = (uint32_t)ncpus;
                c.ecx = (2u << 8) | c.index;
            } else {
                c.eax = c.ebx = 0;
                c.ecx = c.index;
            }
            c.edx = apic_id;
            break;
        case 0x80000001: c.ecx &= ~L81_ECX_SVM; break;
        default: break;
        }
        ent[out++] = c;
    }
    return out;
}

void kvm_cpuid_signature(const struct kvm_cpuid_entry2 *ent, int n, char sig[13])
{
    sig[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (ent[i].function != CPUID_HYPERVISOR_LO)
            continue;
        memcpy(sig, &ent[i].ebx, 4);
        memcpy(sig + 4, &ent[i].ecx, 4);
        memcpy(sig + 8, &ent[i].edx, 4);
        sig[12] = '\0';
        return;
    }
}
