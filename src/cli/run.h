/* `vessel run` (cli/run.c) and `vessel info` (cli/info.c). */
#ifndef VESSEL_CLI_RUN_H
#define VESSEL_CLI_RUN_H

int cli_run(int argc, char **argv);
int cli_info(int argc, char **argv);

#endif
