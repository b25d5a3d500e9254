/* vm/vm_config.c: what boots a VM - a kernel, or (riscv64) a boot loader that boots the guest
 * from its disks - and the JSON form's "bootloader" member. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "vm/vm_config.h"

/* A configuration from JSON, checked: 0 or -EINVAL (why holds the reason). */
static int check_json(const char *json, char *why, size_t whylen)
{
    struct vm_config c;
    int err = vm_config_from_json(json, strlen(json), &c, why, whylen);

    if (!err) {
        err = vm_config_check(&c, NULL, why, whylen);
        vm_config_free(&c);
    }
    return err;
}

TEST(vm_config_boot_files)
{
    char why[600];

    /* riscv64 without a kernel boots from its disk: a disk is required */
    CHECK_EQ(check_json("{\"disks\":[{\"path\":\"/d.qcow2\"}]}", why, sizeof(why)), 0);
    CHECK_EQ(check_json("{}", why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "--disk") != NULL);
    CHECK_EQ(
        check_json("{\"bootloader\":\"/u.bin\",\"disks\":[{\"path\":\"/d\"}]}", why, sizeof(why)),
        0);
    /* the boot loader takes initrd and command line from the disk */
    CHECK_EQ(check_json("{\"disks\":[{\"path\":\"/d\"}],\"initrd\":\"/i\"}", why, sizeof(why)),
             -EINVAL);
    CHECK(strstr(why, "--initrd") != NULL);
    CHECK_EQ(check_json("{\"disks\":[{\"path\":\"/d\"}],\"cmdline\":\"x\"}", why, sizeof(why)),
             -EINVAL);
    CHECK_EQ(check_json("{\"kernel\":\"/k\",\"bootloader\":\"/u.bin\"}", why, sizeof(why)),
             -EINVAL);
    CHECK(strstr(why, "--bootloader") != NULL);
    /* a kernel, as before, needs no disk */
    CHECK_EQ(
        check_json("{\"kernel\":\"/k\",\"initrd\":\"/i\",\"cmdline\":\"x\"}", why, sizeof(why)), 0);
    /* x86_64's board has no boot loader: a kernel is required, --bootloader refused */
    CHECK_EQ(check_json("{\"arch\":\"x86_64\",\"disks\":[{\"path\":\"/d\"}]}", why, sizeof(why)),
             -EINVAL);
    CHECK(strstr(why, "--kernel") != NULL);
    CHECK_EQ(check_json("{\"arch\":\"x86_64\",\"kernel\":\"/k\",\"bootloader\":\"/u\"}", why,
                        sizeof(why)),
             -EINVAL);
    /* an incoming VM boots nothing itself */
    CHECK_EQ(check_json("{\"incoming\":\"7000\"}", why, sizeof(why)), 0);
}

TEST(vm_config_bootloader_json)
{
    struct vm_config c = {0}, d;
    char why[300], *json;

    c.bootloader = vm_config_strdup("/c/u-boot.bin");
    c.disks[c.ndisks++] = (struct vm_disk){.path = vm_config_strdup("/d.qcow2")};
    json = vm_config_to_json(&c);
    CHECK(json != NULL);
    CHECK_EQ(vm_config_from_json(json, strlen(json), &d, why, sizeof(why)), 0);
    CHECK(d.bootloader && !strcmp(d.bootloader, "/c/u-boot.bin"));
    CHECK(d.kernel == NULL);
    vm_config_free(&d);
    CHECK_EQ(vm_config_from_json("{\"bootloader\":\"\"}", 17, &d, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "bootloader") != NULL);
    free(json);
    vm_config_free(&c);
}
