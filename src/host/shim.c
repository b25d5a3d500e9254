/* `vessel vm-shim`: one VM's console relay and exit recorder (see shim.h). */
#include "host/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cgroup.h"
#include "host/procinfo.h"

struct shim {
    const char *dir, *id;
    bool pidns; /* the VM process is the first of a PID namespace of its own (a jailed VM) */
    char cgroups[CGROUP_MAX_DIRS][CGROUP_PATH_MAX];
    int ncg;
    char **argv;
    int log_fd, lfd, in_fd, out_fd;
    int clients[SHIM_MAX_CLIENTS];
    pid_t vm;
};

static void shim_path(const struct shim *s, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s%s", s->dir, s->id, suffix);
}

/* Writes a small file atomically (tmp + rename). */
static int write_atomic(const struct shim *s, const char *suffix, const char *text)
{
    char path[4200], tmp[4300];
    size_t n = strlen(text);
    int fd, err = 0;

    shim_path(s, suffix, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, text, n) != (ssize_t)n)
        err = -EIO;
    close(fd);
    if (!err && rename(tmp, path))
        err = -errno;
    return err;
}

static int listen_console(const struct shim *s)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[4200];
    int fd;

    shim_path(s, ".sock", path, sizeof(path));
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "vm-shim: %s: socket path too long\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) || listen(fd, 8)) {
        fprintf(stderr, "vm-shim: %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* In the VM process after fork: join the cgroups, wire the pipes, exec `vessel run`. */
static void __attribute__((noreturn)) vm_child(const struct shim *s, int in_rd, int out_wr)
{
    char pid[32];

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(2);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    for (int i = 0; i < s->ncg; i++) {
        int err = cgroup_write(s->cgroups[i], "cgroup.procs", pid);
        if (err) {
            fprintf(stderr, "vm-shim: joining cgroup %s: %s\n", s->cgroups[i], strerror(-err));
            _exit(2);
        }
    }
    if (dup2(in_rd, 0) < 0 || dup2(out_wr, 1) < 0)
        _exit(2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execv(s->argv[0], s->argv);
    fprintf(stderr, "vm-shim: exec %s: %s\n", s->argv[0], strerror(errno));
    _exit(2);
}

static int spawn_vm(struct shim *s)
{
    int in[2], out[2];
    char text[128];
    struct proc_info me, vm;

    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        return -errno;
    /* The child is that namespace's first process; the shim stays outside and sees its pid. */
    if (s->pidns && unshare(CLONE_NEWPID))
        return -errno;
    s->vm = fork();
    if (s->vm < 0)
        return -errno;
    if (s->vm == 0)
        vm_child(s, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    s->in_fd = in[1];
    s->out_fd = out[0];
    fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
    proc_info_read(getpid(), &me);
    proc_info_read(s->vm, &vm);
    snprintf(text, sizeof(text), "%d %llu %d %llu\n", (int)s->vm, (unsigned long long)vm.start,
             (int)getpid(), (unsigned long long)me.start);
    return write_atomic(s, ".pid", text);
}

static void client_drop(struct shim *s, int i)
{
    close(s->clients[i]);
    s->clients[i] = -1;
}

static void console_output(struct shim *s, const char *buf, size_t n)
{
    if (write(s->log_fd, buf, n) < 0) {
        /* a full disk loses log bytes, not the console */
    }
    for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
        if (s->clients[i] < 0)
            continue;
        ssize_t w = send(s->clients[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            client_drop(s, i);
    }
}

static void accept_client(struct shim *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), big = 1 << 18;

    if (fd < 0)
        return;
    for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
        if (s->clients[i] < 0) {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
            s->clients[i] = fd;
            return;
        }
    }
    close(fd); /* too many consoles attached */
}

/* Relays until the VM process ends; returns its wait status. */
static int relay(struct shim *s)
{
    struct pollfd p[2 + SHIM_MAX_CLIENTS];
    char buf[8192];
    int status;

    for (;;) {
        int np = 2;
        p[0] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
            p[np++] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
        if (poll(p, (nfds_t)np, 1000) < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            ssize_t n = read(s->out_fd, buf, sizeof(buf));
            if (n > 0) {
                console_output(s, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                break; /* the VM closed its stdout: it is exiting */
            }
        }
        if (p[1].revents & POLLIN)
            accept_client(s);
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
            if (s->clients[i] < 0 || !p[2 + i].revents)
                continue;
            ssize_t n = read(s->clients[i], buf, sizeof(buf));
            if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                    client_drop(s, i);
                continue;
            }
            /* Input while the guest does not read (e.g. paused) is dropped, not queued. */
            if (write(s->in_fd, buf, (size_t)n) < 0) {
            }
        }
        if (waitpid(s->vm, &status, WNOHANG) == s->vm)
            return status;
    }
    while (waitpid(s->vm, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

int host_shim_main(int argc, char **argv)
{
    struct shim s = {.log_fd = -1, .lfd = -1};
    char path[4200], text[64];
    int i, status, fd;

    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: vessel vm-shim --dir DIR --id ID [--cgroup DIR]... -- PROGRAM ARGS...\n"
               "(internal: started by vessel serve)\n");
        return 0;
    }
    for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--pidns")) {
            s.pidns = true;
            continue;
        }
        if (i + 1 >= argc)
            goto usage;
        if (!strcmp(argv[i], "--dir"))
            s.dir = argv[++i];
        else if (!strcmp(argv[i], "--id"))
            s.id = argv[++i];
        else if (!strcmp(argv[i], "--cgroup") && s.ncg < CGROUP_MAX_DIRS)
            snprintf(s.cgroups[s.ncg++], CGROUP_PATH_MAX, "%s", argv[++i]);
        else
            goto usage;
    }
    if (!s.dir || !s.id || i + 1 >= argc)
        goto usage;
    s.argv = argv + i + 1;
    for (int c = 0; c < SHIM_MAX_CLIENTS; c++)
        s.clients[c] = -1;
    setsid();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    shim_path(&s, ".vmm.log", path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
    shim_path(&s, ".log", path, sizeof(path));
    s.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    s.lfd = listen_console(&s);
    if (s.log_fd < 0 || s.lfd < 0 || spawn_vm(&s)) {
        fprintf(stderr, "vm-shim: %s: cannot set up the VM's console or process: %s\n", s.id,
                strerror(errno));
        write_atomic(&s, ".exit", "exited 2\n");
        return 2;
    }
    status = relay(&s);
    if (status < 0)
        snprintf(text, sizeof(text), "exited 2\n");
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof(text), "signal %d\n", WTERMSIG(status));
    else
        snprintf(text, sizeof(text), "exited %d\n", WEXITSTATUS(status));
    write_atomic(&s, ".exit", text);
    shim_path(&s, ".pid", path, sizeof(path));
    unlink(path);
    shim_path(&s, ".sock", path, sizeof(path));
    unlink(path);
    return 0;
usage:
    fprintf(stderr, "usage: vessel vm-shim --dir DIR --id ID [--cgroup DIR]... [--pidns] -- "
                    "PROGRAM ARGS...\n(internal: started by vessel serve)\n");
    return 1;
}
