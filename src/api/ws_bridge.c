/* A WebSocket bridged to a byte stream (ws_bridge.h). */
#include "api/ws_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/ws_frame.h"
#include "base/file.h"
#include "base/log.h"

#define WS_SMALL_FRAME 4096 /* console output is read in pieces of this size */

struct ws_bridge {
    struct ws_bridges *set;
    int sock, fd, stop_fd;
    char *backlog;
    size_t backlog_len;
    ws_done_fn done;
    void *opaque;
    struct ws_bridge *prev, *next;
    struct ws_reader rd; /* last: large */
};

void ws_bridges_init(struct ws_bridges *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->done, NULL);
    s->head = NULL;
    s->n = 0;
}

void ws_bridges_stop(struct ws_bridges *s)
{
    struct timespec until;
    uint64_t one = 1;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&s->lock);
    for (struct ws_bridge *b = s->head; b; b = b->next)
        if (write(b->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            log_warn("api: cannot tell a console WebSocket to end: %s", strerror(errno));
    while (s->n && pthread_cond_timedwait(&s->done, &s->lock, &until) == 0) {
    }
    if (s->n)
        log_warn("api: %d console WebSockets did not end within 5 s", s->n);
    pthread_mutex_unlock(&s->lock);
}

/* All of buf to the browser, waiting at most WS_SEND_TIMEOUT_S for room. 0 or -errno. */
static int send_all(struct ws_bridge *b, const uint8_t *buf, size_t len)
{
    while (len) {
        struct pollfd p = {.fd = b->sock, .events = POLLOUT};
        ssize_t n = write(b->sock, buf, len);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -errno;
        if (poll(&p, 1, WS_SEND_TIMEOUT_S * 1000) <= 0)
            return -ETIMEDOUT;
    }
    return 0;
}

/* One frame; a small one in one write (two would wait for the peer's delayed ACK: Nagle). */
static int send_frame(struct ws_bridge *b, uint8_t op, const void *payload, size_t len)
{
    uint8_t f[WS_HEADER_MAX + WS_SMALL_FRAME];
    size_t hl = ws_header_write(f, op, len);

    if (len > WS_SMALL_FRAME)
        return send_all(b, f, hl) ?: send_all(b, payload, len);
    memcpy(f + hl, payload, len);
    return send_all(b, f, hl + len);
}

static void send_close(struct ws_bridge *b, unsigned code, const char *why)
{
    uint8_t p[WS_CONTROL_MAX];
    size_t n = strlen(why);

    if (n > sizeof(p) - 2)
        n = sizeof(p) - 2;
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, why, n);
    send_frame(b, WS_OP_CLOSE, p, n + 2);
}

/* The browser's bytes in the reader: act on every whole frame. 0 to go on, 1 when the
 * connection ends. */
static int browser_frames(struct ws_bridge *b)
{
    struct ws_frame f;
    int r;

    while ((r = ws_reader_next(&b->rd, &f)) == 1) {
        switch (f.opcode) {
        case WS_OP_TEXT:
        case WS_OP_BINARY:
        case WS_OP_CONT:
            if (f.len && file_write_all(b->fd, f.payload, f.len)) {
                send_close(b, WS_CLOSE_GOING, "the console does not take input");
                return 1;
            }
            break;
        case WS_OP_PING:
            if (send_frame(b, WS_OP_PONG, f.payload, f.len))
                return 1;
            break;
        case WS_OP_CLOSE: /* echo its status code, then end */
            send_frame(b, WS_OP_CLOSE, f.payload, f.len >= 2 ? 2 : 0);
            return 1;
        default: break; /* a pong */
        }
    }
    if (r == 0)
        return 0;
    send_close(b, r == -EMSGSIZE ? WS_CLOSE_TOO_BIG : WS_CLOSE_PROTOCOL,
               r == -EMSGSIZE ? "frame too large" : "protocol error");
    return 1;
}

static void *bridge_main(void *arg)
{
    struct ws_bridge *b = arg;
    struct ws_bridges *s = b->set;
    uint8_t out[WS_SMALL_FRAME];
    bool end = false;

    for (size_t off = 0; off < b->backlog_len && !end; off += 32768) {
        size_t n = b->backlog_len - off < 32768 ? b->backlog_len - off : 32768;
        end = send_frame(b, WS_OP_BINARY, b->backlog + off, n) != 0;
    }
    free(b->backlog);
    b->backlog = NULL;
    if (!end)
        end = browser_frames(b) != 0; /* bytes that came with the handshake */
    while (!end) {
        struct pollfd p[3] = {{.fd = b->sock, .events = POLLIN},
                              {.fd = b->fd, .events = POLLIN},
                              {.fd = b->stop_fd, .events = POLLIN}};
        size_t room;
        uint8_t *space;
        ssize_t n;

        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[2].revents) {
            send_close(b, WS_CLOSE_GOING, "the daemon is stopping");
            break;
        }
        if (p[1].revents) {
            n = read(b->fd, out, sizeof(out));
            if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
                send_close(b, WS_CLOSE_NORMAL, "the console closed: the VM stopped");
                break;
            }
            if (n > 0 && send_frame(b, WS_OP_BINARY, out, (size_t)n))
                break;
        }
        if (p[0].revents) {
            space = ws_reader_space(&b->rd, &room);
            n = read(b->sock, space, room);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                break;
            ws_reader_commit(&b->rd, (size_t)n);
            end = browser_frames(b) != 0;
        }
    }
    close(b->fd);
    close(b->stop_fd);
    b->done(b->opaque);
    pthread_mutex_lock(&s->lock);
    if (b->prev)
        b->prev->next = b->next;
    else
        s->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    s->n--;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->lock);
    free(b);
    return NULL;
}

int ws_bridge_start(struct ws_bridges *s, int sock, int fd, char *backlog, size_t backlog_len,
                    const char *extra, size_t extra_len, ws_done_fn done, void *opaque)
{
    struct ws_bridge *b = calloc(1, sizeof(*b));
    pthread_attr_t attr;
    pthread_t t;
    size_t room;
    int err = -ENOMEM;

    if (!b)
        goto fail;
    *b = (struct ws_bridge){.set = s,
                            .sock = sock,
                            .fd = fd,
                            .backlog = backlog,
                            .backlog_len = backlog_len,
                            .done = done,
                            .opaque = opaque};
    if (extra_len > sizeof(b->rd.buf)) {
        err = -EMSGSIZE;
        goto fail;
    }
    memcpy(ws_reader_space(&b->rd, &room), extra, extra_len);
    ws_reader_commit(&b->rd, extra_len);
    b->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (b->stop_fd < 0) {
        err = -errno;
        goto fail;
    }
    /* the socket may come non-blocking; send_all copes with that, reads are after poll. Console
     * output is many small frames: no Nagle delays (a unix socketpair under TLS refuses it) */
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_mutex_lock(&s->lock);
    err = -pthread_create(&t, &attr, bridge_main, b);
    if (!err) {
        b->next = s->head;
        if (s->head)
            s->head->prev = b;
        s->head = b;
        s->n++;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_attr_destroy(&attr);
    if (!err)
        return 0;
    close(b->stop_fd);
fail:
    log_err("api: cannot start a console WebSocket: %s", strerror(-err));
    if (b)
        free(b);
    free(backlog);
    close(fd);
    done(opaque);
    return err;
}
