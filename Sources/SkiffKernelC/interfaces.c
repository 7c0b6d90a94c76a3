// The default interfaces(5) file of the image: `skiff build --interfaces FILE` checks the file
// and links it into the kernel as read-only data between the symbols skiff_interfaces_start and
// skiff_interfaces_end (a generated assembly file with `.incbin`, as for the assets). The
// references are weak, so a kernel built without one links too and sees an empty file.
#ifndef __linux__

#include "SkiffKernelC.h"

extern const unsigned char skiff_interfaces_start[] __attribute__((weak));
extern const unsigned char skiff_interfaces_end[] __attribute__((weak));

skiff_byte_range skiff_interfaces(void) {
    skiff_byte_range range = {0, 0};
    if (skiff_interfaces_start != 0 && skiff_interfaces_end > skiff_interfaces_start) {
        range.start = skiff_interfaces_start;
        range.length = (size_t)(skiff_interfaces_end - skiff_interfaces_start);
    }
    return range;
}

#endif  // __linux__
