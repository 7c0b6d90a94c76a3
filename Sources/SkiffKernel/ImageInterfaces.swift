// The default interfaces(5) file `skiff build --interfaces FILE` built into the image, linked in
// as read-only data (SkiffKernelC's interfaces.c). Applications hand it to
// `NetworkConfiguration(image:)`, which uses it when no boot module carries an interfaces file.
#if os(none)
import SkiffKernelC

extension Kernel {
    /// The image's interfaces file; empty when the image was built without `--interfaces`.
    public static var interfacesFile: UnsafeRawBufferPointer {
        let range = skiff_interfaces()
        // In bounds: [start, start + length) lies in the kernel's read-only data, which is
        // mapped for the kernel's lifetime.
        return UnsafeRawBufferPointer(start: range.start, count: range.length)
    }
}
#endif
