/* `--net` values and MAC addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backend/net/net.h"
#include "base/log.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int net_mac_parse(const char *s, uint8_t mac[6])
{
    uint8_t m[6];

    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

        if (hi < 0 || lo < 0)
            return -EINVAL;
        m[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5 && *s++ != ':')
            return -EINVAL;
    }
    if (*s != '\0' || (m[0] & 1))
        return -EINVAL;
    memcpy(mac, m, 6);
    return 0;
}

void net_mac_default(uint8_t mac[6], int index)
{
    uint8_t rnd[3] = {0};
    uint32_t pid = (uint32_t)getpid();

    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        memset(rnd, 0, sizeof(rnd));
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    /* The low 16 bits of the pid keep the VMs of one host apart in the common case; the index
     * keeps one VM's NICs apart; random bits cover pid reuse modulo 2^16. */
    mac[3] = (uint8_t)((pid >> 8) ^ (rnd[0] & 0xf0));
    mac[4] = (uint8_t)pid;
    mac[5] = (uint8_t)((index & 0x0f) | (rnd[1] & 0xf0));
}

void net_mac_random(uint8_t mac[6])
{
    uint8_t rnd[6] = {0};

    /* Without randomness the pid-based default still gives every process its own address. */
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        net_mac_default(rnd, 0);
    memcpy(mac, rnd, 6);
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* locally administered, unicast */
}

/* Decimal port 1..65535 ending at *end (which must be `stop`). */
static int parse_port(const char *s, char stop, const char **end, uint16_t *port)
{
    char *e;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    v = strtoul(s, &e, 10);
    if (*e != stop || v == 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    *end = e;
    return 0;
}

/* An IPv4 address in [s, s+len); empty means 0.0.0.0. */
static int parse_addr(const char *s, size_t len, struct in_addr *a)
{
    char buf[INET_ADDRSTRLEN];

    if (len == 0) {
        a->s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, a) == 1 ? 0 : -EINVAL;
}

/* "tcp:[HADDR]:HPORT-[GADDR]:GPORT" (udp: too). */
static int parse_hostfwd(const char *v, struct net_hostfwd *f)
{
    const char *p = v, *colon, *dash;

    memset(f, 0, sizeof(*f));
    if (!strncmp(p, "tcp:", 4)) {
        p += 4;
    } else if (!strncmp(p, "udp:", 4)) {
        f->udp = true;
        p += 4;
    } else {
        return -EINVAL;
    }
    colon = strchr(p, ':');
    if (!colon || parse_addr(p, (size_t)(colon - p), &f->host_addr))
        return -EINVAL;
    if (parse_port(colon + 1, '-', &dash, &f->host_port))
        return -EINVAL;
    p = dash + 1;
    colon = strchr(p, ':');
    if (!colon || parse_addr(p, (size_t)(colon - p), &f->guest_addr))
        return -EINVAL;
    return parse_port(colon + 1, '\0', &p, &f->guest_port);
}

static int parse_option(const char *opt, struct net_config *cfg, char *err, size_t errlen)
{
    const char *eq = strchr(opt, '=');
    const char *val = eq ? eq + 1 : "";
    size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);

#define KEY(k) (klen == sizeof(k) - 1 && !strncmp(opt, k, klen))
    if (!eq)
        return errbuf_set(err, errlen, "'%s': expected KEY=VALUE", opt);
    if (KEY("mac")) {
        if (net_mac_parse(val, cfg->mac))
            return errbuf_set(err, errlen, "mac=%s: expected a unicast MAC like 52:54:00:12:34:56",
                              val);
        cfg->mac_set = true;
        return 0;
    }
    if (KEY("hostfwd") && cfg->kind == NET_USER) {
        if (cfg->nhostfwd == NET_MAX_HOSTFWD)
            return errbuf_set(err, errlen, "at most %d hostfwd= rules", NET_MAX_HOSTFWD);
        if (parse_hostfwd(val, &cfg->hostfwd[cfg->nhostfwd]))
            return errbuf_set(err, errlen,
                              "hostfwd=%s: expected tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT", val);
        cfg->nhostfwd++;
        return 0;
    }
    if (KEY("ifname") && cfg->kind == NET_TAP) {
        if (!*val || strlen(val) >= sizeof(cfg->ifname) || strchr(val, '/'))
            return errbuf_set(err, errlen,
                              "ifname=%s: expected an interface name of 1 to %zu bytes", val,
                              sizeof(cfg->ifname) - 1);
        strcpy(cfg->ifname, val);
        return 0;
    }
    if (KEY("fd") && (cfg->kind == NET_TAP || cfg->kind == NET_SWITCH)) {
        char *end;
        long fd = strtol(val, &end, 10);

        if (!*val || *end || fd < 0 || fd > 65535)
            return errbuf_set(err, errlen, "fd=%s: expected an open file descriptor number", val);
        cfg->fd = (int)fd;
        cfg->fd_set = true;
        return 0;
    }
    if (KEY("path") && cfg->kind == NET_SWITCH) {
        if (!*val || strlen(val) >= sizeof(cfg->path))
            return errbuf_set(err, errlen, "path=%s: expected a socket path of 1 to %zu bytes", val,
                              sizeof(cfg->path) - 1);
        strcpy(cfg->path, val);
        return 0;
    }
#undef KEY
    return errbuf_set(err, errlen, "unknown option '%.*s' for this backend", (int)klen, opt);
}

int net_config_parse(const char *spec, struct net_config *cfg, char *err, size_t errlen)
{
    char *copy, *save = NULL, *tok;
    int ret = 0;

    memset(cfg, 0, sizeof(*cfg));
    copy = strdup(spec);
    if (!copy)
        return errbuf_set(err, errlen, "out of memory");
    tok = strtok_r(copy, ",", &save);
    if (!tok) {
        ret = errbuf_set(err, errlen, "expected user, tap or switch");
        goto out;
    }
    if (!strcmp(tok, "user")) {
        cfg->kind = NET_USER;
    } else if (!strcmp(tok, "tap")) {
        cfg->kind = NET_TAP;
    } else if (!strcmp(tok, "switch")) {
        cfg->kind = NET_SWITCH;
    } else {
        ret = errbuf_set(err, errlen, "unknown backend '%s' (expected user, tap or switch)", tok);
        goto out;
    }
    while ((tok = strtok_r(NULL, ",", &save)) && !ret)
        ret = parse_option(tok, cfg, err, errlen);
    if (ret)
        goto out;
    if (cfg->kind == NET_TAP && !cfg->ifname[0] && !cfg->fd_set)
        ret = errbuf_set(err, errlen, "tap needs ifname=NAME (or fd=N)");
    else if (cfg->kind == NET_SWITCH && !cfg->path[0] && !cfg->fd_set)
        ret = errbuf_set(err, errlen, "switch needs path=PATH (or fd=N)");
out:
    free(copy);
    return ret;
}
