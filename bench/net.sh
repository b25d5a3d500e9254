#!/usr/bin/env bash
# Guest-to-host TCP throughput over user-mode NAT: build/vessel run --net user vs
# qemu-system-riscv64 -netdev user + virtio-net-device, same guest. Prints MB/s and the ratio;
# never asserts times. Usage: bench/net.sh [--mib N] [--runs N] [--vmm vessel|qemu|both]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/net.py "$@"
