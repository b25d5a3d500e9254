#include <errno.h>

#include "cli/args.h"
#include "harness.h"

TEST(cli_parse_size)
{
    uint64_t v = 0;

    CHECK_EQ(args_parse_size("512", &v), 0);
    CHECK_EQ(v, 512ULL << 20);
    CHECK_EQ(args_parse_size("256M", &v), 0);
    CHECK_EQ(v, 256ULL << 20);
    CHECK_EQ(args_parse_size("2g", &v), 0);
    CHECK_EQ(v, 2ULL << 30);
    CHECK_EQ(args_parse_size("65536K", &v), 0);
    CHECK_EQ(v, 64ULL << 20);
    CHECK_EQ(args_parse_size("", &v), -EINVAL);
    CHECK_EQ(args_parse_size("M", &v), -EINVAL);
    CHECK_EQ(args_parse_size("-5M", &v), -EINVAL);
    CHECK_EQ(args_parse_size("12T", &v), -EINVAL);
    CHECK_EQ(args_parse_size("12MB", &v), -EINVAL);
    CHECK_EQ(args_parse_size("0", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1 G", &v), -EINVAL);
    CHECK_EQ(args_parse_size("99999999999999999999", &v), -ERANGE);
    CHECK_EQ(args_parse_size("17179869184G", &v), -ERANGE);
}

TEST(cli_parse_int)
{
    long v = 0;

    CHECK_EQ(args_parse_int("4", 1, 32, &v), 0);
    CHECK_EQ(v, 4);
    CHECK_EQ(args_parse_int("0", 1, 32, &v), -ERANGE);
    CHECK_EQ(args_parse_int("33", 1, 32, &v), -ERANGE);
    CHECK_EQ(args_parse_int("4x", 1, 32, &v), -EINVAL);
    CHECK_EQ(args_parse_int("", 1, 32, &v), -EINVAL);
    CHECK_EQ(args_parse_int("-1", 1, 32, &v), -ERANGE);
}
