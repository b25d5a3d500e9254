#include "board/x86/irqfd.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread.h"

static void kick(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_guest_warn("irqfd: eventfd write: %s", strerror(errno));
}

static void line_set(void *opaque, int gsi, int level)
{
    struct x86_irqfd_line *l = opaque;

    (void)gsi;
    __atomic_store_n(&l->level, level, __ATOMIC_SEQ_CST);
    if (level)
        kick(l->fd); /* lowering needs nothing: KVM deasserts at the EOI and resamples */
}

/* At each EOI of a pin KVM deasserts it and signals its lines' resample eventfds: raise again
 * what is still pending. */
static void *resample_thread(void *arg)
{
    struct x86_irqfds *f = arg;
    struct pollfd p[X86_IRQFD_MAX + 1];

    for (;;) {
        int n = f->n;

        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = f->line[i].resample_fd, .events = POLLIN};
        p[n] = (struct pollfd){.fd = f->stop_fd, .events = POLLIN};
        if (poll(p, (nfds_t)n + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_err("irqfd: poll: %s", strerror(errno));
            return NULL;
        }
        if (p[n].revents)
            return NULL;
        for (int i = 0; i < n; i++) {
            uint64_t v;
            if (!p[i].revents || read(p[i].fd, &v, sizeof(v)) < 0)
                continue;
            if (__atomic_load_n(&f->line[i].level, __ATOMIC_SEQ_CST))
                kick(f->line[i].fd);
        }
    }
}

void x86_irqfds_init(struct x86_irqfds *f, struct kvm_engine *kvm)
{
    memset(f, 0, sizeof(*f));
    f->kvm = kvm;
    f->stop_fd = -1;
}

int x86_irqfds_add(struct x86_irqfds *f, unsigned gsi, struct irq_line *out)
{
    struct x86_irqfd_line *l;
    int err;

    if (f->started || f->n == X86_IRQFD_MAX)
        return -ENOSPC; /* lines are added before the thread starts */
    l = &f->line[f->n];
    l->gsi = gsi;
    l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->fd < 0 || l->resample_fd < 0) {
        err = -errno;
        log_err("irqfd: eventfd: %s", strerror(errno));
        goto fail;
    }
    err = kvm_engine_irqfd(f->kvm, l->fd, gsi, l->resample_fd, false);
    if (err)
        goto fail;
    *out = (struct irq_line){line_set, l, (int)gsi};
    f->n++;
    return 0;
fail:
    if (l->fd >= 0)
        close(l->fd);
    if (l->resample_fd >= 0)
        close(l->resample_fd);
    return err;
}

static int start(struct x86_irqfds *f)
{
    int err;

    f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->stop_fd < 0)
        return -errno;
    err = thread_create(&f->thread, THREAD_IRQFD, resample_thread, f);
    if (err) {
        close(f->stop_fd);
        f->stop_fd = -1;
        return -err;
    }
    f->started = 1;
    return 0;
}

int x86_irqfds_start(struct x86_irqfds *f)
{
    int err = f->n ? start(f) : 0;

    if (err)
        log_err("irqfd: resample thread: %s", strerror(-err));
    return err;
}

void x86_irqfds_destroy(struct x86_irqfds *f)
{
    if (f->started) {
        kick(f->stop_fd);
        pthread_join(f->thread, NULL);
        close(f->stop_fd);
    }
    for (int i = 0; i < f->n; i++) {
        kvm_engine_irqfd(f->kvm, f->line[i].fd, f->line[i].gsi, -1, true);
        close(f->line[i].fd);
        close(f->line[i].resample_fd);
    }
    memset(f, 0, sizeof(*f));
}
