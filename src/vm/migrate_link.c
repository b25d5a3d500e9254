/* Live migration: what both ends share - the back channel's lines, socket reads with a bound
 * on every wait, socket timeouts, and HOST:PORT parsing (vm/migrate_link.h). */
#include "vm/migrate_link.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "vm/migrate.h"

void mig_chan_init(struct mig_chan *c, int fd, uint32_t idle_ms, double overall_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->idle_ms = idle_ms;
    c->overall_ms = overall_ms;
}

void mig_chan_phase(struct mig_chan *c, uint32_t ms)
{
    c->deadline_ms = clock_now_ms() + ms;
    if (c->overall_ms > 0 && c->deadline_ms > c->overall_ms)
        c->deadline_ms = c->overall_ms;
}

void mig_chan_wipe(struct mig_chan *c)
{
    hmac256_wipe(&c->send_key, sizeof(c->send_key));
    hmac256_wipe(&c->recv_key, sizeof(c->recv_key));
    hmac256_wipe(&c->stream, sizeof(c->stream));
    c->authed = false;
}

/* How long the next wait may be: the idle bound, cut to what is left of the phase. */
static int wait_ms(const struct mig_chan *c)
{
    double left;

    if (c->deadline_ms <= 0 && c->overall_ms <= 0)
        return (int)c->idle_ms;
    left = (c->deadline_ms > 0 ? c->deadline_ms : c->overall_ms) - clock_now_ms();
    if (left <= 0)
        return 0;
    return left < c->idle_ms ? (int)left + 1 : (int)c->idle_ms;
}

int mig_read_exact(struct mig_chan *c, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int ms = wait_ms(c), r;
        ssize_t n;

        if (ms <= 0)
            return -ETIMEDOUT;
        r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        n = read(c->fd, p, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A line's tag: HMAC of (le64 seq, text) under key, as 64 hex digits. */
static void line_tag(struct hmac256 *key, uint64_t seq, const char *text, size_t len,
                     char hex[2 * HMAC256_LEN + 1])
{
    uint8_t le[8], tag[HMAC256_LEN];

    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(seq >> (8 * i));
    hmac256_update(key, le, sizeof(le));
    hmac256_update(key, text, len);
    hmac256_final(key, tag);
    for (int i = 0; i < HMAC256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", tag[i]);
}

int mig_read_line(struct mig_chan *c, char *buf, size_t cap)
{
    char want[2 * HMAC256_LEN + 1];
    size_t n = 0, text;

    for (;;) {
        int err = mig_read_exact(c, buf + n, 1);
        if (err)
            return err;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            break;
        }
        if (++n == cap - 1)
            return -EPROTO;
    }
    if (!c->authed)
        return 0;
    /* "TEXT TAG": the tag covers the text and this direction's sequence number */
    if (n < 2 * HMAC256_LEN + 1 || buf[n - 2 * HMAC256_LEN - 1] != ' ')
        return -EBADMSG;
    text = n - 2 * HMAC256_LEN - 1;
    line_tag(&c->recv_key, c->recv_seq++, buf, text, want);
    if (!hmac256_equal((const uint8_t *)want, (const uint8_t *)buf + text + 1, 2 * HMAC256_LEN))
        return -EBADMSG;
    buf[text] = '\0';
    return 0;
}

int mig_send_all(struct mig_chan *c, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mig_send_line(struct mig_chan *c, const char *fmt, ...)
{
    char buf[MIG_LINE_MAX_LEN];
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf) - 2 * HMAC256_LEN - 2, fmt, ap);
    va_end(ap);
    len = strlen(buf);
    if (c->authed) {
        buf[len] = ' ';
        line_tag(&c->send_key, c->send_seq++, buf, len, buf + len + 1);
        len += 1 + 2 * HMAC256_LEN;
    }
    buf[len++] = '\n';
    return mig_send_all(c, buf, len);
}

void mig_set_timeouts(int fd, uint32_t timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    unsigned int uto = timeout_ms;
    int one = 1;

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int migrate_parse_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon, *p = s;
    size_t hl = 0;
    char *end;
    unsigned long v;

    host[0] = '\0';
    if (s[0] == '[') { /* [v6]:port */
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        hl = (size_t)(close - s - 1);
        if (hl == 0 || hl >= hostlen)
            return -EINVAL;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        p = close + 2;
    } else if ((colon = strrchr(s, ':'))) {
        hl = (size_t)(colon - s);
        if (hl == 0 || hl >= hostlen || memchr(s, ':', hl))
            return -EINVAL;
        memcpy(host, s, hl);
        host[hl] = '\0';
        p = colon + 1;
    }
    for (size_t i = 0; i < hl; i++) { /* a name or an address, nothing else */
        char c = host[i];
        if (!isalnum((unsigned char)c) && c != '.' && c != '-' && c != '_' &&
            !(s[0] == '[' && (c == ':' || c == '%')))
            return -EINVAL;
    }
    errno = 0;
    v = strtoul(p, &end, 10);
    if (!*p || *end || errno || v == 0 || v > 65535 || portlen < 6)
        return -EINVAL;
    snprintf(port, portlen, "%lu", v);
    return 0;
}

/* Connects within timeout_ms; the fd or -errno with a reason in why. It gives up at once
 * (-ECANCELED) when *cancel is set. */
int mig_connect(const char *host, const char *port, uint32_t timeout_ms, char *why, size_t whylen,
                atomic_bool *cancel)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    int fd = -1, err, gai = getaddrinfo(host, port, &hints, &res);

    if (gai) {
        snprintf(why, whylen, "%s: %s", host, gai_strerror(gai));
        return -EHOSTUNREACH;
    }
    err = -ECONNREFUSED;
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        socklen_t sl = sizeof(err);
        int soerr = 0;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            err = -errno;
            goto next;
        }
        pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
        for (uint32_t waited = 0;; waited += 100) { /* in slices: a cancel is seen at once */
            int r = poll(&pfd, 1, 100);
            if (r > 0)
                break;
            err = atomic_load(cancel) ? -ECANCELED : -ETIMEDOUT;
            if ((r < 0 && errno != EINTR) || err == -ECANCELED || waited >= timeout_ms)
                goto next;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            err = -(soerr ? soerr : errno);
            goto next;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        freeaddrinfo(res);
        return fd;
    next:
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    snprintf(why, whylen, "connecting to %s port %s: %s", host, port, strerror(-err));
    return err;
}
