/* Live migration: the secret both ends are given (vm/migrate.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hmac256.h"
#include "vm/migrate.h"

int migrate_secret_check(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);

    if (n < MIGRATE_SECRET_MIN || n > MIGRATE_SECRET_MAX) {
        snprintf(why, whylen, "the migration secret must be %d to %d bytes (it is %zu)",
                 MIGRATE_SECRET_MIN, MIGRATE_SECRET_MAX, n);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(why, whylen, "the migration secret has a control character");
            return -EINVAL;
        }
    return 0;
}

int migrate_secret_read(const char *path, char out[MIGRATE_SECRET_MAX + 1], char *why,
                        size_t whylen)
{
    char buf[MIGRATE_SECRET_MAX + 3];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    ssize_t n = -1;
    int err = 0;

    if (fd < 0) {
        err = -errno;
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return err;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s: not a regular file", path);
        err = -EINVAL;
    } else if (st.st_mode & 077) {
        snprintf(why, whylen, "%s: mode %03o lets others at it; a secret file must be 0600 or 0400",
                 path, (unsigned)(st.st_mode & 0777));
        err = -EPERM;
    } else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
        err = -errno;
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
    }
    close(fd);
    if (!err) {
        size_t len = n > 0 ? (size_t)n : 0;
        if (len > 0 && buf[len - 1] == '\n')
            len--;
        n = (ssize_t)len;
        if (memchr(buf, '\0', len)) {
            snprintf(why, whylen, "%s: the secret has a NUL byte", path);
            err = -EINVAL;
        } else if (n > MIGRATE_SECRET_MAX) {
            snprintf(why, whylen, "%s: longer than %d bytes", path, MIGRATE_SECRET_MAX);
            err = -EINVAL;
        } else {
            memcpy(out, buf, len);
            out[len] = '\0';
            err = migrate_secret_check(out, why, whylen);
        }
    }
    hmac256_wipe(buf, sizeof(buf));
    if (err)
        hmac256_wipe(out, MIGRATE_SECRET_MAX + 1);
    return err;
}
