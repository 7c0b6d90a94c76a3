import SkiffWire

/// One entry of the routing table: datagrams to `destination` leave through `interfaceName`,
/// to `gateway` if there is one, else straight to their destination (a connected route).
public struct Route: Equatable, Sendable, CustomStringConvertible {
    /// The prefix, stored with its host bits cleared.
    public var destination: IPv4CIDR
    public var gateway: IPv4Address?
    public var interfaceName: String
    /// Among routes of equal prefix length the lowest metric wins.
    public var metric: Int

    public init(destination: IPv4CIDR, gateway: IPv4Address?, interfaceName: String, metric: Int = 0) {
        self.destination = IPv4CIDR(address: destination.network, prefixLength: destination.prefixLength)
        self.gateway = gateway
        self.interfaceName = interfaceName
        self.metric = metric
    }

    /// The address the frame is sent to on the link for a datagram to `address`.
    public func nextHop(for address: IPv4Address) -> IPv4Address { gateway ?? address }

    public var description: String {
        var text = destination.description
        if let gateway { text += " via \(gateway)" }
        text += " dev \(interfaceName)"
        if metric != 0 { text += " metric \(metric)" }
        return text
    }
}

/// The IPv4 routing table: longest-prefix match, then the lowest metric, then the route added
/// first (RFC 1812 §5.2.4.3 "longest match", "best metric"). A linear scan: a unikernel has a
/// handful of routes.
public struct RoutingTable: Sendable {
    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds `route`, replacing one with the same prefix, gateway and interface (its metric changes).
    public mutating func add(_ route: Route) {
        let normalized = Route(destination: route.destination, gateway: route.gateway,
                               interfaceName: route.interfaceName, metric: route.metric)
        if let index = routes.firstIndex(where: {
            $0.destination == normalized.destination && $0.gateway == normalized.gateway
                && $0.interfaceName == normalized.interfaceName
        }) {
            routes[index] = normalized
        } else {
            routes.append(normalized)
        }
    }

    /// Removes the routes `shouldRemove` selects; returns how many.
    @discardableResult
    public mutating func remove(where shouldRemove: (Route) -> Bool) -> Int {
        let before = routes.count
        routes.removeAll(where: shouldRemove)
        return before - routes.count
    }

    /// The best route to `address`: the longest prefix containing it, then the lowest metric.
    public func lookup(_ address: IPv4Address) -> Route? {
        var best: Route? = nil
        for route in routes where route.destination.contains(address) {
            guard let current = best else { best = route; continue }
            if route.destination.prefixLength > current.destination.prefixLength
                || (route.destination.prefixLength == current.destination.prefixLength
                    && route.metric < current.metric) {
                best = route
            }
        }
        return best
    }
}
