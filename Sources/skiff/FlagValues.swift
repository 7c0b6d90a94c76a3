import SkiffWire

// Parsing of flag values shared by subcommands. Each failure is one `CLIError.usage` naming the
// flag, the value as given, and the expected form:
//   error: --address 198.18.0.300/24: not an IPv4 address with prefix length (a.b.c.d/n)

enum FlagValues {
    /// An interface address with its prefix length, e.g. `198.18.0.2/24`.
    static func interfaceAddress(_ text: String, flag: String) throws(CLIError) -> IPv4CIDR {
        guard let cidr = IPv4CIDR(text) else {
            throw .usage("\(flag) \(text): not an IPv4 address with prefix length (a.b.c.d/n)")
        }
        guard cidr.prefixLength >= 1 else {
            throw .usage("\(flag) \(text): prefix length must be 1 to 32")
        }
        let address = cidr.address
        if address.isUnspecified || address.isLimitedBroadcast || address.isMulticast
            || address.isLoopback || address.value >> 24 == 0 || address.value >> 28 == 0xf {
            throw .usage("\(flag) \(text): \(address) cannot be an interface address")
        }
        // RFC 3021: /31 and /32 have no network or broadcast address to avoid.
        if cidr.prefixLength <= 30 {
            if address == cidr.network {
                throw .usage("\(flag) \(text): \(address) is the network address of \(network(cidr)); pick a host address")
            }
            if address == cidr.broadcast {
                throw .usage("\(flag) \(text): \(address) is the broadcast address of \(network(cidr)); pick a host address")
            }
        }
        return cidr
    }

    /// A unicast IPv4 address, e.g. `198.18.0.1`.
    static func address(_ text: String, flag: String) throws(CLIError) -> IPv4Address {
        guard let address = IPv4Address(text) else {
            throw .usage("\(flag) \(text): not an IPv4 address (a.b.c.d)")
        }
        if address.isUnspecified || address.isLimitedBroadcast || address.isMulticast {
            throw .usage("\(flag) \(text): not a unicast address")
        }
        return address
    }

    /// A unicast MAC address, e.g. `02:00:00:00:00:01`.
    static func macAddress(_ text: String, flag: String) throws(CLIError) -> MACAddress {
        guard let mac = MACAddress(text) else {
            throw .usage("\(flag) \(text): not a MAC address (aa:bb:cc:dd:ee:ff)")
        }
        if mac.isMulticast {
            throw .usage("\(flag) \(text): a multicast address; an interface needs a unicast one (first byte even, e.g. 02:...)")
        }
        if mac == .zero {
            throw .usage("\(flag) \(text): the all-zero address cannot be an interface address")
        }
        return mac
    }

    /// A decimal integer in `range`.
    static func integer(
        _ text: String, flag: String, in range: ClosedRange<Int>, meaning: String, note: String? = nil
    ) throws(CLIError) -> Int {
        let digitsOnly = !text.isEmpty && text.utf8.count <= 9
            && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard digitsOnly, let value = Int(text), range.contains(value) else {
            let extra = note.map { "; " + $0 } ?? ""
            throw .usage("\(flag) \(text): not \(meaning) (\(range.lowerBound) to \(range.upperBound)\(extra))")
        }
        return value
    }

    /// `198.18.0.0/24` for `198.18.0.2/24`.
    static func network(_ cidr: IPv4CIDR) -> IPv4CIDR {
        IPv4CIDR(address: cidr.network, prefixLength: cidr.prefixLength)
    }
}

// Flag values of `skiff relay`.
extension FlagValues {
    /// A percentage from 0 to 100 with at most four decimals (`20`, `0.5`), as parts per million.
    static func percentage(_ text: String, flag: String) throws(CLIError) -> Int {
        let bytes = Array(text.utf8)
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = dot.map { Array(bytes[..<$0]) } ?? bytes
        let fraction = dot.map { Array(bytes[($0 + 1)...]) } ?? []
        guard !whole.isEmpty, whole.count <= 3, whole.allSatisfy(isDigit),
              dot == nil || (!fraction.isEmpty && fraction.count <= 4 && fraction.allSatisfy(isDigit)) else {
            throw .usage("\(flag) \(text): not a percentage (0 to 100, at most 4 decimals, e.g. 20 or 0.5)")
        }
        var perMillion = 0
        for byte in whole { perMillion = perMillion * 10 + Int(byte - UInt8(ascii: "0")) }
        perMillion *= 10_000
        var scale = 1_000
        for byte in fraction {
            perMillion += Int(byte - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        guard perMillion <= 1_000_000 else {
            throw .usage("\(flag) \(text): not a percentage (0 to 100, at most 4 decimals, e.g. 20 or 0.5)")
        }
        return perMillion
    }

    /// A 64-bit unsigned decimal number (a random seed).
    static func seed(_ text: String, flag: String) throws(CLIError) -> UInt64 {
        let digitsOnly = !text.isEmpty && text.utf8.count <= 20
            && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard digitsOnly, let value = UInt64(text) else {
            throw .usage("\(flag) \(text): not a seed (a whole number, 0 to \(UInt64.max))")
        }
        return value
    }
}
