/* A new VM's boot files and machine size, checked through the board seam (see boot_check.h). */
#include "host/boot_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "board/board.h"

/* A board's default file (its firmware or boot loader) as the VM process finds it when none is
 * given (vm.c's rule: $VESSEL_CACHE/ARCH/NAME, else $HOME/.cache/vessel/ARCH/NAME; the VM
 * process has the daemon's environment); key is the member that would name another. */
static int default_file(const struct board_ops *b, const char *name, const char *key, char *out,
                        size_t cap, struct api_error *e)
{
    const char *cache = getenv("VESSEL_CACHE"), *home = getenv("HOME");

    if (cache && *cache)
        snprintf(out, cap, "%s/%s/%s", cache, b->arch, name);
    else if (home && *home)
        snprintf(out, cap, "%s/.cache/vessel/%s/%s", home, b->arch, name);
    else
        return api_error_set(e, 422, "bad_file",
                             "no '%s' given, and the daemon has neither VESSEL_CACHE nor "
                             "HOME to find the default %s",
                             key, name);
    if (access(out, R_OK))
        return api_error_set(e, 422, "bad_file",
                             "no '%s' given, and the default %.300s: %s (give '%s')", key, out,
                             strerror(errno), key);
    return 0;
}

int host_check_boot(const struct api_vm_config *c, struct api_error *e)
{
    const struct board_ops *b = board_find(c->arch);
    char fw[API_PATH_MAX + 128], loader[API_PATH_MAX + 128], why[400];
    uint64_t ram = c->memory_mib << 20;
    struct board_params p = {0};
    int err;

    if (!b)
        return api_error_set(e, 422, "out_of_range", "'arch' %s has no board", c->arch);
    if (c->restore[0] || c->incoming[0])
        return 0;
    if (ram < b->ram_min || ram > b->ram_max)
        return api_error_set(
            e, 422, "out_of_range", "'memory_mib' %llu: %s VMs take %llu to %llu MiB",
            (unsigned long long)c->memory_mib, b->arch, (unsigned long long)(b->ram_min >> 20),
            (unsigned long long)(b->ram_max >> 20));
    if (c->cpus > b->max_cpus)
        return api_error_set(e, 422, "out_of_range", "'cpus' %d: %s VMs take at most %d", c->cpus,
                             b->arch, b->max_cpus);
    p.ncpus = c->cpus;
    p.kernel = c->kernel[0] ? c->kernel : NULL;
    p.initrd = c->initrd[0] ? c->initrd : NULL;
    p.cmdline = c->cmdline;
    p.firmware = c->firmware[0] ? c->firmware : NULL;
    if (b->firmware && !p.firmware && b->default_firmware) {
        if ((err = default_file(b, b->default_firmware, "firmware", fw, sizeof(fw), e)))
            return err;
        p.firmware = fw;
    }
    /* No kernel: the board's boot loader boots the guest's own kernel from its disk. */
    if (!p.kernel && b->default_bootloader) {
        if ((err = default_file(b, b->default_bootloader, "kernel", loader, sizeof(loader), e)))
            return err;
        p.bootloader = loader;
    }
    log_capture_start(why, sizeof(why));
    err = b->check_boot(&p, ram);
    log_capture_stop();
    if (err)
        return api_error_set(e, 400, "bad_image", "not bootable as %s: %.300s", b->arch,
                             why[0] ? why : strerror(-err));
    return 0;
}
