/* Guest RAM: one memfd-backed region per VM, with range-checked gpa -> hva translation. */
#ifndef VESSEL_MEM_GMEM_H
#define VESSEL_MEM_GMEM_H

#include <stddef.h>
#include <stdint.h>

struct gmem {
    uint64_t base; /* guest physical address of the first byte */
    uint64_t size; /* bytes */
    uint8_t *hva;  /* host mapping of the whole region */
    int fd;        /* memfd behind the mapping (snapshots, migration) */
};

/* Creates a zero-filled region of size bytes at guest physical base. Returns 0 or -errno. */
int gmem_create(struct gmem *m, uint64_t base, uint64_t size);
void gmem_destroy(struct gmem *m);

/* Host pointer for [gpa, gpa+len) or NULL when any byte is outside the region. */
static inline void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
    uint64_t end;

    if (gpa < m->base || __builtin_add_overflow(gpa, len, &end) || end > m->base + m->size)
        return NULL;
    return m->hva + (gpa - m->base);
}

#endif
