/* A VM configuration (vm/vm_config.c, vm_config_json.c): every member of the JSON form survives
 * a round trip, unknown members, wrong types and oversized input are refused with the member
 * named; what boots a VM - a kernel, or (riscv64) a boot loader that boots it from its disks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "vm/vm_config.h"

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

TEST(vm_config_json_round_trip_of_every_member)
{
    struct vm_config c = {0}, d;
    char why[200], *json;

    c.arch = strdup("riscv64");
    c.kernel = strdup("/k");
    c.initrd = strdup("/i");
    c.firmware = strdup("/f");
    c.bootloader = strdup("/b");
    c.cmdline = strdup("console=ttyS0");
    c.trace = strdup("/t");
    c.rv64_tier = strdup("interp");
    c.rv64_jit_cache = 4 << 20;
    c.mem = 256 << 20;
    c.mem_set = true;
    c.cpus = 2;
    c.cpus_set = true;
    c.disks[c.ndisks++] = (struct vm_disk){strdup("/d1"), true, DISK_FORMAT_QCOW2};
    c.disks[c.ndisks++] = (struct vm_disk){strdup("/d2"), false, DISK_FORMAT_PROBE};
    c.rng = true;
    c.console_socket = strdup("/c.sock");
    c.nets[c.nnets++] = strdup("user,hostfwd=tcp:127.0.0.1:2222-:22");
    c.balloon = true;
    c.balloon_bytes = 64 << 20;
    c.api_socket = strdup("/a.sock");
    c.incoming = strdup("127.0.0.1:7000");
    c.migration_secret = strdup("0123456789abcdef0123456789abcdef");
    c.incoming_timeout_s = 90;
    c.incoming_max_mem = 1 << 30;
    json = vm_config_to_json(&c);
    CHECK(json != NULL);
    CHECK_EQ(vm_config_from_json(json, strlen(json), &d, why, sizeof(why)), 0);
    CHECK(same_str(d.arch, c.arch) && same_str(d.kernel, c.kernel) && same_str(d.initrd, c.initrd));
    CHECK(same_str(d.firmware, c.firmware) && same_str(d.cmdline, c.cmdline));
    CHECK(same_str(d.bootloader, c.bootloader));
    CHECK(same_str(d.trace, c.trace) && same_str(d.rv64_tier, c.rv64_tier));
    CHECK_EQ(d.rv64_jit_cache, c.rv64_jit_cache);
    CHECK(d.mem_set && d.cpus_set);
    CHECK_EQ(d.mem, c.mem);
    CHECK_EQ(d.cpus, c.cpus);
    CHECK_EQ(d.ndisks, 2);
    CHECK(same_str(d.disks[0].path, "/d1") && d.disks[0].readonly);
    CHECK_EQ(d.disks[0].format, DISK_FORMAT_QCOW2);
    CHECK(same_str(d.disks[1].path, "/d2") && !d.disks[1].readonly);
    CHECK_EQ(d.disks[1].format, DISK_FORMAT_PROBE);
    CHECK(d.rng && same_str(d.console_socket, c.console_socket));
    CHECK_EQ(d.nnets, 1);
    CHECK(same_str(d.nets[0], c.nets[0]));
    CHECK(d.balloon);
    CHECK_EQ(d.balloon_bytes, c.balloon_bytes);
    CHECK(same_str(d.api_socket, c.api_socket) && same_str(d.incoming, c.incoming));
    CHECK(same_str(d.migration_secret, c.migration_secret));
    CHECK_EQ(d.incoming_timeout_s, 90);
    CHECK_EQ(d.incoming_max_mem, c.incoming_max_mem);
    free(json);
    vm_config_free(&d);
    /* restore and clone are the other branch of the same members */
    free(c.incoming);
    c.incoming = NULL;
    c.restore = strdup("/s.snap");
    c.clone = true;
    json = vm_config_to_json(&c);
    CHECK_EQ(vm_config_from_json(json, strlen(json), &d, why, sizeof(why)), 0);
    CHECK(same_str(d.restore, "/s.snap") && d.clone && !d.incoming);
    free(json);
    vm_config_free(&d);
    vm_config_free(&c);
}

TEST(vm_config_json_refusals_name_the_member)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"memory\": 5}", "\"memory\": unknown member"},
        {"{\"cpus\": \"two\"}", "\"cpus\""},
        {"{\"cpus\": -1}", "\"cpus\""},
        {"{\"rng\": 1}", "\"rng\""},
        {"{\"kernel\": \"\"}", "\"kernel\""},
        {"{\"disks\": [{\"path\": \"/x\", \"mode\": \"rw\"}]}", "\"mode\""},
        {"{\"disks\": [{\"readonly\": true}]}", "\"path\""},
        {"{\"disks\": [{\"path\": \"/x\", \"format\": \"vmdk\"}]}", "\"format\""},
        {"{\"nets\": [1]}", "\"nets\""},
        {"{\"kernel\": \"/a\", \"kernel\": \"/b\"}", "JSON"},
        {"[1]", "object"},
        {"{", "JSON"},
    };
    struct vm_config c;
    char why[200];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(vm_config_from_json(bad[i].json, strlen(bad[i].json), &c, why, sizeof(why)),
                 -EINVAL);
        if (!strstr(why, bad[i].needle))
            test_fail(__FILE__, __LINE__, "%s: reason %s lacks %s", bad[i].json, why,
                      bad[i].needle);
    }
    {
        size_t n = VM_CONFIG_MAX_LEN + 1;
        char *big = malloc(n);
        CHECK(big != NULL);
        memset(big, ' ', n);
        CHECK_EQ(vm_config_from_json(big, n, &c, why, sizeof(why)), -EINVAL);
        free(big);
    }
}

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
    CHECK_EQ(check_json("{\"incoming\":\"7000\",\"migration_secret\":"
                        "\"0123456789abcdef0123456789abcdef\"}",
                        why, sizeof(why)),
             0);
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
