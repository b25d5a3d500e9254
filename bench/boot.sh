#!/usr/bin/env bash
# Boot and CPU benchmark: build/vessel run vs qemu-system-riscv64 -M virt, same kernel,
# initramfs and firmware (from scripts/fetch-guest.sh). Prints both and the ratios;
# never asserts times. Usage: bench/boot.sh [--cpus N] [--runs N] [--vmm vessel|qemu]...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/boot.py "$@"
