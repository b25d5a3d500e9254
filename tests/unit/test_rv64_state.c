/* rv64 pause/resume with running hart threads, and hart state save/restore. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "harness.h"
#include "rv64_test_util.h"

/* x5 counts, each count is stored at x6 (RVT_DATA) */
static void counting_loop(struct rvt *t)
{
    rvt_w32(t, RVT_BASE + 0, ADDI(5, 5, 1));
    rvt_w32(t, RVT_BASE + 4, rv_s(0, 5, 6, 3, 0x23)); /* sd x5, 0(x6) */
    rvt_w32(t, RVT_BASE + 8, JAL(0, -8));
    rv64_hart_set_x(t->h, 6, RVT_DATA);
}

static void *run_thread(void *arg)
{
    struct rvt *t = arg;

    rv64_machine_run(t->m);
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

TEST(rv64_state_pause_resume_threads)
{
    RVT_SETUP(t);
    pthread_t th;
    struct rv64_cpu_state s;
    uint64_t c1, c2, c3;

    counting_loop(t);
    CHECK_EQ(rv64_machine_pause(t->m), 0); /* not running: returns at once */
    CHECK_EQ(rv64_machine_resume(t->m), 0);
    CHECK_EQ(pthread_create(&th, NULL, run_thread, t), 0);
    for (int i = 0; i < 2000 && !rvt_r64(t, RVT_DATA); i++) /* bounded: a busy machine */
        sleep_ms(5);
    CHECK_EQ(rv64_machine_pause(t->m), 0);
    c1 = rvt_r64(t, RVT_DATA);
    sleep_ms(30);
    c2 = rvt_r64(t, RVT_DATA);
    CHECK(c1 > 0);
    CHECK_EQ(c2, c1); /* no progress while paused */
    rv64_hart_get_state(t->h, &s);
    CHECK(s.x[5] == c1 || s.x[5] == c1 + 1); /* parked between the addi and the sd, or after */
    CHECK(s.pc >= RVT_BASE && s.pc <= RVT_BASE + 8);
    CHECK_EQ(rv64_machine_resume(t->m), 0);
    for (int i = 0; i < 2000 && rvt_r64(t, RVT_DATA) == c2; i++)
        sleep_ms(5);
    c3 = rvt_r64(t, RVT_DATA);
    CHECK(c3 > c2);
    rv64_machine_stop(t->m, RV64_STOP_QUIT);
    pthread_join(th, NULL);
    rvt_fini(t);
}

TEST(rv64_state_round_trip)
{
    RVT_SETUP(a);
    RVT_SETUP(b);
    struct rv64_cpu_state s, bad;

    counting_loop(a);
    rv64_hart_set_f(a->h, 3, 0x400921fb54442d18ULL);
    rvt_set_csr(a, CSR_MSCRATCH, 0x1234);
    rv64_hart_step(a->h, 1001);
    rv64_hart_get_state(a->h, &s);
    CHECK_EQ(s.version, RV64_CPU_STATE_VERSION);
    CHECK_EQ(s.size, sizeof(s));
    /* a second machine with the same memory continues exactly where the first stands */
    memcpy(b->ram.hva, a->ram.hva, RVT_RAM_SIZE);
    CHECK_EQ(rv64_hart_set_state(b->h, &s), 0);
    rv64_hart_step(a->h, 500);
    rv64_hart_step(b->h, 500);
    CHECK_EQ(rv64_hart_get_x(b->h, 5), rv64_hart_get_x(a->h, 5));
    CHECK_EQ(rv64_hart_get_pc(b->h), rv64_hart_get_pc(a->h));
    CHECK_EQ(rvt_r64(b, RVT_DATA), rvt_r64(a, RVT_DATA));
    CHECK_EQ(rv64_hart_get_f(b->h, 3), 0x400921fb54442d18ULL);
    CHECK_EQ(rvt_csr(b, CSR_MSCRATCH), 0x1234);
    /* state that does not fit is refused and changes nothing */
    bad = s;
    bad.version = 99;
    CHECK_EQ(rv64_hart_set_state(b->h, &bad), -EINVAL);
    bad = s;
    bad.priv = 2;
    CHECK_EQ(rv64_hart_set_state(b->h, &bad), -EINVAL);
    bad = s;
    bad.satp = 10ULL << 60;
    CHECK_EQ(rv64_hart_set_state(b->h, &bad), -EINVAL);
    CHECK_EQ(rv64_hart_get_pc(b->h), rv64_hart_get_pc(a->h));
    rvt_fini(a);
    rvt_fini(b);
}

static int page_bit(const uint64_t *bm, uint64_t pa)
{
    uint64_t pfn = (pa - RVT_BASE) >> 12;
    return (int)((bm[pfn / 64] >> (pfn % 64)) & 1);
}

TEST(rv64_dirty_log_single_thread)
{
    RVT_SETUP(t);
    uint64_t bm[(RVT_RAM_SIZE / 4096 + 63) / 64];

    /* sd x5, 0(x6); sd x5, 0(x7); then a loop storing to x6 only */
    rvt_w32(t, RVT_BASE + 0, rv_s(0, 5, 6, 3, 0x23));
    rvt_w32(t, RVT_BASE + 4, rv_s(0, 5, 7, 3, 0x23));
    rvt_w32(t, RVT_BASE + 8, rv_s(8, 5, 6, 3, 0x23));
    rvt_w32(t, RVT_BASE + 12, JAL(0, -4));
    rv64_hart_set_x(t->h, 6, RVT_DATA);
    rv64_hart_set_x(t->h, 7, RVT_DATA + 0x5000);
    CHECK_EQ(rv64_machine_get_dirty_log(t->m, bm), -EINVAL); /* not enabled */
    CHECK_EQ(rv64_machine_set_dirty_logging(t->m, 1), 0);
    rv64_hart_step(t->h, 2);
    CHECK_EQ(rv64_machine_get_dirty_log(t->m, bm), 0);
    CHECK(page_bit(bm, RVT_DATA));
    CHECK(page_bit(bm, RVT_DATA + 0x5000));
    CHECK(!page_bit(bm, RVT_BASE)); /* code is read, not written */
    CHECK_EQ(rv64_machine_get_dirty_log(t->m, bm), 0);
    CHECK(!page_bit(bm, RVT_DATA)); /* read and cleared */
    rv64_hart_step(t->h, 10); /* the loop: stores to RVT_DATA again, through a refilled entry */
    CHECK_EQ(rv64_machine_get_dirty_log(t->m, bm), 0);
    CHECK(page_bit(bm, RVT_DATA));
    CHECK(!page_bit(bm, RVT_DATA + 0x5000));
    CHECK_EQ(rv64_machine_set_dirty_logging(t->m, 0), 0);
    CHECK_EQ(rv64_machine_get_dirty_log(t->m, bm), -EINVAL);
    rvt_fini(t);
}

/* Reads the dirty log until page shows in it (the hart thread runs on a busy machine too):
 * true when it did within 10 s. */
static bool dirty_log_shows(struct rv64_machine *m, uint64_t *bm, uint64_t page)
{
    for (int i = 0; i < 2000; i++) {
        if (rv64_machine_get_dirty_log(m, bm) == 0 && page_bit(bm, page))
            return true;
        sleep_ms(5);
    }
    return false;
}

TEST(rv64_dirty_log_running_harts)
{
    RVT_SETUP(t);
    uint64_t bm[(RVT_RAM_SIZE / 4096 + 63) / 64];
    pthread_t th;

    counting_loop(t);
    CHECK_EQ(pthread_create(&th, NULL, run_thread, t), 0);
    CHECK_EQ(rv64_machine_set_dirty_logging(t->m, 1), 0);
    /* a store after logging began, through a refilled entry */
    CHECK(dirty_log_shows(t->m, bm, RVT_DATA));
    CHECK(!page_bit(bm, RVT_BASE));
    CHECK(dirty_log_shows(t->m, bm, RVT_DATA)); /* and again after the log was read */
    CHECK_EQ(rv64_machine_pause(t->m), 0);
    rv64_machine_get_dirty_log(t->m, bm);
    CHECK_EQ(rv64_machine_get_dirty_log(t->m, bm), 0);
    CHECK(!page_bit(bm, RVT_DATA)); /* nothing stored while paused */
    CHECK_EQ(rv64_machine_resume(t->m), 0);
    CHECK(dirty_log_shows(t->m, bm, RVT_DATA));
    rv64_machine_stop(t->m, RV64_STOP_QUIT);
    pthread_join(th, NULL);
    rvt_fini(t);
}

struct ops_run_arg {
    const struct engine_ops *ops;
    void *engine;
    enum engine_stop why;
};

static void *ops_run_thread(void *arg)
{
    struct ops_run_arg *a = arg;

    a->why = a->ops->run(a->engine);
    return NULL;
}

/* One MACHINE part, as a state file would keep it. */
struct machine_part {
    char name[16];
    uint8_t buf[64];
    size_t len;
};

static int put_part(void *ctx, const char *name, uint32_t inst, const void *buf, size_t len)
{
    struct machine_part *p = ctx;

    if (inst != 0 || len > sizeof(p->buf))
        return -EINVAL;
    snprintf(p->name, sizeof(p->name), "%s", name);
    memcpy(p->buf, buf, len);
    p->len = len;
    return 0;
}

static long get_part(void *ctx, const char *name, uint32_t inst, void *buf, size_t cap)
{
    struct machine_part *p = ctx;

    if (inst != 0 || strcmp(name, p->name) || p->len > cap)
        return -ENOENT;
    memcpy(buf, p->buf, p->len);
    return (long)p->len;
}

TEST(rv64_engine_ops_seam)
{
    RVT_SETUP(t);
    const struct engine_ops *ops = &rv64_engine_ops;
    struct rv64_cpu_state s;

    CHECK(!strcmp(ops->name, "rv64"));
    CHECK(!strcmp(ops->cpu_section, "hart"));
    CHECK_EQ(ops->cpu_state_size, sizeof(s));
    counting_loop(t);
    rv64_hart_step(t->h, 7);
    CHECK_EQ(ops->get_cpu_state(t->m, 0, &s), (long)sizeof(s));
    CHECK_EQ(s.pc, rv64_hart_get_pc(t->h));
    CHECK_EQ(ops->get_cpu_state(t->m, 1, &s), -EINVAL); /* one hart only */
    s.x[5] = 1000;
    CHECK_EQ(ops->set_cpu_state(t->m, 0, &s, sizeof(s) - 1), -EINVAL); /* another layout */
    CHECK_EQ(ops->set_cpu_state(t->m, 0, &s, sizeof(s)), 0);
    CHECK_EQ(rv64_hart_get_x(t->h, 5), 1000);
    CHECK_EQ(ops->clock_set(t->m, 123456789), 0);
    CHECK(ops->clock_get(t->m) >= 123456789); /* mtime runs on from the value set */
    {
        struct machine_part part = {0};
        CHECK_EQ(ops->save_machine(t->m, 4242, put_part, &part), 0);
        CHECK(!strcmp(part.name, "mtime"));
        CHECK_EQ(part.len, 8);
        CHECK_EQ(ops->clock_set(t->m, 0), 0);
        CHECK_EQ(ops->load_machine(t->m, get_part, &part), 0);
        CHECK(ops->clock_get(t->m) >= 4242);
        part.len = 7; /* damaged */
        CHECK_EQ(ops->load_machine(t->m, get_part, &part), -EINVAL);
    }
    CHECK_EQ(ops->set_irq(t->m, 1, 1), -EOPNOTSUPP); /* the board's PLIC owns lines */
    {
        struct ops_run_arg a = {ops, t->m, ENGINE_STOP_NONE};
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, ops_run_thread, &a), 0);
        sleep_ms(20);
        ops->stop(t->m, ENGINE_STOP_QUIT);
        pthread_join(th, NULL);
        CHECK_EQ(a.why, ENGINE_STOP_QUIT);
    }
    rvt_fini(t);
}
