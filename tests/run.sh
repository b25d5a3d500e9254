#!/usr/bin/env bash
# Vessel's test suite. Steps, in order:
#   format       clang-format --dry-run --Werror over src/ and tests/ (one check per file), and
#                tests/layers.py: every #include of src/ goes down the layers of
#                docs/architecture.md, and nothing above the boards names a board or engine;
#                scripts/lint-openapi.sh: docs/api/openapi.yaml under redocly lint (strict)
#   unit         build/unit-tests and build-asan/unit-tests (the rv64 tests twice: default tier
#                and VESSEL_RV64_TIER=interp)
#   fuzz         fuzz/run.sh: libFuzzer targets (clang), a bounded number of runs each
#   guest        tests/guest/rv64/run.sh (bare-metal rv64 programs, on both rv64 tiers), when it exists
#   integration  tests/integration/test_riscv.py (on both rv64 tiers), test_cli.py (vessel run's errors, exit
#                statuses, --trace, Ctrl-A x on a pty, idle CPU), test_tools.py (tools/lockstep.py
#                against QEMU), test_virtio.py and test_net.py (Debian
#                riscv64 Linux; VESSEL_VMM selects the VMM)
#                and test_snapshot.py (snapshot over --api-socket, --restore: a counting
#                guest continues across the seam, two clones of one file, damaged files refused)
#                and test_clone.py (--restore --clone: vmgenid reseed, new MACs, per-clone
#                qcow2 overlays, copy-on-write memory sharing)
#                and test_qcow2.py (qcow2 disks against qemu-img: interoperability, crash
#                consistency, bad images; needs qemu-utils)
#                and test_disk_tools.py (vessel disk convert, resize, commit, rebase, map,
#                snapshot, compare, --help and sizes against qemu-img; FIFOs, metadata overlap)
#                and test_daemon.py, test_daemon_migrate.py (vessel serve; live migration
#                between two daemons over loopback; its x86 part runs in the x86 step)
#                and test_sandbox.py (jailed VM processes, image locks against each other and
#                qemu-img, the API's path policy, slow clients, TCP authentication)
#                and test_web.py (the web console in Debian's chromium through playwright-core:
#                login, the VM list and buttons, graphs, the console over a WebSocket; hostile
#                WebSocket frames; screenshots in build/test-logs/web-*.png)
#                and test_cluster.py (issue 12: a 3-host Pacemaker lab in namespaces: placement,
#                load-triggered live migration, failover, quorum loss, lab down; root only)
#                and test_image.py (issue 16: vessel image build debian, booted from its disk
#                through U-Boot, SSH, power off inside and via `vessel vm shutdown`)
#   x86          everything on the kvm engine, through tests/nested/x86_suite.py: directly
#                where /proc/cpuinfo shows vmx or svm and /dev/kvm is usable, else all of it
#                inside ONE L1 boot under QEMU TCG with emulated AMD SVM (tests/nested/nested.py,
#                docs/nested.md): tests/guest/x86/run.sh (the x86-64 test guests),
#                build/kvm-engine-test, test_x86_snapshot.py, test_x86_migrate.py,
#                test_daemon_migrate.py --x86-only and test_x86_linux.py (Debian's x86-64 cloud
#                kernel with virtio-pci and MSI-X: devices, networking, snapshot/restore, live
#                migration, reboot in place, triple fault, the ACPI power button)
# Usage: tests/run.sh [STEP...]     (default: all steps)
# Every step adds to the totals; the last line of output is "N passed, N failed" and
# the exit status is non-zero when anything failed. Run scripts/setup.sh first.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
all_steps=(format unit fuzz guest integration x86)
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=("${all_steps[@]}")
for s in "${steps[@]}"; do
    case " ${all_steps[*]} " in
    *" $s "*) ;;
    *)
        echo "usage: $0 [STEP...]  steps: ${all_steps[*]}" >&2
        exit 2
        ;;
    esac
done

total_pass=0
total_fail=0
summary=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Record a step's counts: add_result NAME PASSED FAILED
add_result() {
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
    summary+=("$(printf '%-30s %4d passed, %d failed' "$1" "$2" "$3")")
}

# Run a command that ends its output with "N passed, N failed"; take its counts.
# A command that fails without such a line counts as one failure.
run_counted() {
    local name=$1 rc line p f
    shift
    echo "==> $name: $*"
    "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n1)
    if [[ -n $line ]]; then
        p=${line%% passed*}
        f=${line#*, }
        f=${f%% failed}
        if [[ $rc -ne 0 && $f -eq 0 ]]; then
            echo "$name: exit status $rc although no test failed"
            f=1
        fi
        add_result "$name" "$p" "$f"
    elif [[ $rc -eq 0 ]]; then
        add_result "$name" 1 0
    else
        echo "$name: FAILED (exit status $rc, no summary line)"
        add_result "$name" 0 1
    fi
}

step_format() {
    local p=0 f=0 file
    echo "==> format: clang-format --dry-run --Werror"
    if ! command -v clang-format >/dev/null; then
        echo "FAIL format: clang-format not installed (run scripts/setup.sh)"
        add_result format 0 1
        return
    fi
    while IFS= read -r -d '' file; do
        if clang-format --dry-run --Werror "$file" >"$out" 2>&1; then
            p=$((p + 1))
        else
            f=$((f + 1))
            echo "FAIL format: $file"
            head -n 20 "$out"
        fi
    done < <(find src tests -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
    echo "format: $p files clean, $f need clang-format"
    add_result format "$p" "$f"
    run_counted "layers (docs/architecture.md)" python3 tests/layers.py
    run_counted "openapi lint (redocly, strict)" bash scripts/lint-openapi.sh
}

step_unit() {
    local bin
    for bin in build/unit-tests build-asan/unit-tests; do
        if [[ -x $bin ]]; then
            run_counted "unit ($bin)" "$bin"
            # the rv64 engine's tests once more on the interpreter tier (the default is the
            # JIT on x86-64 hosts); test_rv64_jit compares both tiers whatever is chosen
            run_counted "unit ($bin, rv64 interpreter tier)" env VESSEL_RV64_TIER=interp "$bin" rv64_
        else
            echo "FAIL unit: $bin not built (run scripts/setup.sh, or make / make BUILD=asan)"
            add_result "unit ($bin)" 0 1
        fi
    done
}

step_fuzz() {
    run_counted "fuzz" bash fuzz/run.sh
}

step_guest() {
    if [[ -f tests/guest/rv64/run.sh ]]; then
        run_counted "guest (rv64)" bash tests/guest/rv64/run.sh
        run_counted "guest (rv64, interpreter tier)" env VESSEL_RV64_TIER=interp bash tests/guest/rv64/run.sh
    else
        echo "==> guest: tests/guest/rv64/run.sh does not exist yet, skipped"
    fi
}

step_integration() {
    run_counted "integration (${VESSEL_VMM:-vessel})" python3 tests/integration/test_riscv.py
    # the same Linux boots on the rv64 interpreter tier (the default is the JIT on x86-64)
    if [[ ${VESSEL_VMM:-vessel} == vessel ]]; then
        run_counted "integration (vessel, rv64 interpreter tier)" \
            env VESSEL_RV64_TIER=interp python3 tests/integration/test_riscv.py -k 2harts-fw_dynamic
    fi
    run_counted "integration cli (vessel run)" python3 tests/integration/test_cli.py
    run_counted "integration tools (lockstep vs qemu)" python3 tests/integration/test_tools.py
    run_counted "integration virtio (${VESSEL_VMM:-vessel})" python3 tests/integration/test_virtio.py
    run_counted "integration net+balloon (${VESSEL_VMM:-vessel})" python3 tests/integration/test_net.py
    run_counted "integration snapshot (vessel)" python3 tests/integration/test_snapshot.py
    run_counted "integration migrate (vessel)" python3 tests/integration/test_migrate.py
    run_counted "integration migrate-auth (vessel)" python3 tests/integration/test_migrate_auth.py
    run_counted "integration migrate-tls (vessel)" python3 tests/integration/test_migrate_tls.py
    run_counted "integration clones (vessel)" python3 tests/integration/test_clone.py
    run_counted "integration qcow2 (qemu-img)" python3 tests/integration/test_qcow2.py
    run_counted "integration disk tools (qemu-img)" python3 tests/integration/test_disk_tools.py
    run_counted "integration daemon (vessel serve)" python3 tests/integration/test_daemon.py
    run_counted "integration web console (vessel serve, chromium)" python3 tests/integration/test_web.py
    # two daemons on this host: POST .../migrate, GET/DELETE .../migration, incoming VMs
    run_counted "integration daemon migrate (vessel serve)" python3 tests/integration/test_daemon_migrate.py
    # jailed VM processes, image locks, the API's path policy, concurrency and authentication
    run_counted "integration sandbox (jail, locks, API)" python3 tests/integration/test_sandbox.py
    # three Pacemaker hosts in namespaces: placement, load balancing, failover, quorum
    run_counted "integration cluster (pacemaker lab)" python3 tests/integration/test_cluster.py
    # a Debian image built by vessel image build (cached by its inputs), booted from its disk,
    # SSH, power off from inside and through the daemon's power button
    run_counted "integration image (Debian, boot from disk)" python3 tests/integration/test_image.py
}

# Every x86 test on the kvm engine: directly with vmx/svm, else in one L1 boot (nested TCG)
step_x86() {
    run_counted "x86 (kvm: test guests, engine, snapshot, migration, daemon, Linux)" \
        python3 tests/nested/x86_suite.py
}

for s in "${steps[@]}"; do
    "step_$s"
done

echo "==> results"
for line in "${summary[@]}"; do
    echo "  $line"
done
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
