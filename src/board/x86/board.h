/* The x86 board: RAM in two KVM slots around the MMIO gap, COM1, i8042, CMOS, ACPI PM, the PCI
 * host with virtio-pci functions, ACPI tables and the Linux/PVH boot, on the kvm engine
 * (layout.h). The VM core drives it through board/board.h. */
#ifndef VESSEL_BOARD_X86_BOARD_H
#define VESSEL_BOARD_X86_BOARD_H

#include <stdint.h>

#include "board/board.h"

extern const struct board_ops x86_board_ops;

#endif
