/* Per-thread seccomp-bpf allow-lists of the VM process (see seccomp.h), built with libseccomp.
 * Every list is what the code of that thread calls, read from the code and checked with strace
 * on guests that use every device, snapshot, migrate and reboot. */
#include "vm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <malloc.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "base/log.h"

/* What every thread does: glibc's locks, memory and thread exit, clocks and sleeps, logging. */
static const char *const common_calls[] = {"futex",
                                           "exit",
                                           "exit_group",
                                           "rt_sigreturn",
                                           "rt_sigprocmask",
                                           "restart_syscall",
                                           "clock_gettime",
                                           "clock_getres",
                                           "gettimeofday",
                                           "clock_nanosleep",
                                           "nanosleep",
                                           "sched_yield",
                                           "gettid",
                                           "getpid",
                                           "madvise",
                                           "munmap",
                                           "mremap",
                                           "brk",
                                           "read",
                                           "write",
                                           "rseq",
                                           "set_robust_list",
                                           NULL};

/* Files the thread opens, reads, writes and syncs (disk images, state files). */
static const char *const file_calls[] = {
    "openat",    "close",     "newfstatat", "fstat",    "lseek",    "pread64", "pwrite64",
    "preadv",    "pwritev",   "preadv2",    "pwritev2", "readv",    "writev",  "fsync",
    "fdatasync", "ftruncate", "fallocate",  "fcntl",    "readlink", "statx",   NULL};

/* A virtio device thread's loop. */
static const char *const device_calls[] = {"epoll_wait", "epoll_pwait", "epoll_ctl", NULL};

/* libslirp, in the net-user thread and (guest frames in) the virtio-net thread; glibc's
 * resolver when a hostname is looked up (migration). */
static const char *const socket_calls[] = {
    "connect",    "bind",        "listen",      "accept",   "accept4",  "setsockopt",
    "getsockopt", "getsockname", "getpeername", "shutdown", "close",    "fcntl",
    "recvfrom",   "sendto",      "recvmsg",     "sendmsg",  "sendmmsg", "poll",
    "ppoll",      "openat",      "newfstatat",  "fstat",    "uname",    NULL};

/* The serial console on stdin/stdout. */
static const char *const console_calls[] = {"poll", "ppoll", "readv", "writev", NULL};

/* The control socket: commands, snapshots (state file, its random temporary name, disk
 * overlays, realpath() of relative paths), the VM's statistics (/proc/self/status). */
static const char *const control_calls[] = {
    "poll",       "ppoll",           "accept4",   "accept", "close",
    "rename",     "renameat",        "renameat2", "unlink", "unlinkat",
    "readlinkat", "copy_file_range", "getrandom", "getcwd", NULL};

/* Creating the VM (main thread): its files and sockets, RAM, devices, the incoming migration,
 * libraries loaded on first use (libslirp), the console's terminal and signal handlers. */
static const char *const main_calls[] = {"access",
                                         "faccessat",
                                         "faccessat2",
                                         "getcwd",
                                         "unlink",
                                         "unlinkat",
                                         "rename",
                                         "renameat",
                                         "renameat2",
                                         "memfd_create",
                                         "eventfd2",
                                         "epoll_create1",
                                         "epoll_ctl",
                                         "pipe2",
                                         "dup",
                                         "dup3",
                                         "socket",
                                         "getrandom",
                                         "prlimit64",
                                         "getrlimit",
                                         "sched_getaffinity",
                                         "sysinfo",
                                         "uname",
                                         "rt_sigaction",
                                         "sigaltstack",
                                         "seccomp",
                                         "getuid",
                                         "geteuid",
                                         "getgid",
                                         "getegid",
                                         "copy_file_range",
                                         "sendfile",
                                         "poll",
                                         "ppoll",
                                         "readlinkat",
                                         "getdents64",
                                         NULL};

/* The main thread once the VM runs: reboots reload the boot files, the end closes and
 * flushes the disks, removes the sockets and restores the terminal. */
static const char *const main_run_calls[] = {"unlink", "unlinkat",  "epoll_ctl", "poll",
                                             "ppoll",  "getrandom", NULL};

static const char *const rng_calls[] = {"getrandom", NULL};
static const char *const balloon_calls[] = {"fallocate", NULL};

/* ioctls by request. */
struct ioctl_def {
    unsigned long req;
    const char *name;
};
#define IOCTL(x)                                                                                   \
    {                                                                                              \
        x, #x                                                                                      \
    }
static const struct ioctl_def tty_ioctls[] = {IOCTL(TCGETS),  IOCTL(TCSETS),     IOCTL(TCSETSW),
                                              IOCTL(TCSETSF), IOCTL(TIOCGWINSZ), {0, NULL}};
static const struct ioctl_def sock_ioctls[] = {IOCTL(FIONREAD), IOCTL(FIONBIO), {0, NULL}};
static const struct ioctl_def tap_ioctls[] = {IOCTL(TUNSETIFF), IOCTL(TUNGETIFF), {0, NULL}};
/* What a vCPU thread does on its own vCPU (run, state, interrupts raised by exits). */
static const struct ioctl_def kvm_vcpu_ioctls[] = {IOCTL(KVM_RUN),
                                                   IOCTL(KVM_GET_REGS),
                                                   IOCTL(KVM_SET_REGS),
                                                   IOCTL(KVM_GET_SREGS),
                                                   IOCTL(KVM_SET_SREGS),
                                                   IOCTL(KVM_SET_FPU),
                                                   IOCTL(KVM_GET_MSRS),
                                                   IOCTL(KVM_SET_MSRS),
                                                   IOCTL(KVM_GET_LAPIC),
                                                   IOCTL(KVM_SET_LAPIC),
                                                   IOCTL(KVM_GET_MP_STATE),
                                                   IOCTL(KVM_SET_MP_STATE),
                                                   IOCTL(KVM_GET_XSAVE),
                                                   IOCTL(KVM_SET_XSAVE),
                                                   IOCTL(KVM_GET_XCRS),
                                                   IOCTL(KVM_SET_XCRS),
                                                   IOCTL(KVM_GET_VCPU_EVENTS),
                                                   IOCTL(KVM_SET_VCPU_EVENTS),
                                                   IOCTL(KVM_GET_DEBUGREGS),
                                                   IOCTL(KVM_SET_DEBUGREGS),
                                                   IOCTL(KVM_SET_CPUID2),
                                                   IOCTL(KVM_IRQ_LINE),
                                                   {0, NULL}};
/* Everything the kvm engine and the x86 board call: creating the VM, its memory, interrupt
 * controllers, PIT and clock, irqfds and ioeventfds, the dirty log, and the vCPUs' calls. */
static const struct ioctl_def kvm_vm_ioctls[] = {IOCTL(KVM_GET_API_VERSION),
                                                 IOCTL(KVM_CHECK_EXTENSION),
                                                 IOCTL(KVM_CREATE_VM),
                                                 IOCTL(KVM_GET_VCPU_MMAP_SIZE),
                                                 IOCTL(KVM_GET_SUPPORTED_CPUID),
                                                 IOCTL(KVM_GET_MSR_INDEX_LIST),
                                                 IOCTL(KVM_CREATE_VCPU),
                                                 IOCTL(KVM_CREATE_IRQCHIP),
                                                 IOCTL(KVM_CREATE_PIT2),
                                                 IOCTL(KVM_SET_TSS_ADDR),
                                                 IOCTL(KVM_SET_IDENTITY_MAP_ADDR),
                                                 IOCTL(KVM_SET_USER_MEMORY_REGION),
                                                 IOCTL(KVM_IRQFD),
                                                 IOCTL(KVM_SET_GSI_ROUTING),
                                                 IOCTL(KVM_IOEVENTFD),
                                                 IOCTL(KVM_GET_DIRTY_LOG),
                                                 IOCTL(KVM_GET_CLOCK),
                                                 IOCTL(KVM_SET_CLOCK),
                                                 IOCTL(KVM_GET_IRQCHIP),
                                                 IOCTL(KVM_SET_IRQCHIP),
                                                 IOCTL(KVM_GET_PIT2),
                                                 IOCTL(KVM_SET_PIT2),
                                                 {0, NULL}};

enum cond { C_NONE, C_NOEXEC, C_THREAD, C_DOMAIN, C_IOCTL, C_SELF, C_ENOSYS, C_ARG0 };

struct rule {
    const char *call;
    enum cond cond;
    unsigned long val;
    const char *valname;
};

#define MAX_RULES 320
struct role_rules {
    struct rule r[MAX_RULES];
    int n;
};

static struct role_rules roles[THREAD_ROLES];
static struct sock_fprog progs[THREAD_ROLES];
static bool active;
/* Names of system calls by number, resolved before any filter (the SIGSYS handler must not
 * allocate). */
#define NAMES_MAX 1024
static const char *call_names[NAMES_MAX];

static void add(struct role_rules *rr, const char *call, enum cond c, unsigned long val,
                const char *valname)
{
    for (int i = 0; i < rr->n; i++)
        if (!strcmp(rr->r[i].call, call) && rr->r[i].cond == c && rr->r[i].val == val)
            return;
    if (rr->n < MAX_RULES)
        rr->r[rr->n++] = (struct rule){call, c, val, valname};
}

static void add_list(struct role_rules *rr, const char *const *calls)
{
    for (int i = 0; calls[i]; i++)
        add(rr, calls[i], C_NONE, 0, NULL);
}

static void add_ioctls(struct role_rules *rr, const struct ioctl_def *d)
{
    for (int i = 0; d[i].name; i++)
        add(rr, "ioctl", C_IOCTL, d[i].req, d[i].name);
}

static void add_sockets(struct role_rules *rr)
{
    add(rr, "socket", C_DOMAIN, AF_UNIX, "AF_UNIX");
    add(rr, "socket", C_DOMAIN, AF_INET, "AF_INET");
    add(rr, "socket", C_DOMAIN, AF_INET6, "AF_INET6");
    add_list(rr, socket_calls);
    add_ioctls(rr, sock_ioctls);
}

/* Memory: every thread maps and protects memory (malloc, stacks), but only the main thread
 * while it creates the VM maps code (libraries loaded on first use). */
static void add_memory(struct role_rules *rr, bool exec)
{
    add(rr, "mmap", exec ? C_NONE : C_NOEXEC, 0, NULL);
    add(rr, "mprotect", exec ? C_NONE : C_NOEXEC, 0, NULL);
}

#if defined(__SANITIZE_ADDRESS__)
/* The ASan build: the runtime's own calls (a thread's alternate signal stack; at the exit,
 * LeakSanitizer stops the world with a traced clone and reads /proc/self/maps). */
static const char *const sanitizer_calls[] = {
    "sigaltstack",  "clone",  "ptrace",     "wait4", "prctl", "getppid",    "sched_getaffinity",
    "rt_sigaction", "openat", "getdents64", "close", "lseek", "newfstatat", NULL};
#endif

static void build_role(enum thread_role role, const struct vm_seccomp_opts *o)
{
    struct role_rules *rr = &roles[role];

    rr->n = 0;
    add_list(rr, common_calls);
#if defined(__SANITIZE_ADDRESS__)
    add_list(rr, sanitizer_calls);
#endif
    add(rr, "tgkill", C_SELF, 0, NULL); /* kicking a vCPU thread, abort() */
    add_memory(rr, role == THREAD_MAIN);
    if (role == THREAD_MAIN) /* naming itself as it enters THREAD_MAIN_RUN */
        add(rr, "prctl", C_ARG0, PR_SET_NAME, "PR_SET_NAME");
    switch (role) {
    case THREAD_MAIN:
        add_list(rr, file_calls);
        add_list(rr, main_calls);
        add_list(rr, device_calls);
        add_sockets(rr);
        add_ioctls(rr, tty_ioctls);
        add_ioctls(rr, tap_ioctls);
        if (o->kvm)
            add_ioctls(rr, kvm_vm_ioctls), add_ioctls(rr, kvm_vcpu_ioctls);
        break;
    case THREAD_MAIN_RUN:
        add_list(rr, file_calls);
        add_list(rr, main_run_calls);
        add_ioctls(rr, tty_ioctls);
        if (o->kvm)
            add_ioctls(rr, kvm_vm_ioctls), add_ioctls(rr, kvm_vcpu_ioctls);
        break;
    case THREAD_VCPU:
        /* a device's status and queue writes arrive on the vCPU thread: activating or resetting
         * a device adds and removes its fds in its thread's epoll set (virtio_run.c) - seen
         * when a Debian guest re-initialised its devices after U-Boot used them */
        add(rr, "epoll_ctl", C_NONE, 0, NULL);
        if (o->kvm) {
            add_ioctls(rr, kvm_vcpu_ioctls);
            /* the guest's MSI-X table and enable writes route vectors (engine/kvm/irq.c) */
            add(rr, "ioctl", C_IOCTL, KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING");
        }
        break;
    case THREAD_VIRTIO_BLK:
        add_list(rr, device_calls);
        add_list(rr, file_calls);
        break;
    case THREAD_VIRTIO_NET:
        add_list(rr, device_calls);
        add_list(rr, console_calls); /* readv/writev on a tap */
        add(rr, "recvfrom", C_NONE, 0, NULL);
        add(rr, "recvmsg", C_NONE, 0, NULL);
        add(rr, "sendto", C_NONE, 0, NULL);
        add(rr, "sendmsg", C_NONE, 0, NULL);
        if (o->user_net)
            add_sockets(rr);
        break;
    case THREAD_VIRTIO_RNG:
        add_list(rr, device_calls);
        add_list(rr, rng_calls);
        break;
    case THREAD_VIRTIO_CONSOLE:
        add_list(rr, device_calls);
        add_list(rr, console_calls);
        add(rr, "accept4", C_NONE, 0, NULL);
        add(rr, "close", C_NONE, 0, NULL);
        add(rr, "recvfrom", C_NONE, 0, NULL);
        add(rr, "sendto", C_NONE, 0, NULL);
        add(rr, "shutdown", C_NONE, 0, NULL);
        break;
    case THREAD_VIRTIO_BALLOON:
        add_list(rr, device_calls);
        add_list(rr, balloon_calls);
        break;
    case THREAD_VIRTIO: /* any device kind: what all of them need */
        for (enum thread_role d = THREAD_VIRTIO_BLK; d <= THREAD_VIRTIO_BALLOON; d++) {
            build_role(d, o);
            for (int i = 0; i < roles[d].n; i++)
                add(rr, roles[d].r[i].call, roles[d].r[i].cond, roles[d].r[i].val,
                    roles[d].r[i].valname);
        }
        break;
    case THREAD_CONSOLE:
        add_list(rr, console_calls);
        add_ioctls(rr, tty_ioctls);
        if (o->kvm)
            add_ioctls(rr, kvm_vcpu_ioctls); /* Ctrl-A x stops the vCPUs */
        break;
    case THREAD_CONTROL:
        add_list(rr, file_calls);
        add_list(rr, control_calls);
        if (o->kvm) /* snapshots read the machine's state */
            add_ioctls(rr, kvm_vm_ioctls), add_ioctls(rr, kvm_vcpu_ioctls);
        break;
    case THREAD_MIGRATION:
        add_list(rr, file_calls); /* disks flushed and locks handed over */
        add_sockets(rr);
        add_list(rr, rng_calls); /* the handshake's nonce (vm/migrate_auth.c) */
        if (o->kvm)              /* the dirty log and the machine's state */
            add_ioctls(rr, kvm_vm_ioctls), add_ioctls(rr, kvm_vcpu_ioctls);
        break;
    case THREAD_NET_USER: add_sockets(rr); break;
    case THREAD_IRQFD:
        add_list(rr, device_calls);
        add_list(rr, console_calls);
        if (o->kvm)
            add(rr, "ioctl", C_IOCTL, KVM_IRQ_LINE, "KVM_IRQ_LINE");
        break;
    case THREAD_SIGNAL: /* sigwait(); stopping the engine kicks vCPU threads (tgkill) */
        add(rr, "rt_sigtimedwait", C_NONE, 0, NULL);
        break;
    case THREAD_SPAWNER: /* the union of the roles it creates: they inherit this filter */
        for (enum thread_role d = 0; d < THREAD_ROLES; d++) {
            if (d == THREAD_SPAWNER || d == THREAD_MAIN || d == THREAD_MAIN_RUN)
                continue;
            build_role(d, o);
            for (int i = 0; i < roles[d].n; i++)
                add(rr, roles[d].r[i].call, roles[d].r[i].cond, roles[d].r[i].val,
                    roles[d].r[i].valname);
        }
        add(rr, "clone", C_THREAD, 0, NULL);
        add(rr, "clone3", C_ENOSYS, 0, NULL); /* glibc then uses clone, whose flags we see */
        /* a new thread names itself and loads its own filter (base/thread.c): seccomp() can
         * only add restrictions */
        add(rr, "prctl", C_ARG0, PR_SET_NAME, "PR_SET_NAME");
        add(rr, "seccomp", C_NONE, 0, NULL);
        break;
    case THREAD_ROLES: break;
    }
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *r)
{
    int nr = seccomp_syscall_resolve_name(r->call);
    pid_t self = getpid();

    if (nr == __NR_SCMP_ERROR || nr < 0)
        return 0; /* not a system call on this architecture */
    switch (r->cond) {
    case C_NONE: return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    case C_NOEXEC:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    case C_THREAD:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    case C_DOMAIN:
    case C_ARG0: return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, r->val));
    case C_IOCTL: return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, r->val));
    case C_SELF:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
    case C_ENOSYS: return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    }
    return -EINVAL;
}

/* The role's filter as a BPF program (libseccomp exports it; the hook loads it with one
 * system call, nothing to allocate on the new thread). */
static int compile(enum thread_role role)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    struct role_rules *rr = &roles[role];
    int err = 0, fd = -1;
    off_t len;

    if (!ctx)
        return -ENOMEM;
    /* no_new_privs is set once for the process; a filter may be loaded after others */
    if ((err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) ||
        (err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)))
        goto out;
    for (int i = 0; i < rr->n; i++) {
        err = add_rule(ctx, &rr->r[i]);
        if (err && err != -EEXIST) {
            log_err("seccomp: the %s filter: adding %s: %s", thread_role_name(role), rr->r[i].call,
                    strerror(-err));
            goto out;
        }
        err = 0;
    }
    fd = memfd_create("vessel-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        goto out;
    }
    if ((err = seccomp_export_bpf(ctx, fd)))
        goto out;
    len = lseek(fd, 0, SEEK_END);
    if (len <= 0 || len % sizeof(struct sock_filter)) {
        err = -EIO;
        goto out;
    }
    progs[role].len = (unsigned short)(len / sizeof(struct sock_filter));
    progs[role].filter = malloc((size_t)len);
    if (!progs[role].filter) {
        err = -ENOMEM;
        goto out;
    }
    if (pread(fd, progs[role].filter, (size_t)len, 0) != len)
        err = -EIO;
out:
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return err;
}

/* Async-signal-safe decimal. */
static char *put_num(char *p, long v)
{
    char tmp[24];
    int n = 0;

    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_str(char *p, const char *end, const char *s)
{
    while (*s && p < end)
        *p++ = *s++;
    return p;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    char msg[256], *p = msg, *end = msg + sizeof(msg) - 48;
    int nr = si->si_syscall;

    p = put_str(p, end, "\r\nvessel: seccomp: the ");
    p = put_str(p, end, thread_current_tid() ? thread_role_name(thread_current_role()) : "new");
    p = put_str(p, end, " thread (tid ");
    p = put_num(p, thread_current_tid() ? thread_current_tid() : (long)syscall(SYS_gettid));
    p = put_str(p, end, ") called ");
    p = put_str(p, end, nr >= 0 && nr < NAMES_MAX && call_names[nr] ? call_names[nr] : "?");
    p = put_str(p, end, " (");
    p = put_num(p, nr);
    p = put_str(p, end, "), which its allow-list denies; the VM process stops\r\n");
    if (write(STDERR_FILENO, msg, (size_t)(p - msg)) < 0) {
    }
    /* SIGSYS is blocked in here: a second denied call makes the kernel force it with the
     * default action, which ends the process (also a PID namespace's first process). */
    syscall(SYS_kexec_load, 0, 0, 0, 0);
    _exit(159);
}

static int enter(enum thread_role role)
{
    if (role >= THREAD_ROLES || !progs[role].filter)
        return -EINVAL;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[role]))
        return -errno;
    return 0;
}

int vm_seccomp_start(const struct vm_seccomp_opts *o)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_RESETHAND};
    uint32_t arch = seccomp_arch_native();
    int err;

    /* glibc's malloc looks up the number of CPUs (a /sys file, then sched_getaffinity) from
     * whichever thread makes its ninth arena, unless the number of arenas is set */
    mallopt(M_ARENA_MAX, 8);
    for (int nr = 0; nr < NAMES_MAX; nr++)
        call_names[nr] = seccomp_syscall_resolve_num_arch(arch, nr); /* kept for good */
    for (enum thread_role r = 0; r < THREAD_ROLES; r++) {
        build_role(r, o);
        if ((err = compile(r))) {
            log_err("seccomp: building the %s thread's filter: %s", thread_role_name(r),
                    strerror(-err));
            return err;
        }
    }
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        err = -errno;
        log_err("seccomp: setting up: %s", strerror(errno));
        return err;
    }
    if ((err = thread_sandbox_start(enter)))
        return err;
    if ((err = thread_enter(THREAD_MAIN))) {
        log_err("seccomp: loading the main thread's filter: %s", strerror(-err));
        return err;
    }
    active = true;
    return 0;
}

bool vm_seccomp_active(void)
{
    return active;
}

static int rule_cmp(const void *a, const void *b)
{
    const struct rule *x = a, *y = b;
    int c = strcmp(x->call, y->call);

    return c ? c : x->val < y->val ? -1 : x->val > y->val;
}

void vm_seccomp_print(FILE *f, const struct vm_seccomp_opts *o)
{
    for (enum thread_role role = 0; role < THREAD_ROLES; role++) {
        struct role_rules *rr = &roles[role];

        build_role(role, o);
        qsort(rr->r, (size_t)rr->n, sizeof(rr->r[0]), rule_cmp);
        fprintf(f, "%s%s:", thread_role_name(role), role == THREAD_MAIN_RUN ? " (running)" : "");
        for (int i = 0; i < rr->n; i++) {
            const struct rule *r = &rr->r[i];
            bool first = i == 0 || strcmp(rr->r[i - 1].call, r->call),
                 last = i == rr->n - 1 || strcmp(rr->r[i + 1].call, r->call);

            if (first)
                fprintf(f, " %s", r->call);
            switch (r->cond) {
            case C_NONE: break;
            case C_NOEXEC: fprintf(f, "(no PROT_EXEC)"); break;
            case C_THREAD: fprintf(f, "(CLONE_THREAD)"); break;
            case C_SELF: fprintf(f, "(this process)"); break;
            case C_ENOSYS: fprintf(f, "(ENOSYS)"); break;
            case C_DOMAIN:
            case C_ARG0:
            case C_IOCTL:
                fprintf(f, "%s%s%s", first ? "(" : ",", r->valname, last ? ")" : "");
                break;
            }
        }
        fputc('\n', f);
    }
}
