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
#include "backend/disk/qcow2.h"

#define QCOW2_MAGIC_BE         0x514649fbu /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_V2_HEADER_LEN    72
#define QCOW2_V3_HEADER_LEN    104
#define QCOW2_MAX_L1_BYTES     (32u << 20) /* like QEMU: larger L1 tables are refused */
#define QCOW2_MAX_RT_BYTES     (8u << 20)
#define QCOW2_MAX_BACKING_LEN  1023
#define QCOW2_MAX_CHAIN        64
#define QCOW2_MAX_SNAPSHOTS    65536 /* QEMU's limits for the snapshot table */
#define QCOW2_MAX_SNAP_BYTES   (64u << 20)
#define QCOW2_MAX_SNAP_EXTRA   1024
#define QCOW2_SNAP_EXTRA_LEN   24 /* vm_state_size_large, disk_size, icount */

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
#define QCOW2_L1_RESERVED      0x7f000000000001ffULL /* bits 0-8, 56-62 */
#define QCOW2_L2_RESERVED      0x3f000000000001feULL /* bits 1-8, 56-61 (standard entries) */
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

/* Metadata kinds, for the overlap checks of qcow2_meta.c */
#define QCOW2_META_HEADER     0x01u
#define QCOW2_META_L1         0x02u
#define QCOW2_META_RT         0x04u
#define QCOW2_META_L2         0x08u
#define QCOW2_META_RB         0x10u
#define QCOW2_META_SNAP_TABLE 0x20u
#define QCOW2_META_SNAP_L1    0x40u

struct qcow2_meta_set {
    uint64_t *key; /* host cluster index + 1; 0 = empty slot */
    uint8_t *type; /* QCOW2_META_L2 | QCOW2_META_RB; 0 = forgotten */
    size_t cap, used;
};

struct qcow2_range {
    uint64_t off, end;
    uint8_t type;
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
    struct qcow2_meta_set meta;      /* L2 tables and refcount blocks */
    struct qcow2_range *snap_ranges; /* snapshot table and L1s, sorted, disjoint */
    size_t n_snap_ranges;

    struct disk_qcow2_snapshot *snaps; /* nb_snapshots entries */
    uint64_t snap_offset, snap_size;   /* the snapshot table in the file */

    uint64_t cfree; /* next free byte for compressed data (0: none) */
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
    uint8_t *l2copy;     /* one cluster: copying a shared L2 table */
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

/* qcow2_meta.c: metadata clusters, for overlap checks */
int qcow2_meta_init(struct qcow2 *q);
void qcow2_meta_free(struct qcow2 *q);
int qcow2_meta_add(struct qcow2 *q, uint64_t off, unsigned type);
void qcow2_meta_forget(struct qcow2 *q, uint64_t off); /* its refcount dropped to 0 */
int qcow2_meta_snapshots(struct qcow2 *q);             /* after the snapshot list changed */
/* QCOW2_META_* kinds of metadata in the cluster at off (0: none) */
unsigned qcow2_meta_at(const struct qcow2 *q, uint64_t off);
const char *qcow2_meta_name(unsigned type);

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
/* n contiguous clusters */
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *off);
/* Adds delta to the refcount of every cluster touching [off, off+len) now (not after the next
 * flush); a cluster that reaches 0 is free at once: only for clusters nothing on disk names. */
int qcow2_rc_add_range(struct qcow2 *q, uint64_t off, uint64_t len, int delta);
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
void qcow2_l1_dirty(struct qcow2 *q, uint32_t i);
int qcow2_check_data_offset(struct qcow2 *q, uint64_t off, uint64_t vc);
/* This layer's view of guest bytes [off, off+len) from off on (disk_ops.extent). */
int qcow2_extent(struct qcow2 *q, uint64_t off, uint64_t len, struct disk_extent *e);

/* qcow2_snap_table.c: the snapshot table */
int qcow2_snap_load(struct qcow2 *q);
/* Parses nb entries from buf[0, len), the table at file offset q->snap_offset. Returns 0 with
 * *out (nb entries) and *used (the table's bytes), -EAGAIN when len is too short, -EINVAL
 * (logged) for an invalid entry, -ENOMEM. */
int qcow2_snap_parse(struct qcow2 *q, const uint8_t *buf, size_t len, uint32_t nb,
                     struct disk_qcow2_snapshot **out, uint64_t *used);
int qcow2_snap_serialize(const struct disk_qcow2_snapshot *s, uint32_t n, uint8_t **buf,
                         size_t *len);
/* Writes the list as the new snapshot table (new clusters), points the header at it and frees
 * the old table. q->snaps becomes list once the header names the new table - even if freeing
 * the old one then fails (-errno); the caller frees the old array then, else list. */
int qcow2_snap_store(struct qcow2 *q, struct disk_qcow2_snapshot *list, uint32_t n);
void qcow2_snap_free(struct disk_qcow2_snapshot *s, uint32_t n);

/* qcow2_resize.c */
/* Replaces the L1 table by one of entries entries (the current ones, zeroes after them). */
int qcow2_l1_grow(struct qcow2 *q, uint32_t entries);
/* Flushes the metadata until nothing is pending (two rounds: frees reach the disk too). */
int qcow2_settle(struct qcow2 *q);

/* qcow2_header.c: header updates */
int qcow2_header_write(struct qcow2 *q, uint64_t off, const void *buf, size_t len);

/* qcow2_compress.c: decompress the cluster of a compressed L2 entry into q->dbuf. */
int qcow2_decompress(struct qcow2 *q, uint64_t entry);
void qcow2_compress_free(struct qcow2 *q);

/* qcow2_backing.c */
int qcow2_open_backing(struct qcow2 *q, const struct qcow2_chain *chain);
/* dirname(image) + "/" + name unless name is absolute; malloc'd */
char *qcow2_resolve_backing(const char *image, const char *name);

/* qcow2_zero.c: zeroes guest bytes [off, off+len): whole clusters get the zero flag (over a
 * backing file) or become unallocated; with unmap they become unallocated even over a backing
 * file. */
int qcow2_zero_range(struct qcow2 *q, uint64_t off, uint64_t len, bool unmap);

/* qcow2.c */
/* Writes (or zeroes, with iov NULL) guest bytes [off, off+total), lock held. */
int qcow2_write(struct qcow2 *q, uint64_t off, const struct iovec *iov, int cnt, size_t total);
int qcow2_open_fd(struct disk *d, int fd, unsigned flags, const struct qcow2_chain *chain);
static inline struct qcow2 *qcow2_of(struct disk *d)
{
    return (struct qcow2 *)d->priv;
}

#endif
