import SkiffWire

/// Why the kernel command line could not be used, and where: its `description` is one line such as
/// `command line column 23: ip= gateway 198.19.0.1 is not inside 198.18.0.0/24` or
/// `command line column 31: skiff.net= mtu "9x" is not a number from 68 to 65535`.
public struct CommandLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The 1-based byte column the problem is at: the field of an `ip=` value or the setting (or
    /// its value) of a `skiff.net=` when one is to blame, else the start of the parameter.
    public var column: Int
    public var problem: Problem

    public init(column: Int, problem: Problem) {
        self.column = column
        self.problem = problem
    }

    /// An address field of `ip=`.
    public enum AddressField: Equatable, Sendable {
        case client, server, gateway, netmask, dns0, dns1, ntp0

        /// The field's name in messages (the words of Documentation/admin-guide/nfs/nfsroot.rst).
        public var name: String {
            switch self {
            case .client: return "client address"
            case .server: return "server address"
            case .gateway: return "gateway"
            case .netmask: return "netmask"
            case .dns0: return "dns0 address"
            case .dns1: return "dns1 address"
            case .ntp0: return "ntp0 address"
            }
        }
    }

    public enum Problem: Equatable, Sendable {
        /// A double quote that is never closed.
        case unterminatedQuote
        /// `ip` as a bare word, without `=`.
        case missingValue(key: String)
        /// An address field that is not a dotted quad.
        case invalidAddress(AddressField, text: String)
        /// The `/n` after the client address is not 1...32.
        case invalidPrefixLength(text: String)
        /// A netmask whose ones are not contiguous (255.0.255.0).
        case nonContiguousNetmask(IPv4Address)
        /// A static client address with neither a netmask nor a prefix length.
        case missingNetmask(IPv4Address)
        /// The client's `/n` and the netmask field disagree.
        case prefixMismatch(prefixLength: Int, netmask: IPv4Address)
        /// A client address in 0/8, 127/8 (loopback), 224/4 (multicast) or 240/4 (reserved).
        case clientNotUnicast(IPv4Address)
        /// The client is the network address of its subnet (prefixes shorter than 31).
        case clientIsNetworkAddress(IPv4Address, subnet: IPv4CIDR)
        /// The client is the directed broadcast address of its subnet (prefixes shorter than 31).
        case clientIsBroadcastAddress(IPv4Address, subnet: IPv4CIDR)
        /// The gateway is the client's own address.
        case gatewayIsClient(IPv4Address)
        /// The gateway is not inside the client's subnet.
        case gatewayOutsideSubnet(gateway: IPv4Address, subnet: IPv4CIDR)
        /// A hostname longer than 64 bytes or with other bytes than letters, digits, `-` and `.`.
        case invalidHostname(String)
        /// A device name that is longer than 15 bytes or holds `/`, `:`, white space or controls.
        case invalidDeviceName(String)
        /// An autoconf word Skiff does not know.
        case unknownAutoconf(String)
        /// More than the ten fields of `ip=`.
        case tooManyFields
        /// A second `ip=` for a device; `firstColumn` is where the first one starts.
        case duplicateDevice(String, firstColumn: Int)
        /// An `ip=` names a device that does not exist; `existing` are the names there are.
        case unknownDevice(String, existing: [String])
        /// An `ip=` without a device while every device already has one.
        case noDeviceLeft(existing: [String])
        /// An `ip=` selects the device (`name`) that the `ip=` at `firstColumn` already selects,
        /// one by name and one by MAC; found when the devices are known.
        case sameDevice(String, firstColumn: Int)
        /// What is wrong with a `skiff.net=` (SkiffNetParameter.swift).
        case net(SkiffNetProblem)
    }

    public var description: String { "command line column \(column): \(problem)" }
}

extension CommandLineError.Problem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unterminatedQuote:
            return "a double quote is not closed"
        case .missingValue(let key):
            return "\(key) needs a value: \(key)=dhcp, \(key)=off or "
                + "\(key)=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:..."
        case .invalidAddress(let field, let text):
            let form = field == .client ? "a.b.c.d or a.b.c.d/n" : "a.b.c.d"
            return "ip= \(field.name) \"\(text)\" is not an IPv4 address (\(form))"
        case .invalidPrefixLength(let text):
            return "ip= prefix length \"/\(text)\" is not 1 to 32"
        case .nonContiguousNetmask(let mask):
            return "ip= netmask \(mask) is not contiguous (ones, then zeros: e.g. 255.255.255.0)"
        case .missingNetmask(let address):
            return "ip= client address \(address) has no netmask: give a prefix length (\(address)/24) "
                + "or the netmask field (\(address)::<gw-ip>:255.255.255.0)"
        case .prefixMismatch(let length, let mask):
            return "ip= netmask \(mask) disagrees with the client's prefix length /\(length)"
        case .clientNotUnicast(let address):
            return "ip= client address \(address) is not a unicast address"
        case .clientIsNetworkAddress(let address, let subnet):
            return "ip= client address \(address) is the network address of \(subnet)"
        case .clientIsBroadcastAddress(let address, let subnet):
            return "ip= client address \(address) is the broadcast address of \(subnet)"
        case .gatewayIsClient(let address):
            return "ip= gateway \(address) is the client's own address"
        case .gatewayOutsideSubnet(let gateway, let subnet):
            return "ip= gateway \(gateway) is not inside \(subnet)"
        case .invalidHostname(let name):
            return "ip= hostname \"\(name)\" is not a host name (at most 64 letters, digits, '-' and '.')"
        case .invalidDeviceName(let name):
            return "ip= device \"\(name)\" is not a device name (at most 15 bytes; no '/', ':' or white space) "
                + "or a MAC with dashes (52-54-00-12-34-56)"
        case .unknownAutoconf(let word):
            return "ip= autoconf \"\(word)\" is not one of off, none, on, any, dhcp, bootp, rarp, both"
        case .tooManyFields:
            return "ip= has more than 10 fields (<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:"
                + "<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>)"
        case .duplicateDevice(let name, let first):
            return "ip= device \(name) is already configured by the ip= at column \(first)"
        case .unknownDevice(let name, let existing):
            return "ip= device \(name) does not exist (\(CommandLineError.listing(existing)))"
        case .noDeviceLeft(let existing):
            return "ip= names no device and every device already has an ip= (\(CommandLineError.listing(existing)))"
        case .sameDevice(let name, let first):
            return "ip= selects \(name), which the ip= at column \(first) already configures"
        case .net(let problem):
            return problem.description
        }
    }
}

extension CommandLineError {
    static func listing(_ names: [String]) -> String {
        names.isEmpty ? "there are no network devices" : "devices: " + names.joined(separator: ", ")
    }
}
