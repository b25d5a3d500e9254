/* Threads and their roles. Every thread of a VM process is created with thread_create() and the
 * role it plays. A sandbox (vm/seccomp.h) sets an enter hook that confines each new thread to
 * what its role needs before the thread runs, and routes all creation through one spawner
 * thread: seccomp filters are inherited, so a thread created by a vCPU would otherwise carry the
 * vCPU's filter on top of its own. Without a hook, thread_create() is pthread_create(). */
#ifndef VESSEL_BASE_THREAD_H
#define VESSEL_BASE_THREAD_H

#include <pthread.h>

enum thread_role {
    THREAD_MAIN,       /* the VM's main thread while it creates the VM */
    THREAD_MAIN_RUN,   /* the main thread once the VM runs: reboots, teardown */
    THREAD_VCPU,       /* one per vCPU */
    THREAD_VIRTIO_BLK, /* a virtio device's thread, by device */
    THREAD_VIRTIO_NET,
    THREAD_VIRTIO_RNG,
    THREAD_VIRTIO_CONSOLE,
    THREAD_VIRTIO_BALLOON,
    THREAD_VIRTIO,    /* a virtio device without a role of its own: what all of them need */
    THREAD_CONSOLE,   /* the serial console's input (stdin) */
    THREAD_CONTROL,   /* the control socket: commands, snapshots, starting migrations */
    THREAD_MIGRATION, /* a live migration's source side */
    THREAD_NET_USER,  /* libslirp's event loop (--net user) */
    THREAD_IRQFD,     /* x86: level-triggered interrupt resampling */
    THREAD_SIGNAL,    /* waits for SIGTERM and stops the VM cleanly */
    THREAD_SPAWNER,   /* creates every other thread once a sandbox is on */
    THREAD_ROLES
};

/* "vcpu", "virtio-blk", ... */
const char *thread_role_name(enum thread_role role);

/* Creates a thread running fn(arg) in role: pthread_create() semantics (0 or an errno value,
 * positive); join it with pthread_join(). The enter hook, when set, runs on the new thread
 * before fn; if it fails the process aborts (a thread never runs unconfined). */
int thread_create(pthread_t *t, enum thread_role role, void *(*fn)(void *), void *arg);

/* The calling thread's role (THREAD_MAIN until it enters another) and its kernel thread id,
 * as the hook last set them. Async-signal-safe. */
enum thread_role thread_current_role(void);
int thread_current_tid(void);

/* The hook a sandbox installs: confines the calling thread to role; 0 or -errno. */
typedef int (*thread_enter_fn)(enum thread_role role);

/* Sets the hook and starts the spawner thread (which enters THREAD_SPAWNER itself). From then
 * on thread_create() hands creation to the spawner. Call once, single-threaded. 0 or -errno
 * (logged). */
int thread_sandbox_start(thread_enter_fn hook);
/* Runs the hook for the calling thread (the main thread entering THREAD_MAIN or
 * THREAD_MAIN_RUN); without a hook it only records the role. 0 or -errno. */
int thread_enter(enum thread_role role);

#endif
