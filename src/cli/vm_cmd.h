/* `vessel vm ...` and `vessel console ...`: clients of the `vessel serve` daemon. */
#ifndef VESSEL_CLI_VM_CMD_H
#define VESSEL_CLI_VM_CMD_H

#include <stdbool.h>

/* argv[0] is "vm" / "console". Exit status: 0 done, 1 refused by the daemon or bad usage,
 * 2 the daemon cannot be reached. */
int cli_vm(int argc, char **argv);
int cli_console(int argc, char **argv);

/* Shared by both: the daemon's socket ($VESSEL_SOCKET or /run/vessel/vessel.sock unless
 * --socket is given) and one request; prints the daemon's error and returns 1 or 2 on
 * failure, 0 with *out (the parsed JSON answer) on success. */
struct json_t;
int vm_cmd_request(const char *sock, const char *method, const char *path, const char *body,
                   struct json_t **out);

/* `vessel vm migrate NAME|ID --to HOST:PORT ...` (vm_migrate_cmd.c); argv[0] is "migrate".
 * Exit status: 0 completed, 1 refused or bad usage, 2 failed or cancelled (or the daemon
 * cannot be reached). */
int vm_cmd_migrate(const char *sock, bool as_json, int argc, char **argv);

/* Attaches to a console socket (console_cmd.c). */
int console_attach(const char *sock_path, const char *name);

#endif
