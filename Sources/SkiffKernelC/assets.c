// The application's assets archive: a cpio newc archive that `skiff build` packs from the
// application's assets folder and links into the kernel as read-only data between the symbols
// skiff_assets_start and skiff_assets_end (a generated assembly file with `.incbin`). The
// references are weak, so a kernel built without assets links too and sees an empty archive.
#ifndef __linux__

#include "SkiffKernelC.h"

extern const unsigned char skiff_assets_start[] __attribute__((weak));
extern const unsigned char skiff_assets_end[] __attribute__((weak));

skiff_byte_range skiff_assets(void) {
    skiff_byte_range range = {0, 0};
    if (skiff_assets_start != 0 && skiff_assets_end > skiff_assets_start) {
        range.start = skiff_assets_start;
        range.length = (size_t)(skiff_assets_end - skiff_assets_start);
    }
    return range;
}

#endif  // __linux__
