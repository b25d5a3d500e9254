#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int args_parse_size(const char *s, uint64_t *bytes)
{
    unsigned long long n;
    unsigned shift = 20; /* a bare number is MiB */
    char *end;

    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case '\0': break;
    default: return -EINVAL;
    }
    if (*end != '\0' || n == 0)
        return -EINVAL;
    if (n > (UINT64_MAX >> shift))
        return -ERANGE;
    *bytes = (uint64_t)n << shift;
    return 0;
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
