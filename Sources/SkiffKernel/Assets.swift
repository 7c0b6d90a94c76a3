// The assets `skiff build` packed into the image: the application's assets folder (or the one
// named by `--assets`) as a cpio newc archive, linked in as read-only data (SkiffKernelC's
// assets.c). Applications hand it to `StaticAssets.add(archive:)`, which serves the files in
// place: the archive lives in the kernel image for as long as the machine runs.
#if os(none)
import SkiffKernelC

extension Kernel {
    /// The assets archive's bytes; empty when the image was built without assets.
    public static var assetArchive: UnsafeRawBufferPointer {
        let range = skiff_assets()
        // In bounds: [start, start + length) lies in the kernel's read-only data, which is
        // mapped for the kernel's lifetime.
        return UnsafeRawBufferPointer(start: range.start, count: range.length)
    }
}
#endif
