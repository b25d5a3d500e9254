/* Entering a VM's jail (jail.h): policy, privileged opens, the uid, namespaces and the drop. The
 * mount tree is jail_mount.c's. */
#include "host/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "backend/net/net.h"
#include "base/dynlib.h"
#include "base/log.h"
#include "board/board.h"
#include "host/jail_mount.h"
#include "vm/vm.h"
#include "vm/vm_files.h"

#define UID_LOCK_DIR "/run/vessel/uids"

/* Files every jail shows: harmless devices, and what the resolver reads (a migration's
 * destination by name, libslirp's DNS forwarder). */
static const char *const dev_files[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
static const char *const etc_files[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
                                        "/etc/host.conf", "/etc/gai.conf"};

static unsigned jail_uid, jail_gid;

void host_jail_ids(unsigned *uid, unsigned *gid)
{
    *uid = jail_uid;
    *gid = jail_gid;
}

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
    va_list ap;

    fputs("vessel: jail: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

bool host_path_allowed(const char *path, char *const *dirs, int ndirs)
{
    for (int i = 0; i < ndirs; i++) {
        size_t n = strlen(dirs[i]);

        while (n > 1 && dirs[i][n - 1] == '/')
            n--;
        if (!strncmp(path, dirs[i], n) && (path[n] == '/' || path[n] == '\0' || n == 1))
            return true;
    }
    return false;
}

/* The allow-list's directories, canonical (a missing one allows nothing). */
static void canonical_allow(struct vm_jail *j)
{
    for (int i = 0; i < j->nallow; i++) {
        char real[PATH_MAX];

        if (realpath(j->allow[i], real)) {
            free(j->allow[i]);
            j->allow[i] = vm_config_strdup(real);
        }
    }
}

/* A path whose directory exists, made canonical: DIR/NAME with DIR resolved. */
static int canonical_parent(char **p)
{
    char dir[PATH_MAX], real[PATH_MAX], *slash, *out;

    if (!*p)
        return 0;
    if (strlen(*p) >= sizeof(dir))
        return -ENAMETOOLONG;
    strcpy(dir, *p);
    slash = strrchr(dir, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    if (!realpath(dir[0] ? dir : "/", real))
        return -errno;
    if (asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", slash + 1) < 0)
        return -ENOMEM;
    free(*p);
    *p = out;
    return 0;
}

/* The VM's own directory: created (0700) when missing, canonical; sockets and the trace
 * file, which must be in it, follow it. */
static int own_dir(struct vm_config *c)
{
    char real[PATH_MAX];
    int err;

    if (!c->jail.dir)
        return 0;
    if (mkdir(c->jail.dir, 0700) && errno != EEXIST)
        return fail(VM_STATUS_USAGE, "--jail-dir %s: %s", c->jail.dir, strerror(errno));
    if (!realpath(c->jail.dir, real))
        return fail(VM_STATUS_USAGE, "--jail-dir %s: %s", c->jail.dir, strerror(errno));
    free(c->jail.dir);
    c->jail.dir = vm_config_strdup(real);
    if ((err = canonical_parent(&c->api_socket)) || (err = canonical_parent(&c->console_socket)) ||
        (err = canonical_parent(&c->trace)))
        return fail(VM_STATUS_USAGE, "a socket or trace path: %s", strerror(-err));
    if (!c->overlay_dir)
        c->overlay_dir = vm_config_strdup(c->jail.dir);
    return 0;
}

/* Taps and switch ports are opened here, with this process's privileges, and handed in. */
static int preopen_nets(struct vm_config *c)
{
    for (int i = 0; i < c->nnets; i++) {
        struct net_config n;
        char why[200], *spec;
        int fd;

        if (net_config_parse(c->nets[i], &n, why, sizeof(why)))
            return fail(VM_STATUS_USAGE, "--net %s: %s", c->nets[i], why);
        if ((n.kind != NET_TAP && n.kind != NET_SWITCH) || n.fd_set)
            continue;
        fd = net_backend_preopen(&n);
        if (fd < 0)
            return fail(VM_STATUS_USAGE, "--net %s: cannot open it (see above)", c->nets[i]);
        /* handed over across the drop: no exec happens, CLOEXEC is kept */
        if (asprintf(&spec, "%s,fd=%d", c->nets[i], fd) < 0)
            return fail(VM_STATUS_VMM_ERROR, "out of memory");
        free(c->nets[i]);
        c->nets[i] = spec;
    }
    return 0;
}

/* A uid of the range that no other jailed VM holds: its lock file stays locked (flock) while
 * this process, which keeps the fd, lives. */
static int take_uid(const struct vm_jail *j, uid_t *uid)
{
    uint32_t first = j->uid_count ? j->uid_first : VM_JAIL_UID_FIRST;
    uint32_t count = j->uid_count ? j->uid_count : VM_JAIL_UID_COUNT;
    uint32_t start = (uint32_t)getpid() % count;

    if (mkdir("/run/vessel", 0755) && errno != EEXIST)
        return -errno;
    if (mkdir(UID_LOCK_DIR, 0700) && errno != EEXIST)
        return -errno;
    for (uint32_t k = 0; k < count && k < 4096; k++) {
        uint32_t u = first + (start + k) % count;
        char path[64];
        int fd;

        snprintf(path, sizeof(path), UID_LOCK_DIR "/%u", u);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -errno;
        if (!flock(fd, LOCK_EX | LOCK_NB)) {
            *uid = u; /* fd stays open: the lock is this VM's */
            return 0;
        }
        close(fd);
    }
    return -EUSERS;
}

/* Every file of the VM, and the jail's own, in the mount tree. */
static int build_tree(struct jail_mounts *m, const struct vm_config *c, const struct vm_files *fl)
{
    int err;

    for (int i = 0; i < fl->n; i++)
        if ((err = jail_bind(m, fl->f[i].path, fl->f[i].path, JAIL_BIND_FILE, fl->f[i].writable)))
            return err;
    if (c->jail.dir && (err = jail_bind(m, c->jail.dir, c->jail.dir, JAIL_BIND_DIR, true)))
        return err;
    for (size_t i = 0; i < sizeof(dev_files) / sizeof(dev_files[0]); i++)
        if ((err = jail_bind(m, dev_files[i], dev_files[i], JAIL_BIND_DEV, true)))
            return err;
    if (fl->kvm && (err = jail_bind(m, "/dev/kvm", "/dev/kvm", JAIL_BIND_DEV, true)))
        return err;
    for (size_t i = 0; i < sizeof(etc_files) / sizeof(etc_files[0]); i++) {
        char real[PATH_MAX];
        if (realpath(etc_files[i], real) &&
            (err = jail_bind(m, real, etc_files[i], JAIL_BIND_FILE, false)))
            return err;
    }
    return jail_mount_proc(m);
}

static size_t limit_as(const struct vm_config *c)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)c;
    return 0; /* ASan reserves terabytes of shadow address space */
#else
    /* RAM, plus per thread a malloc arena (64 MiB reserved) and a stack (8 MiB), plus the
     * libraries and the main heap. Unknown RAM (a restore, an incoming VM): the board's
     * largest. */
    const struct board_ops *b = board_find(c->arch ? c->arch : VM_DEFAULT_ARCH);
    uint64_t ram = c->mem ? c->mem : b ? b->ram_max : 0;
    bool known = !c->restore && !(c->incoming && !c->cpus_set);
    uint64_t threads = (uint64_t)(c->cpus ? c->cpus : !known && b ? b->max_cpus : 1) + 32;

    if (!ram)
        return 0;
    if (c->restore || (c->incoming && !c->mem_set))
        ram = b->ram_max;
    return (size_t)(ram + threads * (72ull << 20) + (1ull << 30));
#endif
}

static int set_limits(const struct vm_config *c)
{
    const struct rlimit core = {0, 0}, nofile = {4096, 4096}, nproc = {512, 512};
    struct rlimit as = {limit_as(c), limit_as(c)};

    if (setrlimit(RLIMIT_CORE, &core) || setrlimit(RLIMIT_NOFILE, &nofile) ||
        setrlimit(RLIMIT_NPROC, &nproc) || (as.rlim_cur && setrlimit(RLIMIT_AS, &as)))
        return -errno;
    return 0;
}

/* Groups, ids, capabilities; then no_new_privs. Checks the result. */
static int drop(uid_t uid, gid_t gid, bool kvm)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2] = {{0}};
    gid_t groups[1];
    int ngroups = 0;
    struct stat st;

    if (kvm && !stat("/dev/kvm", &st)) /* the device stays reachable through its group */
        groups[ngroups++] = st.st_gid;
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
            return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
        prctl(PR_SET_SECUREBITS,
              SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
                  SECBIT_NOROOT_LOCKED,
              0, 0, 0) ||
        setgroups((size_t)ngroups, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
        return -errno;
    if (syscall(SYS_capset, &h, d) || syscall(SYS_capget, &h, d))
        return -errno;
    if (d[0].effective || d[0].permitted || d[0].inheritable || d[1].effective || d[1].permitted ||
        d[1].inheritable || getuid() != uid || geteuid() != uid || getgid() != gid)
        return -EPERM;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
        return -errno;
    return 0;
}

/* The first process of a PID namespace ignores default-action signals: end as they would. */
static void on_term(int sig)
{
    _exit(128 + sig);
}

static volatile sig_atomic_t relay_child;

static void relay_signal(int sig)
{
    if (relay_child > 0)
        kill(relay_child, sig);
}

/* Outside the PID namespace: wait for the VM process and end as it did. */
static void __attribute__((noreturn)) relay(pid_t child, uid_t uid, gid_t gid)
{
    static const int fwd[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    struct sigaction sa = {.sa_handler = relay_signal};
    int status;

    relay_child = child;
    syscall(SYS_close_range, 3U, ~0U, 0U); /* the taps and sockets handed in are the VM's */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        sigaction(fwd[i], &sa, NULL);
    /* it only waits and signals the VM process (same uid): no privileges needed */
    if (drop(uid, gid, false))
        fprintf(stderr, "vessel: jail: the waiting parent could not drop its privileges\n");
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            _exit(VM_STATUS_VMM_ERROR);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
        _exit(128 + WTERMSIG(status));
    }
    _exit(WEXITSTATUS(status));
}

int host_jail_enter(struct vm_config *c)
{
    struct vm_files fl;
    struct jail_mounts m = {.root = c->jail.root ? c->jail.root : VM_JAIL_ROOT};
    char why[600];
    uid_t uid = 0;
    gid_t gid;
    int err;
    pid_t child;

    if (geteuid() != 0)
        return fail(VM_STATUS_USAGE, "needs root (namespaces, mounts, a uid of its own): run it "
                                     "as root or without --jail");
    canonical_allow(&c->jail);
    if ((err = own_dir(c)))
        return err;
    if (vm_config_files(c, &fl, why, sizeof(why)))
        return fail(VM_STATUS_USAGE, "%s", why);
    if (c->jail.nallow) {
        for (int i = 0; i < fl.n; i++)
            if (!host_path_allowed(fl.f[i].path, c->jail.allow, c->jail.nallow)) {
                err = fail(VM_STATUS_USAGE, "%s %s: outside the allowed directories", fl.f[i].what,
                           fl.f[i].path);
                goto out;
            }
        if (c->jail.dir && !host_path_allowed(c->jail.dir, c->jail.allow, c->jail.nallow)) {
            err = fail(VM_STATUS_USAGE, "--jail-dir %s: outside the allowed directories",
                       c->jail.dir);
            goto out;
        }
    }
    if ((err = preopen_nets(c)))
        goto out;
    /* libraries loaded on first use: the jail has no library files */
    if ((fl.user_net && dynlib_preload("libslirp.so.0", "--net user")) ||
        dynlib_preload("libm.so.6", "the rv64 FPU")) {
        err = fail(VM_STATUS_USAGE, "a library the VM needs is missing (see above)");
        goto out;
    }
    if ((err = take_uid(&c->jail, &uid))) {
        err = fail(VM_STATUS_VMM_ERROR, "no free uid in the jail range (%s)", strerror(-err));
        goto out;
    }
    gid = c->jail.gid >= 0 ? (gid_t)c->jail.gid : (gid_t)uid;
#if defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer's exit check cannot stop a jailed process's threads (its tracer task
     * hangs): the ASan build checks for leaks here, before the jail, and not at the exit. */
    __lsan_do_leak_check();
#endif
    if (getpid() != 1) {
        if (unshare(CLONE_NEWPID)) {
            err = fail(VM_STATUS_VMM_ERROR, "a PID namespace: %s", strerror(errno));
            goto out;
        }
        child = fork();
        if (child < 0) {
            err = fail(VM_STATUS_VMM_ERROR, "fork: %s", strerror(errno));
            goto out;
        }
        if (child > 0)
            relay(child, uid, gid);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) || sethostname("vessel", 6)) {
        err = fail(VM_STATUS_VMM_ERROR, "namespaces: %s", strerror(errno));
        goto out;
    }
    m.uid = uid;
    m.gid = gid;
    if (jail_mounts_begin(&m) || build_tree(&m, c, &fl) || jail_mounts_finish(&m)) {
        err = fail(VM_STATUS_VMM_ERROR, "setting up the jail failed (see above)");
        goto out;
    }
    if ((err = set_limits(c))) {
        err = fail(VM_STATUS_VMM_ERROR, "rlimits: %s", strerror(-err));
        goto out;
    }
    if ((err = drop(uid, gid, fl.kvm))) {
        err = fail(VM_STATUS_VMM_ERROR, "dropping privileges: %s", strerror(-err));
        goto out;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* a credential change cleared it */
    umask(077);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGHUP, on_term);
    signal(SIGQUIT, on_term);
    jail_uid = uid;
    jail_gid = gid;
    c->seccomp = true;
    err = 0;
out:
    vm_files_free(&fl);
    return err;
}
