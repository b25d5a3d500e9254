#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "backend/net/net.h"
#include "harness.h"

TEST(net_mac_parse)
{
    uint8_t m[6] = {0};

    CHECK_EQ(net_mac_parse("52:54:00:12:34:aB", m), 0);
    CHECK_EQ(m[0], 0x52);
    CHECK_EQ(m[5], 0xab);
    CHECK_EQ(net_mac_parse("52:54:00:12:34", m), -EINVAL);
    CHECK_EQ(net_mac_parse("52:54:00:12:34:56:78", m), -EINVAL);
    CHECK_EQ(net_mac_parse("52-54-00-12-34-56", m), -EINVAL);
    CHECK_EQ(net_mac_parse("5:54:00:12:34:56", m), -EINVAL);
    CHECK_EQ(net_mac_parse("01:00:5e:00:00:01", m), -EINVAL); /* multicast */
    CHECK_EQ(net_mac_parse("", m), -EINVAL);
}

TEST(net_mac_default)
{
    uint8_t a[6], b[6];

    net_mac_default(a, 0);
    net_mac_default(b, 1);
    CHECK_EQ(a[0], 0x52);
    CHECK_EQ(a[1], 0x54);
    CHECK_EQ(a[2], 0x00);
    CHECK(memcmp(a, b, 6) != 0);
}

TEST(net_mac_random)
{
    uint8_t a[6], b[6];

    net_mac_random(a);
    net_mac_random(b);
    CHECK_EQ(a[0] & 3, 2); /* locally administered, unicast */
    CHECK_EQ(b[0] & 3, 2);
    CHECK(memcmp(a, b, 6) != 0);
}

TEST(net_config_parse)
{
    struct net_config c;
    char err[200];

    CHECK_EQ(net_config_parse("user", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.kind, NET_USER);
    CHECK_EQ(c.nhostfwd, 0);
    CHECK(!c.mac_set);

    CHECK_EQ(net_config_parse("user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp::8080-10.0.2.15:80,"
                              "mac=52:54:00:00:00:01",
                              &c, err, sizeof(err)),
             0);
    CHECK_EQ(c.nhostfwd, 2);
    CHECK_EQ(c.hostfwd[0].host_addr.s_addr, htonl(INADDR_LOOPBACK));
    CHECK_EQ(c.hostfwd[0].host_port, 2222);
    CHECK_EQ(c.hostfwd[0].guest_port, 22);
    CHECK_EQ(c.hostfwd[0].guest_addr.s_addr, 0);
    CHECK_EQ(c.hostfwd[1].host_addr.s_addr, htonl(INADDR_ANY));
    CHECK_EQ(c.hostfwd[1].guest_addr.s_addr, inet_addr("10.0.2.15"));
    CHECK(c.mac_set);
    CHECK_EQ(c.mac[5], 1);

    CHECK_EQ(net_config_parse("tap,ifname=tap0", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.kind, NET_TAP);
    CHECK(!strcmp(c.ifname, "tap0"));
    CHECK_EQ(net_config_parse("switch,path=/tmp/sw,mac=02:00:00:00:00:02", &c, err, sizeof(err)),
             0);
    CHECK_EQ(c.kind, NET_SWITCH);
    CHECK(!strcmp(c.path, "/tmp/sw"));

    /* Errors say what is wrong. */
    CHECK_EQ(net_config_parse("", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("bridge", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "unknown backend 'bridge'") != NULL);
    CHECK_EQ(net_config_parse("tap", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "ifname") != NULL);
    CHECK_EQ(net_config_parse("switch", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,ifname=x", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("tap,ifname=0123456789abcdef", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,mac=01:00:00:00:00:00", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "mac=") != NULL);
    CHECK_EQ(net_config_parse("user,hostfwd=tcp:127.0.0.1:0-:22", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,hostfwd=tcp:127.0.0.1:22", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,hostfwd=sctp::1-:2", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,hostfwd=tcp:1.2.3:1-:2", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,hostfwd=tcp::1-:65536", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(net_config_parse("user,hostfwd", &c, err, sizeof(err)), -EINVAL);
}
