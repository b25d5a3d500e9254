/* Moving a staged snapshot to its place (snap_move.h). */
#include "host/snap_move.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"

static int copy(int in, int out)
{
    static char buf[1 << 20];
    ssize_t n;

    for (;;) {
        ssize_t c = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

        if (c > 0)
            continue;
        if (c == 0)
            return 0;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return -errno;
        break; /* copy by hand from here */
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        int err = file_write_all(out, buf, (size_t)n);
        if (err)
            return err;
    }
    return n < 0 ? -errno : 0;
}

int snap_move(const char *staged, const char *dest, char *why, size_t whylen)
{
    char tmp[4200];
    int in = -1, out = -1, err = 0;

    /* the daemon's file from now on, whoever the jail made it look like */
    if (chown(staged, getuid(), getgid()) || chmod(staged, 0600)) {
        err = -errno;
        snprintf(why, whylen, "%s: %s", staged, strerror(-err));
        return err;
    }
    if (!rename(staged, dest))
        return 0;
    if (errno != EXDEV) {
        err = -errno;
        snprintf(why, whylen, "renaming %s to %s: %s", staged, dest, strerror(-err));
        return err;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", dest) >= (int)sizeof(tmp)) {
        snprintf(why, whylen, "%s: path too long", dest);
        return -ENAMETOOLONG;
    }
    in = open(staged, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in < 0 || out < 0) {
        err = -errno;
        snprintf(why, whylen, "%s: %s", in < 0 ? staged : tmp, strerror(errno));
        goto out;
    }
    if ((err = copy(in, out)) || (fsync(out) && (err = -errno))) {
        snprintf(why, whylen, "copying to %s: %s", tmp, strerror(-err));
        goto out;
    }
    if (rename(tmp, dest)) {
        err = -errno;
        snprintf(why, whylen, "renaming %s to %s: %s", tmp, dest, strerror(errno));
        goto out;
    }
    unlink(staged);
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (err && out >= 0)
        unlink(tmp);
    return err;
}
