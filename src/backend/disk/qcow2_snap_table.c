/* qcow2: the internal snapshot table. The table is file-controlled and hostile: its offset,
 * every entry's length fields and every snapshot's L1 table are checked before use, within
 * QEMU's limits (65536 snapshots, 64 MiB of table, 1 KiB of extra data per entry).
 *
 * An entry: l1_table_offset (8), l1_size (4), id_str_size (2), name_size (2), date_sec (4),
 * date_nsec (4), vm_clock_nsec (8), vm_state_size (4), extra_data_size (4), extra data (QEMU
 * writes 24 bytes: vm_state_size_large, disk_size, icount), the ID, the name, padding to 8. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/qcow2_int.h"
#include "base/log.h"

#define ENTRY_FIXED 40

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void qcow2_snap_free(struct disk_qcow2_snapshot *s, uint32_t n)
{
    for (uint32_t i = 0; s && i < n; i++) {
        free(s[i].id);
        free(s[i].name);
        free(s[i].extra);
    }
    free(s);
}

static int check_l1(struct qcow2 *q, uint32_t i, const struct disk_qcow2_snapshot *s)
{
    uint64_t bytes = (uint64_t)s->l1_size * 8, end;

    if (bytes > QCOW2_MAX_L1_BYTES || (s->l1_offset & (q->cluster_size - 1)) ||
        (bytes && s->l1_offset < q->cluster_size) ||
        __builtin_add_overflow(s->l1_offset, bytes, &end) || end > q->file_size) {
        log_err("disk: %s: snapshot %u: L1 table at 0x%" PRIx64 " (%u entries) is misaligned, "
                "too large, over the header or past end of file",
                q->path, i + 1, s->l1_offset, s->l1_size);
        return -EINVAL;
    }
    return 0;
}

static char *str_of(struct qcow2 *q, uint32_t i, const char *what, const uint8_t *p, size_t n)
{
    char *s;

    if (memchr(p, 0, n)) {
        log_err("disk: %s: snapshot %u: the %s contains a NUL byte", q->path, i + 1, what);
        return NULL;
    }
    s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int qcow2_snap_parse(struct qcow2 *q, const uint8_t *buf, size_t len, uint32_t nb,
                     struct disk_qcow2_snapshot **out, uint64_t *used)
{
    struct disk_qcow2_snapshot *list;
    size_t pos = 0;
    int err = -EINVAL;

    if (nb > QCOW2_MAX_SNAPSHOTS) {
        log_err("disk: %s: %u snapshots is more than %d", q->path, nb, QCOW2_MAX_SNAPSHOTS);
        return -EINVAL;
    }
    list = calloc(nb ? nb : 1, sizeof(*list));
    if (!list)
        return -ENOMEM;
    for (uint32_t i = 0; i < nb; i++) {
        struct disk_qcow2_snapshot *s = &list[i];
        const uint8_t *e;
        uint32_t extra, vm32;
        uint16_t idn, namen;
        size_t need;

        pos = (pos + 7) & ~(size_t)7;
        if (pos + ENTRY_FIXED > len) {
            err = -EAGAIN;
            goto fail;
        }
        e = buf + pos;
        s->l1_offset = qcow2_be64(e);
        s->l1_size = be32(e + 8);
        idn = be16(e + 12);
        namen = be16(e + 14);
        s->date_sec = be32(e + 16);
        s->date_nsec = be32(e + 20);
        s->vm_clock_ns = qcow2_be64(e + 24);
        vm32 = be32(e + 32);
        extra = be32(e + 36);
        if (extra > QCOW2_MAX_SNAP_EXTRA) {
            log_err("disk: %s: snapshot %u: %u bytes of extra data is more than %d", q->path, i + 1,
                    extra, QCOW2_MAX_SNAP_EXTRA);
            goto fail;
        }
        need = ENTRY_FIXED + (size_t)extra + idn + namen;
        if (pos + need > len) {
            err = -EAGAIN;
            goto fail;
        }
        s->vm_state_size = vm32;
        s->disk_size = q->size; /* version 2 entries may not record it */
        s->icount = UINT64_MAX;
        if (extra >= 8)
            s->vm_state_size = qcow2_be64(e + 40);
        if (extra >= 16)
            s->disk_size = qcow2_be64(e + 48);
        if (extra >= 24)
            s->icount = qcow2_be64(e + 56);
        s->extra_len = extra;
        if (extra && !(s->extra = malloc(extra))) {
            err = -ENOMEM;
            goto fail;
        }
        if (extra)
            memcpy(s->extra, e + ENTRY_FIXED, extra);
        s->id = str_of(q, i, "ID", e + ENTRY_FIXED + extra, idn);
        s->name = s->id ? str_of(q, i, "name", e + ENTRY_FIXED + extra + idn, namen) : NULL;
        if (!s->id || !s->name)
            goto fail;
        if (s->disk_size > (1ULL << 62) || (s->disk_size & 511)) {
            log_err("disk: %s: snapshot %u: disk size %" PRIu64 " is invalid", q->path, i + 1,
                    s->disk_size);
            goto fail;
        }
        err = check_l1(q, i, s);
        if (err)
            goto fail;
        err = -EINVAL;
        pos += need;
        if (pos > QCOW2_MAX_SNAP_BYTES) {
            log_err("disk: %s: the snapshot table is larger than %u MiB", q->path,
                    QCOW2_MAX_SNAP_BYTES >> 20);
            goto fail;
        }
    }
    *out = list;
    *used = pos;
    return 0;
fail:
    qcow2_snap_free(list, nb);
    return err;
}

int qcow2_snap_load(struct qcow2 *q)
{
    uint64_t max, want = 64u << 10, used;
    struct disk_qcow2_snapshot *list;
    uint8_t *buf = NULL;
    int err;

    if (!q->nb_snapshots)
        return 0;
    if ((q->snap_offset & (q->cluster_size - 1)) || q->snap_offset < q->cluster_size ||
        q->snap_offset >= q->file_size) {
        log_err("disk: %s: snapshot table at 0x%" PRIx64 " is misaligned, over the header or "
                "past end of file",
                q->path, q->snap_offset);
        return -EINVAL;
    }
    max = q->file_size - q->snap_offset;
    if (max > QCOW2_MAX_SNAP_BYTES)
        max = QCOW2_MAX_SNAP_BYTES;
    for (;;) {
        uint8_t *nbuf;
        if (want > max)
            want = max;
        nbuf = realloc(buf, want);
        if (!nbuf) {
            free(buf);
            return -ENOMEM;
        }
        buf = nbuf;
        err = qcow2_pread(q, buf, want, q->snap_offset);
        if (!err)
            err = qcow2_snap_parse(q, buf, want, q->nb_snapshots, &list, &used);
        if (err != -EAGAIN || want == max)
            break;
        want *= 4;
    }
    free(buf);
    if (err == -EAGAIN)
        log_err("disk: %s: the snapshot table (%u entries) runs past end of file", q->path,
                q->nb_snapshots);
    if (err)
        return err == -EAGAIN ? -EINVAL : err;
    q->snaps = list;
    q->snap_size = used;
    return 0;
}

int qcow2_snap_serialize(const struct disk_qcow2_snapshot *s, uint32_t n, uint8_t **buf,
                         size_t *len)
{
    size_t total = 0, pos = 0;
    uint8_t *b;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t extra =
            s[i].extra_len > QCOW2_SNAP_EXTRA_LEN ? s[i].extra_len : QCOW2_SNAP_EXTRA_LEN;
        total = (total + 7) & ~(size_t)7;
        total += ENTRY_FIXED + extra + strlen(s[i].id) + strlen(s[i].name);
    }
    total = (total + 7) & ~(size_t)7;
    if (total > QCOW2_MAX_SNAP_BYTES)
        return -EFBIG;
    b = calloc(1, total ? total : 8);
    if (!b)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t extra =
            s[i].extra_len > QCOW2_SNAP_EXTRA_LEN ? s[i].extra_len : QCOW2_SNAP_EXTRA_LEN;
        size_t idn = strlen(s[i].id), namen = strlen(s[i].name);
        uint8_t *e;

        if (idn > UINT16_MAX || namen > UINT16_MAX) {
            free(b);
            return -ENAMETOOLONG;
        }
        pos = (pos + 7) & ~(size_t)7;
        e = b + pos;
        qcow2_put_be64(e, s[i].l1_offset);
        put32(e + 8, s[i].l1_size);
        e[12] = (uint8_t)(idn >> 8);
        e[13] = (uint8_t)idn;
        e[14] = (uint8_t)(namen >> 8);
        e[15] = (uint8_t)namen;
        put32(e + 16, s[i].date_sec);
        put32(e + 20, s[i].date_nsec);
        qcow2_put_be64(e + 24, s[i].vm_clock_ns);
        /* older readers take a state too large for 32 bits as "no state", not a truncated one */
        put32(e + 32, s[i].vm_state_size > UINT32_MAX ? 0 : (uint32_t)s[i].vm_state_size);
        put32(e + 36, extra);
        if (s[i].extra_len > QCOW2_SNAP_EXTRA_LEN)
            memcpy(e + ENTRY_FIXED, s[i].extra, s[i].extra_len);
        qcow2_put_be64(e + 40, s[i].vm_state_size);
        qcow2_put_be64(e + 48, s[i].disk_size);
        qcow2_put_be64(e + 56, s[i].icount);
        memcpy(e + ENTRY_FIXED + extra, s[i].id, idn);
        memcpy(e + ENTRY_FIXED + extra + idn, s[i].name, namen);
        pos += ENTRY_FIXED + extra + idn + namen;
    }
    *buf = b;
    *len = total;
    return 0;
}

int qcow2_snap_store(struct qcow2 *q, struct disk_qcow2_snapshot *list, uint32_t n)
{
    uint64_t off = 0, old_off = q->snap_offset, old_size = q->snap_size;
    uint32_t old_n = q->nb_snapshots;
    uint8_t *buf = NULL, hdr[12];
    size_t len = 0;
    int err;

    err = qcow2_snap_serialize(list, n, &buf, &len);
    if (err)
        return err;
    if (n) {
        err = qcow2_alloc_clusters(q, (len + q->cluster_size - 1) >> q->cluster_bits, &off);
        if (!err)
            err = qcow2_pwrite(q, buf, len, off);
    }
    free(buf);
    /* the table and the refcounts that account for it are durable before the header names it */
    if (!err)
        err = qcow2_flush_meta(q);
    if (!err)
        err = qcow2_sync(q);
    if (err)
        return err;
    put32(hdr, n);
    qcow2_put_be64(hdr + 4, off);
    err = qcow2_header_write(q, 60, hdr, sizeof(hdr));
    if (err)
        return err;
    q->snaps = list; /* the caller frees the old array (the entries may live on in list) */
    q->nb_snapshots = n;
    q->snap_offset = off;
    q->snap_size = n ? len : 0;
    if (old_n && old_size)
        err = qcow2_rc_add_range(q, old_off, old_size, -1);
    if (!err)
        err = qcow2_meta_snapshots(q);
    return err;
}
