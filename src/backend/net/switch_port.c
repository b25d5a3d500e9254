/* `switch`: a port on a `vessel switch`, a SOCK_SEQPACKET unix socket carrying one Ethernet
 * frame per message. */
#include <errno.h>
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

int net_switch_port_open(struct net_backend **out, const struct net_config *cfg)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct net_backend *nb;
    int err;

    nb = calloc(1, sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    nb->fd = -1;
    nb->ops = &swport_ops;
    snprintf(nb->what, sizeof(nb->what), "switch %s", cfg->path);
    if (strlen(cfg->path) >= sizeof(sa.sun_path)) {
        err = -ENAMETOOLONG;
        log_err("net: %s: path too long", nb->what);
        goto fail;
    }
    memcpy(sa.sun_path, cfg->path, strlen(cfg->path));
    nb->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (nb->fd < 0 || connect(nb->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = -errno;
        log_err("net: %s: connecting: %s (is `vessel switch %s` running?)", nb->what,
                strerror(errno), cfg->path);
        goto fail;
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
