#include "backend/net/switch_fwd.h"

#include <string.h>

void switch_fwd_init(struct switch_fwd *t, uint64_t age_ns)
{
    t->age_ns = age_ns;
    for (int b = 0; b < SWITCH_FWD_BUCKETS; b++)
        for (int w = 0; w < SWITCH_FWD_WAYS; w++)
            t->e[b][w].port = -1;
}

static unsigned bucket_of(const uint8_t mac[6])
{
    /* The low bytes vary most between NICs (the OUI is shared). */
    return (unsigned)(mac[5] ^ (mac[4] << 3) ^ (mac[3] >> 2) ^ mac[2] ^ mac[1]) %
           SWITCH_FWD_BUCKETS;
}

static int alive(const struct switch_fwd *t, const struct switch_fwd_entry *e, uint64_t now)
{
    return e->port >= 0 && now - e->seen_ns < t->age_ns;
}

int switch_fwd_lookup(const struct switch_fwd *t, const uint8_t mac[6], uint64_t now_ns)
{
    const struct switch_fwd_entry *row = t->e[bucket_of(mac)];

    for (int w = 0; w < SWITCH_FWD_WAYS; w++)
        if (alive(t, &row[w], now_ns) && !memcmp(row[w].mac, mac, 6))
            return row[w].port;
    return -1;
}

static void learn(struct switch_fwd *t, const uint8_t mac[6], int port, uint64_t now)
{
    struct switch_fwd_entry *row = t->e[bucket_of(mac)], *victim = NULL;
    int w;

    /* Known: refresh (the station may have moved ports). Else a free or aged slot, else the
     * least recently seen entry of the bucket. */
    for (w = 0; w < SWITCH_FWD_WAYS && !victim; w++)
        if (row[w].port >= 0 && !memcmp(row[w].mac, mac, 6))
            victim = &row[w];
    for (w = 0; w < SWITCH_FWD_WAYS && !victim; w++)
        if (!alive(t, &row[w], now))
            victim = &row[w];
    if (!victim) {
        victim = &row[0];
        for (w = 1; w < SWITCH_FWD_WAYS; w++)
            if (row[w].seen_ns < victim->seen_ns)
                victim = &row[w];
    }
    memcpy(victim->mac, mac, 6);
    victim->port = port;
    victim->seen_ns = now;
}

int switch_fwd_frame(struct switch_fwd *t, int in_port, const uint8_t *frame, size_t len,
                     uint64_t now_ns)
{
    const uint8_t *dst = frame, *src = frame + 6;
    int out;

    if (len < 14 || (src[0] & 1))
        return SWITCH_FWD_DROP;
    learn(t, src, in_port, now_ns);
    if (dst[0] & 1)
        return SWITCH_FWD_FLOOD;
    out = switch_fwd_lookup(t, dst, now_ns);
    if (out < 0)
        return SWITCH_FWD_FLOOD;
    return out == in_port ? SWITCH_FWD_DROP : out;
}

void switch_fwd_port_gone(struct switch_fwd *t, int port)
{
    for (int b = 0; b < SWITCH_FWD_BUCKETS; b++)
        for (int w = 0; w < SWITCH_FWD_WAYS; w++)
            if (t->e[b][w].port == port)
                t->e[b][w].port = -1;
}
