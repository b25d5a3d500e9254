/* The user (libslirp) backend's snapshot state: round trip and the blobs it refuses. Opens
 * libslirp instances without any host forwarding: nothing touches the host network. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/net/net.h"
#include "harness.h"

static struct net_backend *open_user(void)
{
    struct net_config c;
    struct net_backend *nb = NULL;
    char err[200];

    if (net_config_parse("user", &c, err, sizeof(err)) || net_backend_open(&nb, &c))
        return NULL;
    return nb;
}

TEST(net_user_state)
{
    struct net_backend *a = open_user(), *b = open_user();
    uint8_t *blob = NULL, *bad;
    size_t len = 0;
    char why[256];

    CHECK(a && b);
    if (!a || !b)
        goto out; /* no libslirp.so.0 here: the open said so */
    CHECK(!strcmp(net_backend_state_name(a), "net-user"));
    CHECK_EQ(net_backend_save(a, &blob, &len), 0);
    CHECK(len > 9);
    CHECK_EQ(blob[0], 1); /* layout 1, little-endian */
    CHECK(blob[4] >= 1);  /* libslirp's state version */
    CHECK_EQ(blob[8], 0); /* no guestfwd sockets */
    CHECK_EQ(net_backend_load(b, blob, len, why, sizeof(why)), 0);

    bad = malloc(len + 1);
    memcpy(bad, blob, len);
    bad[4] = 99; /* a newer libslirp's state */
    CHECK_EQ(net_backend_load(b, bad, len, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "version 99") != NULL);
    memcpy(bad, blob, len);
    bad[0] = 2;
    CHECK_EQ(net_backend_load(b, bad, len, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "layout 2") != NULL);
    memcpy(bad, blob, len);
    bad[8] = 42; /* announces a guestfwd socket */
    CHECK_EQ(net_backend_load(b, bad, len, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "guestfwd") != NULL);
    CHECK_EQ(net_backend_load(b, blob, len - 3, why, sizeof(why)), -EINVAL); /* truncated */
    CHECK(strstr(why, "read") != NULL);
    memcpy(bad, blob, len);
    bad[len] = 0; /* a trailing byte libslirp does not read */
    CHECK_EQ(net_backend_load(b, bad, len + 1, why, sizeof(why)), -EINVAL);
    CHECK_EQ(net_backend_load(b, blob, 8, why, sizeof(why)), -EINVAL);
    free(bad);
out:
    free(blob);
    net_backend_close(a);
    net_backend_close(b);
}
