/* qcow2 internals shared by the qcow2*.c files; nothing outside src/backend/disk includes this.
 *
 * Locking: one mutex per image (struct qcow2.lock) is held by every disk op for its whole
 * duration; every function here expects it held (or the image not yet shared).
 *
 * Crash consistency (see docs/storage.md): data is written in place or into freshly allocated
 * clusters first; the L2/L1 entries that point at new clusters and the refcounts that account
 * for them stay in memory (the metadata caches) until a flush, which writes refcount blocks,
 * fdatasyncs (data and refcounts durable), writes L2 tables, fdatasyncs, then writes L1 and
 * fdatasyncs. Clusters that stop being referenced are only put on a pending-free list; their
 * refcounts are decremented after the metadata that stopped pointing at them is durable, so
 * a crash can leak clusters but never leave metadata pointing at unwritten or reused data. */
#ifndef VESSEL_BACKEND_DISK_QCOW2_INT_H
#define VESSEL_BACKEND_DISK_QCOW2_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backend/disk/disk.h"

#define QCOW2_MAGIC_BE         0x514649fbu /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_V2_HEADER_LEN    72
#define QCOW2_V3_HEADER_LEN    104
#define QCOW2_MAX_L1_BYTES     (32u << 20) /* like QEMU: larger L1 tables are refused */
#define QCOW2_MAX_RT_BYTES     (8u << 20)
#define QCOW2_MAX_BACKING_LEN  1023
#define QCOW2_MAX_CHAIN        64

#define QCOW2_INCOMPAT_DIRTY    (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT  (1ULL << 1)
#define QCOW2_INCOMPAT_DATAFILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESS (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2    (1ULL << 4)

#define QCOW2_EXT_END         0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_DATA_FILE   0x44415441u

#define QCOW2_OFLAG_COPIED     (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO       (1ULL << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ULL /* bits 9-55 */
#define QCOW2_RT_OFFSET_MASK   0xfffffffffffffe00ULL /* bits 9-63 */

#define QCOW2_COMPRESS_ZLIB 0
#define QCOW2_COMPRESS_ZSTD 1

/* Open flags for qcow2_open_fd() */
#define QCOW2_OPEN_NO_BACKING 1u /* check and fuzzing: the chain is not opened */

struct qcow2_cache_ent {
    uint64_t off; /* host offset of the cached cluster; 0 = empty slot */
    uint64_t lru;
    uint8_t *data;
    bool dirty;
};

struct qcow2_cache {
    struct qcow2_cache_ent *e;
    unsigned n, last;
    uint64_t tick;
};

/* A chain of images being opened, for backing-file loop detection. */
struct qcow2_chain {
    const struct qcow2_chain *next;
    uint64_t dev, ino;
    unsigned depth;
};

struct qcow2 {
    pthread_mutex_t lock;
    int fd;
    const char *path; /* the struct disk's path */
    bool readonly;

    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits; /* log2 of entries per L2 table */
    uint32_t refcount_order;
    uint32_t rb_bits; /* log2 of refcount entries per refcount block */
    uint64_t size;
    uint64_t incompat, compat, autoclear;
    uint32_t header_length;
    uint8_t compression_type;
    uint32_t nb_snapshots;

    uint64_t *l1; /* host byte order */
    uint32_t l1_size;
    uint64_t l1_offset;
    uint32_t l1_dirty_lo, l1_dirty_hi; /* dirty entries [lo, hi); lo == hi: clean */

    uint64_t *rt; /* refcount table, host byte order */
    uint64_t rt_entries;
    uint64_t rt_offset;
    uint32_t rt_clusters;

    struct qcow2_cache l2c, rbc;
    bool in_flush;

    uint64_t free_hint; /* no free cluster below this index */
    uint64_t file_size; /* the file covers every allocated cluster */
    bool data_dirty;    /* data written since the last fdatasync */

    uint64_t *pending_free; /* host cluster indexes to decrement after the next flush */
    size_t n_pending, cap_pending;

    struct disk *backing;
    char *backing_name;   /* as stored in the image */
    char *backing_path;   /* resolved against the image's directory */
    char backing_fmt[16]; /* from the header extension, "" if absent */

    uint8_t *bounce;     /* one cluster: copy-on-write assembly */
    uint8_t *cbuf;       /* compressed input, 2 clusters */
    uint8_t *dbuf;       /* one decompressed cluster */
    uint64_t dbuf_entry; /* the L2 entry dbuf holds, 0 = none */
    void *zstd;          /* ZSTD_DCtx, created on first use */
};

/* qcow2_io.c: I/O helpers */
int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off); /* EOF reads zeros */
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off);
int qcow2_preadv(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off);
int qcow2_pwritev(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off);
int qcow2_sync(struct qcow2 *q);
/* Bytes [skip, skip+len) of iov into out (max entries); returns count or -EINVAL. */
int qcow2_iov_slice(const struct iovec *iov, int cnt, size_t skip, size_t len, struct iovec *out,
                    int max);
void qcow2_iov_copy(const struct iovec *iov, int cnt, size_t skip, void *buf, size_t len,
                    bool to_iov);
void qcow2_iov_zero(const struct iovec *iov, int cnt, size_t skip, size_t len);
static inline uint64_t qcow2_be64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
static inline void qcow2_put_be64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    __builtin_memcpy(p, &v, 8);
}

/* qcow2_header.c */
int qcow2_parse_header(struct qcow2 *q, const uint8_t *hdr, uint64_t file_size);
/* true when [off, off+len) overlaps the header cluster, the L1 or the refcount table */
bool qcow2_overlaps_fixed(const struct qcow2 *q, uint64_t off, uint64_t len);

/* qcow2_cache.c: L2 tables and refcount blocks, and the ordered metadata flush */
int qcow2_cache_init(struct qcow2 *q, struct qcow2_cache *c, unsigned n);
void qcow2_cache_free(struct qcow2_cache *c);
/* The cluster at off; fresh: do not read it, start from zeroes (a newly allocated table). The
 * pointer stays valid until the next qcow2_cache_get on the same cache. */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool fresh,
                    struct qcow2_cache_ent **out);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);
int qcow2_flush_meta(struct qcow2 *q);

/* qcow2_refcount.c */
void qcow2_rb_write(unsigned order, uint8_t *block, uint64_t index, uint64_t rc);
int qcow2_rc_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_rc_set(struct qcow2 *q, uint64_t cluster, uint64_t rc);
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off);
int qcow2_free_later(struct qcow2 *q, uint64_t off, uint64_t len); /* clusters touching range */
int qcow2_apply_pending_frees(struct qcow2 *q);
/* The host byte range a compressed L2 entry's data occupies. */
void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len);

/* qcow2_l2.c */
enum qcow2_kind { QCOW2_UNALLOC, QCOW2_ZERO, QCOW2_NORMAL, QCOW2_COMPRESSED };
/* Mapping of guest cluster vc: *entry is the raw L2 entry (0 when no L2 table). */
int qcow2_lookup(struct qcow2 *q, uint64_t vc, uint64_t *entry, enum qcow2_kind *kind);
/* Set the L2 entry of guest cluster vc, allocating the L2 table when needed. */
int qcow2_set_entry(struct qcow2 *q, uint64_t vc, uint64_t entry);
int qcow2_check_data_offset(struct qcow2 *q, uint64_t off, uint64_t vc);

/* qcow2_compress.c: decompress the cluster of a compressed L2 entry into q->dbuf. */
int qcow2_decompress(struct qcow2 *q, uint64_t entry);
void qcow2_compress_free(struct qcow2 *q);

/* qcow2_backing.c */
int qcow2_open_backing(struct qcow2 *q, const struct qcow2_chain *chain);
/* dirname(image) + "/" + name unless name is absolute; malloc'd */
char *qcow2_resolve_backing(const char *image, const char *name);

/* qcow2.c */
int qcow2_open_fd(struct disk *d, int fd, unsigned flags, const struct qcow2_chain *chain);
static inline struct qcow2 *qcow2_of(struct disk *d)
{
    return (struct qcow2 *)d->priv;
}

#endif
