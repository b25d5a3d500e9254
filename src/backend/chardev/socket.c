#include "backend/chardev/socket.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

#define WRITE_WAIT_MS 100

struct chardev_socket {
    int lfd, cfd;
    char *path;
};

int chardev_socket_listen(struct chardev_socket **out, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct chardev_socket *s;
    struct stat st;
    int err;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("socket: %s: path too long for a unix socket", path);
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_err("socket: %s: exists and is not a socket", path);
            return -EEXIST;
        }
        unlink(path);
    }
    s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return -ENOMEM;
    }
    s->cfd = -1;
    strcpy(sa.sun_path, path);
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(s->lfd, 4)) {
        err = -errno;
        log_err("socket: %s: %s", path, strerror(errno));
        if (s->lfd >= 0)
            close(s->lfd);
        free(s->path);
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

static void drop_client(struct chardev_socket *s)
{
    if (s->cfd >= 0)
        close(s->cfd);
    s->cfd = -1;
}

void chardev_socket_close(struct chardev_socket *s)
{
    if (!s)
        return;
    drop_client(s);
    close(s->lfd);
    unlink(s->path);
    free(s->path);
    free(s);
}

int chardev_socket_listen_fd(const struct chardev_socket *s)
{
    return s->lfd;
}

int chardev_socket_client_fd(const struct chardev_socket *s)
{
    return s->cfd;
}

int chardev_socket_accept(struct chardev_socket *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0)
        return -errno;
    drop_client(s);
    s->cfd = fd;
    return 0;
}

ssize_t chardev_socket_readv(struct chardev_socket *s, const struct iovec *iov, int cnt)
{
    ssize_t n;

    if (s->cfd < 0)
        return -EAGAIN;
    do {
        n = readv(s->cfd, iov, cnt);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -EAGAIN;
    drop_client(s); /* end of file or a dead connection */
    return 0;
}

size_t chardev_socket_write(struct chardev_socket *s, const void *buf, size_t len)
{
    size_t done = 0;

    while (s->cfd >= 0 && done < len) {
        ssize_t n = send(s->cfd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = s->cfd, .events = POLLOUT};
            if (poll(&p, 1, WRITE_WAIT_MS) <= 0)
                break; /* a stalled reader loses output rather than stalling the device */
        } else {
            drop_client(s);
        }
    }
    return done;
}
