/* Guest-triggered log messages are rate-limited (issue 13, defect 7): a guest hammering a
 * device with bad register accesses adds a bounded number of lines to the host's log, and the
 * lines dropped are reported by a "N messages suppressed" line. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "harness.h"
#include "virtio/mmio.h"
#include "virtio_test_util.h"

static const struct virtio_dev_ops t_ops = TEST_DEV_OPS("test", 42);

/* stderr into a temporary file while a test runs, then its text (malloc'd). */
struct capture {
    int saved;
    char path[64];
};

static void capture_start(struct capture *c)
{
    int fd;

    snprintf(c->path, sizeof(c->path), "/tmp/vessel-log-XXXXXX");
    fd = mkstemp(c->path);
    CHECK(fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(struct capture *c)
{
    FILE *f;
    char *text = calloc(1, 1 << 20);
    size_t n = 0;

    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    f = fopen(c->path, "r");
    if (f && text)
        n = fread(text, 1, (1 << 20) - 1, f);
    if (f)
        fclose(f);
    unlink(c->path);
    if (text)
        text[n] = '\0';
    return text;
}

static int count_lines(const char *text, const char *with)
{
    int n = 0;

    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (!with || memmem(p, len, with, strlen(with)))
            n++;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

TEST(log_limit_burst_then_summary)
{
    struct log_limit l = {0};
    struct capture c;
    uint64_t before = log_suppressed_total();
    char *text;

    capture_start(&c);
    for (int i = 0; i < 1000; i++)
        log_limited(&l, LOG_WARN, "test: bad access %d", i);
    /* as if one refill period had passed: one more line, after the summary */
    l.last_ns -= (uint64_t)LOG_LIMIT_PERIOD_MS * 1000000ULL;
    log_limited(&l, LOG_WARN, "test: bad access %d", 1000);
    text = capture_end(&c);
    CHECK_EQ(count_lines(text, "test: bad access"), LOG_LIMIT_BURST + 1);
    CHECK(strstr(text, "test: bad access 9\r\n") != NULL);
    CHECK(strstr(text, "test: bad access 10\r\n") == NULL);
    CHECK(strstr(text, "vessel: 990 messages suppressed") != NULL);
    CHECK(strstr(text, "test: bad access 1000\r\n") != NULL);
    CHECK_EQ(count_lines(text, NULL), LOG_LIMIT_BURST + 2);
    CHECK_EQ(log_suppressed_total() - before, 990);
    free(text);
}

TEST(log_limit_guest_hammering_a_device)
{
    const struct irq_line irq = {fake_irq, NULL, 1};
    struct virtio_dev *d;
    struct virtio_mmio *m;
    struct capture c;
    uint64_t before = log_suppressed_total();
    char *text;
    int lines;

    (void)wait_for; /* virtio_test_util.h's, not needed here */
    test_dev_create(&d, &t_ops);
    CHECK_EQ(virtio_mmio_create(&m, d, &irq), 0);
    capture_start(&c);
    /* 4 sites (odd-width register read and write, config read and write past its end),
     * 50 000 bad accesses each */
    for (int i = 0; i < 50000; i++) {
        virtio_mmio_bus_ops.read(m, VIRTIO_MMIO_STATUS, 2);
        virtio_mmio_bus_ops.write(m, VIRTIO_MMIO_STATUS + 1, 1, 0);
        virtio_mmio_bus_ops.read(m, VIRTIO_MMIO_CONFIG + 0x800, 4);
        virtio_mmio_bus_ops.write(m, VIRTIO_MMIO_CONFIG + 0x800, 4, 0);
    }
    text = capture_end(&c);
    lines = count_lines(text, NULL);
    /* Each site: at most its burst plus, per refill period the loop took, one line and its
     * summary - a few dozen lines, never one per access. */
    CHECK(lines >= 1);
    CHECK(lines <= 4 * 3 * LOG_LIMIT_BURST);
    CHECK(log_suppressed_total() - before >= 200000 - (uint64_t)lines);
    virtio_dev_destroy(d);
    virtio_mmio_destroy(m);
    free(text);
}
