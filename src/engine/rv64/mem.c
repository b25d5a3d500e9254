/* rv64 memory access slow paths: TLB misses, MMIO, accesses that cross a page, atomics. */
#include <string.h>

#include "engine/rv64/cpu.h"

bool rv64_load_slow(struct rv64_hart *h, uint64_t va, int size, uint64_t *val)
{
    int priv = rv64_data_priv(h);
    void *host;
    uint64_t pa;

    if ((va & 0xfff) + (unsigned)size > 4096) {
        uint64_t v = 0, b;
        for (int i = 0; i < size; i++) {
            if (!rv64_load(h, va + (uint64_t)i, 1, &b))
                return false;
            v |= b << (8 * i);
        }
        *val = v;
        return true;
    }
    if (rv64_translate(h, va, ACC_R, priv, &host, &pa))
        return false;
    if (host) {
        switch (size) { /* fixed sizes: no call to memcpy */
        case 1: *val = *(const uint8_t *)host; break;
        case 2: {
            uint16_t v;
            memcpy(&v, host, 2);
            *val = v;
            break;
        }
        case 4: {
            uint32_t v;
            memcpy(&v, host, 4);
            *val = v;
            break;
        }
        default: memcpy(val, host, 8); break;
        }
        return true;
    }
    if (bus_read(h->m->bus, pa, (unsigned)size, val)) {
        rv64_trap(h, EXC_LOAD_ACCESS, va);
        return false;
    }
    if (size < 8) /* a device may return more than size bytes; LBU/LHU/LWU zero-extend */
        *val &= (1ULL << (8 * size)) - 1;
    return true;
}

bool rv64_store_slow(struct rv64_hart *h, uint64_t va, int size, uint64_t val)
{
    int priv = rv64_data_priv(h);
    void *host;
    uint64_t pa;

    if ((va & 0xfff) + (unsigned)size > 4096) {
        /* probe both pages first so that a fault leaves memory untouched */
        uint64_t next_page = (va | 0xfff) + 1;
        if (rv64_translate(h, va, ACC_W, priv, &host, &pa) ||
            rv64_translate(h, next_page, ACC_W, priv, &host, &pa))
            return false;
        for (int i = 0; i < size; i++)
            if (!rv64_store(h, va + (uint64_t)i, 1, val >> (8 * i)))
                return false;
        return true;
    }
    if (rv64_translate(h, va, ACC_W, priv, &host, &pa))
        return false;
    if (host) {
        switch (size) { /* fixed sizes: no call to memcpy */
        case 1: *(uint8_t *)host = (uint8_t)val; break;
        case 2: {
            uint16_t v = (uint16_t)val;
            memcpy(host, &v, 2);
            break;
        }
        case 4: {
            uint32_t v = (uint32_t)val;
            memcpy(host, &v, 4);
            break;
        }
        default: memcpy(host, &val, 8); break;
        }
        return true;
    }
    if (bus_write(h->m->bus, pa, (unsigned)size, val)) {
        rv64_trap(h, EXC_STORE_ACCESS, va);
        return false;
    }
    return true;
}

static bool fetch16(struct rv64_hart *h, uint64_t va, uint16_t *half)
{
    struct rv64_tlb_entry *e = rv64_tlb_lookup(h, rv64_tlb_set(h->priv), ACC_X, va);
    void *host;
    uint64_t pa;

    if (e) {
        memcpy(half, (void *)(uintptr_t)(va + e->addend), 2);
        return true;
    }
    if (rv64_translate(h, va, ACC_X, h->priv, &host, &pa))
        return false;
    if (!host) {
        rv64_trap(h, EXC_INSN_ACCESS, va);
        return false;
    }
    memcpy(half, host, 2);
    return true;
}

bool rv64_fetch_slow(struct rv64_hart *h, uint64_t va, uint32_t *insn)
{
    uint16_t lo, hi;

    if (!fetch16(h, va, &lo))
        return false;
    if ((lo & 3) != 3) {
        *insn = lo;
        return true;
    }
    if (!fetch16(h, va + 2, &hi))
        return false;
    *insn = (uint32_t)hi << 16 | lo;
    return true;
}

void *rv64_amo_ptr(struct rv64_hart *h, uint64_t va, int size, int acc)
{
    int priv = rv64_data_priv(h);
    struct rv64_tlb_entry *e;
    void *host;
    uint64_t pa;

    if (va & (uint64_t)(size - 1)) {
        rv64_trap(h, acc == ACC_R ? EXC_LOAD_MISALIGNED : EXC_STORE_MISALIGNED, va);
        return NULL;
    }
    e = rv64_tlb_lookup(h, rv64_tlb_set(priv), acc, va);
    if (e)
        return (void *)(uintptr_t)(va + e->addend);
    if (rv64_translate(h, va, acc, priv, &host, &pa))
        return NULL;
    if (!host) {
        rv64_trap(h, acc == ACC_R ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS, va);
        return NULL;
    }
    return host;
}
