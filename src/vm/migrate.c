/* Live migration, the source: the pre-copy loop on a thread of its own, its status and
 * cancel (vm/migrate.h, docs/migration.md). */
#include "vm/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/thread.h"
#include "vm/migrate_auth.h"
#include "vm/migrate_link.h"
#include "vm/snapshot.h"

#define PAGE         MIG_PAGE
#define RUN_MAX      256 /* pages per SNAP_PAGES section */
#define LINE_MAX_LEN MIG_LINE_MAX_LEN

struct migration {
    struct migrate_vm vm;
    struct migrate_params p;
    pthread_t thread;
    bool thread_live;
    pthread_mutex_t lock; /* st, fd */
    struct migrate_status st;
    int fd;
    struct mig_chan ch; /* on fd, once connected */
    atomic_bool cancel;
    atomic_bool committed; /* "go" sent: too late to cancel */
    double start_ms;
    /* The pass being sent (for live progress): its pages, and the counters at its start. */
    bool in_pass;
    uint64_t pass_pages, pass_sent0, pass_bytes0;
    double pass_t0;
    struct snap_writer w;
    uint8_t *bounce;     /* RUN_MAX pages: a run is copied before it is checksummed */
    uint64_t words;      /* bitmap words */
    uint64_t *dirty;     /* pages to send: collected, not yet sent */
    uint64_t *scratch;   /* the engine's log as read */
    uint64_t *dev_dirty; /* the devices' log; lives as long as the migration object
                          * (devices may still be marking) */
};

struct migration *migration_new(const struct migrate_vm *vm)
{
    struct migration *mg = calloc(1, sizeof(*mg));

    if (!mg)
        return NULL;
    mg->vm = *vm;
    mg->fd = -1;
    mg->words = (vm->ram->size / PAGE + 63) / 64;
    mg->dirty = calloc(mg->words, sizeof(uint64_t));
    mg->dev_dirty = calloc(mg->words, sizeof(uint64_t));
    mg->scratch = calloc(mg->words, sizeof(uint64_t));
    mg->bounce = malloc(RUN_MAX * PAGE);
    if (!mg->dirty || !mg->dev_dirty || !mg->scratch || !mg->bounce) {
        free(mg->bounce);
        free(mg->scratch);
        free(mg->dirty);
        free(mg->dev_dirty);
        free(mg);
        return NULL;
    }
    pthread_mutex_init(&mg->lock, NULL);
    mg->st.ram_pages = vm->ram->size / PAGE;
    return mg;
}

void migration_get_status(struct migration *mg, struct migrate_status *st)
{
    pthread_mutex_lock(&mg->lock);
    *st = mg->st;
    if (st->state == MIGRATE_CONNECTING || st->state == MIGRATE_PRECOPY ||
        st->state == MIGRATE_STOPCOPY)
        st->elapsed_ms = clock_now_ms() - mg->start_ms;
    if (mg->in_pass) {
        uint64_t done = st->sent_pages - mg->pass_sent0;
        double dt = clock_now_ms() - mg->pass_t0;

        st->remaining_pages = mg->pass_pages > done ? mg->pass_pages - done : 0;
        if (dt > 20 && st->sent_bytes > mg->pass_bytes0)
            st->bandwidth_bps = (double)(st->sent_bytes - mg->pass_bytes0) / (dt / 1e3);
        if (st->bandwidth_bps > 0)
            st->eta_ms = (double)(st->remaining_pages * PAGE) / st->bandwidth_bps * 1e3;
    }
    pthread_mutex_unlock(&mg->lock);
}

static void set_state(struct migration *mg, enum migrate_state s)
{
    pthread_mutex_lock(&mg->lock);
    mg->st.state = s;
    pthread_mutex_unlock(&mg->lock);
}

/* Pages set in bitmap. */
static uint64_t count_bits(const uint64_t *bitmap, uint64_t words)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < words; i++)
        n += (uint64_t)__builtin_popcountll(bitmap[i]);
    return n;
}

static int send_run(struct migration *mg, uint64_t first, uint64_t n)
{
    uint8_t le[8];
    uint64_t off = first * PAGE;
    int err;

    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(off >> (8 * i));
    /* The guest may write these pages while they are sent (they are then dirty and go again):
     * a private copy keeps the checksum and the bytes on the wire in agreement. */
    memcpy(mg->bounce, mg->vm.ram->hva + off, n * PAGE);
    err = snap_write_section2(&mg->w, SNAP_PAGES, 0, "pages", le, 8, mg->bounce, n * PAGE);
    if (err)
        return err;
    pthread_mutex_lock(&mg->lock);
    mg->st.sent_pages += n;
    mg->st.sent_bytes += n * PAGE + 8 + SNAP_SEC_HDR_SIZE;
    pthread_mutex_unlock(&mg->lock);
    return 0;
}

/* Marks a pre-copy pass of bitmap's pages as being sent (live progress), or none (NULL). */
static void set_pass(struct migration *mg, const uint64_t *bitmap)
{
    pthread_mutex_lock(&mg->lock);
    mg->in_pass = bitmap != NULL;
    if (bitmap) {
        mg->pass_pages = count_bits(bitmap, mg->words);
        mg->pass_sent0 = mg->st.sent_pages;
        mg->pass_bytes0 = mg->st.sent_bytes;
        mg->pass_t0 = clock_now_ms();
    }
    pthread_mutex_unlock(&mg->lock);
}

/* Sends every page set in bitmap, in runs of contiguous pages, and clears the bitmap. */
static int send_pages(struct migration *mg, uint64_t *bitmap)
{
    uint64_t pages = mg->st.ram_pages, p = 0;

    while (p < pages) {
        uint64_t w = bitmap[p / 64] >> (p % 64), start;

        if (!w) {
            p = (p / 64 + 1) * 64;
            continue;
        }
        p += (uint64_t)__builtin_ctzll(w);
        start = p;
        while (p < pages && p - start < RUN_MAX && (bitmap[p / 64] >> (p % 64) & 1))
            p++;
        if (atomic_load(&mg->cancel))
            return -ECANCELED;
        int err = send_run(mg, start, p - start);
        if (err)
            return err;
    }
    memset(bitmap, 0, mg->words * sizeof(uint64_t));
    return 0;
}

static bool page_is_zero(const uint8_t *page)
{
    const uint64_t *w = (const uint64_t *)(const void *)page;
    uint64_t acc = 0;

    for (size_t i = 0; i < PAGE / 8; i++)
        acc |= w[i];
    return acc == 0;
}

/* The first pass's set: every page that is not zero (pages a memfd has never populated are
 * skipped without reading them: the destination's RAM starts zeroed). */
static void first_pass_set(struct migration *mg, uint64_t *bitmap)
{
    const struct gmem *ram = mg->vm.ram;
    uint64_t size = ram->size, off = 0;

    memset(bitmap, 0, mg->words * sizeof(uint64_t));
    while (off < size) {
        uint64_t end = size;

        if (ram->fd >= 0) {
            off_t d = lseek(ram->fd, (off_t)off, SEEK_DATA), h;
            if (d < 0)
                break; /* ENXIO: no data up to the end */
            off = (uint64_t)d & ~(PAGE - 1);
            h = lseek(ram->fd, (off_t)off, SEEK_HOLE);
            end = h < 0 || (uint64_t)h > size ? size : ((uint64_t)h + PAGE - 1) & ~(PAGE - 1);
        }
        for (; off < end; off += PAGE)
            if (!page_is_zero(ram->hva + off))
                bitmap[off / PAGE / 64] |= 1ull << (off / PAGE % 64);
    }
}

/* The engine's log and the devices' log, both read and cleared, added to mg->dirty (which
 * may still hold pages collected but not sent yet). */
static int collect_dirty(struct migration *mg)
{
    int err = mg->vm.get_dirty_log(mg->vm.opaque, mg->scratch);

    if (err)
        return err;
    for (uint64_t i = 0; i < mg->words; i++)
        mg->dirty[i] |=
            mg->scratch[i] | __atomic_exchange_n(&mg->dev_dirty[i], 0, __ATOMIC_SEQ_CST);
    return 0;
}

static int fail(struct migration *mg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct migration *mg, int err, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&mg->lock);
    va_start(ap, fmt);
    vsnprintf(mg->st.error, sizeof(mg->st.error), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&mg->lock);
    return err;
}

/* Explains a failed send or receive: a cancel shuts the socket down under it. */
static int io_fail(struct migration *mg, int err, const char *what)
{
    if (atomic_load(&mg->cancel))
        return fail(mg, -ECANCELED, "cancelled");
    if (err == -EAGAIN || err == -EWOULDBLOCK)
        err = -ETIMEDOUT;
    return fail(mg, err, "%s: %s", what, strerror(-err));
}

/* Ends a pass: waits until the destination has taken in everything sent so far (socket
 * buffers hold megabytes), so that the pass's bandwidth is what arrived and the final pause
 * does not start with a backlog on the wire. */
static int sync_pass(struct migration *mg)
{
    char line[LINE_MAX_LEN];
    int err = snap_write_section(&mg->w, SNAP_SYNC, 0, "sync", NULL, 0);

    mig_chan_phase(&mg->ch, mg->p.timeout_ms);
    if (!err)
        err = mig_read_line(&mg->ch, line, sizeof(line));
    if (err)
        return io_fail(mg, err, "waiting for the destination to catch up");
    if (strcmp(line, "synced"))
        return fail(mg, -EPROTO, "the destination answered '%.100s' to a sync", line);
    return 0;
}

/* Pre-copy passes until the dirty set fits the downtime target (or max_passes). */
static int precopy(struct migration *mg)
{
    double t0 = clock_now_ms(), bw = 0;
    uint64_t bytes0 = mg->st.sent_bytes;
    int err;

    first_pass_set(mg, mg->dirty);
    set_pass(mg, mg->dirty);
    err = send_pages(mg, mg->dirty);
    if (err)
        return io_fail(mg, err, "sending guest RAM");
    err = sync_pass(mg);
    set_pass(mg, NULL);
    if (err)
        return err;
    for (;;) {
        double t1 = clock_now_ms(), pass_ms = t1 - t0;
        uint64_t n, pass_bytes;

        pthread_mutex_lock(&mg->lock);
        pass_bytes = mg->st.sent_bytes - bytes0;
        pthread_mutex_unlock(&mg->lock);
        if (pass_bytes && pass_ms > 0)
            bw = (double)pass_bytes / (pass_ms / 1e3);
        err = collect_dirty(mg);
        if (err)
            return fail(mg, err, "reading the dirty-page log: %s", strerror(-err));
        n = count_bits(mg->dirty, mg->words);
        pthread_mutex_lock(&mg->lock);
        mg->st.passes++;
        mg->st.remaining_pages = n;
        mg->st.bandwidth_bps = bw;
        mg->st.dirty_rate_pps = pass_ms > 0 ? (double)n / (pass_ms / 1e3) : 0;
        mg->st.eta_ms = bw > 0 ? (double)(n * PAGE) / bw * 1e3 : 0;
        pthread_mutex_unlock(&mg->lock);
        if (atomic_load(&mg->cancel))
            return fail(mg, -ECANCELED, "cancelled");
        if ((bw > 0 && (double)(n * PAGE) / bw * 1e3 <= mg->p.downtime_ms) ||
            mg->st.passes >= mg->p.max_passes)
            return 0;
        t0 = clock_now_ms();
        bytes0 = mg->st.sent_bytes;
        set_pass(mg, mg->dirty);
        err = send_pages(mg, mg->dirty);
        if (err)
            return io_fail(mg, err, "sending dirty pages");
        err = sync_pass(mg);
        set_pass(mg, NULL);
        if (err)
            return err;
    }
}

/* Paused: the rest, then the handshake. 0 once the destination runs the VM. */
static int stopcopy(struct migration *mg, double *t_pause)
{
    char line[LINE_MAX_LEN];
    double t[5];
    uint64_t last;
    int err;

    set_state(mg, MIGRATE_STOPCOPY);
    *t_pause = t[0] = clock_now_ms();
    mg->vm.pause(mg->vm.opaque);
    err = collect_dirty(mg);
    if (err)
        return fail(mg, err, "reading the dirty-page log: %s", strerror(-err));
    pthread_mutex_lock(&mg->lock);
    mg->st.remaining_pages = last = count_bits(mg->dirty, mg->words);
    pthread_mutex_unlock(&mg->lock);
    t[1] = clock_now_ms();
    err = send_pages(mg, mg->dirty);
    t[2] = clock_now_ms();
    if (!err)
        err = mg->vm.write_state(mg->vm.opaque, &mg->w);
    if (!err)
        err = snap_writer_end(&mg->w);
    if (err)
        return io_fail(mg, err, "sending the final state");
    mig_chan_phase(&mg->ch, mg->p.timeout_ms);
    err = mig_read_line(&mg->ch, line, sizeof(line));
    if (err)
        return io_fail(mg, err, "waiting for the destination to load the state");
    if (strcmp(line, "loaded"))
        return fail(mg, -EPROTO, "the destination could not load the state: %s",
                    strncmp(line, "failed ", 7) ? line : line + 7);
    t[3] = clock_now_ms();
    pthread_mutex_lock(&mg->lock); /* a cancel either comes before this or is refused */
    if (atomic_load(&mg->cancel)) {
        pthread_mutex_unlock(&mg->lock);
        return fail(mg, -ECANCELED, "cancelled");
    }
    atomic_store(&mg->committed, true);
    pthread_mutex_unlock(&mg->lock);
    mig_chan_phase(&mg->ch, mg->p.timeout_ms);
    err = mig_send_line(&mg->ch, "go");
    if (!err)
        err = mig_read_line(&mg->ch, line, sizeof(line));
    if (!err && strcmp(line, "running"))
        err = -EPROTO;
    if (err) {
        /* It may run there or not: running here too could split the VM in two. */
        fail(mg, err,
             "the destination did not confirm that it runs the VM (%s); the VM stays paused "
             "here",
             strerror(-err));
        return 1;
    }
    t[4] = clock_now_ms();
    pthread_mutex_lock(&mg->lock);
    mg->st.pause_ms = t[1] - t[0];
    mg->st.final_pages = last;
    mg->st.final_pages_ms = t[2] - t[1];
    mg->st.load_ms = t[3] - t[2];
    mg->st.handover_ms = t[4] - t[3];
    pthread_mutex_unlock(&mg->lock);
    return 0;
}

static void *migration_main(void *arg)
{
    struct migration *mg = arg;
    char line[LINE_MAX_LEN], why[300] = "";
    char *json = NULL;
    double start = mg->start_ms, t_pause = 0;
    bool logging = false, paused = false;
    int fd, err;

    fd = mig_connect(mg->p.host, mg->p.port, mg->p.timeout_ms, why, sizeof(why), &mg->cancel);
    if (fd < 0) {
        fail(mg, fd, "%s", why);
        goto out;
    }
    mig_set_timeouts(fd, mg->p.timeout_ms);
    pthread_mutex_lock(&mg->lock);
    mg->fd = fd;
    pthread_mutex_unlock(&mg->lock);
    if (atomic_load(&mg->cancel)) {
        fail(mg, -ECANCELED, "cancelled");
        goto out;
    }
    /* Nothing of the VM goes out before the destination has proved it knows the secret. */
    mig_chan_init(&mg->ch, fd, mg->p.timeout_ms, 0);
    mig_chan_phase(&mg->ch, mg->p.timeout_ms);
    err = mig_auth_connect(&mg->ch, mg->p.secret, strlen(mg->p.secret), why, sizeof(why));
    if (err) {
        if (atomic_load(&mg->cancel))
            fail(mg, -ECANCELED, "cancelled");
        else
            fail(mg, err, "%s", why);
        goto out;
    }
    json = mg->vm.config_json(mg->vm.opaque);
    if (!json) {
        fail(mg, -ENOMEM, "out of memory");
        goto out;
    }
    err = snap_writer_open_mac(&mg->w, fd, mg->vm.engine, mg->vm.arch, &mg->ch.stream);
    if (!err)
        err = snap_write_section(&mg->w, SNAP_CONFIG, 0, "config", json, strlen(json));
    if (err) {
        io_fail(mg, err, "sending the configuration");
        goto out;
    }
    mig_chan_phase(&mg->ch, mg->p.timeout_ms);
    err = mig_read_line(&mg->ch, line, sizeof(line));
    if (err) {
        io_fail(mg, err, "waiting for the destination's answer");
        goto out;
    }
    if (strcmp(line, "ok")) {
        fail(mg, -EPERM, "the destination refused the VM: %s",
             strncmp(line, "refused ", 8) ? line : line + 8);
        goto out;
    }
    memset(mg->dev_dirty, 0, mg->words * sizeof(uint64_t));
    __atomic_store_n(&mg->vm.ram->dirty, mg->dev_dirty, __ATOMIC_RELEASE);
    err = mg->vm.set_dirty_log(mg->vm.opaque, true);
    if (err) {
        fail(mg, err, "starting the dirty-page log: %s", strerror(-err));
        goto out;
    }
    logging = true;
    set_state(mg, MIGRATE_PRECOPY);
    if (precopy(mg))
        goto out;
    paused = true;
    err = stopcopy(mg, &t_pause);
    if (err > 0) { /* past the point of no return, unconfirmed: stays paused for good */
        if (mg->vm.abandon)
            mg->vm.abandon(mg->vm.opaque);
        paused = false;
        goto out;
    }
    if (err)
        goto out;
    pthread_mutex_lock(&mg->lock);
    mg->st.downtime_ms = clock_now_ms() - t_pause;
    mg->st.elapsed_ms = clock_now_ms() - start;
    mg->st.remaining_pages = 0;
    mg->st.eta_ms = 0;
    mg->st.state = MIGRATE_COMPLETED;
    pthread_mutex_unlock(&mg->lock);
    mg->vm.finish(mg->vm.opaque);
    paused = false;
    logging = false;
    log_info("migration to %s: completed in %.0f ms, downtime %.1f ms, %" PRIu64
             " pages sent in %u passes",
             mg->st.to, mg->st.elapsed_ms, mg->st.downtime_ms, mg->st.sent_pages, mg->st.passes);

out:
    if (paused)
        mg->vm.resume(mg->vm.opaque);
    if (logging)
        mg->vm.set_dirty_log(mg->vm.opaque, false);
    if (mg->st.state != MIGRATE_COMPLETED)
        __atomic_store_n(&mg->vm.ram->dirty, NULL, __ATOMIC_RELEASE);
    snap_writer_abort(&mg->w);
    free(json);
    pthread_mutex_lock(&mg->lock);
    mg->in_pass = false;
    if (mg->fd >= 0)
        close(mg->fd);
    mg->fd = -1;
    mig_chan_wipe(&mg->ch);
    hmac256_wipe(mg->p.secret, sizeof(mg->p.secret));
    mg->st.elapsed_ms = clock_now_ms() - start;
    if (mg->st.state != MIGRATE_COMPLETED) {
        mg->st.state = atomic_load(&mg->committed) ? MIGRATE_UNCONFIRMED
                       : atomic_load(&mg->cancel)  ? MIGRATE_CANCELLED
                                                   : MIGRATE_FAILED;
        log_err("migration to %s: %s%s", mg->st.to, mg->st.error,
                mg->st.state == MIGRATE_CANCELLED || !atomic_load(&mg->committed)
                    ? "; the VM runs on here"
                    : "");
    }
    pthread_mutex_unlock(&mg->lock);
    return NULL;
}

int migration_start(struct migration *mg, const struct migrate_params *p)
{
    int err;

    pthread_mutex_lock(&mg->lock);
    if (mg->st.state == MIGRATE_CONNECTING || mg->st.state == MIGRATE_PRECOPY ||
        mg->st.state == MIGRATE_STOPCOPY || mg->st.state == MIGRATE_COMPLETED ||
        mg->st.state == MIGRATE_UNCONFIRMED) {
        pthread_mutex_unlock(&mg->lock);
        return -EBUSY;
    }
    pthread_mutex_unlock(&mg->lock);
    if (migrate_secret_check(p->secret, mg->st.error, sizeof(mg->st.error)))
        return -EINVAL;
    if (mg->thread_live)
        pthread_join(mg->thread, NULL);
    mg->thread_live = false;
    mg->p = *p;
    if (!mg->p.downtime_ms)
        mg->p.downtime_ms = MIGRATE_DEFAULT_DOWNTIME_MS;
    if (!mg->p.timeout_ms)
        mg->p.timeout_ms = MIGRATE_DEFAULT_TIMEOUT_MS;
    if (!mg->p.max_passes)
        mg->p.max_passes = MIGRATE_DEFAULT_MAX_PASSES;
    atomic_store(&mg->cancel, false);
    atomic_store(&mg->committed, false);
    mg->in_pass = false;
    memset(&mg->w, 0, sizeof(mg->w));
    mg->w.fd = -1;
    pthread_mutex_lock(&mg->lock);
    memset(&mg->st, 0, sizeof(mg->st));
    mg->st.state = MIGRATE_CONNECTING;
    mg->start_ms = clock_now_ms();
    mg->st.ram_pages = mg->vm.ram->size / PAGE;
    mg->st.downtime_target_ms = mg->p.downtime_ms;
    snprintf(mg->st.to, sizeof(mg->st.to), strchr(p->host, ':') ? "[%s]:%s" : "%s:%s",
             p->host[0] ? p->host : "localhost", p->port);
    pthread_mutex_unlock(&mg->lock);
    err = thread_create(&mg->thread, THREAD_MIGRATION, migration_main, mg);
    if (err) {
        set_state(mg, MIGRATE_FAILED);
        return -err;
    }
    mg->thread_live = true;
    return 0;
}

int migration_cancel(struct migration *mg)
{
    int err = 0;

    pthread_mutex_lock(&mg->lock);
    if (atomic_load(&mg->committed) ||
        (mg->st.state != MIGRATE_CONNECTING && mg->st.state != MIGRATE_PRECOPY &&
         mg->st.state != MIGRATE_STOPCOPY)) {
        err = -EALREADY;
    } else {
        atomic_store(&mg->cancel, true);
        if (mg->fd >= 0)
            shutdown(mg->fd, SHUT_RDWR); /* unblocks a send or receive at once */
    }
    pthread_mutex_unlock(&mg->lock);
    return err;
}

void migration_free(struct migration *mg)
{
    if (!mg)
        return;
    migration_cancel(mg);
    if (mg->thread_live)
        pthread_join(mg->thread, NULL);
    __atomic_store_n(&mg->vm.ram->dirty, NULL, __ATOMIC_RELEASE);
    pthread_mutex_destroy(&mg->lock);
    free(mg->bounce);
    free(mg->scratch);
    free(mg->dirty);
    free(mg->dev_dirty);
    free(mg);
}
