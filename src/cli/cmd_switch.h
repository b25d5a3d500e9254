/* `vessel switch PATH`: the virtual Ethernet switch VMs attach to with --net switch,path=PATH. */
#ifndef VESSEL_CLI_CMD_SWITCH_H
#define VESSEL_CLI_CMD_SWITCH_H

/* argv[0] is "switch". Returns the process exit status. */
int cmd_switch(int argc, char **argv);

#endif
