/* The API server's listening sockets and request watchdog (http_guard.h). */
#include "api/http_guard.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/http.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/thread.h"

static void *guard_main(void *arg)
{
    struct http_guard *g = arg;
    struct pollfd p = {.fd = g->stop_fd, .events = POLLIN};

    while (poll(&p, 1, 500) <= 0 || !(p.revents & POLLIN)) {
        double now = clock_now_ms();

        pthread_mutex_lock(&g->lock);
        for (struct http_conn *c = g->head; c; c = c->next) {
            if (c->busy || now - c->since < API_HTTP_REQUEST_S * 1000.0)
                continue;
            /* Too slow: the connection's thread sees the end and cleans up (the fd stays
             * open until the server's close notice, which waits for this lock). */
            shutdown(c->fd, SHUT_RDWR);
            c->busy = true;
        }
        pthread_mutex_unlock(&g->lock);
    }
    return NULL;
}

int http_guard_start(struct http_guard *g)
{
    int err;

    pthread_mutex_init(&g->lock, NULL);
    g->head = NULL;
    g->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (g->stop_fd < 0)
        return -errno;
    err = thread_create(&g->thread, THREAD_CONTROL, guard_main, g);
    if (err) {
        close(g->stop_fd);
        return -err;
    }
    g->running = true;
    return 0;
}

void http_guard_stop(struct http_guard *g)
{
    uint64_t one = 1;

    if (!g->running)
        return;
    if (write(g->stop_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
        pthread_join(g->thread, NULL);
    close(g->stop_fd);
    g->running = false;
}

struct http_conn *http_guard_add(struct http_guard *g, int fd)
{
    struct http_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->fd = fd;
    c->since = clock_now_ms();
    pthread_mutex_lock(&g->lock);
    c->next = g->head;
    if (g->head)
        g->head->prev = c;
    g->head = c;
    pthread_mutex_unlock(&g->lock);
    return c;
}

void http_guard_remove(struct http_guard *g, struct http_conn *c)
{
    pthread_mutex_lock(&g->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&g->lock);
    free(c);
}

void http_guard_busy(struct http_guard *g, struct http_conn *c, bool busy)
{
    pthread_mutex_lock(&g->lock);
    c->busy = busy;
    c->since = clock_now_ms();
    pthread_mutex_unlock(&g->lock);
}

int http_listen_unix(const char *path, long gid)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, err;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("api: %s: socket path too long (max %zu bytes)", path, sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_err("api: %s exists and is not a socket", path);
            return -EEXIST;
        }
        unlink(path);
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) ||
        (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid)) || listen(fd, 128)) {
        err = -errno;
        log_err("api: %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return err;
    }
    return fd;
}

int http_listen_tcp(const char *spec)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *res = NULL;
    char host[256];
    const char *port = strrchr(spec, ':');
    size_t hl = port ? (size_t)(port - spec) : 0;
    int fd = -1, err;

    if (!port || !hl || hl >= sizeof(host) || !port[1]) {
        log_err("api: --listen %s: expected ADDR:PORT", spec);
        return -EINVAL;
    }
    memcpy(host, spec, hl);
    host[hl] = '\0';
    if (host[0] == '[' && host[hl - 1] == ']') { /* [V6ADDR] */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    err = getaddrinfo(host, port + 1, &hints, &res);
    if (err) {
        log_err("api: --listen %s: %s", spec, gai_strerror(err));
        return -EINVAL;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)) ||
        bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 128)) {
        err = -errno;
        log_err("api: --listen %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return err;
    }
    freeaddrinfo(res);
    return fd;
}
