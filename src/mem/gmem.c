#include "mem/gmem.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int gmem_create(struct gmem *m, uint64_t base, uint64_t size)
{
    int err;

    m->fd = memfd_create("vessel-ram", MFD_CLOEXEC);
    if (m->fd < 0)
        return -errno;
    if (ftruncate(m->fd, (off_t)size) < 0) {
        err = -errno;
        goto fail_fd;
    }
    m->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
    if (m->hva == MAP_FAILED) {
        err = -errno;
        goto fail_fd;
    }
    m->base = base;
    m->hole_start = m->hole_len = 0;
    m->size = size;
    m->private_file = false;
    m->dirty = NULL;
    return 0;

fail_fd:
    close(m->fd);
    m->fd = -1;
    return err;
}

int gmem_create_from_file(struct gmem *m, uint64_t base, uint64_t size, int fd, uint64_t off)
{
    if (off % 4096)
        return -EINVAL;
    /* MAP_NORESERVE: copy-on-write pages are only committed as the guest writes them. */
    m->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)off);
    if (m->hva == MAP_FAILED) {
        m->hva = NULL;
        return -errno;
    }
    m->fd = -1;
    m->base = base;
    m->hole_start = m->hole_len = 0;
    m->size = size;
    m->private_file = true;
    m->dirty = NULL;
    return 0;
}

int gmem_discard(const struct gmem *m, void *hva, size_t len)
{
    if (madvise(hva, len, m->private_file ? MADV_DONTNEED : MADV_REMOVE) < 0)
        return -errno;
    gmem_mark_dirty(m, hva, len); /* the pages changed (to zeroes or the file's bytes) */
    return 0;
}

void gmem_take(struct gmem *to, struct gmem *from)
{
    *to = *from;
    from->hva = NULL;
    from->fd = -1;
    from->dirty = NULL;
}

void gmem_destroy(struct gmem *m)
{
    if (m->hva && m->hva != MAP_FAILED)
        munmap(m->hva, m->size);
    if (m->fd >= 0)
        close(m->fd);
    m->hva = NULL;
    m->fd = -1;
}

void gmem_dirty_merge(uint64_t *region, uint64_t region_pages, const uint64_t *slot, uint64_t first,
                      uint64_t npages)
{
    uint64_t n, shift;

    if (first >= region_pages)
        return;
    n = npages < region_pages - first ? npages : region_pages - first;
    shift = first % 64;
    for (uint64_t i = 0; i < (n + 63) / 64; i++) {
        uint64_t w = slot[i], dst = first / 64 + i;

        if (n - i * 64 < 64)
            w &= (1ull << (n - i * 64)) - 1; /* past the slot's last page */
        if (!w)
            continue;
        region[dst] |= w << shift;
        if (shift && (w >> (64 - shift)))
            region[dst + 1] |= w >> (64 - shift);
    }
}
