#!/usr/bin/env bash
# The README's demo: set up (packages, build, guest artifacts), then boot Debian's
# riscv64 Linux under `build/vessel run`, run a command inside and power off.
# Usage: scripts/demo.sh [--no-setup] [--cpus N] [COMMAND]
#   VESSEL_VMM=qemu scripts/demo.sh --no-setup    the same guest under QEMU
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ${1:-} == --no-setup ]]; then
    shift
else
    ./scripts/setup.sh
fi
exec python3 scripts/demo.py "$@"
