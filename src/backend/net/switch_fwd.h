/* The forwarding brain of `vessel switch`: a learning L2 table with aging. No I/O, so it is
 * unit-tested without sockets: feed it frames, it says where each goes. */
#ifndef VESSEL_BACKEND_NET_SWITCH_FWD_H
#define VESSEL_BACKEND_NET_SWITCH_FWD_H

#include <stddef.h>
#include <stdint.h>

#define SWITCH_FWD_BUCKETS 256
#define SWITCH_FWD_WAYS    4    /* entries per bucket; the oldest is replaced when full */
#define SWITCH_FWD_FLOOD   (-1) /* send to every port but the ingress */
#define SWITCH_FWD_DROP    (-2)

struct switch_fwd_entry {
    uint8_t mac[6];
    int port; /* -1: free */
    uint64_t seen_ns;
};

struct switch_fwd {
    uint64_t age_ns; /* entries unseen for this long are forgotten */
    struct switch_fwd_entry e[SWITCH_FWD_BUCKETS][SWITCH_FWD_WAYS];
};

void switch_fwd_init(struct switch_fwd *t, uint64_t age_ns);
/* Learns the frame's source on in_port (at time now_ns) and returns where the frame goes: a port
 * number, SWITCH_FWD_FLOOD (broadcast, multicast, unknown or aged-out destination) or
 * SWITCH_FWD_DROP (runt, multicast source, or destination on the ingress port). */
int switch_fwd_frame(struct switch_fwd *t, int in_port, const uint8_t *frame, size_t len,
                     uint64_t now_ns);
/* A port went away: forget every address learned on it. */
void switch_fwd_port_gone(struct switch_fwd *t, int port);
/* The port an address was learned on, or -1 (unknown or aged out). */
int switch_fwd_lookup(const struct switch_fwd *t, const uint8_t mac[6], uint64_t now_ns);

#endif
