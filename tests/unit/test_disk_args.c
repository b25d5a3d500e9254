/* `--disk PATH[,ro][,format=raw|qcow2]` parsing. */
#include <errno.h>
#include <string.h>

#include "cli/args.h"
#include "harness.h"

TEST(args_parse_disk_forms)
{
    struct args_disk d;
    const char *why = NULL;

    CHECK_EQ(args_parse_disk("a.img", &d, &why), 0);
    CHECK(!strcmp(d.path, "a.img") && !d.readonly && d.format == DISK_FORMAT_PROBE);
    CHECK_EQ(args_parse_disk("/x/b.img,ro", &d, &why), 0);
    CHECK(!strcmp(d.path, "/x/b.img") && d.readonly);
    CHECK_EQ(args_parse_disk("c,format=qcow2,ro", &d, &why), 0);
    CHECK(d.format == DISK_FORMAT_QCOW2 && d.readonly);
    CHECK_EQ(args_parse_disk("c,format=raw", &d, &why), 0);
    CHECK(d.format == DISK_FORMAT_RAW && !d.readonly);
}

TEST(args_parse_disk_errors)
{
    struct args_disk d;
    const char *why = NULL;
    const char *bad[] = {"", ",ro", "a,rw", "a,format=vmdk", "a,format=", "a,", "a,ro,,"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (args_parse_disk(bad[i], &d, &why) != -EINVAL || !why)
            test_fail(__FILE__, __LINE__, "--disk '%s' was accepted", bad[i]);
    }
}
