/* Inside the network backends: the per-type ops table and the common head. Not for devices. */
#ifndef VESSEL_BACKEND_NET_NET_IMPL_H
#define VESSEL_BACKEND_NET_NET_IMPL_H

#include "backend/net/net.h"

struct net_backend_ops {
    ssize_t (*recv)(struct net_backend *nb, uint8_t *buf, size_t cap);
    int (*send)(struct net_backend *nb, const struct iovec *iov, int iovcnt);
    void (*free)(struct net_backend *nb); /* releases everything, nb included */
    /* Snapshots (net.h): the backend's own state, for backends that keep any (user); tap and
     * switch leave all three NULL. */
    const char *state_name;
    int (*save)(struct net_backend *nb, uint8_t **buf, size_t *len);
    int (*load)(struct net_backend *nb, const uint8_t *buf, size_t len, char *why, size_t whylen);
};

/* The common head of every backend; each type embeds it first. */
struct net_backend {
    const struct net_backend_ops *ops;
    char what[160]; /* "tap tap0", "switch /run/sw" */
    int fd;         /* the rx fd the device watches */
};

/* The common recv for fd backends (tap, switch port): one frame per read(); runts skipped. */
ssize_t net_fd_recv(struct net_backend *nb, uint8_t *buf, size_t cap);
/* The common free for fd backends: closes fd, frees nb. */
void net_fd_free(struct net_backend *nb);

int net_tap_open(struct net_backend **out, const struct net_config *cfg);
int net_switch_port_open(struct net_backend **out, const struct net_config *cfg);
int net_user_open(struct net_backend **out, const struct net_config *cfg);
int net_tap_preopen(const struct net_config *cfg);
int net_switch_port_preopen(const struct net_config *cfg);

#endif
