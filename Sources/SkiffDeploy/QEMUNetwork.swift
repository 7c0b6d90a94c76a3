import SkiffWire

// The NICs of a QEMU guest: the device model the guest's driver sees, and what carries its frames
// on the host side (a TAP device, or QEMU's user-mode network with loopback-only port forwards).

/// The NIC models Skiff has drivers for, by their `--nic` name.
public enum QEMUNICModel: String, CaseIterable, Equatable, Sendable {
    case virtio
    case vmxnet3
    case e1000

    /// QEMU's `-device` name for the model.
    public var device: String {
        switch self {
        case .virtio: return "virtio-net-pci"
        case .vmxnet3: return "vmxnet3"
        case .e1000: return "e1000"
        }
    }

    public static let `default` = QEMUNICModel.virtio

    /// "virtio, vmxnet3 or e1000".
    static var choices: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// Parses a `--nic` value: a model name. (`MODEL,option=value` is reserved for device options.)
    public static func parse(_ text: String, flag: String = "--nic") throws(DeployError) -> QEMUNICModel {
        let name = text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard let model = QEMUNICModel(rawValue: String(name)) else {
            throw .usage("\(flag) \(text): not a NIC model (\(choices))")
        }
        guard name.count == text.count else {
            throw .usage("\(flag) \(text): NIC options are not supported yet; give only the model (\(choices))")
        }
        return model
    }
}

/// One NIC of the guest.
public struct QEMUNIC: Equatable, Sendable {
    public enum Backend: Equatable, Sendable {
        /// A TAP device on the host, opened (and created if missing, then removed on exit) by QEMU.
        case tap(interface: String)
        /// QEMU's user-mode network (slirp) with `restrict=on`: the guest reaches nothing on the
        /// host or beyond except through these forwards.
        case user(forwards: [QEMUHostForward])
    }

    public var backend: Backend
    public var model: QEMUNICModel
    public var mac: MACAddress
    /// Extra `-device` properties (`name=value`), appended after `netdev` and `mac`. None yet.
    public var deviceOptions: [String] = []

    public init(backend: Backend, model: QEMUNICModel, mac: MACAddress, deviceOptions: [String] = []) {
        self.backend = backend
        self.model = model
        self.mac = mac
        self.deviceOptions = deviceOptions
    }

    /// The most NICs a guest gets: one MAC address per index in 52:54:00:12:34:50…5f.
    public static let maximumCount = 16

    /// The MAC address of NIC `index` (0-based, in the order TAP NICs then user-mode NICs):
    /// 52:54:00:12:34:5N, in QEMU's own locally administered 52:54:00 range. The same command line
    /// always gives the guest the same addresses.
    public static func mac(forIndex index: Int) -> MACAddress {
        precondition(index >= 0 && index < maximumCount, "NIC index out of range")
        return MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x50 + UInt8(index))
    }

    /// Checks a `--mac` value: six hex pairs separated by `:` or `-`, a unicast address (the
    /// group bit of the first octet clear) and not all zeros.
    public static func parseMAC(_ text: String) throws(DeployError) -> MACAddress {
        let bytes = Array(text.utf8)
        func isHex(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
        }
        let wellFormed = bytes.count == 17 && (0..<17).allSatisfy { index in
            index % 3 == 2 ? bytes[index] == bytes[2] && (bytes[2] == UInt8(ascii: ":") || bytes[2] == UInt8(ascii: "-"))
                           : isHex(bytes[index])
        }
        guard wellFormed, let mac = MACAddress(text) else {
            throw .usage("--mac \(text): not a MAC address (six hex pairs: 52:54:00:12:34:56)")
        }
        guard !mac.isMulticast else {
            throw .usage("--mac \(text): a multicast address (the first octet is odd); a NIC needs a unicast MAC such as 02:00:00:00:00:01")
        }
        guard mac != .zero else { throw .usage("--mac \(text): all zeros is not a NIC's address") }
        return mac
    }

    /// `-netdev` and `-device` for this NIC as QEMU's `net<index>`.
    public func arguments(index: Int) -> [String] {
        let id = "net\(index)"
        let netdev: String
        switch backend {
        case .tap(let interface):
            netdev = "tap,id=\(id),ifname=\(interface),script=no,downscript=no"
        case .user(let forwards):
            netdev = (["user", "id=\(id)", "restrict=on"] + forwards.map { "hostfwd=" + $0.qemuRule }).joined(separator: ",")
        }
        let device = ([model.device, "netdev=\(id)", "mac=\(mac)"] + deviceOptions).joined(separator: ",")
        return ["-netdev", netdev, "-device", device]
    }

    /// Checks a `--tap` interface name: Linux's dev_valid_name (1 to 15 bytes, not "." or "..",
    /// no '/', ':' or whitespace), and no ',' (QEMU's option separator).
    public static func checkTapName(_ name: String, flag: String = "--tap") throws(DeployError) {
        let bytes = Array(name.utf8)
        let forbidden: Set<UInt8> = [UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: ","),
                                     UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"),
                                     UInt8(ascii: "\r"), 0x0B, 0x0C]
        guard !bytes.isEmpty, name != ".", name != "..", !bytes.contains(where: forbidden.contains) else {
            throw .usage("\(flag) \(name): not a valid interface name (no '/', ':', ',' or spaces)")
        }
        guard bytes.count <= 15 else {
            throw .usage("\(flag) \(name): longer than 15 bytes (the Linux limit for interface names)")
        }
    }
}

/// A user-mode network port forward, QEMU's `hostfwd=[tcp]:HOSTADDR:HOSTPORT-[GUESTADDR]:GUESTPORT`.
/// The host address must be a loopback address: a forward never exposes the guest beyond this host.
/// Only TCP: with `restrict=on` QEMU's user-mode network (libslirp 4.7, udp.c `udp_input`) drops
/// the guest's UDP datagrams other than DHCP and TFTP, so a UDP forward would get no replies.
public struct QEMUHostForward: Equatable, Sendable {
    public enum TransportProtocol: String, Equatable, Sendable {
        case tcp, udp
    }

    public var transport: TransportProtocol
    public var hostAddress: IPv4Address
    public var hostPort: UInt16
    /// nil: QEMU's default, the first address its DHCP server hands out (10.0.2.15).
    public var guestAddress: IPv4Address?
    public var guestPort: UInt16

    public init(transport: TransportProtocol, hostAddress: IPv4Address, hostPort: UInt16,
                guestAddress: IPv4Address? = nil, guestPort: UInt16) {
        self.transport = transport
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.guestAddress = guestAddress
        self.guestPort = guestPort
    }

    static let form = "hostfwd=tcp:127.0.0.1:HOSTPORT-[GUESTADDR]:GUESTPORT"
    static let example = "hostfwd=tcp:127.0.0.1:8080-:80"

    /// The rule as QEMU reads it, e.g. `tcp:127.0.0.1:8080-:80`.
    public var qemuRule: String {
        "\(transport.rawValue):\(hostAddress):\(hostPort)-\(guestAddress.map(\.description) ?? ""):\(guestPort)"
    }

    /// Parses a rule (the text after `hostfwd=`); `value` is the whole flag value, for messages.
    public static func parse(_ rule: String, flag: String, value: String) throws(DeployError) -> QEMUHostForward {
        let prefix = "\(flag) \(value)"
        let malformed = DeployError.usage("\(prefix): not a port forward (\(form))")
        let sides = rule.split(separator: "-", omittingEmptySubsequences: false)
        guard sides.count == 2 else { throw malformed }
        var host = sides[0].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let guest = sides[1].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // The protocol may be left out (QEMU then uses tcp): "127.0.0.1:8080" or ":8080".
        var transport = TransportProtocol.tcp
        if host.count == 3 {
            guard let named = TransportProtocol(rawValue: host[0]) else {
                throw .usage("\(prefix): '\(host[0])' is not a protocol (tcp or udp)")
            }
            transport = named
            host.removeFirst()
        }
        // libslirp's udp_input drops every datagram from a restricted guest except DHCP and TFTP,
        // before it looks for the forward's socket: the guest's replies would never leave.
        guard transport == .tcp else {
            throw .usage("\(prefix): UDP forwards do not work with restrict=on (QEMU's user-mode network drops the guest's UDP replies); forward TCP, or use --tap")
        }
        guard host.count == 2, guest.count == 2 else { throw malformed }
        guard !host[0].isEmpty else {
            throw .usage("\(prefix): no host address, which QEMU reads as every address of this host; give a loopback address (127.0.0.0/8), e.g. \(example)")
        }
        guard let hostAddress = IPv4Address(host[0]) else {
            throw .usage("\(prefix): '\(host[0])' is not an IPv4 address (\(form))")
        }
        guard hostAddress.isLoopback else {
            throw .usage("\(prefix): host address \(hostAddress) is not a loopback address; forwards listen on 127.0.0.0/8 only, e.g. \(example)")
        }
        let hostPort = try port(host[1], side: "host", prefix: prefix)
        var guestAddress: IPv4Address? = nil
        if !guest[0].isEmpty {
            guard let address = IPv4Address(guest[0]), !address.isUnspecified else {
                throw .usage("\(prefix): '\(guest[0])' is not a guest IPv4 address (\(form))")
            }
            guestAddress = address
        }
        let guestPort = try port(guest[1], side: "guest", prefix: prefix)
        return QEMUHostForward(transport: transport, hostAddress: hostAddress, hostPort: hostPort,
                               guestAddress: guestAddress, guestPort: guestPort)
    }

    static func port(_ text: String, side: String, prefix: String) throws(DeployError) -> UInt16 {
        let digitsOnly = !text.isEmpty && text.utf8.count <= 5
            && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard digitsOnly, let value = Int(text), value >= 1, value <= 65_535 else {
            throw .usage("\(prefix): \(side) port '\(text)' is not a port (1 to 65535)")
        }
        return UInt16(value)
    }

    /// Parses a `--user-net` value: comma-separated options, each `hostfwd=RULE` (more options may
    /// come later). An empty value is a user-mode NIC without forwards.
    public static func parseUserNet(_ value: String, flag: String = "--user-net") throws(DeployError) -> [QEMUHostForward] {
        var forwards: [QEMUHostForward] = []
        guard !value.isEmpty else { return forwards }
        for option in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard option.hasPrefix("hostfwd=") else {
                throw .usage("\(flag) \(value): unsupported option '\(option)' (only \(form) rules, comma-separated)")
            }
            let forward = try parse(String(option.dropFirst("hostfwd=".count)), flag: flag, value: value)
            forwards.append(forward)
        }
        return forwards
    }
}
