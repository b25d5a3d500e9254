/* `vessel disk`: create, inspect and check disk images (src/cli/disk_cmd.c). */
#ifndef VESSEL_CLI_DISK_CMD_H
#define VESSEL_CLI_DISK_CMD_H

#include <stdint.h>

/* argv[0] is "disk". Returns the process exit status. */
int cli_disk(int argc, char **argv);

/* "4096", "512K", "10G", "2T" (binary multiples; a bare number is bytes) -> bytes. 0, -EINVAL
 * or -ERANGE. */
int disk_cmd_parse_size(const char *s, uint64_t *bytes);

/* The test helpers `vessel disk io` and `vessel disk bench` (src/cli/disk_io.c). */
int disk_cmd_io(int argc, char **argv);
int disk_cmd_bench(int argc, char **argv);

#endif
