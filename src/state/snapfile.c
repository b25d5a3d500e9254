/* The state file format (docs/state-format.md): layout, writing and checked reading. */
#include "state/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/file.h"
#include "base/le.h"
#include "base/log.h"

#define SNAP_MAGIC        "VESSELST"
#define FILE_HDR_SIZE     SNAP_FILE_HDR_SIZE
#define SEC_HDR_SIZE      SNAP_SEC_HDR_SIZE
#define SNAP_PAGE         4096
#define SNAP_MAX_SECTIONS 4096

uint32_t snap_crc(uint32_t c, const void *data, uint64_t len)
{
    const uint8_t *p = data;

    while (len) {
        uInt n = len > (1U << 30) ? (1U << 30) : (uInt)len;
        c = (uint32_t)crc32(c, p, n);
        p += n;
        len -= n;
    }
    return c;
}

static int write_all(struct snap_writer *w, const void *buf, uint64_t len)
{
    int err = file_write_all(w->fd, buf, (size_t)len);

    if (!err)
        w->pos += len;
    return err;
}

void snap_mac_begin(struct snap_mac *m)
{
    uint8_t le[8];

    le64_put(le, m->seq);
    hmac256_update(&m->key, le, sizeof(le));
}

void snap_mac_update(struct snap_mac *m, const void *data, uint64_t len)
{
    const uint8_t *p = data;

    while (len) {
        size_t n = len > (1U << 30) ? (1U << 30) : (size_t)len;
        hmac256_update(&m->key, p, n);
        p += n;
        len -= n;
    }
}

void snap_mac_end(struct snap_mac *m, uint8_t tag[SNAP_MAC_LEN])
{
    hmac256_final(&m->key, tag);
    m->seq++;
}

bool snap_mac_check(struct snap_mac *m, const uint8_t tag[SNAP_MAC_LEN])
{
    uint8_t want[SNAP_MAC_LEN];
    bool ok;

    snap_mac_end(m, want);
    ok = hmac256_equal(want, tag, SNAP_MAC_LEN);
    hmac256_wipe(want, sizeof(want));
    return ok;
}

/* A stream's tag after a unit of up to three parts (none when the stream has no MAC). */
static int write_tag(struct snap_writer *w, const void *a, uint64_t alen, const void *b,
                     uint64_t blen, const void *c, uint64_t clen)
{
    uint8_t tag[SNAP_MAC_LEN];

    if (!w->mac)
        return 0;
    snap_mac_begin(w->mac);
    snap_mac_update(w->mac, a, alen);
    snap_mac_update(w->mac, b, blen);
    snap_mac_update(w->mac, c, clen);
    snap_mac_end(w->mac, tag);
    return write_all(w, tag, sizeof(tag));
}

static uint32_t crc(uint32_t c, const void *data, uint64_t len)
{
    return snap_crc(c, data, len);
}

static int write_file_header(struct snap_writer *w, const char *engine, const char *arch)
{
    uint8_t h[FILE_HDR_SIZE] = {0};
    int err;

    memcpy(h, SNAP_MAGIC, 8);
    le32_put(h + 8, SNAP_VERSION);
    le32_put(h + 12, FILE_HDR_SIZE);
    strncpy((char *)h + 16, engine, 8);
    strncpy((char *)h + 24, arch, 16);
    le64_put(h + 40, (uint64_t)time(NULL));
    le32_put(h + 60, crc(0, h, 60));
    err = write_all(w, h, sizeof(h));
    return err ? err : write_tag(w, h, sizeof(h), NULL, 0, NULL, 0);
}

int snap_writer_open_fd(struct snap_writer *w, int fd, const char *engine, const char *arch)
{
    return snap_writer_open_mac(w, fd, engine, arch, NULL);
}

int snap_writer_open_mac(struct snap_writer *w, int fd, const char *engine, const char *arch,
                         struct snap_mac *mac)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->dirfd = -1;
    w->mac = mac;
    return write_file_header(w, engine, arch);
}

/* An existing final name must be a regular file (it is replaced by the rename); 0 when it is
 * or when there is none, else -EEXIST (logged). */
static int check_target(const struct snap_writer *w)
{
    struct stat st;

    if (fstatat(w->dirfd, w->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISREG(st.st_mode))
        return 0;
    log_err("state: %s: exists and is not a regular file (%s); not replaced", w->path,
            S_ISLNK(st.st_mode)    ? "a symbolic link"
            : S_ISFIFO(st.st_mode) ? "a FIFO"
            : S_ISDIR(st.st_mode)  ? "a directory"
                                   : "a device or socket");
    return -EEXIST;
}

/* The directory and the final name of path, and a new temporary file beside it. */
static int open_tmp(struct snap_writer *w, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int err = 0;

    w->base = strdup(slash ? slash + 1 : path);
    if (!dir || !w->base) {
        free(dir);
        return -ENOMEM;
    }
    if (!w->base[0] || !strcmp(w->base, ".") || !strcmp(w->base, "..")) {
        log_err("state: %s: not a file name", path);
        free(dir);
        return -EINVAL;
    }
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        err = -errno;
        log_err("state: %s: %s", dir, strerror(errno));
    }
    free(dir);
    if (!err)
        err = check_target(w);
    for (int tries = 0; !err && w->fd < 0; tries++) {
        uint8_t rnd[6];

        free(w->tmp_base);
        free(w->tmp_path);
        w->tmp_base = w->tmp_path = NULL;
        err = hmac256_random(rnd, sizeof(rnd));
        if (err)
            break;
        if (asprintf(&w->tmp_base, "%s.tmp-%02x%02x%02x%02x%02x%02x", w->base, rnd[0], rnd[1],
                     rnd[2], rnd[3], rnd[4], rnd[5]) < 0 ||
            asprintf(&w->tmp_path, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2],
                     rnd[3], rnd[4], rnd[5]) < 0) {
            w->tmp_base = w->tmp_path = NULL;
            return -ENOMEM;
        }
        /* A new file of ours, or nothing: never a planted file, link or FIFO. */
        w->fd = openat(w->dirfd, w->tmp_base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0600);
        if (w->fd < 0 && (errno != EEXIST || tries == 8)) {
            err = -errno;
            log_err("state: %s: %s", w->tmp_path, strerror(errno));
        }
    }
    return err;
}

int snap_writer_open(struct snap_writer *w, const char *path, const char *engine, const char *arch)
{
    int err;

    memset(w, 0, sizeof(*w));
    w->fd = w->dirfd = -1;
    w->path = strdup(path);
    err = w->path ? open_tmp(w, path) : -ENOMEM;
    if (!err) {
        err = write_file_header(w, engine, arch);
        if (err)
            log_err("state: %s: %s", w->tmp_path, strerror(-err));
    }
    if (err) {
        if (!w->tmp_path || w->fd < 0) { /* nothing of ours to remove */
            free(w->tmp_base);
            w->tmp_base = NULL;
        }
        snap_writer_abort(w);
    }
    return err;
}

/* A section whose payload is a then b, starting on a multiple of align in the file. */
static int write_parts(struct snap_writer *w, enum snap_type type, uint32_t instance,
                       const char *name, const void *a, uint64_t alen, const void *b, uint64_t blen,
                       uint64_t align)
{
    static const uint8_t zeros[SNAP_PAGE];
    uint8_t h[SEC_HDR_SIZE] = {0};
    uint64_t start = w->pos + SEC_HDR_SIZE, pad = 0;
    int err;

    if (align > 1 && start % align)
        pad = align - start % align;
    le32_put(h + 0, (uint32_t)type);
    le32_put(h + 4, instance);
    if (name)
        strncpy((char *)h + 8, name, SNAP_NAME_LEN);
    le64_put(h + 24, alen + blen);
    le64_put(h + 32, start + pad);
    le32_put(h + 40, crc(crc(0, a, alen), b, blen));
    le32_put(h + 44, crc(0, h, 44));
    err = write_all(w, h, sizeof(h));
    if (!err && pad)
        err = write_all(w, zeros, pad);
    if (!err && alen)
        err = write_all(w, a, alen);
    if (!err && blen)
        err = write_all(w, b, blen);
    if (!err)
        err = write_tag(w, h, sizeof(h), a, alen, b, blen);
    if (err && w->tmp_path)
        log_err("state: %s: %s", w->tmp_path, strerror(-err));
    return err;
}

static int write_section(struct snap_writer *w, enum snap_type type, uint32_t instance,
                         const char *name, const void *data, uint64_t len, uint64_t align)
{
    return write_parts(w, type, instance, name, data, len, NULL, 0, align);
}

int snap_write_section(struct snap_writer *w, enum snap_type type, uint32_t instance,
                       const char *name, const void *data, uint64_t len)
{
    return write_section(w, type, instance, name, data, len, 1);
}

int snap_write_section2(struct snap_writer *w, enum snap_type type, uint32_t instance,
                        const char *name, const void *a, uint64_t alen, const void *b,
                        uint64_t blen)
{
    return write_parts(w, type, instance, name, a, alen, b, blen, 1);
}

/* CRC-32 of len zero bytes (len a multiple of 4 KiB, below 4 KiB << 40), in O(log len) with
 * crc32_combine. */
static uint32_t crc_zeros(uint64_t len)
{
    static uint32_t pow2[40]; /* CRC of 4 KiB << k zero bytes */
    static const uint8_t zeros[SNAP_PAGE];
    uint32_t c = 0;
    bool first = true;

    if (!pow2[0]) {
        pow2[0] = crc(0, zeros, sizeof(zeros));
        for (int k = 1; k < 40; k++)
            pow2[k] = (uint32_t)crc32_combine(pow2[k - 1], pow2[k - 1],
                                              (z_off_t)((uint64_t)SNAP_PAGE << (k - 1)));
    }
    for (int k = 0; k < 40 && len; k++) {
        uint64_t part = (uint64_t)SNAP_PAGE << k;
        if (len & part) {
            c = first ? pow2[k] : (uint32_t)crc32_combine(c, pow2[k], (z_off_t)part);
            first = false;
            len &= ~part;
        }
    }
    return c;
}

int snap_write_memory(struct snap_writer *w, uint32_t instance, const void *mem, uint64_t len,
                      int memfd)
{
    uint8_t h[SEC_HDR_SIZE] = {0};
    uint64_t start = w->pos + SEC_HDR_SIZE, pad = (SNAP_PAGE - start % SNAP_PAGE) % SNAP_PAGE;
    uint64_t off = 0, payload = start + pad;
    uint32_t c = 0;
    int err = 0;

    if (memfd < 0 || len % SNAP_PAGE || w->mac)
        return write_section(w, SNAP_MEMORY, instance, "ram", mem, len, SNAP_PAGE);
    /* The payload first (holes where the memfd has none), then its header with the CRC. */
    while (off < len && !err) {
        off_t data = lseek(memfd, (off_t)off, SEEK_DATA), hole;
        uint64_t d, e;

        if (data < 0 && errno == ENXIO)
            data = (off_t)len; /* no data up to the end */
        else if (data < 0) {
            err = -errno;
            break;
        }
        d = (uint64_t)data < len ? (uint64_t)data & ~(uint64_t)(SNAP_PAGE - 1) : len;
        if (d > off)
            c = (uint32_t)crc32_combine(c, crc_zeros(d - off), (z_off_t)(d - off));
        if (d >= len)
            break;
        hole = lseek(memfd, (off_t)d, SEEK_HOLE);
        e = hole < 0 || (uint64_t)hole > len
                ? len
                : ((uint64_t)hole + SNAP_PAGE - 1) & ~(uint64_t)(SNAP_PAGE - 1);
        if (e > len)
            e = len;
        for (uint64_t p = d; p < e && !err;) {
            uint64_t n = e - p > (1U << 30) ? (1U << 30) : e - p;
            ssize_t r = pwrite(w->fd, (const uint8_t *)mem + p, (size_t)n, (off_t)(payload + p));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                err = r < 0 ? -errno : -EIO;
                break;
            }
            c = crc(c, (const uint8_t *)mem + p, (uint64_t)r);
            p += (uint64_t)r;
        }
        off = e;
    }
    if (!err && ftruncate(w->fd, (off_t)(payload + len)) < 0)
        err = -errno;
    if (!err) {
        le32_put(h + 0, SNAP_MEMORY);
        le32_put(h + 4, instance);
        strncpy((char *)h + 8, "ram", SNAP_NAME_LEN);
        le64_put(h + 24, len);
        le64_put(h + 32, payload);
        le32_put(h + 40, c);
        le32_put(h + 44, crc(0, h, 44));
        if (pwrite(w->fd, h, sizeof(h), (off_t)w->pos) != (ssize_t)sizeof(h))
            err = -EIO;
    }
    if (!err && lseek(w->fd, (off_t)(payload + len), SEEK_SET) < 0)
        err = -errno;
    if (err) {
        log_err("state: %s: %s", w->tmp_path, strerror(-err));
        return err;
    }
    w->pos = payload + len;
    return 0;
}

int snap_writer_end(struct snap_writer *w)
{
    int err = write_section(w, SNAP_END, 0, NULL, NULL, 0, 1);

    if (err)
        snap_writer_abort(w);
    return err;
}

int snap_writer_commit(struct snap_writer *w)
{
    int err = 0;

    if (fsync(w->fd) < 0)
        err = -errno;
    if (!err && close(w->fd) < 0)
        err = -errno;
    else if (err)
        close(w->fd);
    w->fd = -1;
    if (!err)
        err = check_target(w); /* a link or FIFO planted meanwhile is not replaced either */
    if (!err && renameat(w->dirfd, w->tmp_base, w->dirfd, w->base) < 0)
        err = -errno;
    if (!err && fsync(w->dirfd) < 0) /* the new name is durable too */
        err = -errno;
    if (err) {
        if (err != -EEXIST)
            log_err("state: %s: %s", w->path, strerror(-err));
        snap_writer_abort(w);
        return err;
    }
    free(w->tmp_base);
    w->tmp_base = NULL;
    snap_writer_abort(w); /* closes the directory, frees the names */
    return 0;
}

int snap_writer_finish(struct snap_writer *w)
{
    int err = snap_writer_end(w);

    return err ? err : snap_writer_commit(w);
}

void snap_writer_abort(struct snap_writer *w)
{
    if (!w->path) { /* a stream: the fd is the caller's */
        w->fd = -1;
        return;
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp_base && w->dirfd >= 0)
        unlinkat(w->dirfd, w->tmp_base, 0); /* only the file this writer created */
    if (w->dirfd >= 0)
        close(w->dirfd);
    w->dirfd = -1;
    free(w->path);
    free(w->tmp_path);
    free(w->base);
    free(w->tmp_base);
    w->path = w->tmp_path = w->base = w->tmp_base = NULL;
}

static int pread_all(int fd, void *buf, uint64_t len, uint64_t off)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = pread(fd, p, len > (1U << 30) ? (1U << 30) : (size_t)len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EBADMSG; /* shorter than its headers say */
        p += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* CRC-32 of a payload, read in chunks. */
static int payload_crc(int fd, uint64_t off, uint64_t len, uint32_t *out)
{
    uint8_t *buf = malloc(1 << 20);
    uint32_t c = 0;
    int err = 0;

    if (!buf)
        return -ENOMEM;
    while (len && !err) {
        uint64_t n = len > (1 << 20) ? (1 << 20) : len;
        err = pread_all(fd, buf, n, off);
        c = crc(c, buf, n);
        off += n;
        len -= n;
    }
    free(buf);
    *out = c;
    return err;
}

int snap_parse_file_header(const uint8_t h[SNAP_FILE_HDR_SIZE], char *engine, char *arch, char *why,
                           size_t whylen)
{
    if (memcmp(h, SNAP_MAGIC, 8)) {
        snprintf(why, whylen, "not a Vessel state file");
        return -ENOEXEC;
    }
    if (le32_get(h + 60) != crc(0, h, 60)) {
        snprintf(why, whylen, "damaged file header (checksum mismatch)");
        return -EBADMSG;
    }
    if (le32_get(h + 8) != SNAP_VERSION) {
        snprintf(why, whylen, "state format version %u; this Vessel reads version %u",
                 le32_get(h + 8), SNAP_VERSION);
        return -EPROTO;
    }
    memcpy(engine, h + 16, 8);
    engine[8] = '\0';
    memcpy(arch, h + 24, 16);
    arch[16] = '\0';
    return 0;
}

int snap_parse_section_header(const uint8_t h[SNAP_SEC_HDR_SIZE], struct snap_section *sec,
                              char *why, size_t whylen)
{
    memset(sec, 0, sizeof(*sec));
    if (le32_get(h + 44) != crc(0, h, 44)) {
        snprintf(why, whylen, "damaged section header (checksum mismatch)");
        return -EBADMSG;
    }
    sec->type = le32_get(h);
    sec->instance = le32_get(h + 4);
    memcpy(sec->name, h + 8, SNAP_NAME_LEN);
    sec->length = le64_get(h + 24);
    sec->crc = le32_get(h + 40);
    return 0;
}

static int reader_fail(struct snap_reader *r, const char *path, int err, const char *what)
{
    log_err("state: %s: %s", path, what);
    snap_reader_close(r);
    return err;
}

int snap_reader_open(struct snap_reader *r, const char *path)
{
    uint8_t h[FILE_HDR_SIZE];
    struct stat st;
    uint64_t pos;
    char msg[160];
    int err;

    memset(r, 0, sizeof(*r));
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (r->fd < 0) {
        err = -errno;
        log_err("state: %s: %s", path, strerror(errno));
        return err;
    }
    if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode))
        return reader_fail(r, path, -EINVAL, "not a regular file");
    r->file_size = (uint64_t)st.st_size;
    if (r->file_size < FILE_HDR_SIZE || pread_all(r->fd, h, sizeof(h), 0))
        return reader_fail(r, path, -ENOEXEC, "not a Vessel state file");
    err = snap_parse_file_header(h, r->engine, r->arch, msg, sizeof(msg));
    if (err)
        return reader_fail(r, path, err, msg);
    for (pos = FILE_HDR_SIZE;;) {
        uint8_t s[SEC_HDR_SIZE];
        struct snap_section *sec, *grown;
        uint64_t end;

        if (pos + SEC_HDR_SIZE > r->file_size || pread_all(r->fd, s, sizeof(s), pos))
            return reader_fail(r, path, -EBADMSG, "truncated: no END section");
        if (r->nsec == SNAP_MAX_SECTIONS)
            return reader_fail(r, path, -EBADMSG, "too many sections");
        grown = realloc(r->sec, sizeof(*r->sec) * (size_t)(r->nsec + 1));
        if (!grown)
            return reader_fail(r, path, -ENOMEM, "out of memory");
        r->sec = grown;
        sec = &r->sec[r->nsec];
        if (snap_parse_section_header(s, sec, msg, sizeof(msg))) {
            snprintf(msg, sizeof(msg), "damaged section header at offset %llu",
                     (unsigned long long)pos);
            return reader_fail(r, path, -EBADMSG, msg);
        }
        sec->offset = le64_get(s + 32);
        if (sec->offset < pos + SEC_HDR_SIZE ||
            __builtin_add_overflow(sec->offset, sec->length, &end) || end > r->file_size) {
            snprintf(msg, sizeof(msg),
                     "truncated or damaged: section %s at offset %llu runs "
                     "past the end of the file",
                     sec->name, (unsigned long long)pos);
            return reader_fail(r, path, -EBADMSG, msg);
        }
        if (sec->type == SNAP_END)
            break;
        if (sec->type != SNAP_MEMORY) {
            uint32_t c;
            err = payload_crc(r->fd, sec->offset, sec->length, &c);
            if (err || c != sec->crc) {
                snprintf(msg, sizeof(msg),
                         "damaged section %s (type %u, instance %u): checksum "
                         "mismatch",
                         sec->name, sec->type, sec->instance);
                return reader_fail(r, path, -EBADMSG, msg);
            }
        }
        r->nsec++;
        pos = end;
    }
    return 0;
}

void snap_reader_close(struct snap_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->sec);
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

const struct snap_section *snap_find(const struct snap_reader *r, enum snap_type type,
                                     uint32_t instance, const char *name)
{
    for (int i = 0; i < r->nsec; i++) {
        const struct snap_section *s = &r->sec[i];
        if (s->type == (uint32_t)type && s->instance == instance &&
            (!name || !strncmp(s->name, name, SNAP_NAME_LEN)))
            return s;
    }
    return NULL;
}

int snap_read_payload(const struct snap_reader *r, const struct snap_section *sec, void *buf,
                      uint64_t len)
{
    if (len != sec->length)
        return -EINVAL;
    return pread_all(r->fd, buf, len, sec->offset);
}

int snap_verify_memory(const struct snap_reader *r, const struct snap_section *sec)
{
    uint32_t c;
    int err = payload_crc(r->fd, sec->offset, sec->length, &c);

    if (err)
        return err;
    return c == sec->crc ? 0 : -EBADMSG;
}
