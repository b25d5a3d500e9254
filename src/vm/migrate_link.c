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

#include "base/log.h"
#include "vm/migrate.h"

int mig_read_exact(int fd, void *buf, size_t len, uint32_t timeout_ms)
{
    uint8_t *p = buf;

    while (len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        int r = poll(&pfd, 1, (int)timeout_ms);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        n = read(fd, p, len);
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

int mig_read_line(int fd, char *buf, size_t cap, uint32_t timeout_ms)
{
    size_t n = 0;

    for (;;) {
        int err = mig_read_exact(fd, buf + n, 1, timeout_ms);
        if (err)
            return err;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return 0;
        }
        if (++n == cap - 1)
            return -EPROTO;
    }
}

int mig_send_line(int fd, const char *fmt, ...)
{
    char buf[MIG_LINE_MAX_LEN];
    va_list ap;
    size_t len, off = 0;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    len = strlen(buf);
    buf[len++] = '\n';
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += (size_t)n;
    }
    return 0;
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
