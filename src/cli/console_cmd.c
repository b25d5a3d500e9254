/* `vessel console NAME|ID`: attach to a VM's serial console through its vm-shim's socket.
 * On a terminal: raw mode, Ctrl-] detaches (the VM keeps running). With stdin not a terminal:
 * bytes pass through; at end of input the output keeps coming until it has been quiet for
 * VESSEL_CONSOLE_LINGER_MS (default 1000) ms. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/file.h"
#include "cli/vm_cmd.h"

#define DETACH_KEY 0x1d /* Ctrl-] */

int console_attach(const char *sock_path, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct termios saved, raw;
    bool tty = isatty(0), in_open = true;
    const char *lg = getenv("VESSEL_CONSOLE_LINGER_MS");
    int linger = lg ? atoi(lg) : 1000, fd, rc = 0;
    char buf[4096];

    if (strlen(sock_path) >= sizeof(sa.sun_path))
        return 2;
    strcpy(sa.sun_path, sock_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        fprintf(stderr, "vessel: console of %s: %s: %s (is the VM running?)\n", name, sock_path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    if (tty) {
        tcgetattr(0, &saved);
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
        fprintf(stderr, "[attached to %s; Ctrl-] detaches]\r\n", name);
    }
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = in_open ? 0 : -1, .events = POLLIN}};
        int r = poll(p, 2, in_open ? -1 : linger);
        ssize_t n;

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* input ended and the output has been quiet for the linger time */
        if (p[0].revents) {
            n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                fprintf(stderr, "%s[console of %s closed: the VM stopped]\r\n", tty ? "\r\n" : "",
                        name);
                break;
            }
            if (file_write_all(1, buf, (size_t)n)) {
                rc = 1;
                break;
            }
        }
        if (in_open && p[1].revents) {
            n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                in_open = false;
                continue;
            }
            if (tty) {
                char *k = memchr(buf, DETACH_KEY, (size_t)n);
                if (k) {
                    file_write_all(fd, buf, (size_t)(k - buf));
                    fprintf(stderr, "\r\n[detached from %s]\r\n", name);
                    break;
                }
            }
            if (file_write_all(fd, buf, (size_t)n)) {
                rc = 1;
                break;
            }
        }
    }
    if (tty)
        tcsetattr(0, TCSANOW, &saved);
    close(fd);
    return rc;
}
