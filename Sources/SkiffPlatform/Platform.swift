import SkiffWire

// The platform protocol: everything the stack and applications need from what they run on —
// the Embedded kernel on a hypervisor, or a Linux process on TAP devices (SkiffHosted). Kept to a
// screen, in the spirit of Solo5's `solo5.h`.

/// A point on the platform's monotonic clock, in nanoseconds since an arbitrary origin (boot).
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    public static func < (l: Instant, r: Instant) -> Bool { l.nanoseconds < r.nanoseconds }
    public static func + (l: Instant, r: Interval) -> Instant { Instant(nanoseconds: l.nanoseconds &+ r.nanoseconds) }
    public static func - (l: Instant, r: Interval) -> Instant { Instant(nanoseconds: l.nanoseconds &- r.nanoseconds) }
    public static func - (l: Instant, r: Instant) -> Interval { Interval(nanoseconds: l.nanoseconds &- r.nanoseconds) }

    public var description: String {
        let ms = nanoseconds / 1_000_000
        let frac = ms % 1000
        return "\(ms / 1000).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)"
    }
}

/// A span of time in nanoseconds.
public struct Interval: Comparable, Hashable, Sendable {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func seconds(_ s: Int64) -> Interval { Interval(nanoseconds: s * 1_000_000_000) }
    public static func milliseconds(_ ms: Int64) -> Interval { Interval(nanoseconds: ms * 1_000_000) }
    public static func microseconds(_ us: Int64) -> Interval { Interval(nanoseconds: us * 1_000) }
    public static let zero = Interval(nanoseconds: 0)

    public static func < (l: Interval, r: Interval) -> Bool { l.nanoseconds < r.nanoseconds }
    public static func + (l: Interval, r: Interval) -> Interval { Interval(nanoseconds: l.nanoseconds &+ r.nanoseconds) }
    public static func * (l: Interval, r: Int64) -> Interval { Interval(nanoseconds: l.nanoseconds &* r) }
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

/// The result of a device operation that may have to be retried (Solo5's result codes).
public enum DeviceResult: Equatable, Sendable {
    case ok
    /// No frame or no room now; retry after the next `wait(until:)`.
    case again
    /// The request was malformed (e.g. a frame longer than the MTU allows).
    case invalid
    /// The device failed.
    case failed
}

/// A network device: frames are received straight from the driver's buffers and transmitted
/// straight into them, so no copy is made at the boundary. Class-bound so a stack can hold
/// several devices of different drivers (`any NetworkDevice` works in Embedded Swift).
public protocol NetworkDevice: AnyObject {
    var name: String { get }
    var macAddress: MACAddress { get }
    /// The largest IP packet the link carries (1500 on Ethernet), excluding the Ethernet header.
    var mtu: Int { get }
    var isLinkUp: Bool { get }

    /// Hands up to `budget` received Ethernet frames to `body`, each valid only during the call.
    /// Returns the number handed over (0 when none is waiting).
    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int

    /// Transmits one Ethernet frame of `length` bytes (without FCS), which `fill` writes into
    /// the device's own buffer. `.again` when the transmit ring is full.
    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult
}

/// The rest of the platform: a clock, a console, blocking until an event or a deadline, and exit.
public protocol Platform: AnyObject {
    /// The network devices, in a stable order (PCI order on hardware).
    var networkDevices: [any NetworkDevice] { get }
    /// The monotonic clock.
    func now() -> Instant
    /// The date and time (UTC), or nil when the platform has no clock it can trust (then, for
    /// example, an HTTP server sends no Date field, RFC 9110 §6.6.1). May step when the platform
    /// learns better; use `now()` to measure intervals.
    func wallClock() -> UnixTime?
    /// Writes text to the console (serial port or standard output).
    func write(console text: String)
    /// Blocks until a device has work or `deadline` passes (nil: no deadline).
    func wait(until deadline: Instant?)
    /// The kernel command line (or the hosted process's equivalent).
    var commandLine: String { get }
    /// 64 unpredictable bits, for keys the stack must keep secret (TCP ISNs and SYN cookies,
    /// RFC 6528): RDSEED/RDRAND or TSC jitter on the kernel, getrandom(2) on Linux.
    func randomBits() -> UInt64
    /// Stops the machine with `status`.
    func exit(status: Int32) -> Never
    /// The stack's primary IPv4 address changed (the first address of the first interface that
    /// has one; nil when none is left): a platform that can tell its hypervisor does so (the
    /// kernel on VMware publishes it as guest info, which vSphere shows without VMware Tools).
    /// Stacks made with `NetworkStack(platform:)` call it; by default nothing happens.
    func primaryAddressChanged(_ address: IPv4Address?)
}

extension Platform {
    /// No wall clock unless the platform provides one.
    public func wallClock() -> UnixTime? { nil }

    /// Nobody to tell, unless the platform says otherwise.
    public func primaryAddressChanged(_ address: IPv4Address?) {}
}

extension Interval {
    /// `[    1.234] ` for 1.234 s: seconds right-aligned in five columns, then milliseconds. Every
    /// platform prefixes its console's log lines with this.
    public var consoleTimestamp: String {
        let elapsed = max(0, nanoseconds / 1_000_000)
        let seconds = String(elapsed / 1000)
        let millis = String(elapsed % 1000)
        let pad = String(repeating: " ", count: max(0, 5 - seconds.utf8.count))
        let zeros = String(repeating: "0", count: 3 - millis.utf8.count)
        return "[" + pad + seconds + "." + zeros + millis + "] "
    }
}
