/* `vessel switch PATH`: a learning L2 Ethernet switch on a SOCK_SEQPACKET unix socket. Each
 * connection is a port; each message one Ethernet frame. One epoll thread: frames are forwarded
 * with non-blocking sends, so a stalled peer loses frames instead of stalling the others. */
#include "backend/net/switch_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend/net/net.h"
#include "backend/net/switch_fwd.h"
#include "base/clock.h"
#include "base/log.h"

#define TAG_LISTEN (-1)
#define TAG_SIGNAL (-2)

struct switch_state {
    int ports[SWITCH_MAX_PORTS]; /* fd per port, -1 when free */
    int nports;
    struct switch_fwd fwd;
    uint8_t buf[NET_FRAME_MAX];
    unsigned long frames, dropped;
};

/* Binds path, replacing a stale socket nobody listens on; refuses anything else. */
static int switch_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, probe;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("switch: %s: path too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_err("switch: %s: exists and is not a socket", path);
            return -EEXIST;
        }
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            log_err("switch: %s: another switch is already running there", path);
            return -EADDRINUSE;
        }
        if (probe >= 0)
            close(probe);
        unlink(path); /* stale: its switch is gone */
    }
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int err = -errno;

        log_err("switch: %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    return fd;
}

static void port_close(struct switch_state *s, int ep, int port)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, s->ports[port], NULL);
    close(s->ports[port]);
    s->ports[port] = -1;
    s->nports--;
    switch_fwd_port_gone(&s->fwd, port);
    log_info("switch: port %d left (%d attached)", port, s->nports);
}

static void port_accept(struct switch_state *s, int ep, int lfd)
{
    struct epoll_event ev = {.events = EPOLLIN};
    int fd, port;

    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (port = 0; port < SWITCH_MAX_PORTS && s->ports[port] >= 0; port++)
        ;
    if (port == SWITCH_MAX_PORTS) {
        log_warn("switch: all %d ports are in use; refusing a connection", SWITCH_MAX_PORTS);
        close(fd);
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){1 << 20}, sizeof(int));
    ev.data.u64 = (uint64_t)port;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return;
    }
    s->ports[port] = fd;
    s->nports++;
    log_info("switch: port %d joined (%d attached)", port, s->nports);
}

static void port_send(struct switch_state *s, int port, size_t len)
{
    if (send(s->ports[port], s->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        s->dropped++; /* full or gone: its own EPOLLHUP will remove it */
}

/* Reads and forwards what port has queued (bounded, to stay fair to the other ports). */
static void port_input(struct switch_state *s, int ep, int port)
{
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(s->ports[port], s->buf, sizeof(s->buf), MSG_DONTWAIT | MSG_TRUNC);
        int out;

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            port_close(s, ep, port);
            return;
        }
        if ((size_t)n > sizeof(s->buf))
            continue; /* truncated: larger than any frame */
        s->frames++;
        out = switch_fwd_frame(&s->fwd, port, s->buf, (size_t)n, clock_now_ns());
        if (out == SWITCH_FWD_FLOOD) {
            for (int p = 0; p < SWITCH_MAX_PORTS; p++)
                if (p != port && s->ports[p] >= 0)
                    port_send(s, p, (size_t)n);
        } else if (out >= 0 && s->ports[out] >= 0) {
            port_send(s, out, (size_t)n);
        }
    }
}

int switch_serve(const char *path, uint64_t age_ns)
{
    struct epoll_event ev = {.events = EPOLLIN};
    struct switch_state *s;
    sigset_t mask;
    int lfd, ep = -1, sfd = -1, err = 0;

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (int i = 0; i < SWITCH_MAX_PORTS; i++)
        s->ports[i] = -1;
    switch_fwd_init(&s->fwd, age_ns);
    lfd = switch_listen(path);
    if (lfd < 0) {
        free(s);
        return lfd;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || ep < 0) {
        err = -errno;
        log_err("switch: %s: setting up the event loop: %s", path, strerror(errno));
        goto out;
    }
    ev.data.u64 = (uint64_t)(int64_t)TAG_LISTEN;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = (uint64_t)(int64_t)TAG_SIGNAL;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    printf("vessel switch: listening on %s\n", path);
    fflush(stdout);
    for (;;) {
        struct epoll_event evs[32];
        int n = epoll_wait(ep, evs, 32, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            log_err("switch: epoll_wait: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < n; i++) {
            int tag = (int)(int64_t)evs[i].data.u64;

            if (tag == TAG_SIGNAL)
                goto out; /* a clean stop */
            if (tag == TAG_LISTEN)
                port_accept(s, ep, lfd);
            else if (s->ports[tag] >= 0)
                port_input(s, ep, tag);
        }
    }

out:
    for (int i = 0; i < SWITCH_MAX_PORTS; i++)
        if (s->ports[i] >= 0)
            close(s->ports[i]);
    if (ep >= 0)
        close(ep);
    if (sfd >= 0)
        close(sfd);
    close(lfd);
    unlink(path);
    free(s);
    return err;
}
