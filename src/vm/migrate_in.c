/* Live migration, the destination: listen, check the source's configuration, receive RAM
 * and the state file, and hand over (vm/migrate.h, docs/migration.md). */
#include "vm/migrate.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "vm/migrate_link.h"

#define PAGE         MIG_PAGE
#define LINE_MAX_LEN MIG_LINE_MAX_LEN
#define SECTION_MAX  (16u << 20) /* largest non-memory section accepted */
#define STATE_MAX    (64u << 20) /* all non-memory sections together */
#define SECTIONS_MAX 4096        /* as many as a state file may have */

static int in_fail(struct migrate_incoming *in, int err, const char *what)
{
    if (err == -ETIMEDOUT)
        log_err("incoming migration: %s: the source is too slow (nothing for %u ms, or past the "
                "phase's or the migration's time limit)",
                what, in->timeout_ms);
    else if (err == -ECONNRESET)
        log_err("incoming migration: %s: the source closed the connection", what);
    else
        log_err("incoming migration: %s: %s", what, strerror(-err));
    return err;
}

/* One section header from the stream; its tag is begun (the payload follows, then
 * check_tag). */
static int read_section(struct migrate_incoming *in, struct snap_section *sec)
{
    uint8_t h[SNAP_SEC_HDR_SIZE];
    char why[120];
    int err = mig_read_exact(&in->ch, h, sizeof(h));

    if (err)
        return in_fail(in, err, "reading a section header");
    if (snap_parse_section_header(h, sec, why, sizeof(why))) {
        log_err("incoming migration: %s", why);
        return -EBADMSG;
    }
    snap_mac_begin(&in->ch.stream);
    snap_mac_update(&in->ch.stream, h, sizeof(h));
    return 0;
}

/* The tag after a unit of the stream: nothing of it is used unless it verifies. */
static int check_tag(struct migrate_incoming *in, const char *what)
{
    uint8_t tag[SNAP_MAC_LEN];
    int err = mig_read_exact(&in->ch, tag, sizeof(tag));

    if (err)
        return in_fail(in, err, "reading a section's tag");
    if (!snap_mac_check(&in->ch.stream, tag)) {
        log_err("incoming migration: %s: the tag does not verify (altered, reordered or "
                "spliced stream)",
                what);
        return -EBADMSG;
    }
    return 0;
}

int migrate_accept(struct migrate_incoming *in, const char *engine, const char *arch)
{
    int err = migrate_wait_source(in);

    if (err)
        return err;
    mig_set_timeouts(in->ch.fd, in->timeout_ms);
    return migrate_read_config(in, engine, arch);
}

int migrate_read_config(struct migrate_incoming *in, const char *engine, const char *arch)
{
    uint8_t h[SNAP_FILE_HDR_SIZE];
    struct snap_section sec;
    char e[9], a[17], why[160];
    int err;

    mig_chan_phase(&in->ch, in->timeout_ms); /* the header and the configuration */
    err = mig_read_exact(&in->ch, h, sizeof(h));
    if (err)
        return in_fail(in, err, "reading the stream header");
    snap_mac_begin(&in->ch.stream);
    snap_mac_update(&in->ch.stream, h, sizeof(h));
    if ((err = check_tag(in, "the stream header")))
        return err;
    err = snap_parse_file_header(h, e, a, why, sizeof(why));
    if (err) {
        log_err("incoming migration: %s", why);
        return err;
    }
    if (strcmp(e, engine) || strcmp(a, arch)) {
        log_err("incoming migration: the source runs the %s engine for %s; this VM the %s "
                "engine for %s",
                e, a, engine, arch);
        mig_send_line(&in->ch, "refused the destination runs the %s engine for %s", engine, arch);
        return -ENOEXEC;
    }
    err = read_section(in, &sec);
    if (err)
        return err;
    if (sec.type != SNAP_CONFIG || sec.length > (1u << 20)) {
        log_err("incoming migration: the stream does not start with a machine configuration");
        return -EBADMSG;
    }
    in->config_json = malloc(sec.length + 1);
    if (!in->config_json)
        return -ENOMEM;
    err = mig_read_exact(&in->ch, in->config_json, sec.length);
    if (err)
        return in_fail(in, err, "reading the machine configuration");
    snap_mac_update(&in->ch.stream, in->config_json, sec.length);
    if ((err = check_tag(in, "the machine configuration")))
        return err;
    if (snap_crc(0, in->config_json, sec.length) != sec.crc) {
        log_err("incoming migration: damaged machine configuration (checksum mismatch)");
        return -EBADMSG;
    }
    in->config_json[sec.length] = '\0';
    in->config_len = sec.length;
    in->state_fd = memfd_create("vessel-incoming-state", MFD_CLOEXEC);
    if (in->state_fd < 0)
        return -errno;
    snprintf(in->state_path, sizeof(in->state_path), "/proc/self/fd/%d", in->state_fd);
    err = snap_writer_open_fd(&in->state, in->state_fd, engine, arch);
    if (!err)
        err = snap_write_section(&in->state, SNAP_CONFIG, 0, "config", in->config_json,
                                 in->config_len);
    return err;
}

int migrate_answer(struct migrate_incoming *in, const char *refusal)
{
    return refusal ? mig_send_line(&in->ch, "refused %s", refusal) : mig_send_line(&in->ch, "ok");
}

static int receive_pages(struct migrate_incoming *in, const struct snap_section *sec,
                         struct gmem *ram)
{
    uint8_t le[8];
    uint64_t off = 0, len;
    int err;

    if (sec->instance != 0 || sec->length < 8 + PAGE || (sec->length - 8) % PAGE) {
        log_err("incoming migration: malformed pages section");
        return -EBADMSG;
    }
    err = mig_read_exact(&in->ch, le, 8);
    if (err)
        return in_fail(in, err, "reading pages");
    for (int i = 0; i < 8; i++)
        off |= (uint64_t)le[i] << (8 * i);
    len = sec->length - 8;
    if (off % PAGE || off > ram->size || len > ram->size - off) {
        log_err("incoming migration: pages at offset %" PRIu64 " outside guest RAM", off);
        return -EBADMSG;
    }
    /* Into guest RAM before the tag is checked: a stream that fails it ends the migration,
     * and this RAM with it. */
    err = mig_read_exact(&in->ch, ram->hva + off, len);
    if (err)
        return in_fail(in, err, "reading pages");
    snap_mac_update(&in->ch.stream, le, 8);
    snap_mac_update(&in->ch.stream, ram->hva + off, len);
    if ((err = check_tag(in, "pages")))
        return err;
    if (snap_crc(snap_crc(0, le, 8), ram->hva + off, len) != sec->crc) {
        log_err("incoming migration: damaged pages at offset %" PRIu64 " (checksum mismatch)", off);
        return -EBADMSG;
    }
    in->pages_received += len / PAGE;
    return 0;
}

static int receive_state(struct migrate_incoming *in, const struct snap_section *sec)
{
    uint8_t *buf;
    int err;

    if (sec->length > SECTION_MAX || ++in->state_sections > SECTIONS_MAX ||
        (in->state_bytes += sec->length) > STATE_MAX) {
        log_err("incoming migration: section %.16s too large, or too many sections", sec->name);
        return -EBADMSG;
    }
    buf = malloc(sec->length ? sec->length : 1);
    if (!buf)
        return -ENOMEM;
    err = mig_read_exact(&in->ch, buf, sec->length);
    if (err) {
        free(buf);
        return in_fail(in, err, "reading the device state");
    }
    snap_mac_update(&in->ch.stream, buf, sec->length);
    err = check_tag(in, sec->name);
    if (err) {
        free(buf);
        return err;
    }
    if (snap_crc(0, buf, sec->length) != sec->crc) {
        log_err("incoming migration: damaged section %s (checksum mismatch)", sec->name);
        free(buf);
        return -EBADMSG;
    }
    err = snap_write_section(&in->state, (enum snap_type)sec->type, sec->instance, sec->name, buf,
                             sec->length);
    free(buf);
    return err;
}

int migrate_receive(struct migrate_incoming *in, struct gmem *ram, bool progress)
{
    uint64_t shown = 0;
    int err;

    for (;;) {
        struct snap_section sec;

        err = read_section(in, &sec);
        if (err)
            return err;
        switch (sec.type) {
        case SNAP_PAGES: err = receive_pages(in, &sec, ram); break;
        case SNAP_MACHINE:
        case SNAP_CPU:
        case SNAP_DEVICE: err = receive_state(in, &sec); break;
        case SNAP_SYNC:
            if (sec.length) {
                log_err("incoming migration: malformed sync section");
                return -EBADMSG;
            }
            err = check_tag(in, "sync");
            if (!err)
                err = mig_send_line(&in->ch, "synced");
            break;
        case SNAP_END:
            if (sec.length) {
                log_err("incoming migration: malformed end section");
                return -EBADMSG;
            }
            err = check_tag(in, "the end of the stream");
            return err ? err : snap_writer_end(&in->state);
        default:
            log_err("incoming migration: unexpected section type %u", sec.type);
            return -EBADMSG;
        }
        if (err)
            return err;
        if (progress && in->pages_received - shown >= (64u << 20) / PAGE) {
            shown = in->pages_received;
            fprintf(stderr, "\rvessel: incoming migration: %" PRIu64 " MiB received",
                    (uint64_t)((in->pages_received * PAGE) >> 20));
        }
    }
}

int migrate_take_vm(struct migrate_incoming *in, struct gmem *ram, struct disk **disks, int ndisks)
{
    int err = migrate_answer(in, NULL);

    /* RAM and the state: the whole transfer within what is left of the overall limit */
    in->ch.deadline_ms = in->overall_ms;
    if (!err)
        err = migrate_receive(in, ram, isatty(STDERR_FILENO));
    for (int i = 0; !err && i < ndisks; i++)
        err = disk_reopen(&disks[i]);
    if (err)
        fprintf(stderr, "vessel: incoming migration failed (see above); nothing was kept\n");
    return err;
}

int migrate_commit(struct migrate_incoming *in, const char *refusal)
{
    char line[LINE_MAX_LEN];
    int err;

    if (refusal) {
        mig_send_line(&in->ch, "failed %s", refusal);
        return -EINVAL;
    }
    mig_chan_phase(&in->ch, in->timeout_ms);
    err = mig_send_line(&in->ch, "loaded");
    if (!err)
        err = mig_read_line(&in->ch, line, sizeof(line));
    if (err == -EBADMSG) {
        log_err("incoming migration: the source's go-ahead does not verify");
        return err;
    }
    if (err)
        return in_fail(in, err, "waiting for the source's go-ahead");
    if (strcmp(line, "go")) {
        log_err("incoming migration: the source did not hand the VM over");
        return -EPROTO;
    }
    err = mig_send_line(&in->ch, "running");
    if (err)
        log_err("incoming migration: confirming to the source: %s (the VM runs here)",
                strerror(-err));
    return 0;
}

void migrate_incoming_close(struct migrate_incoming *in)
{
    if (in->ch.fd >= 0)
        close(in->ch.fd);
    if (in->lfd >= 0)
        close(in->lfd);
    if (in->state_fd >= 0)
        close(in->state_fd);
    free(in->config_json);
    mig_chan_wipe(&in->ch);
    in->ch.fd = in->lfd = in->state_fd = -1;
    in->config_json = NULL;
}
