/* `switch`: a port on a `vessel switch`, a SOCK_SEQPACKET unix socket carrying one Ethernet
 * frame per message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/net/net_impl.h"
#include "base/log.h"

static int swport_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n;

    do {
        n = sendmsg(nb->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

static const struct net_backend_ops swport_ops = {
    .recv = net_fd_recv,
    .send = swport_send,
    .free = net_fd_free,
};

/* A seqpacket socket connected to the switch at cfg->path, or -errno (logged as what). */
static int swport_connect(const struct net_config *cfg, const char *what)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, err;

    if (strlen(cfg->path) >= sizeof(sa.sun_path)) {
        log_err("net: %s: path too long", what);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, cfg->path, strlen(cfg->path));
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = -errno;
        log_err("net: %s: connecting: %s (is `vessel switch %s` running?)", what, strerror(errno),
                cfg->path);
        if (fd >= 0)
            close(fd);
        return err;
    }
    return fd;
}

int net_switch_port_preopen(const struct net_config *cfg)
{
    char what[160];

    snprintf(what, sizeof(what), "switch %s", cfg->path);
    return swport_connect(cfg, what);
}

int net_switch_port_open(struct net_backend **out, const struct net_config *cfg)
{
    struct net_backend *nb;
    int type = 0, err;
    socklen_t len = sizeof(type);

    nb = calloc(1, sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    nb->fd = -1;
    nb->ops = &swport_ops;
    snprintf(nb->what, sizeof(nb->what), "switch %s", cfg->path);
    if (!cfg->fd_set) {
        nb->fd = swport_connect(cfg, nb->what);
        if (nb->fd < 0) {
            err = nb->fd;
            goto fail;
        }
    } else {
        /* fd=: connected already (by a jail, whose VM cannot reach the switch's path) */
        if (getsockopt(cfg->fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
            fcntl(cfg->fd, F_SETFL, fcntl(cfg->fd, F_GETFL) | O_NONBLOCK) < 0) {
            err = -EBADF;
            log_err("net: %s: fd %d is not a socket connected to a switch", nb->what, cfg->fd);
            goto fail;
        }
        nb->fd = cfg->fd;
    }
    /* Room for bursts: a full socket drops the frame (as a busy wire would) rather than stall
     * the device's transmit path on a switch that stopped reading. */
    setsockopt(nb->fd, SOL_SOCKET, SO_SNDBUF, &(int){1 << 20}, sizeof(int));
    *out = nb;
    return 0;

fail:
    net_fd_free(nb);
    return err;
}
