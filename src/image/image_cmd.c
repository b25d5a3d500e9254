/* `vessel image build debian ...`: a bootable Debian disk image from Debian's packages.
 *
 * Building one drives debootstrap, mke2fs, a Vessel VM for the second stage and qemu-img: a
 * script's job, so this file only finds the helper that does it and execs it with python3
 * (base/helper.h): $VESSEL_IMAGE_HELPER, else libexec/vessel/vessel-image beside an installed
 * binary, else src/image/vessel-image in a build tree. The helper gets this binary's path in
 * $VESSEL_BIN and runs the build VM with it. */
#include "image/image_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/helper.h"

#define EXIT_USAGE 1

int cli_image(int argc, char **argv)
{
    char helper[PATH_MAX];
    int err = helper_path("VESSEL_IMAGE_HELPER", "image", "vessel-image", helper, sizeof(helper));

    if (err) {
        fprintf(stderr,
                "vessel: image: the helper script is missing (%s): set VESSEL_IMAGE_HELPER or "
                "run `make install`\n",
                strerror(-err));
        return EXIT_USAGE;
    }
    helper_exec("vessel: image", helper, argc, argv);
    return EXIT_USAGE;
}
