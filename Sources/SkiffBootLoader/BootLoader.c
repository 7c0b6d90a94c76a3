// The loader's bytes live in read-only data sections of BootLoader.S, between exported labels.
#include "SkiffBootLoader.h"

#if defined(__x86_64__) || defined(__i386__)
extern const unsigned char skiff_boot_mbr_start[], skiff_boot_mbr_end[];
extern const unsigned char skiff_boot_stage2_start[], skiff_boot_stage2_end[];

skiff_boot_blob skiff_boot_loader_mbr(void) {
    skiff_boot_blob blob = { skiff_boot_mbr_start, (size_t)(skiff_boot_mbr_end - skiff_boot_mbr_start) };
    return blob;
}

skiff_boot_blob skiff_boot_loader_stage2(void) {
    skiff_boot_blob blob = { skiff_boot_stage2_start, (size_t)(skiff_boot_stage2_end - skiff_boot_stage2_start) };
    return blob;
}
#else
// A host whose compiler cannot assemble x86 (e.g. an arm64 build of `skiff`) has no loader:
// SkiffImage reports that building disk and ISO images needs an x86-64 `skiff`.
skiff_boot_blob skiff_boot_loader_mbr(void) { skiff_boot_blob blob = { 0, 0 }; return blob; }
skiff_boot_blob skiff_boot_loader_stage2(void) { skiff_boot_blob blob = { 0, 0 }; return blob; }
#endif
