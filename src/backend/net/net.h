/* Host side of a guest network interface: Ethernet frames to and from a host network.
 *
 * Three backends sit behind one interface: `user` (user-mode NAT through libslirp, on a thread
 * of its own), `tap` (an existing tap interface) and `switch` (a port on a `vessel switch` L2
 * switch). The device pulls: it watches net_backend_rx_fd() on its own thread and calls
 * net_backend_recv() while it has receive buffers; when the guest has none it stops watching
 * the fd, and frames wait on the host side (the tap/socket queue, or user's bounded queue) -
 * flow control without any lock shared with the device. */
#ifndef VESSEL_BACKEND_NET_NET_H
#define VESSEL_BACKEND_NET_NET_H

#include <netinet/in.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NET_MAX_HOSTFWD 16
#define NET_FRAME_MAX   65536 /* largest frame any backend reads or sends */
#define NET_ETH_HLEN    14
#define NET_PATH_MAX    108 /* sizeof(sockaddr_un.sun_path) */

enum net_kind { NET_USER, NET_TAP, NET_SWITCH };

struct net_hostfwd {
    bool udp;
    struct in_addr host_addr;  /* INADDR_ANY when omitted */
    struct in_addr guest_addr; /* 0: the address the guest gets by DHCP */
    uint16_t host_port, guest_port;
};

/* One `--net` value. */
struct net_config {
    enum net_kind kind;
    uint8_t mac[6];
    bool mac_set;
    char ifname[IFNAMSIZ];   /* tap */
    char path[NET_PATH_MAX]; /* switch */
    int fd;                  /* fd=: an open tap or switch socket */
    bool fd_set;
    struct net_hostfwd hostfwd[NET_MAX_HOSTFWD]; /* user */
    int nhostfwd;
};

/* Parses a `--net` value ("user[,hostfwd=tcp:ADDR:HPORT-:GPORT]...[,mac=..]",
 * "tap,ifname=NAME[,mac=..]", "switch,path=PATH[,mac=..]"; tap and switch also take fd=N, an
 * fd this process already has open on the tap or connected to the switch, and then need no
 * ifname or path). Returns 0, or -EINVAL with a one-line reason (no trailing newline) in err. */
int net_config_parse(const char *spec, struct net_config *cfg, char *err, size_t errlen);
/* For a tap or a switch without fd=: opens the tap (TUNSETIFF, which may need privileges) or
 * connects to the switch, and returns the fd (CLOEXEC) to hand in as fd=; -errno (logged). */
int net_backend_preopen(const struct net_config *cfg);
/* "52:54:00:12:34:56" -> mac. Unicast only (a multicast MAC is -EINVAL). Returns 0 or -EINVAL. */
int net_mac_parse(const char *s, uint8_t mac[6]);
/* A locally administered-style default in QEMU's 52:54:00 range, unique per process and index:
 * 3 bytes from the pid, the index and random bits. */
void net_mac_default(uint8_t mac[6], int index);
/* A random locally administered unicast MAC (a clone's new NIC address). */
void net_mac_random(uint8_t mac[6]);

struct net_backend;

/* Opens the host side (socket, tap fd, slirp instance and its thread). Returns 0 or -errno with
 * a logged message naming the backend and its argument. */
int net_backend_open(struct net_backend **out, const struct net_config *cfg);
/* Readable (level-triggered) while net_backend_recv() may have a frame. */
int net_backend_rx_fd(const struct net_backend *nb);
/* The next frame from the host network into buf (cap bytes; NET_FRAME_MAX holds any frame):
 * its length; -EAGAIN when there is none now; another -errno when the link is gone for good
 * (logged; stop watching the fd). Call from one thread at a time. */
ssize_t net_backend_recv(struct net_backend *nb, uint8_t *buf, size_t cap);
/* Sends one frame gathered from iov to the host network. Returns 0 or -errno (the frame is
 * lost, as on a wire). Call from one thread at a time. */
int net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt);
/* "user", "tap tap0", "switch /run/sw" (for messages). */
const char *net_backend_name(const struct net_backend *nb);

/* Snapshots (docs/state-format.md). The name of the section that holds this backend's own
 * state ("net-user": libslirp's), or NULL when it keeps none (tap, switch). */
const char *net_backend_state_name(const struct net_backend *nb);
/* That state as a malloc'd blob (*buf, *len; free it). Returns 0, -ENOTSUP for a backend
 * without state, or another -errno (logged). Safe while the backend runs. */
int net_backend_save(struct net_backend *nb, uint8_t **buf, size_t *len);
/* Loads a blob that net_backend_save of a backend of the same type wrote, before the guest
 * runs. Returns 0, -ENOTSUP, or -EINVAL with a one-line reason in why (nothing logged). */
int net_backend_load(struct net_backend *nb, const uint8_t *buf, size_t len, char *why,
                     size_t whylen);
/* Releases everything (stops user's thread). NULL is fine. */
void net_backend_close(struct net_backend *nb);

#endif
