/* ACPI tables for the x86 board: RSDP, XSDT, FADT (+FACS), DSDT, MADT and MCFG, written into
 * one buffer that the guest sees at a fixed physical address. */
#ifndef VESSEL_BOARD_X86_ACPI_H
#define VESSEL_BOARD_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_HDR_LEN   36
#define ACPI_RSDP_LEN  36
#define ACPI_FADT_LEN  276
#define ACPI_FACS_LEN  64
#define ACPI_OEM_ID    "VESSEL"
#define ACPI_OEM_TABLE "VESSELVM"

/* PM1 control register bits the FADT announces */
#define ACPI_PM1_CNT_SCI_EN        0x0001
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  0x1c00
#define ACPI_PM1_CNT_SLP_EN        0x2000

/* Builds the tables for ncpus CPUs into buf (the host view of guest physical base, size bytes).
 * The RSDP comes first, at base. Returns the bytes used or -ENOSPC. */
int x86_acpi_build(uint8_t *buf, size_t size, uint64_t base, int ncpus);

/* Sum of len bytes modulo 256 (0 for a table with a valid checksum). */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* Writes the DSDT's AML body (what follows the table header; dsdt.c) into buf. Returns its
 * length or -ENOSPC. */
int x86_dsdt_build(uint8_t *buf, size_t cap);

#endif
