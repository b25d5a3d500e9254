/* A VM's control socket (STATE_DIR/vms/ID.d/api.sock, vm/control.h) from the daemon: one
 * command line, one answer line (see vm_control.h). */
#include "host/vm_control.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* One command line to a control socket at path and its one-line answer in line; without the
 * daemon's lock. 0, or -errno and what failed in *what. */
static int talk(const char *path, const char *cmd, int timeout_s, char *line, size_t cap,
                const char **what)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = timeout_s};
    size_t got = 0, n = strlen(cmd);
    int fd, err = 0;

    *what = "connecting";
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        err = -errno;
        goto out;
    }
    *what = "sending";
    if (send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        err = -errno;
        goto out;
    }
    *what = "waiting for the answer";
    while (got < cap - 1 && !memchr(line, '\n', got)) {
        ssize_t r = recv(fd, line + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    line[got] = '\0';
    if (!memchr(line, '\n', got))
        err = -EPROTO;
    line[strcspn(line, "\n")] = '\0';
out:
    close(fd);
    return err;
}

/* Sends one command line to the VM's control socket and gives its one-line answer (malloc'd);
 * waits up to timeout_s for it, without the daemon's lock. */
int host_control_call(struct vm_host *h, struct host_vm *v, const char *cmd, int timeout_s,
                      char **answer, struct api_error *e)
{
    char path[REG_PATH_MAX + 16], name[API_NAME_MAX], line[16384];
    const char *what;
    int err;

    registry_path(&h->reg, v, REG_API, path, sizeof(path));
    snprintf(name, sizeof(name), "%s", v->cfg.name);
    pthread_mutex_unlock(&h->lock);
    err = talk(path, cmd, timeout_s, line, sizeof(line), &what);
    pthread_mutex_lock(&h->lock);
    if (err && !strcmp(what, "connecting"))
        return api_error_set(e, 409, "unsupported", "VM %s's control socket is not there (yet): %s",
                             name, strerror(-err));
    if (err == -EPROTO)
        return api_error_set(e, 500, "internal", "no answer from VM %s's control socket", name);
    if (err)
        return api_error_set(e, 500, "internal", "VM %s's control socket: %s: %s", name, what,
                             strerror(-err));
    *answer = strdup(line);
    return *answer ? 0 : api_error_set(e, 500, "internal", "out of memory");
}
