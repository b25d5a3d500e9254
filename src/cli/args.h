/* Command-line value parsing shared by the `vessel` subcommands. */
#ifndef VESSEL_CLI_ARGS_H
#define VESSEL_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/disk/disk.h"

/* Sizes, one rule for every size argument of `vessel` (--mem, --balloon, `vessel disk`'s SIZE,
 * --cluster-size, --bs, ...): a decimal number, a fraction allowed ("1.5G"), with an optional
 * binary unit: B (bytes), K or KiB, M or MiB, G or GiB, T or TiB, P or PiB, E or EiB, in any
 * case. A bare number is MiB ("512" is 512 MiB, as QEMU's -m); one of ARGS_SIZE_BARE_MAX or more
 * is refused (-EDOM), since it is almost certainly a byte count meant for another tool.
 * "1GB"-style units, signs, spaces and zero are refused. A fraction is rounded to the nearest
 * byte. Returns 0, -EINVAL (syntax), -ERANGE (above 2^64 - 1) or -EDOM. */
#define ARGS_SIZE_BARE_MAX (1u << 20)
int args_parse_size(const char *s, uint64_t *bytes);
/* What is wrong with a size args_parse_size() refused with err, for an error message. */
const char *args_size_error(int err);
/* bytes for people: "512 B", "64 KiB", "1.5 GiB", "3.26 MiB" (three significant digits). */
void args_format_size(uint64_t bytes, char *buf, size_t len);

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
