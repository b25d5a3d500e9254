/* `vessel image ...` (README.md, "Disk images of Debian"): execs the image helper with python3. */
#ifndef VESSEL_IMAGE_IMAGE_CMD_H
#define VESSEL_IMAGE_IMAGE_CMD_H

/* argv[0] is "image". Returns only on failure (exit status 1); else the helper's exit status is
 * the process's. */
int cli_image(int argc, char **argv);

#endif
