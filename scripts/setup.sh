#!/usr/bin/env bash
# Vessel project set-up. Idempotent: installs missing Debian packages (apt-get update
# runs at most once, and only when something must be installed), builds build/ and
# build-asan/, then fetches the riscv64 guest artifacts (scripts/fetch-guest.sh) into
# ${VESSEL_CACHE:-$HOME/.cache/vessel}. Stops at the first failing step and names it.
#
# Usage: scripts/setup.sh [--no-build] [--no-fetch]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
fetch=1
for arg in "$@"; do
    case $arg in
    --no-build) build=0 ;;
    --no-fetch) fetch=0 ;;
    *)
        echo "usage: $0 [--no-build] [--no-fetch]" >&2
        exit 1
        ;;
    esac
done

packages=(
    build-essential make pkg-config libfdt-dev libslirp-dev clang-format
    gcc-riscv64-linux-gnu cpio xz-utils zstd python3
    qemu-system-misc gdb-multiarch device-tree-compiler
    debian-archive-keyring
    zlib1g-dev libzstd-dev qemu-utils
    libmicrohttpd-dev libjansson-dev clang libclang-rt-14-dev bc iproute2 socat
    pacemaker corosync pacemaker-cli-utils crmsh resource-agents
    qemu-system-x86 e2fsprogs
    nettle-dev
    libseccomp-dev openssl
    chromium fonts-dejavu-core
    libgnutls28-dev
    debootstrap fakeroot openssh-client
)
# The OpenAPI linter needs Node.js with npm. A machine may already carry its own Node.js (a
# nodesource build bundles npm and conflicts with Debian's npm package): take Debian's only
# when there is no npm at all.
if ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
fi

current=""
on_exit() {
    local rc=$?
    if [[ $rc -ne 0 && -n $current ]]; then
        echo "setup: FAILED at step: $current (exit status $rc)" >&2
    fi
}
trap on_exit EXIT

step() {
    current=$1
    echo "==> setup: $1"
}

step "check Debian packages"
missing=()
for p in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]]; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup: installing: ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || {
            echo "setup: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    step "apt-get update"
    "${sudo[@]}" apt-get update -q
    step "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
    echo "setup: all ${#packages[@]} packages present"
fi

jobs=$(nproc 2>/dev/null || echo 2)
if [[ $build == 1 ]]; then
    step "build (make -j$jobs)"
    make -j"$jobs"
    step "ASan+UBSan build (make -j$jobs BUILD=asan)"
    make -j"$jobs" BUILD=asan
fi

# The cluster agents go where Pacemaker looks for them (/usr/lib/ocf/resource.d/vessel,
# /usr/sbin/fence_vessel_lab); the lab binds a build tree's own copies over them per host.
step "install the cluster agents (make install-agents)"
if [[ $(id -u) -eq 0 ]]; then
    make install-agents
elif command -v sudo >/dev/null; then
    sudo make install-agents
else
    echo "setup: not root and no sudo: the cluster agents are not installed (make install-agents as root)" >&2
fi

# The OpenAPI linter the test suite runs (npm's @redocly/cli, outside the work tree).
step "install the OpenAPI linter (scripts/lint-openapi.sh --install-only)"
scripts/lint-openapi.sh --install-only

# The web console's npm packages (xterm.js, and playwright-core for its browser test).
step "install the web console's npm packages (scripts/setup-web.sh)"
scripts/setup-web.sh

if [[ $fetch == 1 ]]; then
    step "fetch riscv64 guest artifacts (scripts/fetch-guest.sh)"
    scripts/fetch-guest.sh
    step "fetch x86_64 guest artifacts (scripts/fetch-guest.sh --x86)"
    scripts/fetch-guest.sh --x86
fi

current=""
echo "setup: done"
