#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The unit after the number: "" (MiB), "B", or K/M/G/T/P/E alone or followed by "iB", in
 * any case. Returns the shift, or -1. */
static int size_unit(const char *u, bool *bare)
{
    static const char units[] = "KMGTPE";
    const char *p;

    *bare = *u == '\0';
    if (*bare)
        return 20;
    if ((u[0] == 'B' || u[0] == 'b') && u[1] == '\0')
        return 0;
    p = strchr(units, toupper((unsigned char)u[0]));
    if (!p)
        return -1;
    if (u[1] != '\0' && strcasecmp(u + 1, "iB") != 0)
        return -1;
    return 10 * (int)(p - units + 1);
}

int args_parse_size(const char *s, uint64_t *bytes)
{
    unsigned __int128 whole = 0, frac = 0, scale = 1, v;
    const char *p = s;
    int shift, digits = 0;
    bool bare;

    if (!s || !isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (unsigned)(*p - '0');
        if (whole > UINT64_MAX)
            return -ERANGE;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
            if (digits < 18) { /* further digits are below a byte */
                frac = frac * 10 + (unsigned)(*p - '0');
                scale *= 10;
                digits++;
            }
        }
    }
    shift = size_unit(p, &bare);
    if (shift < 0)
        return -EINVAL;
    if (bare && whole >= ARGS_SIZE_BARE_MAX)
        return -EDOM;
    if (whole > (UINT64_MAX >> shift))
        return -ERANGE;
    /* whole << shift, plus the fraction of one unit rounded to the nearest byte */
    v = (whole << shift) + (((frac << shift) + scale / 2) / scale);
    if (v > UINT64_MAX)
        return -ERANGE;
    if (v == 0)
        return -EINVAL;
    *bytes = (uint64_t)v;
    return 0;
}

const char *args_size_error(int err)
{
    switch (err) {
    case -ERANGE: return "too large";
    case -EDOM:
        return "a bare number is MiB, so this would be a huge size; if you meant bytes, add the "
               "unit B (e.g. 1073741824B), or write it as 1G";
    default:
        return "expected a size: a number with a unit B, K, M, G, T, P or E (binary: "
               "1G = 1GiB = 1024M; 1.5G is fine); a bare number is MiB";
    }
}

void args_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    unsigned i = 0;

    /* switch unit at 1000 so that the number never needs four digits */
    while (v >= 1000 && i + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%" PRIu64 " B", bytes);
    else
        snprintf(buf, len, "%.3g %s", v, units[i]);
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
