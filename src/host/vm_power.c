/* The daemon's power actions on a VM (vm_ops.h): the graceful shutdown - the guest's power
 * button through the VM's control socket, then a forced stop at a deadline (shutdown_watch.h) -
 * and the reboot (a reset of the machine). */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/shutdown_watch.h"
#include "host/vm_control.h"
#include "host/vm_events.h"
#include "host/vm_ops.h"
#include "host/vm_ops_int.h"

/* The "error" of a VM's {"ok":false,"error":...} answer into why; false when it said ok. */
static bool answer_error(const char *answer, char *why, size_t whylen)
{
    json_t *a = json_loads(answer, 0, NULL);
    const char *msg = json_string_value(json_object_get(a, "error"));
    bool failed = !json_is_true(json_object_get(a, "ok"));

    if (failed)
        snprintf(why, whylen, "%.200s", msg ? msg : answer);
    json_decref(a);
    return failed;
}

int host_vm_shutdown(struct vm_host *h, struct host_vm *v, int timeout_s, const char **method,
                     char *why, size_t whylen, struct api_error *e)
{
    struct api_error ce = {0};
    char *answer = NULL;
    int err;

    registry_refresh(&h->reg, v);
    if (!vm_is_live(v))
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running or paused",
                             v->cfg.name, vm_state_name(v->state));
    if (host_need_pid(v, e))
        return e->status;
    shutdown_watch_free(v->shutdown);
    v->shutdown = NULL;
    v->stop_requested = true; /* its end is not a crash */
    registry_save(&h->reg, v);
    *method = "forced";
    why[0] = '\0';
    if (timeout_s == 0) {
        snprintf(why, whylen, "timeout_s 0");
    } else if (v->state == VM_INCOMING) {
        snprintf(why, whylen, "the VM waits for its incoming migration: no guest yet");
    } else {
        if (v->state == VM_PAUSED) { /* the guest must run to see the button */
            kill(v->vm_pid, SIGCONT);
            host_wait_state(h, v, VM_RUNNING, 2000);
        }
        if (host_control_call(h, v, "{\"shutdown\": null}", 3, &answer, &ce))
            snprintf(why, whylen, "%.200s", ce.message);
        else if (!answer_error(answer, why, whylen))
            *method = "power_button";
        free(answer);
    }
    if (!strcmp(*method, "power_button")) {
        err = shutdown_watch_start(&v->shutdown, v->vm_pid, v->vm_start, timeout_s * 1000);
        if (!err) {
            vm_event(v, "power button pressed; stopped by force in %d s if it is still running",
                     timeout_s);
            return 0;
        }
        snprintf(why, whylen, "cannot watch the VM process: %s", strerror(-err));
        *method = "forced";
    }
    vm_event(v, "shutdown: stopping it by force (%s)", why);
    kill(v->vm_pid, SIGTERM);
    kill(v->vm_pid, SIGCONT); /* a paused VM must run to act on SIGTERM */
    host_wait_state(h, v, VM_STOPPED, 3000);
    return 0;
}

const char *host_vm_shutdown_state(struct host_vm *v)
{
    if (!v->shutdown)
        return NULL;
    switch (shutdown_watch_end(v->shutdown)) {
    case SHUTDOWN_WAITING: return "waiting";
    case SHUTDOWN_GUEST: return "guest";
    case SHUTDOWN_FORCED: break;
    }
    return "forced";
}

int host_vm_reboot(struct vm_host *h, struct host_vm *v, struct api_error *e)
{
    char *answer = NULL, why[256];
    int st;

    registry_refresh(&h->reg, v);
    if (v->state != VM_RUNNING)
        return api_error_set(e, 409, "invalid_state", "VM %s is %s, not running", v->cfg.name,
                             vm_state_name(v->state));
    if ((st = host_control_call(h, v, "{\"reboot\": null}", 3, &answer, e)))
        return st;
    st = answer_error(answer, why, sizeof(why))
             ? api_error_set(e, 409, "invalid_state", "VM %s: %s", v->cfg.name, why)
             : 0;
    free(answer);
    if (!st)
        vm_event(v, "rebooting (machine reset)");
    return st;
}
