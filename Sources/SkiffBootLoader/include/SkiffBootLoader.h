// Skiff's BIOS boot loader as data: the bytes of its two stages, assembled from BootLoader.S when
// the host `skiff` is built, so writing a disk or ISO image needs no external tool.
// Sources/SkiffImage/BootLoader.swift describes the parameter block the image writers fill in.
#ifndef SKIFF_BOOT_LOADER_H
#define SKIFF_BOOT_LOADER_H

#include <stddef.h>

typedef struct {
    const unsigned char *bytes;
    size_t count;
} skiff_boot_blob;

/// The MBR: 512 bytes (code, parameter block at 0x1A0, partition table left empty, 0x55AA).
/// Empty (count 0) when the host compiler could not assemble x86 code.
skiff_boot_blob skiff_boot_loader_mbr(void);

/// Stage 2, loaded at 0x7E00 right after the MBR; starts with the magic "SKB2".
skiff_boot_blob skiff_boot_loader_stage2(void);

#endif
