/* `vessel migrate`: live migration of a VM run with --api-socket (docs/migration.md). */
#ifndef VESSEL_CLI_MIGRATE_CMD_H
#define VESSEL_CLI_MIGRATE_CMD_H

/* argv[0] is "migrate". Returns the exit status. */
int cli_migrate(int argc, char **argv);

#endif
