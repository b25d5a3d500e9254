/* The VM process's seccomp-bpf allow-lists, one per thread role (base/thread.h). Each thread
 * loads its role's filter as it starts; thread creation goes through one spawner thread whose
 * filter is the union of all roles, so a new thread's filter never depends on which thread
 * asked for it. A system call outside the calling thread's list is not executed: the thread
 * gets SIGSYS, the handler writes one line naming the thread, its tid and the call
 *   vessel: seccomp: the virtio-blk thread (tid 1234) called execve (59), which its allow-list
 *   denies; the VM process stops
 * and the process ends by SIGSYS (a signal that even a PID namespace's first process cannot
 * ignore when the kernel forces it). Which thread gets which calls: docs/sandbox.md. */
#ifndef VESSEL_VM_SECCOMP_H
#define VESSEL_VM_SECCOMP_H

#include <stdbool.h>
#include <stdio.h>

#include "base/thread.h"

struct vm_seccomp_opts {
    bool kvm;      /* the kvm engine: its ioctls for the threads that drive it */
    bool user_net; /* --net user: libslirp's socket calls in the virtio-net and net-user threads */
};

/* Builds every role's filter, installs the SIGSYS reporter, sets no_new_privs, starts the
 * spawner (base/thread.h) and confines the calling (main) thread to THREAD_MAIN. Call once,
 * single-threaded, before the VM is created; later the main thread enters THREAD_MAIN_RUN with
 * thread_enter(). 0 or -errno (logged). */
int vm_seccomp_start(const struct vm_seccomp_opts *o);

/* Whether vm_seccomp_start() ran in this process. */
bool vm_seccomp_active(void);

/* Writes each role's allow-list, one line per role ("vcpu: futex read write ... ioctl(KVM_RUN,
 * ...)"), for docs/sandbox.md and `vessel run --print-seccomp`. */
void vm_seccomp_print(FILE *f, const struct vm_seccomp_opts *o);

#endif
