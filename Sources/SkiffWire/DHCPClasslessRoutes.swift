// The classless static route option, 121 (RFC 3442, "Classless Route Option Format"): a list of
// routes, each
//   width (1 octet, 0...32) | significant octets of the destination (ceil(width / 8)) | router (4)
// A router of 0.0.0.0 is accepted as any other; clients install it as an on-link route.

public struct DHCPClasslessRoute: Hashable, Sendable, CustomStringConvertible {
    /// The destination prefix. Octets past the significant ones are zero after decoding; bits of
    /// the last significant octet past the prefix length are kept as sent.
    public var destination: IPv4CIDR
    public var router: IPv4Address

    public init(destination: IPv4CIDR, router: IPv4Address) {
        self.destination = destination
        self.router = router
    }

    /// Octets of the destination sent for a prefix length: 0 for /0, 1 for /1.../8, ... 4 for /25.../32.
    public static func significantOctets(prefixLength: Int) -> Int {
        (prefixLength + 7) / 8
    }

    /// The routes, in order; nil for a prefix length over 32 or a truncated entry. Empty data is an
    /// empty list.
    public static func decode(_ data: [UInt8]) -> [DHCPClasslessRoute]? {
        data.withUnsafeBytes { decode($0) }
    }

    public static func decode(_ data: UnsafeRawBufferPointer) -> [DHCPClasslessRoute]? {
        var cursor = ByteCursor(data)
        var routes: [DHCPClasslessRoute] = []
        // Each entry consumes at least five bytes, so this loop is bounded by the data length.
        while let width = cursor.readUInt8() {
            guard width <= 32 else { return nil }
            let octets = significantOctets(prefixLength: Int(width))
            guard let significant = cursor.readBytes(octets), let router = cursor.readUInt32() else { return nil }
            var destination: UInt32 = 0
            for i in 0..<4 {
                destination = destination << 8 | UInt32(i < octets ? significant[i] : 0)
            }
            routes.append(DHCPClasslessRoute(
                destination: IPv4CIDR(address: IPv4Address(destination), prefixLength: Int(width)),
                router: IPv4Address(router)))
        }
        return routes
    }

    /// The option data for `routes`: each destination's significant octets as given.
    public static func encode(_ routes: [DHCPClasslessRoute]) -> [UInt8] {
        var out: [UInt8] = []
        for route in routes {
            let width = route.destination.prefixLength
            out.append(UInt8(width))
            out.append(contentsOf: route.destination.address.bytes[0..<significantOctets(prefixLength: width)])
            out.append(contentsOf: route.router.bytes)
        }
        return out
    }

    public var description: String { "\(destination) via \(router)" }
}
