/* The sandbox's pure parts and its seccomp report: paths (vm/vm_files.c, host/jail.c), the
 * API's text and tokens (api/), the jail's configuration (vm/vm_config*.c), net fd=, control
 * commands; and a forked child whose denied call must end it by SIGSYS with one line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/apireq.h"
#include "api/http.h"
#include "backend/net/net.h"
#include "harness.h"
#include "host/jail.h"
#include "vm/control.h"
#include "vm/seccomp.h"
#include "vm/vm_config.h"
#include "vm/vm_files.h"

TEST(sandbox_path_normalize)
{
    char out[64];

    CHECK_EQ(vm_path_normalize("/a/b/../c/./d//e", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "/a/c/d/e"));
    CHECK_EQ(vm_path_normalize("/../../etc/shadow", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "/etc/shadow"));
    CHECK_EQ(vm_path_normalize("/", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "/"));
    CHECK_EQ(vm_path_normalize("/imgs/vm/../base/x.qcow2", out, sizeof(out)), 0);
    CHECK(!strcmp(out, "/imgs/base/x.qcow2"));
    CHECK_EQ(vm_path_normalize("/a/very/long/path/indeed", out, 10), -ENAMETOOLONG);
}

TEST(sandbox_path_allowed)
{
    char *dirs[] = {"/var/lib/vessel", "/srv/img/"};

    CHECK(host_path_allowed("/var/lib/vessel/images/a.qcow2", dirs, 2));
    CHECK(host_path_allowed("/srv/img/x", dirs, 2));
    CHECK(host_path_allowed("/var/lib/vessel", dirs, 2));
    CHECK(!host_path_allowed("/var/lib/vessel2/a", dirs, 2)); /* a prefix is not a directory */
    CHECK(!host_path_allowed("/etc/shadow", dirs, 2));
    CHECK(!host_path_allowed("/srv/imgx", dirs, 2));
    CHECK(!host_path_allowed("/srv/img", dirs, 0));
}

TEST(sandbox_api_text_stays_utf8)
{
    char s[] = "no VM '\xff' \xc3\xa9t\xc3 \xed\xa0\x80 \x01 ok";
    struct api_error e;

    api_text_sanitize(s);
    CHECK(!strcmp(s, "no VM '?' \xc3\xa9t? ??? ? ok")); /* é kept, the rest replaced */
    /* GET /v1/vms/%ff: the id is not a valid name, the answer a 404 with printable text */
    CHECK_EQ(
        api_route_match("GET", "/v1/vms/\xff", &(enum api_route){0}, (char[API_NAME_MAX]){0}, &e),
        404);
    CHECK(!strcmp(e.code, "not_found") && strchr(e.message, '?') && !strchr(e.message, '\xff'));
}

TEST(sandbox_api_tokens)
{
    CHECK(api_token_equal("0123456789abcdef", "0123456789abcdef"));
    CHECK(!api_token_equal("0123456789abcdeg", "0123456789abcdef"));
    CHECK(!api_token_equal("0123456789abcde", "0123456789abcdef"));
    CHECK(!api_token_equal("", "0123456789abcdef"));
    CHECK(!api_token_equal("0123456789abcdef0", "0123456789abcdef"));
    CHECK(!strcmp(api_bearer_token("Bearer abc") ?: "", "abc"));
    CHECK(!strcmp(api_bearer_token("bearer   abc") ?: "", "abc"));
    CHECK(!api_bearer_token("Basic abc"));
    CHECK(!api_bearer_token("Bearerabc"));
    CHECK(!api_bearer_token("Bearer "));
    CHECK(!api_bearer_token(NULL));
}

TEST(sandbox_api_refuses_net_fd)
{
    struct api_vm_config *c = malloc(sizeof(*c));
    const char *body = "{\"name\":\"x\",\"kernel\":\"/k\",\"nets\":[\"tap,fd=3\"]}";
    struct api_error e;

    CHECK_EQ(api_vm_config_parse(body, strlen(body), c, &e), 422);
    CHECK(strstr(e.message, "fd="));
    free(c);
}

TEST(sandbox_net_fd)
{
    struct net_config n;
    char why[200];

    CHECK_EQ(net_config_parse("tap,fd=7,mac=52:54:00:00:00:01", &n, why, sizeof(why)), 0);
    CHECK(n.kind == NET_TAP && n.fd_set && n.fd == 7 && !n.ifname[0]);
    CHECK_EQ(net_config_parse("switch,path=/s,fd=9", &n, why, sizeof(why)), 0);
    CHECK(n.fd_set && n.fd == 9 && !strcmp(n.path, "/s"));
    CHECK_EQ(net_config_parse("tap", &n, why, sizeof(why)), -EINVAL);
    CHECK_EQ(net_config_parse("tap,fd=-1", &n, why, sizeof(why)), -EINVAL);
    CHECK_EQ(net_config_parse("tap,fd=x", &n, why, sizeof(why)), -EINVAL);
    CHECK_EQ(net_config_parse("user,fd=3", &n, why, sizeof(why)), -EINVAL);
    CHECK_EQ(net_backend_preopen(&n), -EINVAL); /* user: nothing to open before a jail */
}

TEST(sandbox_jail_config_json)
{
    const char *text = "{\"kernel\":\"/k\",\"api_socket\":\"/j/api\",\"jail\":{\"uid_first\":"
                       "5000,\"uid_count\":10,\"gid\":null,\"dir\":\"/j\",\"root\":null,"
                       "\"allow\":[\"/a\",\"/b\"]},\"overlay_dir\":\"/j\",\"seccomp\":true}";
    struct vm_config c, d;
    char why[300], *json;

    CHECK_EQ(vm_config_from_json(text, strlen(text), &c, why, sizeof(why)), 0);
    CHECK(c.jail.on && c.jail.uid_first == 5000 && c.jail.uid_count == 10 && c.jail.gid == -1);
    CHECK(c.jail.nallow == 2 && !strcmp(c.jail.allow[1], "/b") && !strcmp(c.jail.dir, "/j"));
    CHECK(c.seccomp && !strcmp(c.overlay_dir, "/j"));
    CHECK_EQ(vm_config_check(&c, NULL, why, sizeof(why)), 0);
    json = vm_config_to_json(&c);
    CHECK(json && !vm_config_from_json(json, strlen(json), &d, why, sizeof(why)));
    CHECK(d.jail.on && d.jail.uid_count == 10 && d.jail.nallow == 2 && d.seccomp);
    free(json);
    vm_config_free(&d);
    /* a jailed VM's sockets must be in its own directory */
    free(c.api_socket);
    c.api_socket = vm_config_strdup("/tmp/api.sock");
    CHECK_EQ(vm_config_check(&c, NULL, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "--jail-dir"));
    vm_config_free(&c);
    CHECK_EQ(vm_config_from_json("{\"jail\":{\"uid\":1}}", 19, &c, why, sizeof(why)), -EINVAL);
}

TEST(sandbox_control_commands)
{
    struct control_cmd c;
    char err[200], out[2048];

    CHECK_EQ(control_parse("{\"sandbox\": null}", &c, err, sizeof(err)), 0);
    CHECK(c.op == CONTROL_SANDBOX && c.sandbox == SANDBOX_STATUS);
    CHECK_EQ(control_parse("{\"sandbox\": {\"open\": \"/etc/hostname\"}}", &c, err, sizeof(err)),
             0);
    CHECK(c.sandbox == SANDBOX_OPEN && !strcmp(c.path, "/etc/hostname"));
    CHECK_EQ(control_parse("{\"sandbox\": {\"denied_call\": true}}", &c, err, sizeof(err)), 0);
    CHECK(c.sandbox == SANDBOX_DENIED_CALL);
    CHECK_EQ(control_parse("{\"sandbox\": {\"open\": 1}}", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"sandbox\": {\"exec\": \"/bin/sh\"}}", &c, err, sizeof(err)),
             -EINVAL);
    /* unconfined (this process), the status answers and an open of a missing file fails */
    control_parse("{\"sandbox\": null}", &c, err, sizeof(err));
    control_sandbox(&c, out, sizeof(out));
    CHECK(strstr(out, "\"ok\":true") && strstr(out, "\"seccomp\":0") && strstr(out, "\"ns\""));
    control_parse("{\"sandbox\": {\"open\": \"/nonexistent/x\"}}", &c, err, sizeof(err));
    control_sandbox(&c, out, sizeof(out));
    CHECK(strstr(out, "No such file or directory"));
}

static void *rng_thread(void *arg)
{
    char b[8];
    int *fds = arg;

    if (getentropy(b, sizeof(b))) /* allowed: getrandom */
        _exit(3);
    if (write(fds[1], "R", 1) != 1) /* allowed: write */
        _exit(4);
    socket(AF_INET, SOCK_STREAM, 0); /* not a virtio-rng thread's call */
    _exit(5);
}

TEST(sandbox_seccomp_denial_is_reported)
{
    int out[2], sync[2], status = 0;
    char buf[512] = "", r = 0;
    ssize_t n, got = 0;
    pid_t pid;

    CHECK_EQ(pipe(out), 0);
    CHECK_EQ(pipe(sync), 0);
    pid = fork();
    if (pid == 0) {
        struct vm_seccomp_opts o = {0};
        pthread_t t;

        dup2(out[1], STDERR_FILENO);
        if (vm_seccomp_start(&o) || thread_create(&t, THREAD_VIRTIO_RNG, rng_thread, sync))
            _exit(2);
        pthread_join(t, NULL);
        _exit(6);
    }
    close(out[1]);
    close(sync[1]);
    while (got < (ssize_t)sizeof(buf) - 1 &&
           (n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += n;
    buf[got] = '\0';
    waitpid(pid, &status, 0);
    CHECK_EQ(read(sync[0], &r, 1), 1); /* its allowed calls went through */
    CHECK_EQ(r, 'R');
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
    CHECK(strstr(buf, "the virtio-rng thread (tid ") && strstr(buf, ") called socket ("));
    CHECK(strstr(buf, "which its allow-list denies"));
    close(out[0]);
    close(sync[0]);
}
