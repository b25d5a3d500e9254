#include "backend/chardev/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread.h"

#define IN_BUF 4096

struct chardev_stdio {
    int tty;
    int stop_pipe[2];
    int wake_fd; /* eventfd: the device took input and has room for more */
    pthread_t thread;
    int thread_started;
    struct chardev_stdio_sink sink;
    struct chardev_escape esc;
};

/* Terminal state for the restore paths that cannot reach the chardev (atexit, signals). */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;
static int out_broken;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static const int restore_signals[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGABRT};

static void tty_restore(void)
{
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios); /* async-signal-safe */
        termios_saved = 0;
    }
}

static void tty_restore_signal(int sig)
{
    tty_restore();
    raise(sig); /* SA_RESETHAND: the default action now runs */
    /* The first process of a PID namespace (a jailed VM) ignores its own default-action
     * signals: end as the default action would have. */
    _exit(128 + sig);
}

static int tty_raw(void)
{
    struct termios raw;
    struct sigaction sa;

    if (tcgetattr(STDIN_FILENO, &saved_termios) < 0) {
        log_err("console: tcgetattr on stdin: %s", strerror(errno));
        return -errno;
    }
    raw = saved_termios;
    cfmakeraw(&raw);
    termios_saved = 1;
    atexit(tty_restore);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tty_restore_signal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(restore_signals) / sizeof(restore_signals[0]); i++) {
        if (sigaction(restore_signals[i], &sa, NULL) < 0) {
            log_err("console: sigaction: %s", strerror(errno));
            return -errno;
        }
    }
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
        int err = -errno;
        termios_saved = 0;
        log_err("console: tcsetattr on stdin: %s", strerror(errno));
        return err;
    }
    return 0;
}

int chardev_stdio_open(struct chardev_stdio **out)
{
    struct chardev_stdio *c = calloc(1, sizeof(*c));
    int err;

    if (!c)
        return -ENOMEM;
    if (pipe2(c->stop_pipe, O_CLOEXEC) < 0) {
        err = -errno;
        log_err("console: pipe: %s", strerror(errno));
        free(c);
        return err;
    }
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        err = -errno;
        log_err("console: eventfd: %s", strerror(errno));
        goto fail_pipe;
    }
    c->tty = isatty(STDIN_FILENO);
    if (c->tty) {
        err = tty_raw();
        if (err)
            goto fail_eventfd;
    }
    *out = c;
    return 0;

fail_eventfd:
    close(c->wake_fd);
fail_pipe:
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    free(c);
    return err;
}

void chardev_stdio_wake(void *opaque)
{
    struct chardev_stdio *c = opaque;
    uint64_t one = 1;

    /* EAGAIN means the counter is already non-zero: a wakeup is pending anyway. */
    if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("console: eventfd write: %s", strerror(errno));
}

void chardev_stdio_tx(void *opaque, uint8_t byte)
{
    size_t off = 0;

    pthread_mutex_lock(&out_lock);
    while (!out_broken && off < 1) {
        ssize_t n = write(STDOUT_FILENO, &byte, 1);
        if (n == 1) {
            off = 1;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
            poll(&p, 1, 100);
        } else {
            /* stdout is gone (EPIPE, closed terminal): the guest keeps running unheard. */
            log_warn("console: writing to stdout: %s; dropping further output",
                     n < 0 ? strerror(errno) : "short write");
            out_broken = 1;
        }
    }
    pthread_mutex_unlock(&out_lock);
}

unsigned chardev_escape_filter(struct chardev_escape *e, const uint8_t *in, unsigned len,
                               uint8_t *out, int *quit, int *help)
{
    unsigned n = 0;

    for (unsigned i = 0; i < len; i++) {
        uint8_t ch = in[i];
        if (!e->pending) {
            if (ch == CHARDEV_ESCAPE_CHAR)
                e->pending = 1;
            else
                out[n++] = ch;
            continue;
        }
        e->pending = 0;
        if (ch == 'x' || ch == 'X')
            *quit = 1;
        else if (ch == 'h' || ch == 'H' || ch == '?')
            *help = 1;
        else if (ch == CHARDEV_ESCAPE_CHAR)
            out[n++] = ch;
        else {
            /* not an escape: both bytes go to the guest */
            out[n++] = CHARDEV_ESCAPE_CHAR;
            out[n++] = ch;
        }
    }
    return n;
}

static void print_escape_help(void)
{
    static const char msg[] = "\r\nC-a x    quit vessel\r\nC-a C-a  send C-a\r\nC-a h    "
                              "this help\r\n";
    ssize_t n;

    do
        n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    while (n < 0 && errno == EINTR);
}

static void *input_thread(void *arg)
{
    struct chardev_stdio *c = arg;
    uint8_t in[IN_BUF], buf[2 * IN_BUF];
    unsigned off = 0, pending = 0;
    int eof = 0;

    for (;;) {
        struct pollfd p[2] = {
            {.fd = c->stop_pipe[0], .events = POLLIN},
            {.fd = pending ? c->wake_fd : STDIN_FILENO, .events = POLLIN},
        };
        /* Hold stdin while the guest has not taken what we have: it waits in the pipe. The
         * device wakes us when it has room; the timeout covers a guest that polls the UART
         * with the FIFO never quite empty. */
        int nfds = (eof && !pending) ? 1 : 2;
        int r = poll(p, (nfds_t)nfds, pending ? 50 : -1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            log_err("console: poll: %s", strerror(errno));
            return NULL;
        }
        if (p[0].revents)
            return NULL;
        if (pending) {
            uint64_t cnt;
            unsigned n;
            if (p[1].revents && read(c->wake_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
                log_warn("console: eventfd read: %s", strerror(errno));
            n = c->sink.rx(c->sink.opaque, buf + off, pending);
            off += n;
            pending -= n;
            continue;
        }
        if (nfds == 2 && p[1].revents) { /* stdin */
            ssize_t n = read(STDIN_FILENO, in, sizeof(in));
            int quit = 0, help = 0;
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n < 0)
                log_warn("console: reading stdin: %s; no more console input", strerror(errno));
            if (n <= 0) {
                eof = 1; /* the guest keeps running without input */
                continue;
            }
            if (c->tty) {
                pending = chardev_escape_filter(&c->esc, in, (unsigned)n, buf, &quit, &help);
            } else {
                memcpy(buf, in, (size_t)n);
                pending = (unsigned)n;
            }
            off = 0;
            if (help)
                print_escape_help();
            if (quit) {
                c->sink.quit(c->sink.opaque);
                pending = 0;
                eof = 1;
            }
            if (pending) { /* offer it at once; poll waits only for what did not fit */
                unsigned taken = c->sink.rx(c->sink.opaque, buf, pending);
                off = taken;
                pending -= taken;
            }
        }
    }
}

int chardev_stdio_start(struct chardev_stdio *c, const struct chardev_stdio_sink *sink)
{
    int err;

    c->sink = *sink;
    err = thread_create(&c->thread, THREAD_CONSOLE, input_thread, c);
    if (err) {
        log_err("console: creating the input thread: %s", strerror(err));
        return -err;
    }
    c->thread_started = 1;
    return 0;
}

void chardev_stdio_close(struct chardev_stdio *c)
{
    if (!c)
        return;
    if (c->thread_started) {
        ssize_t n;
        do
            n = write(c->stop_pipe[1], "", 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            log_err("console: waking the input thread: %s", strerror(errno));
        else
            pthread_join(c->thread, NULL);
    }
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    close(c->wake_fd);
    tty_restore();
    free(c);
}
