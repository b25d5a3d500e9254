/* Vessel's unit-test harness: no dependencies. A test is `TEST(name) { ... }` in any
 * .c file under tests/unit; the build collects them. Checks record a failure and keep going. */
#ifndef VESSEL_TESTS_HARNESS_H
#define VESSEL_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdio.h>

extern int test_failed_checks;

void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name) void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                     \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);           \
        if (va_ != vb_)                                                                            \
            test_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, va_, vb_);         \
    } while (0)

#endif
