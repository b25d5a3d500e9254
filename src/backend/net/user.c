/* `user`: user-mode NAT through libslirp. The guest network is 10.0.2.0/24: the host (its
 * loopback) at 10.0.2.2, DNS at 10.0.2.3, DHCP handing out 10.0.2.15 and up. libslirp is not
 * thread-safe: one mutex covers every call into it; its sockets and timers run on this backend's
 * thread (poll loop), guest frames enter from the device's thread through slirp_input(). Frames
 * for the guest wait in a bounded queue whose eventfd is the device's rx fd. */
#include <errno.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backend/net/net_impl.h"
#include "base/clock.h"
#include "base/dynlib.h"
#include "base/le.h"
#include "base/log.h"
#include "base/thread.h"

#define USER_NET       "10.0.2.0"
#define USER_MASK      "255.255.255.0"
#define USER_HOST      "10.0.2.2"
#define USER_DNS       "10.0.2.3"
#define USER_DHCP      "10.0.2.15"
#define USER_MTU       1500
#define USER_RXQ_LEN   512  /* frames waiting for the device; more are dropped */
#define USER_MAX_SLEEP 1000 /* ms */

struct user_timer {
    struct user_timer *next;
    SlirpTimerId id;
    void *cb_opaque;
    SlirpTimerCb cb;   /* the pre-v4 style, NULL with timer_new_opaque */
    int64_t expire_ms; /* -1: not armed */
};

struct user_frame {
    size_t len;
    uint8_t data[];
};

struct user_net {
    struct net_backend nb; /* first; nb.fd is the rx eventfd */
    Slirp *slirp;
    int wake_fd; /* eventfd: wakes the poll loop (new guest traffic, timer change, stop) */
    atomic_bool stopping;
    bool started;
    pthread_t thread;
    pthread_mutex_t lock; /* every slirp call, the timers and the queue */
    struct user_timer *timers;
    struct pollfd *pfds;
    size_t npfds, cap_pfds;
    struct user_frame *rxq[USER_RXQ_LEN]; /* ring of frames for the guest */
    unsigned rxq_head, rxq_len;
    unsigned long rx_dropped;
};

/* libslirp is loaded on first use (base/dynlib.h): these are its entry points. */
static const char *const slirp_names[] = {
    "slirp_new",          "slirp_cleanup",       "slirp_input",          "slirp_pollfds_fill",
    "slirp_pollfds_poll", "slirp_handle_timer",  "slirp_add_hostfwd",    "slirp_state_save",
    "slirp_state_load",   "slirp_state_version", "slirp_version_string",
};
static struct {
    typeof(slirp_new) *new;
    typeof(slirp_cleanup) *cleanup;
    typeof(slirp_input) *input;
    typeof(slirp_pollfds_fill) *pollfds_fill;
    typeof(slirp_pollfds_poll) *pollfds_poll;
    typeof(slirp_handle_timer) *handle_timer;
    typeof(slirp_add_hostfwd) *add_hostfwd;
    typeof(slirp_state_save) *state_save;
    typeof(slirp_state_load) *state_load;
    typeof(slirp_state_version) *state_version;
    typeof(slirp_version_string) *version_string;
} sl;
_Static_assert(sizeof(sl) == sizeof(void *) * (sizeof(slirp_names) / sizeof(slirp_names[0])),
               "one pointer per name");

static void wake(int fd)
{
    uint64_t one = 1;

    /* EAGAIN: the counter is already non-zero, the reader wakes anyway. */
    if (write(fd, &one, sizeof(one)) < 0)
        return;
}

static void drain(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
}

/* --- frames to the guest --- */

/* libslirp (lock held): a frame for the guest. Queued for the device thread. */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct user_net *u = opaque;
    struct user_frame *f;

    if (u->rxq_len == USER_RXQ_LEN || !(f = malloc(sizeof(*f) + len))) {
        u->rx_dropped++; /* TCP retransmits; a NIC with no buffers drops too */
        return (ssize_t)len;
    }
    f->len = len;
    memcpy(f->data, buf, len);
    u->rxq[(u->rxq_head + u->rxq_len) % USER_RXQ_LEN] = f;
    if (u->rxq_len++ == 0)
        wake(u->nb.fd);
    return (ssize_t)len;
}

static ssize_t user_recv(struct net_backend *nb, uint8_t *buf, size_t cap)
{
    struct user_net *u = (struct user_net *)nb;
    ssize_t n = -EAGAIN;

    pthread_mutex_lock(&u->lock);
    while (n == -EAGAIN && u->rxq_len) {
        struct user_frame *f = u->rxq[u->rxq_head];

        u->rxq_head = (u->rxq_head + 1) % USER_RXQ_LEN;
        u->rxq_len--;
        if (f->len <= cap) { /* else larger than the caller takes: dropped */
            memcpy(buf, f->data, f->len);
            n = (ssize_t)f->len;
        }
        free(f);
    }
    if (!u->rxq_len)
        drain(nb->fd); /* under the lock: no frame can slip in between */
    pthread_mutex_unlock(&u->lock);
    return n;
}

/* --- libslirp callbacks --- */

static void cb_guest_error(const char *msg, void *opaque)
{
    struct user_net *u = opaque;

    log_warn("net: %s: guest error: %s", u->nb.what, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return (int64_t)clock_now_ns();
}

static struct user_timer *timer_add(struct user_net *u, SlirpTimerId id, SlirpTimerCb cb,
                                    void *cb_opaque)
{
    struct user_timer *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL; /* libslirp treats the timer as optional (RA only) */
    t->id = id;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = u->timers;
    u->timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, SLIRP_TIMER_RA, cb, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, id, NULL, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct user_net *u = opaque;

    for (struct user_timer **pp = &u->timers; *pp; pp = &(*pp)->next) {
        if (*pp == timer) {
            *pp = ((struct user_timer *)timer)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    ((struct user_timer *)timer)->expire_ms = expire_ms;
    wake(((struct user_net *)opaque)->wake_fd); /* recompute the poll timeout */
}

static void cb_register_poll_fd(int fd, void *opaque) {}

static void cb_unregister_poll_fd(int fd, void *opaque) {}

static void cb_notify(void *opaque)
{
    wake(((struct user_net *)opaque)->wake_fd);
}

static const SlirpCb user_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* --- the poll loop --- */

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct user_net *u = opaque;
    short ev = 0;

    if (u->npfds == u->cap_pfds) {
        size_t cap = u->cap_pfds ? 2 * u->cap_pfds : 64;
        struct pollfd *p = realloc(u->pfds, cap * sizeof(*p));

        if (!p)
            return -1; /* not polled this round; slirp_pollfds_poll skips idx < 0 */
        u->pfds = p;
        u->cap_pfds = cap;
    }
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    u->pfds[u->npfds] = (struct pollfd){.fd = fd, .events = ev};
    return (int)u->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct user_net *u = opaque;
    short re;
    int ev = 0;

    if (idx < 0 || (size_t)idx >= u->npfds)
        return 0;
    re = u->pfds[idx].revents;
    if (re & POLLIN)
        ev |= SLIRP_POLL_IN;
    if (re & POLLOUT)
        ev |= SLIRP_POLL_OUT;
    if (re & POLLPRI)
        ev |= SLIRP_POLL_PRI;
    if (re & (POLLERR | POLLNVAL))
        ev |= SLIRP_POLL_ERR;
    if (re & POLLHUP)
        ev |= SLIRP_POLL_HUP;
    return ev;
}

static void user_run_timers(struct user_net *u, int64_t now_ms)
{
    bool again = true;

    /* A callback may free or re-arm timers: restart the walk after each one fires. */
    while (again) {
        again = false;
        for (struct user_timer *t = u->timers; t; t = t->next) {
            if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
                t->expire_ms = -1;
                if (t->cb)
                    t->cb(t->cb_opaque);
                else
                    sl.handle_timer(u->slirp, t->id, t->cb_opaque);
                again = true;
                break;
            }
        }
    }
}

static void *user_main(void *arg)
{
    struct user_net *u = arg;

    pthread_mutex_lock(&u->lock);
    while (!atomic_load(&u->stopping)) {
        uint32_t timeout = USER_MAX_SLEEP;
        int64_t now_ms = (int64_t)clock_now_ns() / 1000000;
        int n;

        u->npfds = 0;
        cb_add_poll(u->wake_fd, SLIRP_POLL_IN, u);
        sl.pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
        for (struct user_timer *t = u->timers; t; t = t->next) {
            int64_t d = t->expire_ms - now_ms;

            if (t->expire_ms >= 0 && d < (int64_t)timeout)
                timeout = d < 0 ? 0 : (uint32_t)d;
        }
        pthread_mutex_unlock(&u->lock);
        n = poll(u->pfds, u->npfds, (int)timeout);
        pthread_mutex_lock(&u->lock);
        if (n < 0 && errno != EINTR)
            log_warn("net: %s: poll: %s", u->nb.what, strerror(errno));
        if (n > 0 && (u->pfds[0].revents & POLLIN))
            drain(u->wake_fd);
        sl.pollfds_poll(u->slirp, n < 0, cb_get_revents, u);
        user_run_timers(u, (int64_t)clock_now_ns() / 1000000);
    }
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

static int user_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    struct user_net *u = (struct user_net *)nb;
    uint8_t stackbuf[2048], *buf = stackbuf;
    size_t len = 0, off = 0;

    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    if (len > NET_FRAME_MAX)
        return -EMSGSIZE;
    if (len > sizeof(stackbuf) && !(buf = malloc(len)))
        return -ENOMEM;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    pthread_mutex_lock(&u->lock);
    sl.input(u->slirp, buf, (int)len);
    pthread_mutex_unlock(&u->lock);
    /* New sockets or data to flush: let the poll loop look again. */
    wake(u->wake_fd);
    if (buf != stackbuf)
        free(buf);
    return 0;
}

static void user_free(struct net_backend *nb)
{
    struct user_net *u = (struct user_net *)nb;

    if (u->started) {
        atomic_store(&u->stopping, true);
        wake(u->wake_fd);
        pthread_join(u->thread, NULL);
    }
    if (u->slirp)
        sl.cleanup(u->slirp);
    while (u->timers)
        cb_timer_free(u->timers, u);
    for (unsigned i = 0; i < u->rxq_len; i++)
        free(u->rxq[(u->rxq_head + i) % USER_RXQ_LEN]);
    free(u->pfds);
    pthread_mutex_destroy(&u->lock);
    if (u->wake_fd >= 0)
        close(u->wake_fd);
    if (nb->fd >= 0)
        close(nb->fd);
    free(u);
}

/* --- snapshots: the "net-user" section (docs/state-format.md) --- */

#define USER_STATE_LAYOUT 1
#define USER_STATE_HDR    8 /* u32 layout, u32 slirp_state_version() of the writer */

struct user_blob {
    uint8_t *data;
    size_t len, cap, pos;
    bool short_read; /* libslirp reads missing bytes as zeroes: we notice instead */
    bool failed;     /* a write found no memory (libslirp does not report it) */
};

static ssize_t cb_state_write(const void *buf, size_t len, void *opaque)
{
    struct user_blob *b = opaque;

    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 512;
        uint8_t *p;

        while (cap - b->len < len)
            cap *= 2;
        if (!(p = realloc(b->data, cap))) {
            b->failed = true;
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    return (ssize_t)len;
}

static ssize_t cb_state_read(void *buf, size_t len, void *opaque)
{
    struct user_blob *b = opaque;
    size_t n = len < b->len - b->pos ? len : b->len - b->pos;

    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    if (n < len)
        b->short_read = true;
    return (ssize_t)n;
}

static int user_save(struct net_backend *nb, uint8_t **buf, size_t *len)
{
    struct user_net *u = (struct user_net *)nb;
    struct user_blob b = {0};
    uint8_t hdr[USER_STATE_HDR];

    le32_put(hdr, USER_STATE_LAYOUT);
    le32_put(hdr + 4, (uint32_t)sl.state_version());
    cb_state_write(hdr, sizeof(hdr), &b);
    pthread_mutex_lock(&u->lock);
    if (!b.failed)
        sl.state_save(u->slirp, cb_state_write, &b);
    pthread_mutex_unlock(&u->lock);
    if (b.failed) {
        free(b.data);
        log_err("net: %s: saving libslirp's state: out of memory", nb->what);
        return -ENOMEM;
    }
    *buf = b.data;
    *len = b.len;
    return 0;
}

static int user_load(struct net_backend *nb, const uint8_t *buf, size_t len, char *why,
                     size_t whylen)
{
    struct user_net *u = (struct user_net *)nb;
    struct user_blob b = {.data = (uint8_t *)buf, .len = len, .pos = USER_STATE_HDR};
    uint32_t layout, version;
    int err;

    if (len <= USER_STATE_HDR)
        return errbuf_set(why, whylen, "%zu bytes are too few", len);
    layout = le32_get(buf);
    version = le32_get(buf + 4);
    if (layout != USER_STATE_LAYOUT)
        return errbuf_set(why, whylen, "layout %u, this build reads %u", layout, USER_STATE_LAYOUT);
    if (version == 0 || version > (uint32_t)sl.state_version())
        return errbuf_set(why, whylen, "libslirp state version %u, libslirp %s reads up to %d",
                          version, sl.version_string(), sl.state_version());
    /* A non-zero first byte announces a guestfwd socket (with its buffers of any size). Vessel
     * never creates one, so such a blob was not written by Vessel: refuse it before libslirp
     * allocates anything for it. */
    if (buf[USER_STATE_HDR] != 0)
        return errbuf_set(why, whylen, "it carries guestfwd sockets, which Vessel never creates");
    pthread_mutex_lock(&u->lock);
    err = sl.state_load(u->slirp, (int)version, cb_state_read, &b);
    pthread_mutex_unlock(&u->lock);
    if (err < 0)
        return errbuf_set(why, whylen, "libslirp %s refuses it (%s)", sl.version_string(),
                          strerror(-err));
    if (b.short_read || b.pos != b.len)
        return errbuf_set(why, whylen, "libslirp read %zu of its %zu bytes", b.pos - USER_STATE_HDR,
                          len - USER_STATE_HDR);
    return 0;
}

static const struct net_backend_ops user_ops = {
    .recv = user_recv,
    .send = user_send,
    .free = user_free,
    .state_name = "net-user",
    .save = user_save,
    .load = user_load,
};

int net_user_open(struct net_backend **out, const struct net_config *cfg)
{
    SlirpConfig sc = {.version = 4, .in_enabled = true, .if_mtu = USER_MTU, .if_mru = USER_MTU};
    struct in_addr dhcp;
    struct user_net *u;
    int err;

    err = dynlib_load("libslirp.so.0", "--net user", slirp_names, (void **)&sl,
                      sizeof(slirp_names) / sizeof(slirp_names[0]));
    if (err)
        return err;
    u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    pthread_mutex_init(&u->lock, NULL);
    u->nb.ops = &user_ops;
    u->nb.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (u->nb.fd < 0 || u->wake_fd < 0) {
        err = -errno;
        log_err("net: user: eventfd: %s", strerror(errno));
        goto fail;
    }
    snprintf(u->nb.what, sizeof(u->nb.what), "user");
    inet_pton(AF_INET, USER_NET, &sc.vnetwork);
    inet_pton(AF_INET, USER_MASK, &sc.vnetmask);
    inet_pton(AF_INET, USER_HOST, &sc.vhost);
    inet_pton(AF_INET, USER_DNS, &sc.vnameserver);
    inet_pton(AF_INET, USER_DHCP, &dhcp);
    sc.vdhcp_start = dhcp;
    sc.vhostname = "vessel";
    u->slirp = sl.new(&sc, &user_callbacks, u);
    if (!u->slirp) {
        err = -ENOMEM;
        log_err("net: user: libslirp %s did not start", sl.version_string());
        goto fail;
    }
    for (int i = 0; i < cfg->nhostfwd; i++) {
        const struct net_hostfwd *f = &cfg->hostfwd[i];
        struct in_addr guest = f->guest_addr.s_addr ? f->guest_addr : dhcp;
        char haddr[INET_ADDRSTRLEN];

        if (sl.add_hostfwd(u->slirp, f->udp, f->host_addr, f->host_port, guest, f->guest_port) <
            0) {
            err = errno ? -errno : -EADDRINUSE;
            inet_ntop(AF_INET, &f->host_addr, haddr, sizeof(haddr));
            log_err("net: user: hostfwd %s:%s:%u: cannot listen there (%s)", f->udp ? "udp" : "tcp",
                    haddr, f->host_port, strerror(-err));
            goto fail;
        }
    }
    err = -thread_create(&u->thread, THREAD_NET_USER, user_main, u);
    if (err) {
        log_err("net: user: starting its thread: %s", strerror(-err));
        goto fail;
    }
    u->started = true;
    *out = &u->nb;
    return 0;

fail:
    user_free(&u->nb);
    return err;
}
