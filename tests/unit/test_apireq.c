/* src/api/apireq.c: the management API's routes and request validation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/apireq.h"
#include "harness.h"
#include "host/procinfo.h"

static int parse(const char *body, struct api_vm_config *c, struct api_error *e)
{
    return api_vm_config_parse(body, strlen(body), c, e);
}

TEST(apireq_routes)
{
    struct api_error e;
    enum api_route r;
    char id[API_NAME_MAX];

    CHECK_EQ(api_route_match("GET", "/v1/host", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_HOST);
    CHECK_EQ(api_route_match("POST", "/v1/vms", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_CREATE);
    CHECK_EQ(api_route_match("POST", "/v1/vms/web-1/start", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_START);
    CHECK(!strcmp(id, "web-1"));
    CHECK_EQ(api_route_match("PUT", "/v1/vms/abc/balloon", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_BALLOON);
    CHECK_EQ(api_route_match("DELETE", "/v1/vms/abc/", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_DELETE);
    CHECK_EQ(api_route_match("DELETE", "/v1/host", &r, id, &e), 405);
    CHECK(!strcmp(e.code, "method_not_allowed"));
    CHECK_EQ(api_route_match("GET", "/v1/vms/a/b/c", &r, id, &e), 404);
    CHECK_EQ(api_route_match("GET", "/v1/vms//start", &r, id, &e), 404);
    CHECK_EQ(api_route_match("GET", "/v1/vms/..", &r, id, &e), 404);
    CHECK_EQ(api_route_match("GET", "", &r, id, &e), 404);
    CHECK_EQ(api_route_match("POST", "/v1/vms/a/migrate", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_MIGRATE);
    CHECK_EQ(api_route_match("GET", "/v1/vms/a/migration", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_MIGRATION_GET);
    CHECK_EQ(api_route_match("DELETE", "/v1/vms/a/migration", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_MIGRATION_CANCEL);
    CHECK_EQ(api_route_match("PUT", "/v1/vms/a/migration", &r, id, &e), 405);
    CHECK_EQ(api_route_match("POST", "/v1/vms/a/reboot", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_REBOOT);
    CHECK_EQ(api_route_match("GET", "/v1/vms/a/reboot", &r, id, &e), 405);
}

TEST(apireq_config_good)
{
    struct api_vm_config *c = malloc(sizeof(*c));
    struct api_error e;

    CHECK_EQ(parse("{\"name\":\"a\",\"kernel\":\"/k\"}", c, &e), 0);
    CHECK_EQ(c->cpus, 1);
    CHECK_EQ(c->memory_mib, 256);
    CHECK(!strcmp(c->arch, "riscv64"));
    CHECK(c->balloon);
    CHECK(c->cpu_quota == 0);
    CHECK_EQ(parse("{\"name\":\"b.2\",\"kernel\":\"/k\",\"cpus\":2,\"memory_mib\":128,"
                   "\"cpu_quota\":0.5,\"disks\":[{\"path\":\"/d\",\"readonly\":true}],"
                   "\"nets\":[\"user,hostfwd=tcp::2222-:22\"],\"initrd\":null,\"balloon\":false}",
                   c, &e),
             0);
    CHECK_EQ(c->cpus, 2);
    CHECK(c->cpu_quota == 0.5);
    CHECK_EQ(c->ndisks, 1);
    CHECK(c->disks[0].readonly);
    CHECK_EQ(c->nnets, 1);
    CHECK(!c->balloon);
    /* no kernel: a riscv64 VM boots from its disk */
    CHECK_EQ(parse("{\"name\":\"c\",\"disks\":[{\"path\":\"/d.qcow2\"}]}", c, &e), 0);
    CHECK(!c->kernel[0]);
    CHECK_EQ(c->ndisks, 1);
    free(c);
}

TEST(apireq_config_errors)
{
    static const struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"{", 400, "bad_json"},
        {"42", 400, "bad_json"},
        {"{\"name\":\"a\",\"name\":\"b\",\"kernel\":\"/k\"}", 400, "bad_json"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"x\":1}", 400, "unknown_field"},
        {"{\"name\":1,\"kernel\":\"/k\"}", 400, "bad_type"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"cpus\":1.5}", 400, "bad_type"},
        /* riscv64 boots from its disks without a kernel: it needs disks; x86_64 a kernel */
        {"{\"name\":\"a\"}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"arch\":\"x86_64\"}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"disks\":[{\"path\":\"/d\"}],\"initrd\":\"/i\"}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"disks\":[{\"path\":\"/d\"}],\"cmdline\":\"x\"}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"cpus\":33}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"memory_mib\":65537}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"cpu_quota\":0}", 422, "out_of_range"},
        {"{\"name\":\"-a\",\"kernel\":\"/k\"}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"k\"}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"disks\":[{\"path\":\"/a,b\"}]}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"nets\":[\"wifi\"]}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"arch\":\"x86_64\",\"disks\":[{\"path\":\"/d\"}]}",
         422, "out_of_range"},
        {"{\"name\":\"a\",\"incoming\":\"4444\"}", 400, "missing_field"},
        {"{\"name\":\"a\",\"incoming\":\"4444\",\"cpus\":1}", 400, "missing_field"},
        {"{\"name\":\"a\",\"incoming\":4444,\"cpus\":1,\"memory_mib\":256}", 400, "bad_type"},
        {"{\"name\":\"a\",\"incoming\":\"99999\",\"cpus\":1,\"memory_mib\":256}", 422,
         "out_of_range"},
        {"{\"name\":\"a\",\"incoming\":\"h:\",\"cpus\":1,\"memory_mib\":256}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"incoming\":\"4444\",\"cpus\":1,\"memory_mib\":256,\"kernel\":\"/k\"}",
         422, "out_of_range"},
        {"{\"name\":\"a\",\"incoming\":\"4444\",\"cpus\":1,\"memory_mib\":256,\"arch\":"
         "\"x86_64\",\"disks\":[{\"path\":\"/d\"}]}",
         422, "out_of_range"},
        {"{\"name\":\"a\",\"kernel\":\"/k\",\"clone\":true}", 422, "out_of_range"},
        {"{\"name\":\"a\",\"restore\":\"/s\",\"clone\":1}", 400, "bad_type"},
        {"{\"name\":\"a\",\"restore\":\"/s\",\"clone\":true,\"arch\":\"x86_64\"}", 422,
         "out_of_range"},
    };
    struct api_vm_config *c = malloc(sizeof(*c));
    struct api_error e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&e, 0, sizeof(e));
        int st = parse(cases[i].body, c, &e);
        if (st != cases[i].status || strcmp(e.code, cases[i].code) != 0 || !e.message[0])
            test_fail(__FILE__, __LINE__, "%s -> %d %s, want %d %s", cases[i].body, st, e.code,
                      cases[i].status, cases[i].code);
    }
    free(c);
}

static int mparse(const char *body, struct api_migrate *m, struct api_error *e)
{
    return api_migrate_parse(body, strlen(body), m, e);
}

TEST(apireq_incoming_and_migrate)
{
    struct api_vm_config *c = malloc(sizeof(*c));
    struct api_migrate m;
    struct api_error e;

    CHECK_EQ(parse("{\"name\":\"in\",\"incoming\":\"127.0.0.1:4444\",\"cpus\":2,"
                   "\"memory_mib\":128,\"disks\":[{\"path\":\"/d\"}]}",
                   c, &e),
             0);
    CHECK(!strcmp(c->incoming, "127.0.0.1:4444"));
    CHECK(!c->kernel[0]);
    CHECK_EQ(c->cpus, 2);
    CHECK_EQ(c->memory_mib, 128);
    CHECK_EQ(parse("{\"name\":\"in\",\"incoming\":\"4444\",\"cpus\":1,\"memory_mib\":256}", c, &e),
             0);
    CHECK_EQ(parse("{\"name\":\"in\",\"incoming\":\"4444\",\"cpus\":1,\"memory_mib\":64,"
                   "\"arch\":\"x86_64\"}",
                   c, &e),
             0);
    CHECK(!strcmp(c->arch, "x86_64"));
    CHECK(!c->balloon);
    CHECK_EQ(parse("{\"name\":\"c\",\"restore\":\"/s.snap\",\"clone\":true}", c, &e), 0);
    CHECK(c->clone);
    CHECK_EQ(parse("{\"name\":\"c\",\"restore\":\"/s.snap\"}", c, &e), 0);
    CHECK(!c->clone);
    free(c);

#define SEC "\"secret\":\"0123456789abcdef0123\""
    CHECK_EQ(mparse("{\"to\":\"10.0.0.2:4444\"," SEC "}", &m, &e), 0);
    CHECK(!strcmp(m.to, "10.0.0.2:4444"));
    CHECK(!strcmp(m.secret, "0123456789abcdef0123"));
    CHECK_EQ(m.downtime_ms, 0);
    const char *full = "{\"to\":\"[::1]:4444\",\"downtime_ms\":100,\"timeout_ms\":2000,"
                       "\"max_passes\":5," SEC "}";
    CHECK_EQ(api_migrate_parse(full, strlen(full), &m, &e), 0);
    CHECK_EQ(m.downtime_ms, 100);
    CHECK_EQ(m.timeout_ms, 2000);
    CHECK_EQ(m.max_passes, 5);
    CHECK_EQ(mparse("{}", &m, &e), 400);
    CHECK(!strcmp(e.code, "missing_field"));
    /* the migration's secret: required, 16 to 256 bytes of text */
    CHECK_EQ(mparse("{\"to\":\"10.0.0.2:4444\"}", &m, &e), 400);
    CHECK(!strcmp(e.code, "missing_field"));
    CHECK_EQ(mparse("{\"to\":\"10.0.0.2:4444\",\"secret\":\"short\"}", &m, &e), 422);
    CHECK_EQ(mparse("{\"to\":\"10.0.0.2:4444\",\"secret\":\"0123456789abcdef\\n\"}", &m, &e), 422);
    CHECK_EQ(mparse("{\"to\":\"4444\"," SEC "}", &m, &e), 422);
    CHECK_EQ(mparse("{\"to\":\"a b:1\"," SEC "}", &m, &e), 422);
    CHECK_EQ(mparse("{\"to\":\"h:1\",\"downtime_ms\":0," SEC "}", &m, &e), 422);
    CHECK_EQ(mparse("{\"to\":\"h:1\",\"max_passes\":\"3\"," SEC "}", &m, &e), 400);
    CHECK(!strcmp(e.code, "bad_type"));
    CHECK_EQ(mparse("{\"to\":\"h:1\",\"speed\":3," SEC "}", &m, &e), 400);
    CHECK(!strcmp(e.code, "unknown_field"));
#undef SEC
    CHECK(api_hostport_valid("host-1.example:80", true));
    CHECK(api_hostport_valid("[fe80::1]:80", true));
    CHECK(api_hostport_valid("80", false));
    CHECK(!api_hostport_valid("80", true));
    CHECK(!api_hostport_valid("h:0", true));
    CHECK(!api_hostport_valid("h:65536", true));
    CHECK(!api_hostport_valid(":80", false));
    CHECK(!api_hostport_valid("h\":80", true));
    CHECK(!api_hostport_valid("[::1]80", true));
}

TEST(apireq_balloon_and_empty)
{
    struct api_error e;
    uint64_t t = 0;

    CHECK_EQ(api_balloon_parse("{\"target_mib\":64}", 17, &t, &e), 0);
    CHECK_EQ(t, 64);
    CHECK_EQ(api_balloon_parse("{}", 2, &t, &e), 400);
    CHECK_EQ(api_balloon_parse("{\"target_mib\":-1}", 17, &t, &e), 422);
    int s = -1;
    CHECK_EQ(api_shutdown_parse("", 0, &s, &e), 0);
    CHECK_EQ(s, API_SHUTDOWN_TIMEOUT_S);
    CHECK_EQ(api_shutdown_parse("{\"timeout_s\":5}", 15, &s, &e), 0);
    CHECK_EQ(s, 5);
    CHECK_EQ(api_shutdown_parse("{\"timeout_s\":0}", 15, &s, &e), 0);
    CHECK_EQ(s, 0);
    CHECK_EQ(api_shutdown_parse("{}", 2, &s, &e), 0);
    CHECK_EQ(s, API_SHUTDOWN_TIMEOUT_S);
    CHECK_EQ(api_shutdown_parse("{\"timeout_s\":-1}", 16, &s, &e), 422);
    CHECK_EQ(api_shutdown_parse("{\"timeout_s\":3601}", 18, &s, &e), 422);
    CHECK_EQ(api_shutdown_parse("{\"timeout_s\":\"5\"}", 17, &s, &e), 400);
    CHECK_EQ(api_shutdown_parse("{\"wait\":1}", 10, &s, &e), 400);
    CHECK_EQ(api_shutdown_parse("[1]", 3, &s, &e), 400);
    CHECK_EQ(api_empty_body_check("", 0, &e), 0);
    CHECK_EQ(api_empty_body_check(" {} ", 4, &e), 0);
    CHECK_EQ(api_empty_body_check("{\"a\":1}", 7, &e), 400);
    CHECK(api_name_valid("vm_1.a-b"));
    CHECK(!api_name_valid(""));
    CHECK(!api_name_valid("a/b"));
    CHECK(!api_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
}

TEST(procinfo_self)
{
    struct proc_info pi;

    CHECK_EQ(proc_info_read(getpid(), &pi), 0);
    CHECK(pi.state == 'R');
    CHECK(pi.start > 0);
    CHECK(pi.rss_kib > 0);
    CHECK(proc_alive(getpid(), pi.start));
    CHECK(!proc_alive(getpid(), pi.start + 1));
    CHECK_EQ(proc_info_read(-1, &pi), -ENOENT);
}

TEST(apireq_route_statuses_and_new_routes)
{
    static const char *const known[] = {"101", "200", "201", "202", "400", "401", "403",
                                        "404", "409", "413", "422", "426", "500", NULL};
    struct api_error e;
    enum api_route r;
    char id[API_NAME_MAX];

    for (int i = 0; i < ROUTE_COUNT; i++) {
        char buf[64], *tok, *save;
        bool has_2xx = false, has_500 = false;
        CHECK_EQ(api_routes[i].route, (enum api_route)i);
        CHECK(api_routes[i].statuses && strlen(api_routes[i].statuses) < sizeof(buf));
        snprintf(buf, sizeof(buf), "%s", api_routes[i].statuses);
        for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            bool ok = false;
            for (int k = 0; known[k]; k++)
                ok = ok || !strcmp(known[k], tok);
            CHECK(ok);
            has_2xx = has_2xx || tok[0] == '2' || !strcmp(tok, "101"); /* or a WebSocket */
            has_500 = has_500 || !strcmp(tok, "500");
        }
        CHECK(has_2xx && has_500);
        /* every route answers 401 on the TCP listener without credentials */
        CHECK(strstr(api_routes[i].statuses, "401") != NULL);
        /* a route with a VM in its path can answer 404 */
        CHECK(!strstr(api_routes[i].path, "{id}") || strstr(api_routes[i].statuses, "404"));
    }
    CHECK_EQ(api_route_match("GET", "/metrics", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_METRICS);
    CHECK_EQ(api_route_match("GET", "/v1/vms/web/stats", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_STATS);
    CHECK(!strcmp(id, "web"));
    CHECK_EQ(api_route_match("POST", "/metrics", &r, id, &e), 405);
    CHECK_EQ(api_route_match("GET", "/v1/vms/web/console", &r, id, &e), 0);
    CHECK_EQ(r, ROUTE_VM_CONSOLE);
    CHECK_EQ(api_route_match("POST", "/v1/vms/web/console", &r, id, &e), 405);
}

TEST(apireq_disk_format)
{
    struct api_vm_config c;
    struct api_error e;

    CHECK_EQ(parse("{\"name\":\"a\",\"kernel\":\"/k\",\"disks\":[{\"path\":\"/d\",\"format\":"
                   "\"qcow2\"},{\"path\":\"/r\",\"format\":\"raw\"},{\"path\":\"/p\"},"
                   "{\"path\":\"/n\",\"format\":null}]}",
                   &c, &e),
             0);
    CHECK_EQ(c.ndisks, 4);
    CHECK_EQ(c.disks[0].format, DISK_FORMAT_QCOW2);
    CHECK_EQ(c.disks[1].format, DISK_FORMAT_RAW);
    CHECK_EQ(c.disks[2].format, DISK_FORMAT_PROBE);
    CHECK_EQ(c.disks[3].format, DISK_FORMAT_PROBE);
    CHECK_EQ(parse("{\"name\":\"a\",\"kernel\":\"/k\",\"disks\":[{\"path\":\"/d\",\"format\":"
                   "\"vmdk\"}]}",
                   &c, &e),
             422);
    CHECK(!strcmp(e.code, "out_of_range") && strstr(e.message, "disks[0].format"));
    CHECK_EQ(parse("{\"name\":\"a\",\"kernel\":\"/k\",\"disks\":[{\"path\":\"/d\",\"format\":"
                   "\"\"}]}",
                   &c, &e),
             422);
    CHECK_EQ(parse("{\"name\":\"a\",\"kernel\":\"/k\",\"disks\":[{\"path\":\"/d\",\"format\":"
                   "\"qcow2qcow2qcow2qcow2\"}]}",
                   &c, &e),
             422);
    CHECK_EQ(parse("{\"name\":\"a\",\"kernel\":\"/k\",\"disks\":[{\"path\":\"/d\",\"format\":2}]}",
                   &c, &e),
             400);
    CHECK(!strcmp(e.code, "bad_type"));
}

TEST(apireq_round_ms)
{
    CHECK(api_round_ms(8.3200000000000003) == 8.32);
    CHECK(api_round_ms(1.23456) == 1.235);
    CHECK(api_round_ms(0.0004) == 0.0);
    CHECK(api_round_ms(-1.0006) == -1.001);
}
