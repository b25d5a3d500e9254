/* Network backends: dispatch to the type, and the recv/free that tap and switch ports share. */
#include "backend/net/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/net/net_impl.h"
#include "base/log.h"

int net_backend_open(struct net_backend **out, const struct net_config *cfg)
{
    switch (cfg->kind) {
    case NET_USER: return net_user_open(out, cfg);
    case NET_TAP: return net_tap_open(out, cfg);
    case NET_SWITCH: return net_switch_port_open(out, cfg);
    }
    return -EINVAL;
}

int net_backend_preopen(const struct net_config *cfg)
{
    if (cfg->fd_set)
        return -EINVAL;
    return cfg->kind == NET_TAP      ? net_tap_preopen(cfg)
           : cfg->kind == NET_SWITCH ? net_switch_port_preopen(cfg)
                                     : -EINVAL;
}

int net_backend_rx_fd(const struct net_backend *nb)
{
    return nb->fd;
}

ssize_t net_backend_recv(struct net_backend *nb, uint8_t *buf, size_t cap)
{
    return nb->ops->recv(nb, buf, cap);
}

int net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    return nb->ops->send(nb, iov, iovcnt);
}

const char *net_backend_name(const struct net_backend *nb)
{
    return nb->what;
}

const char *net_backend_state_name(const struct net_backend *nb)
{
    return nb->ops->state_name;
}

int net_backend_save(struct net_backend *nb, uint8_t **buf, size_t *len)
{
    return nb->ops->save ? nb->ops->save(nb, buf, len) : -ENOTSUP;
}

int net_backend_load(struct net_backend *nb, const uint8_t *buf, size_t len, char *why,
                     size_t whylen)
{
    if (!nb->ops->load) {
        snprintf(why, whylen, "%s keeps no state", nb->what);
        return -ENOTSUP;
    }
    return nb->ops->load(nb, buf, len, why, whylen);
}

void net_backend_close(struct net_backend *nb)
{
    if (nb)
        nb->ops->free(nb);
}

ssize_t net_fd_recv(struct net_backend *nb, uint8_t *buf, size_t cap)
{
    for (;;) {
        ssize_t n = read(nb->fd, buf, cap);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -EAGAIN;
        if (n < 0) {
            int err = -errno;

            log_warn("net: %s: read: %s; the link is down", nb->what, strerror(errno));
            return err;
        }
        if (n == 0) {
            log_warn("net: %s: the other end went away; the link is down", nb->what);
            return -ECONNRESET;
        }
        if ((size_t)n >= NET_ETH_HLEN)
            return n;
        /* a runt: not an Ethernet frame; try the next one */
    }
}

void net_fd_free(struct net_backend *nb)
{
    if (nb->fd >= 0)
        close(nb->fd);
    free(nb);
}
