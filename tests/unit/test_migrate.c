/* Live migration's protocol in one process: a fake VM (1 MiB of RAM, a scripted dirty log)
 * migrates over loopback TCP to the receiver, which runs on the test's thread. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "vm/migrate.h"

#define RAM_SIZE (1u << 20)
#define SECRET   "unit-test-secret-0123456789"

struct fake_vm {
    struct gmem ram;
    atomic_int pauses, resumes, finished, log_on, dirty_reads;
};

static char *fake_config(void *opaque)
{
    return strdup("{\"fake\":true}");
}

static int fake_set_log(void *opaque, bool on)
{
    struct fake_vm *v = opaque;

    v->log_on = on;
    return 0;
}

/* The guest "writes" page 3 before the first look and page 7 before the second: both must be
 * sent again, in the stop-and-copy (one dirty page fits any downtime target). */
static int fake_get_log(void *opaque, uint64_t *bitmap)
{
    struct fake_vm *v = opaque;
    int n = atomic_fetch_add(&v->dirty_reads, 1);

    memset(bitmap, 0, (RAM_SIZE / 4096 + 63) / 64 * 8);
    if (n == 0) {
        memset(v->ram.hva + 3 * 4096, 0x33, 4096);
        bitmap[0] |= 1u << 3;
    } else if (n == 1) {
        memset(v->ram.hva + 7 * 4096, 0x77, 4096);
        bitmap[0] |= 1u << 7;
    }
    return 0;
}

static void fake_pause(void *opaque)
{
    atomic_fetch_add(&((struct fake_vm *)opaque)->pauses, 1);
}

static void fake_resume(void *opaque)
{
    atomic_fetch_add(&((struct fake_vm *)opaque)->resumes, 1);
}

static int fake_state(void *opaque, struct snap_writer *w)
{
    static const char cpu[] = "cpu-state";

    return snap_write_section(w, SNAP_CPU, 0, "hart", cpu, sizeof(cpu));
}

static void fake_finish(void *opaque)
{
    atomic_store(&((struct fake_vm *)opaque)->finished, 1);
}

static struct migration *fake_migration(struct fake_vm *v)
{
    struct migrate_vm vm = {.engine = "rv64",
                            .arch = "riscv64",
                            .ram = &v->ram,
                            .opaque = v,
                            .config_json = fake_config,
                            .set_dirty_log = fake_set_log,
                            .get_dirty_log = fake_get_log,
                            .pause = fake_pause,
                            .resume = fake_resume,
                            .write_state = fake_state,
                            .finish = fake_finish};

    memset(v, 0, sizeof(*v));
    if (gmem_create(&v->ram, 0x80000000u, RAM_SIZE))
        return NULL;
    for (unsigned p = 0; p < RAM_SIZE / 4096; p += 2) /* odd pages stay zero */
        memset(v->ram.hva + p * 4096, (int)(p + 1), 4096);
    return migration_new(&vm);
}

/* Listens on a free loopback port (ports are 1..65535: no "0" for an ephemeral one). */
static int listen_any(struct migrate_incoming *in, char port[8])
{
    for (int p = 47400 + getpid() % 1000; p < 49000; p++) {
        char spec[32];
        snprintf(spec, sizeof(spec), "127.0.0.1:%d", p);
        if (migrate_listen(in, spec, SECRET, 20000) == 0) {
            snprintf(port, 8, "%d", p % 65536);
            return 0;
        }
    }
    return -1;
}

static void wait_done(struct migration *mg, struct migrate_status *st)
{
    for (int i = 0; i < 500; i++) {
        migration_get_status(mg, st);
        if (st->state == MIGRATE_COMPLETED || st->state == MIGRATE_FAILED ||
            st->state == MIGRATE_CANCELLED)
            return;
        usleep(10000);
    }
}

TEST(migrate_moves_ram_and_state_and_resends_dirty_pages)
{
    struct fake_vm v;
    struct migration *mg = fake_migration(&v);
    struct migrate_incoming in;
    struct migrate_params p = {.host = "127.0.0.1", .timeout_ms = 5000, .secret = SECRET};
    struct migrate_status st;
    struct gmem dst = {.fd = -1};
    struct snap_reader r;
    char port[8];

    CHECK(mg != NULL);
    if (!mg)
        return;
    CHECK_EQ(listen_any(&in, port), 0);
    snprintf(p.port, sizeof(p.port), "%s", port);
    CHECK_EQ(migration_start(mg, &p), 0);
    CHECK_EQ(migrate_accept(&in, "rv64", "riscv64"), 0);
    CHECK(in.config_json && !strcmp(in.config_json, "{\"fake\":true}"));
    CHECK_EQ(gmem_create(&dst, 0x80000000u, RAM_SIZE), 0);
    CHECK_EQ(migrate_answer(&in, NULL), 0);
    CHECK_EQ(migrate_receive(&in, &dst, false), 0);
    CHECK_EQ(migrate_commit(&in, NULL), 0);
    wait_done(mg, &st);
    CHECK_EQ(st.state, MIGRATE_COMPLETED);
    CHECK(memcmp(v.ram.hva, dst.hva, RAM_SIZE) == 0); /* pages 3 and 7 included */
    CHECK_EQ(v.pauses, 1);
    CHECK_EQ(v.resumes, 0);
    CHECK_EQ(v.finished, 1);
    /* page 3 (found at the last look, small enough to leave for the pause) and page 7 */
    CHECK_EQ(st.final_pages, 2);
    CHECK(st.sent_pages >= RAM_SIZE / 4096 / 2 + 2);
    CHECK(st.sent_pages < RAM_SIZE / 4096); /* zero pages were not sent */
    /* The receiver's state file holds CONFIG and the CPU section, no memory. */
    CHECK_EQ(snap_reader_open(&r, in.state_path), 0);
    CHECK(snap_find(&r, SNAP_CONFIG, 0, NULL) != NULL);
    CHECK(snap_find(&r, SNAP_CPU, 0, "hart") != NULL);
    CHECK(snap_find(&r, SNAP_MEMORY, 0, NULL) == NULL);
    snap_reader_close(&r);
    migrate_incoming_close(&in);
    migration_free(mg);
    gmem_destroy(&dst);
    gmem_destroy(&v.ram);
}

TEST(migrate_refused_or_failed_load_leaves_the_source_running)
{
    struct fake_vm v;
    struct migration *mg = fake_migration(&v);
    struct migrate_incoming in;
    struct migrate_params p = {.host = "127.0.0.1", .timeout_ms = 5000, .secret = SECRET};
    struct migrate_status st;
    struct gmem dst = {.fd = -1};
    char port[8];

    CHECK(mg != NULL);
    if (!mg)
        return;
    /* refused at the configuration: nothing paused, no dirty log left on */
    CHECK_EQ(listen_any(&in, port), 0);
    snprintf(p.port, sizeof(p.port), "%s", port);
    CHECK_EQ(migration_start(mg, &p), 0);
    CHECK_EQ(migrate_accept(&in, "rv64", "riscv64"), 0);
    CHECK_EQ(migrate_answer(&in, "virtio device 0 differs"), 0);
    wait_done(mg, &st);
    CHECK_EQ(st.state, MIGRATE_FAILED);
    CHECK(strstr(st.error, "refused") && strstr(st.error, "virtio device 0 differs"));
    CHECK_EQ(v.pauses, 0);
    CHECK_EQ(v.log_on, 0);
    migrate_incoming_close(&in);

    /* the destination cannot load the state: the paused source resumes */
    CHECK_EQ(listen_any(&in, port), 0);
    snprintf(p.port, sizeof(p.port), "%s", port);
    CHECK_EQ(migration_start(mg, &p), 0);
    CHECK_EQ(migrate_accept(&in, "rv64", "riscv64"), 0);
    CHECK_EQ(gmem_create(&dst, 0x80000000u, RAM_SIZE), 0);
    CHECK_EQ(migrate_answer(&in, NULL), 0);
    CHECK_EQ(migrate_receive(&in, &dst, false), 0);
    CHECK(migrate_commit(&in, "the destination could not load the state") != 0);
    wait_done(mg, &st);
    CHECK_EQ(st.state, MIGRATE_FAILED);
    CHECK_EQ(v.pauses, 1);
    CHECK_EQ(v.resumes, 1);
    CHECK_EQ(v.finished, 0);
    CHECK_EQ(v.log_on, 0);
    migrate_incoming_close(&in);

    /* nobody listens: fails at connect */
    snprintf(p.port, sizeof(p.port), "%s", port);
    CHECK_EQ(migration_start(mg, &p), 0);
    wait_done(mg, &st);
    CHECK_EQ(st.state, MIGRATE_FAILED);
    CHECK(strstr(st.error, "connecting") != NULL);
    migration_free(mg);
    gmem_destroy(&dst);
    gmem_destroy(&v.ram);
}

TEST(migrate_parse_hostport_forms)
{
    char host[64], port[8];

    CHECK_EQ(migrate_parse_hostport("10.0.0.2:7000", host, sizeof(host), port, sizeof(port)), 0);
    CHECK(!strcmp(host, "10.0.0.2") && !strcmp(port, "7000"));
    CHECK_EQ(migrate_parse_hostport("7001", host, sizeof(host), port, sizeof(port)), 0);
    CHECK(!strcmp(host, "") && !strcmp(port, "7001"));
    CHECK_EQ(migrate_parse_hostport("[::1]:7002", host, sizeof(host), port, sizeof(port)), 0);
    CHECK(!strcmp(host, "::1") && !strcmp(port, "7002"));
    CHECK_EQ(migrate_parse_hostport("h:0", host, sizeof(host), port, sizeof(port)), -EINVAL);
    CHECK_EQ(migrate_parse_hostport("h:65536", host, sizeof(host), port, sizeof(port)), -EINVAL);
    CHECK_EQ(migrate_parse_hostport(":80", host, sizeof(host), port, sizeof(port)), -EINVAL);
    CHECK_EQ(migrate_parse_hostport("a:b:80", host, sizeof(host), port, sizeof(port)), -EINVAL);
    CHECK_EQ(migrate_parse_hostport("[::1]80", host, sizeof(host), port, sizeof(port)), -EINVAL);
    CHECK_EQ(migrate_parse_hostport("h:8x", host, sizeof(host), port, sizeof(port)), -EINVAL);
}
