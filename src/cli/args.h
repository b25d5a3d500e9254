/* Command-line value parsing shared by the `vessel` subcommands. */
#ifndef VESSEL_CLI_ARGS_H
#define VESSEL_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/disk/disk.h"

/* "512" (MiB), "512M", "2G", "65536K" (case-insensitive suffix) -> bytes. Returns 0, or
 * -EINVAL for anything else (empty, junk, negative, zero) and -ERANGE on overflow. */
int args_parse_size(const char *s, uint64_t *bytes);
/* The general form: a bare number is a multiple of 1 << bare_shift; suffixes K, M, G, T
 * (either case) are accepted up to 1 << max_shift. Returns 0, -EINVAL or -ERANGE. */
int args_parse_size_in(const char *s, unsigned bare_shift, unsigned max_shift, uint64_t *bytes);

/* Decimal integer in [min, max]. Returns 0, -EINVAL or -ERANGE. */
int args_parse_int(const char *s, long min, long max, long *val);

/* `--disk PATH[,ro][,format=raw|qcow2]` (PATH is everything before the first comma; no
 * format: probed from the file). Returns 0, or -EINVAL with *why naming the problem. */
struct args_disk {
    char path[4096];
    bool readonly;
    enum disk_format format;
};
int args_parse_disk(const char *s, struct args_disk *d, const char **why);

#endif
