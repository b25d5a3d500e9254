#include "vm/api_socket.h"

#include <errno.h>
#include <stdatomic.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/thread.h"

struct api_client {
    int fd;
    size_t len;
    char buf[API_SOCKET_LINE_MAX];
};

struct api_socket {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const struct control *ctl;
    int lfd, stop_fd;
    pthread_t thread;
    struct api_client cl[API_SOCKET_CLIENTS];
    atomic_int nclients;
    char reply[8192];
};

static void client_close(struct api_socket *s, struct api_client *c)
{
    atomic_fetch_sub(&s->nclients, 1);
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* Reads what the client sent and answers every complete line. */
static void client_input(struct api_socket *s, struct api_client *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    char *nl;

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        client_close(s, c);
        return;
    }
    c->len += (size_t)n;
    while ((nl = memchr(c->buf, '\n', c->len))) {
        size_t line = (size_t)(nl - c->buf) + 1, rl;

        *nl = '\0';
        control_handle_line(s->ctl, c->buf, s->reply, sizeof(s->reply) - 1);
        rl = strlen(s->reply);
        s->reply[rl++] = '\n';
        memmove(c->buf, c->buf + line, c->len - line);
        c->len -= line;
        if (file_write_all(c->fd, s->reply, rl)) {
            client_close(s, c);
            return;
        }
    }
    if (c->len == sizeof(c->buf)) {
        static const char msg[] = "{\"ok\":false,\"error\":\"line too long\"}\n";

        file_write_all(c->fd, msg, sizeof(msg) - 1);
        client_close(s, c);
    }
}

static void *api_main(void *arg)
{
    struct api_socket *s = arg;

    for (;;) {
        struct pollfd pfd[2 + API_SOCKET_CLIENTS];
        int n = 2;

        pfd[0] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (int i = 0; i < API_SOCKET_CLIENTS; i++)
            pfd[n++] = (struct pollfd){.fd = s->cl[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_err("api-socket: poll: %s", strerror(errno));
            return NULL;
        }
        if (pfd[0].revents)
            return NULL;
        for (int i = 0; i < API_SOCKET_CLIENTS; i++)
            if (s->cl[i].fd >= 0 && pfd[2 + i].revents)
                client_input(s, &s->cl[i]);
        if (pfd[1].revents & POLLIN) {
            int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC), i;

            for (i = 0; fd >= 0 && i < API_SOCKET_CLIENTS && s->cl[i].fd >= 0; i++)
                ;
            if (fd >= 0 && i == API_SOCKET_CLIENTS) {
                static const char msg[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";

                file_write_all(fd, msg, sizeof(msg) - 1);
                close(fd);
            } else if (fd >= 0) {
                atomic_fetch_add(&s->nclients, 1);
                s->cl[i].fd = fd;
            }
        }
    }
}

static int api_listen(struct api_socket *s, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("api-socket: %s: path too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_err("api-socket: %s: exists and is not a socket", path);
            return -EEXIST;
        }
        unlink(path);
    }
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(s->lfd, 8) < 0) {
        int err = -errno;

        log_err("api-socket: %s: %s", path, strerror(errno));
        return err;
    }
    memcpy(s->path, path, strlen(path) + 1);
    return 0;
}

int api_socket_start(struct api_socket **out, const char *path, const struct control *c)
{
    struct api_socket *s = calloc(1, sizeof(*s));
    int err;

    if (!s)
        return -ENOMEM;
    s->ctl = c;
    s->lfd = -1;
    for (int i = 0; i < API_SOCKET_CLIENTS; i++)
        s->cl[i].fd = -1;
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (s->stop_fd < 0) {
        err = -errno;
        goto fail;
    }
    err = api_listen(s, path);
    if (err)
        goto fail;
    err = -thread_create(&s->thread, THREAD_CONTROL, api_main, s);
    if (err) {
        log_err("api-socket: starting its thread: %s", strerror(-err));
        unlink(s->path);
        goto fail;
    }
    *out = s;
    return 0;

fail:
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    free(s);
    return err;
}

void api_socket_linger(struct api_socket *s, int ms)
{
    for (; s && ms > 0 && atomic_load(&s->nclients) > 0; ms -= 10)
        usleep(10000);
}

void api_socket_stop(struct api_socket *s)
{
    uint64_t one = 1;

    if (!s)
        return;
    if (write(s->stop_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
        pthread_join(s->thread, NULL);
    for (int i = 0; i < API_SOCKET_CLIENTS; i++)
        if (s->cl[i].fd >= 0)
            close(s->cl[i].fd);
    close(s->lfd);
    close(s->stop_fd);
    unlink(s->path);
    free(s);
}
