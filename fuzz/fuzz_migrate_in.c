/* libFuzzer target for the incoming migration parser (vm/migrate_in.c): the stream header,
 * CONFIG, SNAP_PAGES, MACHINE/CPU/DEVICE, SYNC and END sections as the destination reads them
 * after the handshake, from one end of a socketpair, into 64 KiB of guest RAM and the state
 * file it builds (which is then opened with the state file reader), and the handshake's check
 * of a source's response.
 *
 * The input is a program for a source: its bytes pick sections (type, instance, name, lengths,
 * page offsets, payload bytes) that the real stream writer sends with correct checksums and
 * tags, so the fuzzer gets past the MAC into the parser; other bytes inject raw bytes, drop a
 * tag's sequence number or end the stream early, to exercise the refusals. Errors are fine;
 * crashes, hangs and sanitizer reports are not.
 *
 *   fuzz/run.sh builds it with clang -fsanitize=fuzzer,address,undefined and runs it.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/log.h"
#include "state/snapconfig.h"
#include "vm/migrate.h"
#include "vm/migrate_auth.h"

#define RAM   (64u << 10)
#define MAXSZ (96u << 10) /* bytes written before the parser runs: within the socket buffer */

void log_set_level(enum log_level lvl)
{
    (void)lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    (void)lvl;
    (void)fmt;
}

void log_limited(struct log_limit *l, enum log_level lvl, const char *fmt, ...)
{
    (void)l;
    (void)lvl;
    (void)fmt;
}

static const uint8_t key[32] = "fuzz-migrate-in-stream-key-0123";

struct prog {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct prog *g)
{
    if (!g->n)
        return 0;
    g->n--;
    return *g->p++;
}

/* The source side: writes the program's stream into fd; false when nothing sensible came. */
static void source(int fd, struct prog *g, struct snap_mac *mac)
{
    static const char *const names[] = {"hart", "mtime", "uart", "plic", "virtio-blk", "x"};
    static const char cfg[] = "{\"ram_size\":65536,\"harts\":1,\"devices\":[]}";
    static uint8_t buf[8 + 4 * 4096];
    struct snap_writer w;
    size_t sent = 0;
    unsigned first = take(g);

    if (snap_writer_open_mac(&w, fd, (first & 1) ? "kvm" : "rv64", "riscv64", mac))
        return;
    if (first & 2) { /* a configuration from the input */
        unsigned len = take(g);
        len = len > g->n ? (unsigned)g->n : len;
        snap_write_section(&w, (first & 4) ? SNAP_DEVICE : SNAP_CONFIG, 0, "config", g->p, len);
        g->p += len;
        g->n -= len;
    } else {
        snap_write_section(&w, SNAP_CONFIG, 0, "config", cfg, sizeof(cfg) - 1);
    }
    while (g->n && sent < MAXSZ - sizeof(buf)) {
        unsigned op = take(g), a = take(g), b = take(g);
        uint64_t off = (uint64_t)(a | (b << 8)) * 4096 / 16, len;

        switch (op % 8) {
        case 0:
        case 1: /* pages: an offset (maybe unaligned or outside RAM) and 1..4 pages */
            len = 8 + 4096 * (1 + op / 8 % 4);
            for (int i = 0; i < 8; i++)
                buf[i] = (uint8_t)(off >> (8 * i));
            memset(buf + 8, (int)b, len - 8);
            if (op & 0x80)
                len -= a % 64; /* a malformed length */
            snap_write_section(&w, SNAP_PAGES, op & 0x40 ? 1 : 0, "pages", buf, len);
            sent += len;
            break;
        case 2:
        case 3: /* machine, CPU or device state from the input */
            len = a | ((b & 0x3) << 8);
            len = len > g->n ? g->n : len;
            snap_write_section(&w, (enum snap_type)(2 + op / 8 % 3), b >> 4, names[op / 32 % 6],
                               g->p, len);
            g->p += len;
            g->n -= len;
            sent += len;
            break;
        case 4:
            snap_write_section(&w, op & 0x80 ? SNAP_SYNC : (enum snap_type)a, 0, "sync", buf,
                               op & 0x40 ? 8 : 0);
            break;
        case 5: /* raw bytes: the framing breaks */
            len = a % 64 > g->n ? g->n : a % 64;
            if (write(fd, g->p, len) < 0)
                return;
            g->p += len;
            g->n -= len;
            break;
        case 6:
            mac->seq += 1 + (a & 1); /* a section lost or repeated */
            break;
        case 7:
            if (a & 1)
                return; /* the stream ends without END */
            break;
        }
    }
    snap_writer_end(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct prog g = {data, size};
    struct snap_mac mac = {.seq = 0};
    struct migrate_incoming in = {.lfd = -1, .state_fd = -1};
    struct snapshot_config c;
    struct gmem ram = {.fd = -1};
    struct snap_reader r;
    uint8_t resp[MIG_RESPONSE_LEN] = {0}, nonce[MIG_NONCE_LEN] = {0}, proof[MIG_PROOF_LEN];
    char why[200];
    int sv[2];

    /* the handshake's check of a response: any bytes */
    mig_chan_init(&in.ch, -1, 1000, 0);
    memcpy(resp, data, size < sizeof(resp) ? size : sizeof(resp));
    mig_auth_accept(&in.ch, "fuzz-secret-0123456789", 22, nonce, resp, proof, why, sizeof(why));
    mig_chan_wipe(&in.ch);

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return 0;
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    /* nobody reads the destination's answers: a stream that makes it answer more than the
     * socket holds blocked it for good; a real link's sends time out (mig_set_timeouts) */
    struct timeval send_to = {.tv_usec = 200000};
    setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &send_to, sizeof(send_to));
    hmac256_init(&mac.key, key, sizeof(key));
    source(sv[0], &g, &mac);
    shutdown(sv[0], SHUT_WR);
    /* the destination, on the other end, as after a handshake with the same stream key */
    mig_chan_init(&in.ch, sv[1], 200, 0);
    hmac256_init(&in.ch.stream.key, key, sizeof(key));
    hmac256_init(&in.ch.send_key, key, sizeof(key));
    hmac256_init(&in.ch.recv_key, key, sizeof(key));
    in.ch.authed = true;
    in.timeout_ms = 200;
    if (!migrate_read_config(&in, "rv64", "riscv64")) {
        if (!snapshot_config_parse(in.config_json, in.config_len, &c, why, sizeof(why)))
            snapshot_config_free(&c);
        if (!gmem_create(&ram, 0x80000000u, RAM)) {
            if (!migrate_receive(&in, &ram, false) && !snap_reader_open(&r, in.state_path))
                snap_reader_close(&r);
            gmem_destroy(&ram);
        }
    }
    close(sv[0]);
    migrate_incoming_close(&in);
    return 0;
}
