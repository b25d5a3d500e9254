#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int args_parse_size_in(const char *s, unsigned bare_shift, unsigned max_shift, uint64_t *bytes)
{
    unsigned long long n;
    unsigned shift = bare_shift;
    char *end;

    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return -EINVAL;
        }
        if (shift > max_shift)
            return -EINVAL;
        end++;
    }
    if (*end != '\0' || n == 0)
        return -EINVAL;
    if (n > (UINT64_MAX >> shift))
        return -ERANGE;
    *bytes = (uint64_t)n << shift;
    return 0;
}

int args_parse_size(const char *s, uint64_t *bytes)
{
    return args_parse_size_in(s, 20, 30, bytes); /* a bare number is MiB; up to G */
}

int args_parse_int(const char *s, long min, long max, long *val)
{
    long n;
    char *end;

    if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return -EINVAL;
    errno = 0;
    n = strtol(s, &end, 10);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || n < min || n > max)
        return -ERANGE;
    *val = n;
    return 0;
}

int args_parse_disk(const char *s, struct args_disk *d, const char **why)
{
    const char *comma = strchr(s, ',');
    size_t plen = comma ? (size_t)(comma - s) : strlen(s);

    *d = (struct args_disk){.format = DISK_FORMAT_PROBE};
    *why = "expected PATH[,ro][,format=raw|qcow2]";
    if (plen == 0 || plen >= sizeof(d->path))
        return -EINVAL;
    memcpy(d->path, s, plen);
    while (comma) {
        const char *opt = comma + 1;
        size_t n;

        comma = strchr(opt, ',');
        n = comma ? (size_t)(comma - opt) : strlen(opt);
        if (n == 2 && !strncmp(opt, "ro", 2)) {
            d->readonly = true;
        } else if (n > 7 && !strncmp(opt, "format=", 7)) {
            char name[16];
            if (n - 7 >= sizeof(name)) {
                *why = "unknown format (expected raw or qcow2)";
                return -EINVAL;
            }
            memcpy(name, opt + 7, n - 7);
            name[n - 7] = '\0';
            if (disk_format_parse(name, &d->format) || d->format == DISK_FORMAT_PROBE) {
                *why = "unknown format (expected raw or qcow2)";
                return -EINVAL;
            }
        } else {
            *why = "unknown option (expected ro or format=raw|qcow2)";
            return -EINVAL;
        }
    }
    return 0;
}
