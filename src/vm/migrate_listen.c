/* Live migration, the destination's door: listening, the secret, and taking the one source
 * that proves it knows it while everything else that connects is dropped (vm/migrate.h). */
#include "vm/migrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "vm/migrate_auth.h"

int migrate_listen(struct migrate_incoming *in, const char *spec, const char *secret,
                   uint32_t total_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char host[256], port[8], why[160];
    int one = 1, gai, err;

    memset(in, 0, sizeof(*in));
    in->lfd = in->state_fd = -1;
    in->ch.fd = -1;
    in->timeout_ms = MIGRATE_DEFAULT_TIMEOUT_MS;
    in->secret = secret;
    in->overall_ms = total_ms ? clock_now_ms() + total_ms : 0;
    if (!secret || migrate_secret_check(secret, why, sizeof(why))) {
        log_err("--incoming %s: %s", spec, secret ? why : "no migration secret");
        return -EINVAL;
    }
    if (migrate_parse_hostport(spec, host, sizeof(host), port, sizeof(port))) {
        log_err("--incoming %s: expected PORT or HOST:PORT", spec);
        return -EINVAL;
    }
    gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai) {
        log_err("--incoming %s: %s", spec, gai_strerror(gai));
        return -EINVAL;
    }
    in->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (in->lfd < 0 || setsockopt(in->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(in->lfd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(in->lfd, MIGRATE_PENDING_MAX) < 0) {
        err = -errno;
        log_err("--incoming %s: %s", spec, strerror(errno));
        freeaddrinfo(res);
        migrate_incoming_close(in);
        return err;
    }
    freeaddrinfo(res);
    return 0;
}

/* A connection in its handshake. */
struct pending {
    int fd;
    double deadline_ms;
    uint8_t nonce[MIG_NONCE_LEN];
    uint8_t resp[MIG_RESPONSE_LEN];
    size_t got;
    char peer[INET6_ADDRSTRLEN + 16];
};

static void drop(struct migrate_incoming *in, struct pending *p, const char *why)
{
    /* a network peer can cause these as often as it likes */
    log_guest_warn("incoming migration: dropped a connection from %s: %s; still waiting for the "
                   "source",
                   p->peer, why);
    close(p->fd);
    p->fd = -1;
    in->dropped++;
}

static void peer_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, cap, "%s port %d", addr, port);
}

/* Takes a new connection into a free slot (the oldest is dropped when none is free) and sends
 * it the challenge. */
static void take_new(struct migrate_incoming *in, struct pending *pend)
{
    uint8_t ch[MIG_CHALLENGE_LEN];
    struct pending *p = NULL;
    int fd = accept4(in->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0)
        return; /* EAGAIN, ECONNABORTED, EMFILE...: the wait goes on */
    for (int i = 0; i < MIGRATE_PENDING_MAX; i++) {
        if (pend[i].fd < 0) {
            p = &pend[i];
            break;
        }
        if (!p || pend[i].deadline_ms < p->deadline_ms)
            p = &pend[i];
    }
    if (p->fd >= 0)
        drop(in, p, "too many connections in their handshake");
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->deadline_ms = clock_now_ms() + MIG_HANDSHAKE_MS;
    peer_name(fd, p->peer, sizeof(p->peer));
    if (hmac256_random(p->nonce, sizeof(p->nonce))) {
        drop(in, p, "no random bytes for a challenge");
        return;
    }
    mig_auth_challenge(ch, p->nonce);
    if (send(fd, ch, sizeof(ch), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(ch))
        drop(in, p, "it does not take the challenge");
}

/* Reads what a pending connection sent; 1 when it proved it knows the secret (its proof is
 * sent and in->ch is set up on it), else 0. */
static int advance(struct migrate_incoming *in, struct pending *p)
{
    uint8_t proof[MIG_PROOF_LEN];
    char why[160];
    ssize_t n = recv(p->fd, p->resp + p->got, sizeof(p->resp) - p->got, MSG_DONTWAIT);
    int err;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        drop(in, p, n < 0 ? strerror(errno) : "it closed the connection");
        return 0;
    }
    p->got += (size_t)n;
    if (p->got < sizeof(p->resp))
        return 0;
    mig_chan_init(&in->ch, p->fd, in->timeout_ms, in->overall_ms);
    err = mig_auth_accept(&in->ch, in->secret, strlen(in->secret), p->nonce, p->resp, proof, why,
                          sizeof(why));
    if (!err) {
        fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) & ~O_NONBLOCK);
        mig_chan_phase(&in->ch, in->timeout_ms);
        err = mig_send_all(&in->ch, proof, sizeof(proof));
        if (err)
            snprintf(why, sizeof(why), "sending the proof: %s", strerror(-err));
    }
    hmac256_wipe(proof, sizeof(proof));
    if (err) {
        mig_chan_wipe(&in->ch);
        in->ch.fd = -1;
        drop(in, p, why);
        return 0;
    }
    log_info("incoming migration: the source at %s is authenticated", p->peer);
    p->fd = -1; /* in->ch has it */
    return 1;
}

int migrate_wait_source(struct migrate_incoming *in)
{
    struct pending pend[MIGRATE_PENDING_MAX];
    int err = -ETIMEDOUT;

    for (int i = 0; i < MIGRATE_PENDING_MAX; i++)
        pend[i].fd = -1;
    for (;;) {
        struct pollfd pfd[MIGRATE_PENDING_MAX + 1] = {{.fd = in->lfd, .events = POLLIN}};
        struct pending *who[MIGRATE_PENDING_MAX + 1] = {NULL};
        double now = clock_now_ms(), next = in->overall_ms;
        int n = 1, r, ms;

        if (in->overall_ms > 0 && now >= in->overall_ms)
            break;
        for (int i = 0; i < MIGRATE_PENDING_MAX; i++) {
            if (pend[i].fd < 0)
                continue;
            if (now >= pend[i].deadline_ms) {
                drop(in, &pend[i], "no proof of the secret in time");
                continue;
            }
            if (next <= 0 || pend[i].deadline_ms < next)
                next = pend[i].deadline_ms;
            pfd[n] = (struct pollfd){.fd = pend[i].fd, .events = POLLIN};
            who[n++] = &pend[i];
        }
        ms = next > 0 ? (int)(next - now) + 1 : -1;
        r = poll(pfd, (nfds_t)n, ms);
        if (r < 0 && errno != EINTR) {
            err = -errno;
            log_err("incoming migration: poll: %s", strerror(errno));
            break;
        }
        for (int i = 1; r > 0 && i < n; i++)
            if (pfd[i].revents && who[i]->fd >= 0 && advance(in, who[i])) {
                err = 0;
                goto out;
            }
        if (r > 0 && (pfd[0].revents & POLLIN))
            take_new(in, pend);
    }
out:
    for (int i = 0; i < MIGRATE_PENDING_MAX; i++)
        if (pend[i].fd >= 0)
            drop(in, &pend[i], "the source is here");
    if (err == -ETIMEDOUT)
        log_err("incoming migration: no source proved it knows the secret in time (%llu "
                "connections dropped)",
                (unsigned long long)in->dropped);
    return err;
}
