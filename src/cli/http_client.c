/* Minimal HTTP/1.1 over AF_UNIX (see http_client.h). */
#include "cli/http_client.h"

#include <errno.h>
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

int http_unix_request(const char *sock, const char *method, const char *path, const char *body,
                      int *status, char **resp)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = HTTP_CLIENT_TIMEOUT_S};
    size_t blen = body ? strlen(body) : 0, len = 0, cap = 8192;
    char head[1024], *buf;
    int fd, n, err;

    *resp = NULL;
    if (strlen(sock) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        err = -errno;
        close(fd);
        return err;
    }
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 method, path, blen);
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
