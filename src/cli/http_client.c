/* Minimal HTTP/1.1 over AF_UNIX (see http_client.h). */
#include "cli/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int parse_response(char *buf, size_t len, int *status, char **resp)
{
    char *hdr_end = strstr(buf, "\r\n\r\n"), *body, *cl;
    size_t blen;
    int major, minor;

    if (!hdr_end || sscanf(buf, "HTTP/%d.%d %d", &major, &minor, status) != 3)
        return -EPROTO;
    body = hdr_end + 4;
    blen = len - (size_t)(body - buf);
    *hdr_end = '\0';
    for (cl = buf; (cl = strchr(cl, '\n'));) {
        cl++;
        if (!strncasecmp(cl, "Content-Length:", 15)) {
            size_t want = strtoull(cl + 15, NULL, 10);
            if (want > blen)
                return -EPROTO; /* cut short */
            blen = want;
        }
    }
    *resp = malloc(blen + 1);
    if (!*resp)
        return -ENOMEM;
    memcpy(*resp, body, blen);
    (*resp)[blen] = '\0';
    return 0;
}

static int connect_unix(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, err;

    if (strlen(sock) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* "http://HOST:PORT" (an optional path after it is ignored): a connected TCP socket. */
static int connect_tcp(const char *url)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *a;
    char host[256], port[8];
    const char *h = url + 7, *colon, *end = h + strcspn(h, "/");
    int fd = -ECONNREFUSED;

    if (*h == '[') {
        const char *close_b = memchr(h, ']', (size_t)(end - h));
        if (!close_b || close_b[1] != ':')
            return -EINVAL;
        colon = close_b + 1;
        h++;
        if ((size_t)(close_b - h) >= sizeof(host))
            return -EINVAL;
        memcpy(host, h, (size_t)(close_b - h));
        host[close_b - h] = '\0';
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        if (!colon || (size_t)(colon - h) >= sizeof(host) || colon == h)
            return -EINVAL;
        memcpy(host, h, (size_t)(colon - h));
        host[colon - h] = '\0';
    }
    if ((size_t)(end - colon - 1) >= sizeof(port) || end == colon + 1)
        return -EINVAL;
    memcpy(port, colon + 1, (size_t)(end - colon - 1));
    port[end - colon - 1] = '\0';
    if (getaddrinfo(host, port, &hints, &res))
        return -EHOSTUNREACH;
    for (a = res; a; a = a->ai_next) {
        int s = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            continue;
        if (!connect(s, a->ai_addr, a->ai_addrlen)) {
            fd = s;
            break;
        }
        fd = -errno;
        close(s);
    }
    freeaddrinfo(res);
    return fd;
}

/* The bearer token from $VESSEL_TOKEN_FILE into tok ("" without one). 0 or -errno. */
static int token(char *tok, size_t cap)
{
    const char *f = getenv("VESSEL_TOKEN_FILE");
    ssize_t n;
    int fd;

    tok[0] = '\0';
    if (!f || !*f)
        return 0;
    fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, tok, cap - 1);
    close(fd);
    if (n < 0)
        return -errno;
    tok[n] = '\0';
    tok[strcspn(tok, " \t\r\n")] = '\0';
    return 0;
}

int http_request(const char *target, const char *method, const char *path, const char *body,
                 int *status, char **resp)
{
    struct timeval tv = {.tv_sec = HTTP_CLIENT_TIMEOUT_S};
    size_t blen = body ? strlen(body) : 0, len = 0, cap = 8192;
    char head[1024], auth[600] = "", tok[512], *buf;
    int fd, n, err;

    *resp = NULL;
    if (!strncmp(target, "http://", 7)) {
        if ((err = token(tok, sizeof(tok))))
            return err;
        if (tok[0])
            snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
        explicit_bzero(tok, sizeof(tok));
        fd = connect_tcp(target);
    } else if (!strncmp(target, "https://", 8)) {
        return -EPROTONOSUPPORT; /* use curl with client certificates for HTTPS */
    } else {
        fd = connect_unix(target);
    }
    if (fd < 0)
        return fd;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 method, path, auth, blen);
    explicit_bzero(auth, sizeof(auth));
    if ((size_t)n >= sizeof(head)) {
        close(fd);
        return -ENAMETOOLONG;
    }
    if ((err = send_all(fd, head, (size_t)n)) || (blen && (err = send_all(fd, body, blen)))) {
        close(fd);
        return err;
    }
    buf = malloc(cap);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t r;
        if (len + 1 >= cap) {
            char *nb = cap < HTTP_CLIENT_RESP_MAX ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                err = -EMSGSIZE;
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = errno == EAGAIN ? -ETIMEDOUT : -errno;
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    err = parse_response(buf, len, status, resp);
out:
    free(buf);
    close(fd);
    return err;
}
