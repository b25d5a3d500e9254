#include <errno.h>
#include <string.h>

#include "engine/kvm/kvm.h"
#include "harness.h"

static struct kvm_cpuid_entry2 ent(uint32_t f, uint32_t idx, uint32_t a, uint32_t b, uint32_t c,
                                   uint32_t d)
{
    return (struct kvm_cpuid_entry2){
        .function = f, .index = idx, .eax = a, .ebx = b, .ecx = c, .edx = d};
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, int n, uint32_t f,
                                           uint32_t idx)
{
    for (int i = 0; i < n; i++)
        if (e[i].function == f && e[i].index == idx)
            return &e[i];
    return NULL;
}

TEST(x86_cpuid_filter)
{
    struct kvm_cpuid_entry2 e[16];
    const struct kvm_cpuid_entry2 *p;
    int n = 0;

    e[n++] = ent(0x0, 0, 0x1c, 0x68747541, 0x444d4163, 0x69746e65);
    e[n++] = ent(0x1, 0, 0x00a10f11, 0x01020800, 0x81202028 | (1u << 15), 0x078bfbff);
    e[n++] = ent(0xa, 0, 0x07300403, 0, 0, 0); /* PMU: dropped */
    e[n++] = ent(0x12, 0, 1, 0, 0, 0);         /* SGX: dropped */
    e[n++] = ent(0xb, 1, 0, 0, 0, 0);
    e[n++] = ent(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d); /* kept */
    e[n++] = ent(0x40000001, 0, 0x01007efb, 0, 0, 0);                      /* kept as is */
    e[n++] = ent(0x80000001, 0, 0, 0, 0x00400397, 0);                      /* SVM bit 2 set */
    e[n++] = ent(0x8000001f, 0, 1, 0, 0, 0);                               /* SEV: dropped */

    n = kvm_cpuid_filter(e, n, 2, 4);
    CHECK_EQ(n, 6);
    CHECK(find(e, n, 0xa, 0) == NULL);
    CHECK(find(e, n, 0x12, 0) == NULL);
    CHECK(find(e, n, 0x8000001f, 0) == NULL);
    p = find(e, n, 0x1, 0);
    CHECK(p != NULL);
    if (p) {
        CHECK_EQ(p->ebx >> 24, 2);          /* APIC ID of vCPU 2 */
        CHECK_EQ((p->ebx >> 16) & 0xff, 4); /* logical processors */
        CHECK_EQ(p->ebx & 0xffff, 0x0800);  /* CLFLUSH size, brand kept */
        CHECK(p->ecx & (1u << 31));         /* hypervisor */
        CHECK(!(p->ecx & (1u << 5)));       /* no VMX */
        CHECK(!(p->ecx & (1u << 3)));       /* no MONITOR */
        CHECK(!(p->ecx & (1u << 15)));      /* no PDCM */
        CHECK(p->edx & (1u << 28));         /* HTT with more than one CPU */
    }
    p = find(e, n, 0xb, 1);
    CHECK(p && p->edx == 2 && p->ebx == 4 && p->eax == 2);
    p = find(e, n, 0x40000000, 0);
    CHECK(p && p->eax == 0x40000001 && p->ebx == 0x4b4d564b);
    p = find(e, n, 0x40000001, 0);
    CHECK(p && p->eax == 0x01007efb);
    p = find(e, n, 0x80000001, 0);
    CHECK(p && !(p->ecx & 4));
}

TEST(x86_cpuid_signature)
{
    struct kvm_cpuid_entry2 e[2] = {ent(0x1, 0, 0, 0, 0, 0),
                                    ent(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d)};
    char sig[13];

    kvm_cpuid_signature(e, 2, sig);
    CHECK(!strcmp(sig, "KVMKVMKVM"));
    kvm_cpuid_signature(e, 1, sig);
    CHECK_EQ(sig[0], 0);
}

/* The host facts behind `vessel info` and `vessel run --arch x86_64`: on a host with no
 * /dev/kvm and no vmx/svm (this project's machines) the one-line reason says a stock kernel
 * needs VT-x/AMD-V and where the nested harness is. Elsewhere it only has to be one line. */
TEST(kvm_probe_explains_the_host)
{
    struct kvm_host_info info;
    char why[512] = "";
    int err = kvm_probe(&info, why, sizeof(why));

    if (err == -ENOENT && !info.hw_virt) {
        CHECK(strstr(why, "VT-x/AMD-V") != NULL);
        CHECK(strstr(why, "tests/nested") != NULL && strstr(why, "docs/nested.md") != NULL);
    }
    CHECK(strchr(why, '\n') == NULL);
    CHECK(err != 0 || info.api_version == 12);
}
