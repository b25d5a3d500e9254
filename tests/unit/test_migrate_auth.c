/* Live migration's authentication and stream integrity (issue 13, defect 2): the destination
 * takes only a source that proves it knows the secret, drops everything else and keeps
 * waiting, bounds the wait in total, and refuses a stream whose tags do not verify. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "harness.h"
#include "vm/migrate.h"
#include "vm/migrate_auth.h"

#define SECRET "unit-test-secret-for-auth-0123"
#define RAM    (64u << 10)

static int listen_any(struct migrate_incoming *in, int *port, uint32_t total_ms)
{
    for (int p = 45400 + getpid() % 1000; p < 47000; p++) {
        char spec[32];
        snprintf(spec, sizeof(spec), "127.0.0.1:%d", p);
        if (migrate_listen(in, spec, SECRET, total_ms) == 0) {
            *port = p;
            return 0;
        }
    }
    return -1;
}

static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct accept_job {
    struct migrate_incoming *in;
    int err;
};

static void *accept_main(void *arg)
{
    struct accept_job *j = arg;

    j->err = migrate_accept(j->in, "rv64", "riscv64");
    return NULL;
}

/* A source of our own making on a connected fd: authenticates with secret, then sends the
 * header and CONFIG, tagged with mac (NULL: untagged). */
static int fake_source(int fd, const char *secret, struct mig_chan *c, struct snap_writer *w,
                       bool tagged)
{
    char why[160];
    int err;

    mig_chan_init(c, fd, 5000, 0);
    mig_chan_phase(c, 5000);
    err = mig_auth_connect(c, secret, strlen(secret), why, sizeof(why));
    if (err)
        return err;
    err = tagged ? snap_writer_open_mac(w, fd, "rv64", "riscv64", &c->stream)
                 : snap_writer_open_fd(w, fd, "rv64", "riscv64");
    return err ? err : snap_write_section(w, SNAP_CONFIG, 0, "config", "{}", 2);
}

TEST(migrate_auth_drops_strangers_and_waits_for_the_source)
{
    struct migrate_incoming in;
    struct accept_job j = {.in = &in};
    struct mig_chan c;
    struct snap_writer w;
    pthread_t t;
    char line[MIG_LINE_MAX_LEN];
    int port, fd, drip, wrong;

    CHECK_EQ(listen_any(&in, &port, 20000), 0);
    CHECK_EQ(pthread_create(&t, NULL, accept_main, &j), 0);
    /* connect and close; garbage; one byte and then nothing; the wrong secret */
    fd = connect_to(port);
    CHECK(fd >= 0);
    close(fd);
    fd = connect_to(port);
    CHECK(fd >= 0);
    CHECK(write(fd,
                "GET / HTTP/1.0\r\n\r\nGARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE "
                "GARBAGE GARBAGE GARBAGE GARBAGE",
                96) == 96);
    drip = connect_to(port);
    CHECK(drip >= 0 && write(drip, "V", 1) == 1);
    wrong = connect_to(port);
    CHECK(wrong >= 0);
    CHECK_EQ(fake_source(wrong, "not-the-right-secret-at-all", &c, &w, true), -ECONNRESET);
    close(wrong);
    /* the real source, after all of them */
    fd = connect_to(port);
    CHECK(fd >= 0);
    CHECK_EQ(fake_source(fd, SECRET, &c, &w, true), 0);
    pthread_join(t, NULL);
    CHECK_EQ(j.err, 0);
    CHECK(in.config_json && !strcmp(in.config_json, "{}"));
    CHECK(in.dropped >= 3); /* closed, garbage, wrong secret (the dripper too, at the end) */
    /* the answer line verifies on the source's side, and a forged one does not */
    CHECK_EQ(migrate_answer(&in, NULL), 0);
    CHECK_EQ(mig_read_line(&c, line, sizeof(line)), 0);
    CHECK(!strcmp(line, "ok"));
    CHECK_EQ(send(in.ch.fd, "ok 00\n", 6, 0), 6);
    CHECK_EQ(mig_read_line(&c, line, sizeof(line)), -EBADMSG);
    close(drip);
    close(fd);
    mig_chan_wipe(&c);
    migrate_incoming_close(&in);
}

TEST(migrate_auth_overall_timeout_ends_the_wait)
{
    struct migrate_incoming in;
    double t0 = clock_now_ms();
    int port, drip;

    CHECK_EQ(listen_any(&in, &port, 300), 0);
    drip = connect_to(port); /* sends nothing: does not hold the wait open */
    CHECK(drip >= 0);
    CHECK_EQ(migrate_accept(&in, "rv64", "riscv64"), -ETIMEDOUT);
    CHECK(clock_now_ms() - t0 < 4000); /* not the 5 s handshake bound, not forever */
    close(drip);
    migrate_incoming_close(&in);
}

/* A stream after a good handshake: untagged, or with a section left out (the tags' sequence
 * numbers no longer match), is refused. */
TEST(migrate_auth_refuses_untagged_or_spliced_streams)
{
    struct migrate_incoming in;
    struct accept_job j = {.in = &in};
    struct gmem ram = {.fd = -1};
    struct mig_chan c;
    struct snap_writer w;
    uint8_t page[8 + 4096] = {0};
    pthread_t t;
    int port, fd;

    /* untagged: the header's tag is missing (its bytes are the CONFIG's header) */
    CHECK_EQ(listen_any(&in, &port, 20000), 0);
    CHECK_EQ(pthread_create(&t, NULL, accept_main, &j), 0);
    fd = connect_to(port);
    CHECK_EQ(fake_source(fd, SECRET, &c, &w, false), 0);
    pthread_join(t, NULL);
    CHECK_EQ(j.err, -EBADMSG);
    close(fd);
    migrate_incoming_close(&in);

    /* a section dropped from the stream: the next one's tag does not verify */
    CHECK_EQ(listen_any(&in, &port, 20000), 0);
    CHECK_EQ(pthread_create(&t, NULL, accept_main, &j), 0);
    fd = connect_to(port);
    CHECK_EQ(fake_source(fd, SECRET, &c, &w, true), 0);
    pthread_join(t, NULL);
    CHECK_EQ(j.err, 0);
    CHECK_EQ(gmem_create(&ram, 0x80000000u, RAM), 0);
    c.stream.seq++; /* as if one section had been sent and lost */
    CHECK_EQ(snap_write_section(&w, SNAP_PAGES, 0, "pages", page, sizeof(page)), 0);
    CHECK_EQ(migrate_answer(&in, NULL), 0);
    CHECK_EQ(migrate_receive(&in, &ram, false), -EBADMSG);
    close(fd);
    mig_chan_wipe(&c);
    migrate_incoming_close(&in);
    gmem_destroy(&ram);
}

TEST(migrate_secret_rules)
{
    char why[160];

    CHECK_EQ(migrate_secret_check("short", why, sizeof(why)), -EINVAL);
    CHECK_EQ(migrate_secret_check("sixteen-bytes-ok", why, sizeof(why)), 0);
    CHECK_EQ(migrate_secret_check("has\na-newline-in-it", why, sizeof(why)), -EINVAL);
}
