/* `tap`: an existing tap interface, opened by name through /dev/net/tun (no packet-info header,
 * no vnet header: frames pass as plain Ethernet). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backend/net/net_impl.h"
#include "base/log.h"

static int tap_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    ssize_t n;

    do {
        n = writev(nb->fd, iov, iovcnt);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the interface queue is full (or the link is down); the frame is lost. */
    return n < 0 ? -errno : 0;
}

static const struct net_backend_ops tap_ops = {
    .recv = net_fd_recv,
    .send = tap_send,
    .free = net_fd_free,
};

/* Opens the tap cfg names; -errno (logged, naming it). */
static int tap_attach(const struct net_config *cfg, const char *what)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), err;

    if (fd < 0) {
        err = -errno;
        log_err("net: %s: /dev/net/tun: %s", what, strerror(errno));
        return err;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        err = -errno;
        log_err("net: %s: attaching (TUNSETIFF): %s%s", what, strerror(errno),
                errno == EPERM ? " (needs CAP_NET_ADMIN or a tap owned by this user)" : "");
        close(fd);
        return err;
    }
    return fd;
}

int net_tap_preopen(const struct net_config *cfg)
{
    char what[64];

    snprintf(what, sizeof(what), "tap %s", cfg->ifname);
    return tap_attach(cfg, what);
}

int net_tap_open(struct net_backend **out, const struct net_config *cfg)
{
    struct net_backend *nb;
    struct ifreq ifr;
    int err;

    nb = calloc(1, sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    nb->fd = -1;
    nb->ops = &tap_ops;
    if (!cfg->fd_set) {
        snprintf(nb->what, sizeof(nb->what), "tap %s", cfg->ifname);
        nb->fd = tap_attach(cfg, nb->what);
        if (nb->fd < 0) {
            err = nb->fd;
            goto fail;
        }
        *out = nb;
        return 0;
    }
    /* fd=: attached already (by a jail before it dropped its privileges, or by the caller) */
    snprintf(nb->what, sizeof(nb->what), "tap %s (fd %d)", cfg->ifname[0] ? cfg->ifname : "",
             cfg->fd);
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(cfg->fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP)) {
        err = -EBADF;
        log_err("net: %s: fd %d is not an attached tap device", nb->what, cfg->fd);
        goto fail;
    }
    if (fcntl(cfg->fd, F_SETFL, fcntl(cfg->fd, F_GETFL) | O_NONBLOCK) < 0) {
        err = -errno;
        log_err("net: %s: %s", nb->what, strerror(errno));
        goto fail;
    }
    nb->fd = cfg->fd;
    *out = nb;
    return 0;

fail:
    net_fd_free(nb);
    return err;
}
