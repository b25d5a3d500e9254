/* qcow2: header parsing and validation. The header is file-controlled and hostile: every
 * offset and size is checked for alignment, overflow, the end of the file and overlap with the
 * header cluster before anything is read through it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

bool qcow2_overlaps_fixed(const struct qcow2 *q, uint64_t off, uint64_t len)
{
    return ranges_overlap(off, len, 0, q->cluster_size) ||
           ranges_overlap(off, len, q->l1_offset, (uint64_t)q->l1_size * 8) ||
           ranges_overlap(off, len, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits);
}

/* A table of len bytes at off: cluster aligned, inside the file, not over the header. */
static int check_table(struct qcow2 *q, const char *what, uint64_t off, uint64_t len,
                       uint64_t file_size)
{
    uint64_t end;

    if (len == 0)
        return 0;
    if (off & (q->cluster_size - 1)) {
        log_err("disk: %s: %s at 0x%" PRIx64 " is not cluster aligned", q->path, what, off);
        return -EINVAL;
    }
    if (off < q->cluster_size) {
        log_err("disk: %s: %s at 0x%" PRIx64 " overlaps the header", q->path, what, off);
        return -EINVAL;
    }
    if (__builtin_add_overflow(off, len, &end) || end > file_size) {
        log_err("disk: %s: %s at 0x%" PRIx64 " (%" PRIu64 " bytes) points past end of file",
                q->path, what, off, len);
        return -EINVAL;
    }
    return 0;
}

static int parse_extensions(struct qcow2 *q, const uint8_t *hdr, uint64_t end)
{
    uint64_t pos = q->header_length;

    while (pos + 8 <= end) {
        uint32_t type = be32(hdr + pos), len = be32(hdr + pos + 4);
        uint64_t data = pos + 8, next = data + (((uint64_t)len + 7) & ~7ULL);

        if (type == QCOW2_EXT_END)
            return 0;
        if (next > end) {
            log_err("disk: %s: header extension 0x%08x runs past the header cluster", q->path,
                    type);
            return -EINVAL;
        }
        if (type == QCOW2_EXT_BACKING_FMT) {
            if (len == 0 || len >= sizeof(q->backing_fmt)) {
                log_err("disk: %s: backing format name of %u bytes is invalid", q->path, len);
                return -EINVAL;
            }
            memcpy(q->backing_fmt, hdr + data, len);
            q->backing_fmt[len] = '\0';
        } else if (type == QCOW2_EXT_DATA_FILE) {
            log_err("disk: %s: external data files are not supported", q->path);
            return -ENOTSUP;
        }
        pos = next;
    }
    return 0;
}

static int check_features(struct qcow2 *q)
{
    uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESS;
    uint64_t unknown = q->incompat & ~known;

    if (q->incompat & QCOW2_INCOMPAT_DATAFILE) {
        log_err("disk: %s: external data files (incompatible feature bit 2) are not supported",
                q->path);
        return -ENOTSUP;
    }
    if (q->incompat & QCOW2_INCOMPAT_EXTL2) {
        log_err("disk: %s: extended L2 entries (incompatible feature bit 4) are not supported",
                q->path);
        return -ENOTSUP;
    }
    if (unknown) {
        log_err("disk: %s: unknown incompatible feature bits 0x%" PRIx64, q->path, unknown);
        return -ENOTSUP;
    }
    if ((q->incompat & QCOW2_INCOMPAT_DIRTY) && !q->readonly) {
        log_err("disk: %s: the image is dirty (lazy refcounts were in use); repair it with "
                "`qemu-img check -r all` before writing to it",
                q->path);
        return -EINVAL;
    }
    if ((q->incompat & QCOW2_INCOMPAT_CORRUPT) && !q->readonly) {
        log_err("disk: %s: the image is marked corrupt; it can only be opened read-only", q->path);
        return -EINVAL;
    }
    return 0;
}

int qcow2_parse_header(struct qcow2 *q, const uint8_t *hdr, uint64_t file_size)
{
    uint64_t backing_off, l2_cover, need_l1, ext_end;
    uint32_t backing_len, crypt;
    int err;

    q->version = be32(hdr + 4);
    if (q->version != 2 && q->version != 3) {
        log_err("disk: %s: qcow2 version %u is not supported (2 and 3 are)", q->path, q->version);
        return -ENOTSUP;
    }
    /* cluster_bits was range-checked by the caller before it read the header cluster */
    q->cluster_bits = be32(hdr + 20);
    q->cluster_size = 1ULL << q->cluster_bits;
    q->l2_bits = q->cluster_bits - 3;
    q->size = qcow2_be64(hdr + 24);
    crypt = be32(hdr + 32);
    q->l1_size = be32(hdr + 36);
    q->l1_offset = qcow2_be64(hdr + 40);
    q->rt_offset = qcow2_be64(hdr + 48);
    q->rt_clusters = be32(hdr + 56);
    q->nb_snapshots = be32(hdr + 60);
    q->snap_offset = qcow2_be64(hdr + 64);
    backing_off = qcow2_be64(hdr + 8);
    backing_len = be32(hdr + 16);

    if (q->version == 3) {
        q->incompat = qcow2_be64(hdr + 72);
        q->compat = qcow2_be64(hdr + 80);
        q->autoclear = qcow2_be64(hdr + 88);
        q->refcount_order = be32(hdr + 96);
        q->header_length = be32(hdr + 100);
        if (q->header_length < QCOW2_V3_HEADER_LEN || q->header_length > q->cluster_size ||
            (q->header_length & 7)) {
            log_err("disk: %s: header length %u is invalid", q->path, q->header_length);
            return -EINVAL;
        }
        if (q->refcount_order > 6) {
            log_err("disk: %s: refcount order %u is invalid (0 to 6)", q->path, q->refcount_order);
            return -EINVAL;
        }
        q->compression_type = q->header_length > 104 ? hdr[104] : QCOW2_COMPRESS_ZLIB;
    } else {
        q->refcount_order = 4;
        q->header_length = QCOW2_V2_HEADER_LEN;
        q->compression_type = QCOW2_COMPRESS_ZLIB;
    }
    q->rb_bits = q->cluster_bits + 3 - q->refcount_order;

    err = check_features(q);
    if (err)
        return err;
    if (q->compression_type > QCOW2_COMPRESS_ZSTD ||
        (q->compression_type != QCOW2_COMPRESS_ZLIB) != !!(q->incompat & QCOW2_INCOMPAT_COMPRESS)) {
        log_err("disk: %s: compression type %u does not match the incompatible feature bit",
                q->path, q->compression_type);
        return -EINVAL;
    }
    if (crypt != 0) {
        log_err("disk: %s: encrypted images (method %u) are not supported", q->path, crypt);
        return -ENOTSUP;
    }

    /* Virtual size: the L1 table must map all of it, and QEMU's limits bound the L1. */
    if (q->size > (1ULL << 62) || (q->size & 511)) {
        log_err("disk: %s: virtual size %" PRIu64 " is invalid", q->path, q->size);
        return -EINVAL;
    }
    l2_cover = q->cluster_size << q->l2_bits;
    need_l1 = (q->size + l2_cover - 1) / l2_cover;
    if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        log_err("disk: %s: L1 table of %u entries is too large", q->path, q->l1_size);
        return -EINVAL;
    }
    if (need_l1 > q->l1_size) {
        log_err("disk: %s: L1 table of %u entries cannot map the virtual size %" PRIu64, q->path,
                q->l1_size, q->size);
        return -EINVAL;
    }
    err = check_table(q, "L1 table", q->l1_offset, (uint64_t)q->l1_size * 8, file_size);
    if (err)
        return err;
    if (q->rt_clusters == 0 || ((uint64_t)q->rt_clusters << q->cluster_bits) > QCOW2_MAX_RT_BYTES) {
        log_err("disk: %s: refcount table of %u clusters is invalid", q->path, q->rt_clusters);
        return -EINVAL;
    }
    q->rt_entries = ((uint64_t)q->rt_clusters << q->cluster_bits) / 8;
    err = check_table(q, "refcount table", q->rt_offset,
                      (uint64_t)q->rt_clusters << q->cluster_bits, file_size);
    if (err)
        return err;
    if (ranges_overlap(q->l1_offset, (uint64_t)q->l1_size * 8, q->rt_offset,
                       (uint64_t)q->rt_clusters << q->cluster_bits)) {
        log_err("disk: %s: the L1 table overlaps the refcount table", q->path);
        return -EINVAL;
    }

    /* header extensions end where the backing file name starts (or at the cluster end) */
    ext_end = q->cluster_size;
    if (backing_off) {
        uint64_t end;
        if (backing_len == 0 || backing_len > QCOW2_MAX_BACKING_LEN ||
            backing_off < q->header_length ||
            __builtin_add_overflow(backing_off, backing_len, &end) || end > q->cluster_size) {
            log_err("disk: %s: backing file name (offset 0x%" PRIx64 ", %u bytes) is invalid",
                    q->path, backing_off, backing_len);
            return -EINVAL;
        }
        q->backing_name = strndup((const char *)hdr + backing_off, backing_len);
        if (!q->backing_name)
            return -ENOMEM;
        if (strlen(q->backing_name) != backing_len) {
            log_err("disk: %s: backing file name contains a NUL byte", q->path);
            return -EINVAL;
        }
        ext_end = backing_off;
    }
    return parse_extensions(q, hdr, ext_end);
}

int qcow2_header_write(struct qcow2 *q, uint64_t off, const void *buf, size_t len)
{
    int err = qcow2_pwrite(q, buf, len, off);

    if (!err)
        err = qcow2_sync(q);
    if (err)
        log_err("disk: %s: updating the header: %s", q->path, strerror(-err));
    return err;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The header cluster with the backing file name and format replaced, other extensions kept. */
static int rebuild(struct qcow2 *q, const uint8_t *old, uint8_t *hdr, const char *name,
                   const char *fmt)
{
    uint64_t boff = qcow2_be64(old + 8), end = boff ? boff : q->cluster_size, pos, npos;
    size_t flen = fmt ? strlen(fmt) : 0, nlen = name ? strlen(name) : 0;

    memcpy(hdr, old, q->header_length);
    npos = q->header_length;
    if (fmt) {
        put32(hdr + npos, QCOW2_EXT_BACKING_FMT);
        put32(hdr + npos + 4, (uint32_t)flen);
        memcpy(hdr + npos + 8, fmt, flen);
        npos += 8 + ((flen + 7) & ~(size_t)7);
    }
    for (pos = q->header_length; pos + 8 <= end;) {
        uint32_t type = be32(old + pos), len = be32(old + pos + 4);
        uint64_t size = 8 + (((uint64_t)len + 7) & ~7ULL);
        if (type == QCOW2_EXT_END || pos + size > end)
            break;
        if (type != QCOW2_EXT_BACKING_FMT) {
            if (npos + size + 8 > q->cluster_size)
                return -ENOSPC;
            memcpy(hdr + npos, old + pos, size);
            npos += size;
        }
        pos += size;
    }
    npos += 8; /* the end-of-extensions marker: zeroes */
    if (npos + nlen > q->cluster_size)
        return -ENOSPC;
    qcow2_put_be64(hdr + 8, name ? npos : 0);
    put32(hdr + 16, (uint32_t)nlen);
    if (name)
        memcpy(hdr + npos, name, nlen);
    return 0;
}

int disk_qcow2_set_backing(struct disk *d, const char *name, const char *fmt)
{
    struct qcow2 *q = qcow2_of(d);
    uint8_t *old = NULL, *hdr = NULL;
    char *nname = NULL;
    int err;

    if (q->readonly)
        return -EROFS;
    if ((name && (!name[0] || strlen(name) > QCOW2_MAX_BACKING_LEN)) ||
        (fmt && strlen(fmt) >= sizeof(q->backing_fmt))) {
        log_err("disk: %s: backing file name must be 1 to %d bytes", q->path,
                QCOW2_MAX_BACKING_LEN);
        return -EINVAL;
    }
    if (name && !(nname = strdup(name)))
        return -ENOMEM;
    pthread_mutex_lock(&q->lock);
    old = malloc(q->cluster_size);
    hdr = calloc(1, q->cluster_size);
    err = old && hdr ? qcow2_settle(q) : -ENOMEM;
    if (!err)
        err = qcow2_pread(q, old, q->cluster_size, 0);
    if (!err) {
        err = rebuild(q, old, hdr, name, name ? fmt : NULL);
        if (err == -ENOSPC)
            log_err("disk: %s: the backing file name does not fit in the header cluster", q->path);
    }
    if (!err)
        err = qcow2_header_write(q, 0, hdr, q->cluster_size);
    if (!err) {
        free(q->backing_name);
        q->backing_name = nname;
        nname = NULL;
        snprintf(q->backing_fmt, sizeof(q->backing_fmt), "%s", name && fmt ? fmt : "");
    }
    pthread_mutex_unlock(&q->lock);
    free(nname);
    free(old);
    free(hdr);
    return err;
}
