/* Guest RAM: one memfd-backed region per VM, with range-checked gpa -> hva translation. */
#ifndef VESSEL_MEM_GMEM_H
#define VESSEL_MEM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gmem {
    uint64_t base;     /* guest physical address of the first byte */
    uint64_t size;     /* bytes */
    uint8_t *hva;      /* host mapping of the whole region */
    int fd;            /* memfd behind the mapping (snapshots, migration); -1 for a file mapping */
    bool private_file; /* MAP_PRIVATE mapping of a snapshot file (gmem_create_from_file) */
    /* An optional hole in guest physical space (x86's MMIO gap below 4 GiB): the bytes of the
     * region continue at hole_start + hole_len. hole_len 0: no hole. */
    uint64_t hole_start, hole_len;
    /* Device-write log for live migration: one bit per 4 KiB page of the region (by offset
     * from hva), set by gmem_mark_dirty after a device wrote guest memory (the CPU engines log
     * their own stores). NULL when nobody logs; the logger owns the bitmap. */
    uint64_t *dirty;
};

/* Creates a zero-filled region of size bytes at guest physical base. Returns 0 or -errno. */
int gmem_create(struct gmem *m, uint64_t base, uint64_t size);
/* Maps size bytes of fd at file offset off (page-aligned) MAP_PRIVATE as guest RAM: pages are
 * read lazily on first touch and copied on first write, so the file is never changed and
 * several VMs can share its pages. The caller may close fd afterwards. Returns 0 or -errno. */
int gmem_create_from_file(struct gmem *m, uint64_t base, uint64_t size, int fd, uint64_t off);
void gmem_destroy(struct gmem *m);
/* ORs a memory slot's dirty log of npages pages (one bit each, as an engine reads it) that
 * begins at page first of a region of region_pages pages into the region's bitmap (bits past
 * either end are ignored). */
void gmem_dirty_merge(uint64_t *region, uint64_t region_pages, const uint64_t *slot, uint64_t first,
                      uint64_t npages);
/* Moves the region in *from (e.g. RAM an incoming migration filled) to *to; *from is left
 * empty (gmem_destroy does nothing to it). */
void gmem_take(struct gmem *to, struct gmem *from);
/* Gives the host pages behind [hva, hva+len) back (page-aligned): MADV_REMOVE punches them
 * out of the memfd (they read as zeros); on a private file mapping MADV_DONTNEED drops the
 * private copies (they read as the file's bytes again). Meant for pages the guest gave up.
 * Returns 0 or -errno. */
int gmem_discard(const struct gmem *m, void *hva, size_t len);

/* Records that a device wrote [hva, hva+len) of the region (a no-op unless logging). Call it
 * after the write: a concurrent collector then sees either the mark or the new bytes. */
static inline void gmem_mark_dirty(const struct gmem *m, const void *hva, uint64_t len)
{
    uint64_t *log = __atomic_load_n(&m->dirty, __ATOMIC_ACQUIRE), first, last;

    if (!log || !len)
        return;
    first = (uint64_t)((const uint8_t *)hva - m->hva) / 4096;
    last = ((uint64_t)((const uint8_t *)hva - m->hva) + len - 1) / 4096;
    for (uint64_t p = first; p <= last; p++)
        __atomic_fetch_or(&log[p / 64], 1ull << (p % 64), __ATOMIC_SEQ_CST);
}

/* Puts a hole of len bytes at guest physical start (inside or at the end of the region): the
 * region's bytes from start on appear at start + len. */
static inline void gmem_set_hole(struct gmem *m, uint64_t start, uint64_t len)
{
    m->hole_start = start;
    m->hole_len = len;
}

/* Host pointer for [gpa, gpa+len) or NULL when any byte is outside the region (or in its hole,
 * or the range spans the hole). */
static inline void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
    uint64_t end, off;

    if (gpa < m->base || __builtin_add_overflow(gpa, len, &end))
        return NULL;
    off = gpa - m->base;
    if (m->hole_len && end > m->hole_start) {
        if (gpa < m->hole_start || gpa - m->hole_start < m->hole_len)
            return NULL; /* into or across the hole */
        off -= m->hole_len;
    }
    if (off > m->size || len > m->size - off)
        return NULL;
    return m->hva + off;
}

#endif
