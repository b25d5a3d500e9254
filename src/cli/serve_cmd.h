/* `vessel serve`'s command line (cli/serve_cmd.c). */
#ifndef VESSEL_CLI_SERVE_CMD_H
#define VESSEL_CLI_SERVE_CMD_H

int cli_serve(int argc, char **argv);

#endif
