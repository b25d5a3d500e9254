#include <string.h>

#include "backend/net/switch_fwd.h"
#include "harness.h"

#define SEC 1000000000ULL

static const uint8_t mac_a[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t mac_c[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0c};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mcast[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

static int frame(struct switch_fwd *t, int port, const uint8_t *dst, const uint8_t *src,
                 uint64_t now)
{
    uint8_t f[60] = {0};

    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    return switch_fwd_frame(t, port, f, sizeof(f), now);
}

TEST(switch_fwd_learns_and_floods)
{
    static struct switch_fwd t;

    switch_fwd_init(&t, 300 * SEC);
    /* Unknown destination and broadcast flood; sources are learned on the way. */
    CHECK_EQ(frame(&t, 0, bcast, mac_a, 1), SWITCH_FWD_FLOOD);
    CHECK_EQ(switch_fwd_lookup(&t, mac_a, 1), 0);
    CHECK_EQ(frame(&t, 1, mac_c, mac_b, 2), SWITCH_FWD_FLOOD);
    CHECK_EQ(frame(&t, 1, mcast, mac_b, 2), SWITCH_FWD_FLOOD);
    /* Known unicast goes to exactly one port, both ways. */
    CHECK_EQ(frame(&t, 1, mac_a, mac_b, 3), 0);
    CHECK_EQ(frame(&t, 0, mac_b, mac_a, 4), 1);
    /* A destination on the ingress port is not sent back. */
    CHECK_EQ(frame(&t, 0, mac_a, mac_a, 5), SWITCH_FWD_DROP);
    /* A station that moves is re-learned on its new port. */
    CHECK_EQ(frame(&t, 2, bcast, mac_a, 6), SWITCH_FWD_FLOOD);
    CHECK_EQ(frame(&t, 1, mac_a, mac_b, 7), 2);
}

TEST(switch_fwd_rejects_bad_frames)
{
    static struct switch_fwd t;
    uint8_t runt[13] = {0};

    switch_fwd_init(&t, 300 * SEC);
    CHECK_EQ(switch_fwd_frame(&t, 0, runt, sizeof(runt), 1), SWITCH_FWD_DROP);
    /* A multicast source is invalid and never learned. */
    CHECK_EQ(frame(&t, 0, mac_a, mcast, 1), SWITCH_FWD_DROP);
    CHECK_EQ(switch_fwd_lookup(&t, mcast, 1), -1);
}

TEST(switch_fwd_ages_and_forgets_ports)
{
    static struct switch_fwd t;

    switch_fwd_init(&t, 10 * SEC);
    frame(&t, 0, bcast, mac_a, 0);
    frame(&t, 1, bcast, mac_b, 0);
    CHECK_EQ(frame(&t, 1, mac_a, mac_b, 9 * SEC), 0);
    /* mac_a was last seen at 0: aged out after 10 s, so floods again. */
    CHECK_EQ(frame(&t, 1, mac_a, mac_b, 11 * SEC), SWITCH_FWD_FLOOD);
    CHECK_EQ(switch_fwd_lookup(&t, mac_b, 11 * SEC), 1);
    /* A port leaving forgets its stations, and only its own. */
    frame(&t, 0, bcast, mac_a, 12 * SEC);
    switch_fwd_port_gone(&t, 1);
    CHECK_EQ(switch_fwd_lookup(&t, mac_b, 12 * SEC), -1);
    CHECK_EQ(switch_fwd_lookup(&t, mac_a, 12 * SEC), 0);
    CHECK_EQ(frame(&t, 0, mac_b, mac_a, 13 * SEC), SWITCH_FWD_FLOOD);
}

TEST(switch_fwd_full_bucket_replaces_oldest)
{
    static struct switch_fwd t;
    uint8_t macs[SWITCH_FWD_BUCKETS * SWITCH_FWD_WAYS + 1][6];
    int n = (int)(sizeof(macs) / sizeof(macs[0])), known = 0;

    switch_fwd_init(&t, 300 * SEC);
    for (int i = 0; i < n; i++) {
        const uint8_t m[6] = {0x52, 0x54, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};

        memcpy(macs[i], m, 6);
        frame(&t, i % 7, bcast, macs[i], (uint64_t)i + 1);
    }
    /* The newest is always learned; the table never holds more than it has room for. */
    CHECK_EQ(switch_fwd_lookup(&t, macs[n - 1], n + 1), (n - 1) % 7);
    for (int i = 0; i < n; i++)
        known += switch_fwd_lookup(&t, macs[i], n + 1) >= 0;
    CHECK(known <= SWITCH_FWD_BUCKETS * SWITCH_FWD_WAYS);
    CHECK(known > SWITCH_FWD_BUCKETS);
}
