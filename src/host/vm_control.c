/* A VM's control socket (STATE_DIR/vms/ID.api, vm/control.h) from the daemon: one command
 * line, one answer line (see vm_control.h). */
#include "host/vm_control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int host_control_call(struct vm_host *h, struct host_vm *v, const char *cmd, int timeout_s,
                      char **answer, struct api_error *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = timeout_s};
    char path[REG_PATH_MAX + 16], line[16384];
    size_t got = 0, n = strlen(cmd);
    int fd;

    registry_path(&h->reg, v, ".api", path, sizeof(path));
    if (strlen(path) >= sizeof(sa.sun_path))
        return api_error_set(e, 500, "internal", "control socket path too long");
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return api_error_set(e, 500, "internal", "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return api_error_set(e, 409, "unsupported", "VM %s's control socket is not there (yet): %s",
                             v->cfg.name, strerror(errno));
    }
    if (send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        close(fd);
        return api_error_set(e, 500, "internal", "sending to the VM: %s", strerror(errno));
    }
    while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
        ssize_t r = recv(fd, line + got, sizeof(line) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    line[got] = '\0';
    if (!memchr(line, '\n', got))
        return api_error_set(e, 500, "internal", "no answer from the VM's control socket");
    line[strcspn(line, "\n")] = '\0';
    *answer = strdup(line);
    return *answer ? 0 : api_error_set(e, 500, "internal", "out of memory");
}
