/* The management API's request validation: the route table and the JSON bodies, as pure
 * functions (no I/O, no daemon state) so that fuzz/fuzz_api.c can drive them directly.
 *
 * Every failure fills a struct api_error: the HTTP status, a stable machine-readable code and a
 * one-line message naming the field. Codes (docs/api/openapi.yaml lists them too):
 *   400 bad_json        the body is not one JSON object
 *   400 unknown_field   a member the schema does not have
 *   400 bad_type        a member of the wrong JSON type
 *   400 missing_field   a required member is absent
 *   422 out_of_range    a value outside its documented range (or a bad name / --net spec)
 *   422 bad_file        a kernel, initrd, firmware or disk the daemon cannot read (or write)
 *   404 not_found       no such route, or no such VM
 *   405 method_not_allowed  the path exists with other methods
 *   409 invalid_state   the transition is not allowed in the VM's current state
 *   409 name_taken      another VM has that name
 *   409 insufficient_capacity  not enough free vCPUs or memory (the message says what is free)
 *   409 disk_in_use     another VM's definition writes that disk image
 *   401 unauthorized    (TCP listener) no or wrong credentials (api/http.h)
 *   426 upgrade_required  GET .../console without a valid WebSocket handshake
 *   403 forbidden       a path outside the directories the daemon lets clients use
 *   413 too_large       the request body exceeds API_BODY_MAX
 *   501 unsupported     the VM or host lacks what the request needs
 *   500 internal        the daemon failed (message says what) */
#ifndef VESSEL_API_APIREQ_H
#define VESSEL_API_APIREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/disk/disk.h"

#define API_BODY_MAX               65536
#define API_NAME_MAX               64 /* including the NUL */
#define API_PATH_MAX               1024
#define API_CMDLINE_MAX            2048
#define API_NET_SPEC_MAX           512
#define API_MAX_DISKS              8
#define API_MAX_NETS               8
#define API_CPUS_MAX               32
#define API_MEM_MIN_MIB            64
#define API_MEM_MAX_MIB            65536
#define API_HOSTPORT_MAX           280 /* "HOST:PORT" including the NUL */
#define API_SHUTDOWN_TIMEOUT_S     30  /* a shutdown's wait for the guest, by default */
#define API_SHUTDOWN_TIMEOUT_MAX_S 3600

struct api_error {
    int status;
    char code[32];
    char message[256];
};

/* Numbers in answers: seconds and milliseconds are rounded to what is meaningful (a
 * millisecond: api_round_ms) and reals are printed with 15 significant digits, so that 8.32
 * prints as 8.32 and not 8.3200000000000003. Every JSON answer is dumped with API_JSON_FLAGS. */
#define API_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
static inline double api_round_ms(double seconds)
{
    return (double)(long long)(seconds * 1000.0 + (seconds < 0 ? -0.5 : 0.5)) / 1000.0;
}

/* Makes s printable, valid UTF-8 in place: control bytes and invalid sequences become '?'. */
void api_text_sanitize(char *s);

/* Fills e (the message made printable, valid UTF-8: it may quote a client's bytes, e.g. a URL
 * with %ff) and returns e->status. */
int api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum api_route {
    ROUTE_HOST,
    ROUTE_VM_LIST,
    ROUTE_VM_CREATE,
    ROUTE_VM_GET,
    ROUTE_VM_DELETE,
    ROUTE_VM_START,
    ROUTE_VM_PAUSE,
    ROUTE_VM_RESUME,
    ROUTE_VM_STOP,
    ROUTE_VM_SHUTDOWN,
    ROUTE_VM_REBOOT,
    ROUTE_VM_BALLOON,
    ROUTE_VM_SNAPSHOT,
    ROUTE_VM_MIGRATE,
    ROUTE_VM_MIGRATION_GET,
    ROUTE_VM_MIGRATION_CANCEL,
    ROUTE_VM_STATS,
    ROUTE_VM_CONSOLE,
    ROUTE_METRICS,
    ROUTE_COUNT
};

struct api_route_def {
    const char *method;
    const char *path; /* "{id}" stands for one path segment: a VM's id or name */
    enum api_route route;
    /* Every HTTP status the route can answer, space-separated (docs/api/openapi.yaml must
     * document exactly these; test_daemon.py checks it). 413 is any request with a body over
     * API_BODY_MAX; 405 (another method on the path) belongs to no route. */
    const char *statuses;
};

/* The route table (ROUTE_COUNT entries), for dispatch and `vessel serve --print-routes`. */
extern const struct api_route_def api_routes[ROUTE_COUNT];

/* Matches method and URL path (no query string). Returns 0 with *route and id (the {id}
 * segment, "" when none) set, or a 404/405 filled into e. */
int api_route_match(const char *method, const char *url, enum api_route *route,
                    char id[API_NAME_MAX], struct api_error *e);

/* A name or id: 1 to 63 of [A-Za-z0-9._-], not starting with '-' or '.'. */
bool api_name_valid(const char *s);

struct api_disk {
    char path[API_PATH_MAX];
    bool readonly;
    enum disk_format format; /* "format": "raw" | "qcow2"; absent: probed from the file */
};

/* The body of POST /v1/vms. */
struct api_vm_config {
    char name[API_NAME_MAX];
    char arch[16]; /* "riscv64" or "x86_64" */
    int cpus;
    uint64_t memory_mib;
    char kernel[API_PATH_MAX], initrd[API_PATH_MAX], firmware[API_PATH_MAX];
    char cmdline[API_CMDLINE_MAX];
    struct api_disk disks[API_MAX_DISKS];
    int ndisks;
    char nets[API_MAX_NETS][API_NET_SPEC_MAX]; /* `vessel run --net` values */
    int nnets;
    double cpu_quota; /* cores; 0: no limit */
    bool balloon;     /* a virtio-balloon device (riscv64; default true) */
    /* A snapshot to continue from (`vessel run --restore`; riscv64): kernel, initrd, firmware
     * and cmdline must then be absent; cpus and memory_mib are 0 unless given (the daemon takes
     * them, and balloon, from the file's CONFIG section and refuses given values that differ). */
    char restore[API_PATH_MAX];
    /* With restore: each start is a new clone (`vessel run --restore --clone`: a new VM
     * generation ID and MACs); the daemon gives each writable disk that is the snapshot's own a
     * new qcow2 overlay in its state directory per start (host/clone_disks.h). */
    bool clone;
    /* Receive a live migration instead of booting (`vessel run --incoming [HOST:]PORT`;
     * riscv64 or x86_64): kernel, initrd, firmware, cmdline and restore must then be absent; cpus and
     * memory_mib are required (the source's VM must have them; they are reserved as for any
     * VM); devices as the source's. */
    char incoming[API_HOSTPORT_MAX];
};

/* Parses and validates a POST /v1/vms body. Paths must be absolute; files are not opened here.
 * Returns 0, or an HTTP status with e filled. */
int api_vm_config_parse(const char *body, size_t len, struct api_vm_config *c, struct api_error *e);

/* The body of PUT /v1/vms/{id}/balloon: {"target_mib": N}, 0 <= N <= API_MEM_MAX_MIB. */
int api_balloon_parse(const char *body, size_t len, uint64_t *target_mib, struct api_error *e);

/* The body of POST /v1/vms/{id}/snapshot: {"path": ABSOLUTE, "then": "resume"|"stop",
 * "disks": "overlay"|"keep"} ("then" defaults to resume, "disks" to overlay). */
/* The body of POST /v1/vms/{id}/shutdown: empty, or {"timeout_s": 0..API_SHUTDOWN_TIMEOUT_MAX_S}
 * (how long the guest has to power off before the VM is stopped by force; absent:
 * API_SHUTDOWN_TIMEOUT_S; 0: at once). */
int api_shutdown_parse(const char *body, size_t len, int *timeout_s, struct api_error *e);
int api_snapshot_parse(const char *body, size_t len, char path[API_PATH_MAX], bool *stop,
                       bool *keep_disks, struct api_error *e);

/* "HOST:PORT", "[V6ADDR]:PORT" or, unless need_host, "PORT"; HOST of letters, digits and
 * . - _ (IPv6: hex digits, ':' and '.'), PORT 1 to 65535. */
bool api_hostport_valid(const char *s, bool need_host);

/* The body of POST /v1/vms/{id}/migrate: {"to": "HOST:PORT", "downtime_ms"?: 1..60000,
 * "timeout_ms"?: 1..3600000, "max_passes"?: 1..1000}; absent values are 0 (the VM's
 * defaults). */
#define API_SECRET_MAX 256 /* vm/migrate.h's MIGRATE_SECRET_MAX */

struct api_migrate {
    char to[API_HOSTPORT_MAX];
    char secret[API_SECRET_MAX + 1]; /* the destination's migration_secret */
    uint32_t downtime_ms, timeout_ms, max_passes;
};
int api_migrate_parse(const char *body, size_t len, struct api_migrate *m, struct api_error *e);

/* An action's body: empty, or an empty JSON object. */
int api_empty_body_check(const char *body, size_t len, struct api_error *e);

#endif
