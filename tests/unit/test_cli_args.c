#include <errno.h>
#include <string.h>

#include "cli/args.h"
#include "harness.h"

TEST(cli_parse_size)
{
    uint64_t v = 0;

    /* a bare number is MiB, everywhere */
    CHECK_EQ(args_parse_size("512", &v), 0);
    CHECK_EQ(v, 512ULL << 20);
    CHECK_EQ(args_parse_size("100", &v), 0);
    CHECK_EQ(v, 100ULL << 20);
    CHECK_EQ(args_parse_size("256M", &v), 0);
    CHECK_EQ(v, 256ULL << 20);
    CHECK_EQ(args_parse_size("2g", &v), 0);
    CHECK_EQ(v, 2ULL << 30);
    CHECK_EQ(args_parse_size("65536K", &v), 0);
    CHECK_EQ(v, 64ULL << 20);
    CHECK_EQ(args_parse_size("12T", &v), 0);
    CHECK_EQ(v, 12ULL << 40);
    CHECK_EQ(args_parse_size("2P", &v), 0);
    CHECK_EQ(v, 2ULL << 50);
    CHECK_EQ(args_parse_size("8E", &v), 0);
    CHECK_EQ(v, 8ULL << 60);
    /* IEC spellings, bytes, fractions */
    CHECK_EQ(args_parse_size("1GiB", &v), 0);
    CHECK_EQ(v, 1ULL << 30);
    CHECK_EQ(args_parse_size("4kib", &v), 0);
    CHECK_EQ(v, 4096);
    CHECK_EQ(args_parse_size("3MIB", &v), 0);
    CHECK_EQ(v, 3ULL << 20);
    CHECK_EQ(args_parse_size("512B", &v), 0);
    CHECK_EQ(v, 512);
    CHECK_EQ(args_parse_size("1073741824b", &v), 0);
    CHECK_EQ(v, 1ULL << 30);
    CHECK_EQ(args_parse_size("1.5G", &v), 0);
    CHECK_EQ(v, 3ULL << 29);
    CHECK_EQ(args_parse_size("0.5K", &v), 0);
    CHECK_EQ(v, 512);
    CHECK_EQ(args_parse_size("1.5", &v), 0);
    CHECK_EQ(v, 3ULL << 19);
    CHECK_EQ(args_parse_size("1.1K", &v), 0); /* 1126.4 bytes, to the nearest byte */
    CHECK_EQ(v, 1126);
    CHECK_EQ(args_parse_size("0.25T", &v), 0);
    CHECK_EQ(v, 1ULL << 38);
    CHECK_EQ(args_parse_size("2.000000000000000000000001G", &v), 0);
    CHECK_EQ(v, 2ULL << 30);
    /* a bare number that can only be a byte count meant for another tool */
    CHECK_EQ(args_parse_size("1048575", &v), 0);
    CHECK_EQ(v, 1048575ULL << 20);
    CHECK_EQ(args_parse_size("1048576", &v), -EDOM);
    CHECK_EQ(args_parse_size("1073741824", &v), -EDOM);
    /* refused */
    CHECK_EQ(args_parse_size("", &v), -EINVAL);
    CHECK_EQ(args_parse_size(NULL, &v), -EINVAL);
    CHECK_EQ(args_parse_size("M", &v), -EINVAL);
    CHECK_EQ(args_parse_size("-5M", &v), -EINVAL);
    CHECK_EQ(args_parse_size("+5M", &v), -EINVAL);
    CHECK_EQ(args_parse_size("12MB", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1GB", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1Gi", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1Q", &v), -EINVAL);
    CHECK_EQ(args_parse_size("0", &v), -EINVAL);
    CHECK_EQ(args_parse_size("0.0000001B", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1 G", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1.G", &v), -EINVAL);
    CHECK_EQ(args_parse_size(".5G", &v), -EINVAL);
    CHECK_EQ(args_parse_size("1.5.5G", &v), -EINVAL);
    CHECK_EQ(args_parse_size("99999999999999999999", &v), -ERANGE);
    CHECK_EQ(args_parse_size("17179869184G", &v), -ERANGE);
    CHECK_EQ(args_parse_size("16E", &v), -ERANGE);
    CHECK_EQ(args_parse_size("15.9999999999E", &v), 0);
    CHECK(args_size_error(-EDOM) != args_size_error(-EINVAL));
    CHECK(strstr(args_size_error(-EINVAL), "a bare number is MiB") != NULL);
}

TEST(cli_format_size)
{
    char b[32];

    args_format_size(0, b, sizeof(b));
    CHECK(!strcmp(b, "0 B"));
    args_format_size(512, b, sizeof(b));
    CHECK(!strcmp(b, "512 B"));
    args_format_size(999, b, sizeof(b));
    CHECK(!strcmp(b, "999 B"));
    args_format_size(1000, b, sizeof(b));
    CHECK(!strcmp(b, "0.977 KiB"));
    args_format_size(65536, b, sizeof(b));
    CHECK(!strcmp(b, "64 KiB"));
    args_format_size(3ULL << 29, b, sizeof(b));
    CHECK(!strcmp(b, "1.5 GiB"));
    args_format_size(1ULL << 30, b, sizeof(b));
    CHECK(!strcmp(b, "1 GiB"));
    args_format_size(20ULL << 40, b, sizeof(b));
    CHECK(!strcmp(b, "20 TiB"));
    args_format_size(UINT64_MAX, b, sizeof(b));
    CHECK(!strcmp(b, "16 EiB"));
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
