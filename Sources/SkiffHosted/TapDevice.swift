import Glibc
import SkiffWire
import SkiffPlatform

// Linux TUN/TAP constants (include/uapi/linux/if_tun.h); the header is not in Swift's Glibc module.
private let TUNSETIFF: UInt = 0x4004_54ca  // _IOW('T', 202, int)
private let IFF_TAP: UInt16 = 0x0002
private let IFF_NO_PI: UInt16 = 0x1000
/// IFNAMSIZ, including the terminating NUL.
private let interfaceNameSize = 16
/// Ethernet header plus one 802.1Q tag: the most a frame may exceed the MTU by.
private let maxLinkHeader = 14 + 4

/// Counters kept by a `TapDevice`.
public struct TapStatistics: Equatable, Sendable {
    public var framesReceived = 0
    public var bytesReceived = 0
    public var framesTransmitted = 0
    public var bytesTransmitted = 0
    /// Frames shorter than an Ethernet header or longer than the MTU allows (dropped).
    public var receiveDropped = 0
    public var receiveErrors = 0
    /// Transmits refused with `.again` (the kernel queue was full).
    public var transmitBusy = 0
    public var transmitErrors = 0
    public init() {}
}

/// An Ethernet TAP device (`/dev/net/tun` with IFF_TAP | IFF_NO_PI): Linux sees an interface
/// named `name`; every frame Linux sends on it is read here and every frame written here appears
/// on it. Opening creates the interface if it does not exist (root or CAP_NET_ADMIN needed); a
/// device created that way disappears when it is closed, one made with `ip tuntap add` persists.
///
/// `macAddress` is the address of the stack's side, the one Skiff puts in its frames; the Linux
/// interface keeps its own (different) address, as two hosts on one cable.
public final class TapDevice: NetworkDevice {
    public let name: String
    public var macAddress: MACAddress
    public let mtu: Int
    public var isLinkUp: Bool { fileDescriptor >= 0 }
    /// The open `/dev/net/tun` descriptor (non-blocking), or -1 after `close()`.
    public private(set) var fileDescriptor: Int32
    public private(set) var statistics = TapStatistics()

    /// One reusable receive buffer, large enough for any frame Linux may hand over (its MTU can be
    /// larger than ours); frames longer than `mtu` + 18 are then dropped as a NIC would.
    private let receiveBuffer: UnsafeMutableRawBufferPointer
    private let transmitBuffer: UnsafeMutableRawBufferPointer

    /// Opens (creating if needed) the TAP interface `name`.
    /// - Parameters:
    ///   - macAddress: the stack side's address; nil picks `TapDevice.defaultMAC(for: name)`.
    ///   - mtu: the largest IP packet, 68...65_521.
    public init(name: String, macAddress: MACAddress? = nil, mtu: Int = 1500) throws(TapError) {
        precondition(mtu >= 68 && mtu <= 65_521, "TapDevice MTU out of range")
        let nameBytes = Array(name.utf8)
        guard nameBytes.count < interfaceNameSize else { throw .nameTooLong(device: name) }
        guard TapDevice.isValidInterfaceName(name) else { throw .invalidName(device: name) }

        let fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == EACCES || code == EPERM { throw .notPermitted(device: name, errno: code) }
            throw .noTunDevice(device: name, errno: code)
        }

        // struct ifreq: ifr_name[IFNAMSIZ] then the union, whose first member is `short ifr_flags`.
        var request = [UInt8](repeating: 0, count: max(MemoryLayout<ifreq>.size, 40))
        for (i, byte) in nameBytes.enumerated() { request[i] = byte }  // i < 15: checked above
        let flags = IFF_TAP | IFF_NO_PI
        request[interfaceNameSize] = UInt8(truncatingIfNeeded: flags)  // host order (little endian)
        request[interfaceNameSize + 1] = UInt8(truncatingIfNeeded: flags >> 8)
        // In bounds: the kernel reads and writes sizeof(struct ifreq) bytes, which `request` holds.
        let result = request.withUnsafeMutableBytes { ioctl(fd, TUNSETIFF, $0.baseAddress!) }
        if result < 0 {
            let code = errno
            _ = Glibc.close(fd)
            switch code {
            case EPERM, EACCES: throw .notPermitted(device: name, errno: code)
            case EBUSY, EINVAL: throw .busy(device: name, errno: code)
            default: throw .system(device: name, operation: "TUNSETIFF", errno: code)
            }
        }

        self.name = name
        self.fileDescriptor = fd
        self.mtu = mtu
        self.macAddress = macAddress ?? TapDevice.defaultMAC(for: name)
        receiveBuffer = .allocate(byteCount: 65_536 + maxLinkHeader, alignment: 16)
        transmitBuffer = .allocate(byteCount: mtu + maxLinkHeader, alignment: 16)
    }

    deinit {
        close()
        receiveBuffer.deallocate()
        transmitBuffer.deallocate()
    }

    /// Closes the descriptor; a device Skiff created disappears from Linux.
    public func close() {
        if fileDescriptor >= 0 {
            _ = Glibc.close(fileDescriptor)
            fileDescriptor = -1
        }
    }

    /// The largest frame this device hands over or accepts: MTU plus Ethernet header and one VLAN tag.
    public var maxFrameLength: Int { mtu + maxLinkHeader }

    public func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard fileDescriptor >= 0 else { return 0 }
        var handed = 0
        var attempts = 0
        // Bounded: at most `budget` reads, plus a few retries after EINTR.
        while attempts < budget + 4 && handed < budget {
            attempts += 1
            // In bounds: read writes at most receiveBuffer.count bytes into receiveBuffer.
            let n = read(fileDescriptor, receiveBuffer.baseAddress, receiveBuffer.count)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code != EAGAIN && code != EWOULDBLOCK { statistics.receiveErrors += 1 }
                break
            }
            if n == 0 { break }
            guard n >= 14 && n <= maxFrameLength else {
                statistics.receiveDropped += 1
                continue
            }
            statistics.framesReceived += 1
            statistics.bytesReceived += n
            handed += 1
            // In bounds: the kernel wrote n <= receiveBuffer.count bytes.
            body(UnsafeRawBufferPointer(start: receiveBuffer.baseAddress, count: n))
        }
        return handed
    }

    public func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard fileDescriptor >= 0 else { return .failed }
        guard length >= 14 && length <= maxFrameLength else { return .invalid }
        // In bounds: length <= maxFrameLength == transmitBuffer.count.
        let frame = UnsafeMutableRawBufferPointer(rebasing: transmitBuffer[0..<length])
        fill(frame)
        var tries = 0
        while true {
            tries += 1
            let n = write(fileDescriptor, frame.baseAddress, length)
            if n == length {
                statistics.framesTransmitted += 1
                statistics.bytesTransmitted += length
                return .ok
            }
            let code = n < 0 ? errno : EIO
            if code == EINTR && tries < 4 { continue }
            if code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS {
                statistics.transmitBusy += 1
                return .again
            }
            statistics.transmitErrors += 1
            return .failed
        }
    }

    /// Whether the Linux side of the interface is administratively up (`ip link set NAME up`);
    /// nil if that cannot be asked. Frames written while it is down are dropped by Linux.
    public var isUpOnLinuxSide: Bool? {
        let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sock >= 0 else { return nil }
        defer { _ = Glibc.close(sock) }
        var request = [UInt8](repeating: 0, count: max(MemoryLayout<ifreq>.size, 40))
        for (i, byte) in name.utf8.enumerated() where i < interfaceNameSize - 1 { request[i] = byte }
        // In bounds: the kernel reads and writes sizeof(struct ifreq) bytes, which `request` holds.
        let result = request.withUnsafeMutableBytes { ioctl(sock, UInt(SIOCGIFFLAGS), $0.baseAddress!) }
        guard result == 0 else { return nil }
        let flags = UInt16(request[interfaceNameSize]) | UInt16(request[interfaceNameSize + 1]) << 8
        return flags & UInt16(IFF_UP) != 0
    }

    /// A stable locally administered unicast address for a device name: 02 followed by five bytes
    /// of the name's FNV-1a hash, so restarting on the same TAP keeps the same address.
    public static func defaultMAC(for name: String) -> MACAddress {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let b = (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
        return MACAddress(0x02, b[0], b[1], b[2], b[3], b[4])
    }

    /// Linux's `dev_valid_name`: non-empty, not "." or "..", no '/', ':' or whitespace.
    public static func isValidInterfaceName(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != ".." else { return false }
        for byte in name.utf8 {
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: ":") || byte <= 0x20 || byte == 0x7f {
                return false
            }
        }
        return true
    }
}
