import Glibc

/// Why a TAP device could not be opened or configured. Each case carries the device name and,
/// where a system call failed, its errno; `description` is one line with the fix when known.
public enum TapError: Error, Equatable, CustomStringConvertible {
    /// Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the terminating NUL).
    case nameTooLong(device: String)
    /// Empty, ".", "..", or containing '/', ':' or whitespace (as Linux's `dev_valid_name`).
    case invalidName(device: String)
    /// `/dev/net/tun` could not be opened.
    case noTunDevice(device: String, errno: Int32)
    /// TUNSETIFF was refused for lack of privilege.
    case notPermitted(device: String, errno: Int32)
    /// The interface exists and is not a free TAP device (a TUN device, another process holds it,
    /// or it is not a tun/tap interface at all).
    case busy(device: String, errno: Int32)
    /// Any other failed system call.
    case system(device: String, operation: String, errno: Int32)

    public var device: String {
        switch self {
        case .nameTooLong(let d), .invalidName(let d): return d
        case .noTunDevice(let d, _), .notPermitted(let d, _), .busy(let d, _): return d
        case .system(let d, _, _): return d
        }
    }

    public var description: String {
        switch self {
        case .nameTooLong(let device):
            return "TAP device name '\(device)' is too long: Linux allows at most 15 bytes"
        case .invalidName(let device):
            return "TAP device name '\(device)' is not a valid interface name (no '/', ':', spaces; not empty)"
        case .noTunDevice(let device, let code):
            return "\(device): cannot open /dev/net/tun: \(errnoText(code))"
                + " (is the tun module loaded? try 'modprobe tun')"
        case .notPermitted(let device, let code):
            return "\(device): cannot create or attach the TAP device: \(errnoText(code))"
                + " (needs root or CAP_NET_ADMIN; try sudo)"
        case .busy(let device, let code):
            return "\(device): cannot attach: \(errnoText(code))"
                + " (another process holds it, or '\(device)' exists and is not a TAP device)"
        case .system(let device, let operation, let code):
            return "\(device): \(operation): \(errnoText(code))"
        }
    }
}

/// The C library's text for an errno value, e.g. "Operation not permitted".
public func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
