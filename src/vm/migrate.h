/* Live migration over TCP (docs/migration.md): the state format (vm/snapfile.h) sent as a
 * stream. The source sends CONFIG, waits for the destination to accept it, then pre-copies
 * guest RAM while the VM runs (SNAP_PAGES sections: first every populated page, then the pages
 * dirtied meanwhile, pass after pass) until the dirty set left fits the downtime target; then
 * it pauses the VM, sends the last dirty pages, the CPU, machine and device sections and END.
 * The destination loads them and answers "loaded"; the source says "go"; the destination runs
 * and answers "running", and only then does the source end its VM. Until "go" any failure
 * (connection lost, timeout, refusal, cancel) leaves the source running as before and the
 * destination discards everything. */
#ifndef VESSEL_VM_MIGRATE_H
#define VESSEL_VM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/disk/disk.h"
#include "mem/gmem.h"
#include "state/snapfile.h"
#include "vm/migrate_link.h"

/* The secret both ends of one migration are given (docs/migration.md): text of 16 to 256
 * bytes, no control characters. */
#define MIGRATE_SECRET_MIN 16
#define MIGRATE_SECRET_MAX 256

/* 0 when s is a usable secret, else -EINVAL with a reason in why. */
int migrate_secret_check(const char *s, char *why, size_t whylen);
/* Reads a secret file: a regular file that only its owner may read or write (no group or other
 * permission bits), holding the secret (one trailing newline is dropped). 0, or -errno with a
 * reason in why. */
int migrate_secret_read(const char *path, char out[MIGRATE_SECRET_MAX + 1], char *why,
                        size_t whylen);

/* What the migration needs of a VM (a board implements it). All callbacks run on the
 * migration thread. */
struct migrate_vm {
    const char *engine, *arch; /* for the stream header, e.g. "rv64", "riscv64" */
    struct gmem *ram;          /* guest RAM (memory slot 0) */
    void *opaque;
    /* The CONFIG section's JSON text (malloc'd), or NULL when out of memory. */
    char *(*config_json)(void *opaque);
    /* Starts or stops the engine's log of CPU stores; 0 or -errno. */
    int (*set_dirty_log)(void *opaque, bool on);
    /* Reads and clears that log into bitmap (one bit per 4 KiB page of ram); 0 or -errno. */
    int (*get_dirty_log)(void *opaque, uint64_t *bitmap);
    /* Stops the vCPUs and the device threads: guest memory no longer changes. */
    void (*pause)(void *opaque);
    /* Undoes pause after a failed migration: the guest goes on as if never paused. */
    void (*resume)(void *opaque);
    /* While paused: the MACHINE, CPU and DEVICE sections; 0 or -errno. */
    int (*write_state)(void *opaque, struct snap_writer *w);
    /* While paused, once the destination runs the VM: ends it here (disks flushed first). */
    void (*finish)(void *opaque);
    /* While paused, when the destination got "go" but did not confirm: the VM may run there,
     * so it must never run here again; releases what pause took without resuming. May be
     * NULL (nothing to release). */
    void (*abandon)(void *opaque);
};

struct migrate_params {
    char host[256]; /* destination host name or address */
    char port[8];
    uint32_t downtime_ms; /* stop-and-copy once the dirty set is estimated to fit this */
    uint32_t timeout_ms;  /* give up after this long without progress on the connection */
    uint32_t max_passes;  /* stop-and-copy after this many pre-copy passes in any case */
    char secret[MIGRATE_SECRET_MAX + 1]; /* the migration's secret (migrate_secret_check) */
};

#define MIGRATE_DEFAULT_DOWNTIME_MS 50
#define MIGRATE_DEFAULT_TIMEOUT_MS  10000
#define MIGRATE_DEFAULT_MAX_PASSES  30

enum migrate_state {
    MIGRATE_NONE,        /* never started */
    MIGRATE_CONNECTING,  /* connecting, sending the configuration */
    MIGRATE_PRECOPY,     /* copying RAM while the VM runs */
    MIGRATE_STOPCOPY,    /* VM paused: the last pages and the device state */
    MIGRATE_COMPLETED,   /* the destination runs the VM; this one has ended */
    MIGRATE_FAILED,      /* error says why; the VM here runs on */
    MIGRATE_CANCELLED,   /* cancelled; the VM here runs on */
    MIGRATE_UNCONFIRMED, /* handed over, not confirmed: the VM here stays paused for good */
};

struct migrate_status {
    enum migrate_state state;
    char to[280];
    uint32_t passes;           /* pre-copy passes finished */
    uint64_t ram_pages;        /* pages of guest RAM */
    uint64_t sent_pages;       /* pages sent so far, all passes */
    uint64_t sent_bytes;       /* bytes on the wire so far */
    uint64_t remaining_pages;  /* during a pass: its pages not sent yet; else the dirty pages
                                * found at the last look */
    double dirty_rate_pps;     /* pages dirtied per second during the last pass */
    double bandwidth_bps;      /* bytes per second, this pass so far or the last one */
    double eta_ms;             /* estimated time to completion */
    double elapsed_ms;         /* since the start */
    double downtime_ms;        /* pause to "running" (once completed) */
    double downtime_target_ms; /* the target it was started with */
    /* Where the downtime went (once completed): pausing and reading the dirty logs, sending
     * the last final_pages pages, sending the device state until the destination had loaded
     * it, and the go/running handshake. */
    double pause_ms, final_pages_ms, load_ms, handover_ms;
    uint64_t final_pages;
    char error[256];
};

struct migration;

/* One per VM; NULL when out of memory. */
struct migration *migration_new(const struct migrate_vm *vm);
/* Cancels a running migration, waits for its thread and frees everything. */
void migration_free(struct migration *mg);
/* Starts migrating on a thread of its own; 0, -EBUSY (one is running) or -errno. */
int migration_start(struct migration *mg, const struct migrate_params *p);
void migration_get_status(struct migration *mg, struct migrate_status *st);
/* Stops a running migration before the VM is handed over; 0, or -EALREADY when none runs or
 * it is past the point of no return. */
int migration_cancel(struct migration *mg);
const char *migrate_state_name(enum migrate_state s);
/* {"state":..., "passes":N, ...} as one JSON object (no newline). */
void migrate_status_json(const struct migrate_status *st, char *out, size_t cap);
/* Parses "HOST:PORT", "[V6]:PORT" or "PORT" (host then empty) into p->host and p->port;
 * 0 or -EINVAL. */
int migrate_parse_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* --- the destination --- */

struct migrate_incoming {
    int lfd;            /* listening socket */
    struct mig_chan ch; /* the authenticated source's connection (ch.fd: -1 before) */
    const char *secret; /* the migration's secret (the caller's) */
    double overall_ms;  /* clock_now_ms() by which the VM must be received; 0: no limit */
    uint64_t dropped;   /* connections dropped: unauthenticated, garbage, too slow */
    char *config_json;  /* the source's CONFIG section (malloc'd, NUL-terminated) */
    size_t config_len;
    uint32_t timeout_ms;      /* the longest wait for any one piece, and each phase's bound */
    struct snap_writer state; /* the non-memory sections, as a state file in state_fd */
    int state_fd;
    char state_path[64]; /* /proc/self/fd/N: the state file for the board's restore path */
    uint64_t pages_received;
    uint32_t state_sections; /* device/CPU/machine sections so far (bounded) */
    uint64_t state_bytes;    /* and their bytes (bounded) */
};

#define MIGRATE_PENDING_MAX 16 /* connections in their handshake at once */

/* Listens on [HOST:]PORT (HOST defaults to every address) for a source that knows secret, for
 * at most total_ms from now (0: no limit); 0 or -errno (logged). */
int migrate_listen(struct migrate_incoming *in, const char *spec, const char *secret,
                   uint32_t total_ms);
/* Waits for a source that proves it knows the secret and sets up in->ch on its connection;
 * 0 or -errno (logged). Part of migrate_accept. */
int migrate_wait_source(struct migrate_incoming *in);
/* Waits for a source that proves it knows the secret (connections that do not, send garbage or
 * take longer than MIG_HANDSHAKE_MS are dropped and the wait goes on, up to
 * MIGRATE_PENDING_MAX in their handshake at once), then reads its header (engine and arch must
 * match) and CONFIG; 0 or -errno (logged; -ETIMEDOUT when no source came in time). */
int migrate_accept(struct migrate_incoming *in, const char *engine, const char *arch);
/* After the handshake (in->ch authenticated): the stream header (engine and arch must match)
 * and CONFIG; 0 or -errno (logged). The rest of migrate_accept, and the fuzzer's entry. */
int migrate_read_config(struct migrate_incoming *in, const char *engine, const char *arch);
/* Tells the source whether this VM can take its configuration (refusal: the reason). */
int migrate_answer(struct migrate_incoming *in, const char *refusal);
/* Receives RAM into ram (created from the CONFIG's size) and the rest into the state file
 * until END; 0 or -errno (logged). Prints progress on stderr when progress is set. */
int migrate_receive(struct migrate_incoming *in, struct gmem *ram, bool progress);
/* migrate_answer(ok) and migrate_receive, then every disk of the VM opened again (the
 * source flushed its writes into the shared files before the end of the stream: their
 * metadata is read afresh). 0, or -errno with one line on stderr. */
int migrate_take_vm(struct migrate_incoming *in, struct gmem *ram, struct disk **disks, int ndisks);
/* The VM is loaded (refusal NULL) or not: tells the source, and with success waits for its
 * "go" and confirms "running". 0 when this side must run the VM, else -errno (logged). */
int migrate_commit(struct migrate_incoming *in, const char *refusal);
void migrate_incoming_close(struct migrate_incoming *in);

#endif
