/// Why an image could not be written. Each case reads as one `error:` line, with the fix when known.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    /// This `skiff` was built where x86 code cannot be assembled (SkiffBootLoader is empty).
    case noBootLoader
    /// The kernel has no usable multiboot v1 header with the a.out kludge.
    case notMultiboot(String)
    case commandLineTooLong(bytes: Int, limit: Int)
    /// The command line and the module strings together do not fit the image header.
    case stringsTooLong(bytes: Int, limit: Int)
    case tooManyModules(count: Int, limit: Int)
    case moduleMissing(path: String)
    case unreadable(path: String, reason: String)
    /// A file or the whole image exceeds what 32-bit sector numbers and lengths can address.
    case tooLarge(String)
    case writeFailed(path: String, reason: String)
    /// An image read back (VMDK, qcow2, VHD headers in tests and tools) is damaged or truncated.
    case corrupt(String)

    public var description: String {
        switch self {
        case .noBootLoader:
            return "this skiff has no BIOS boot loader (it was built for a host that cannot assemble x86 code); build images with an x86-64 skiff"
        case .notMultiboot(let why):
            return "the kernel cannot be booted by Skiff's boot loader: \(why)"
        case .commandLineTooLong(let bytes, let limit):
            return "--cmdline is \(bytes) bytes; the boot loader passes at most \(limit)"
        case .stringsTooLong(let bytes, let limit):
            return "the command line and module strings are \(bytes) bytes together; the image header holds \(limit)"
        case .tooManyModules(let count, let limit):
            return "\(count) modules given; the boot loader loads at most \(limit)"
        case .moduleMissing(let path):
            return "module \(path) does not exist"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .tooLarge(let what):
            return "\(what) is too large for the image format"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .corrupt(let what):
            return "the image is damaged: \(what)"
        }
    }
}
