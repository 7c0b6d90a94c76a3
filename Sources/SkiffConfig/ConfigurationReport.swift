import SkiffStack
import SkiffWire

/// The lines that say how a stack is configured, read back from the stack. The hosted command and
/// the kernel print the same lines, and scripts match them, so the format is fixed:
///
///   net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56
///   route: 198.18.0.0/24 dev eth0
///   route: default via 198.18.0.1 dev eth0
///
/// One `net:` line per interface, in order (its addresses separated by spaces; none for an
/// interface without an address: `net: eth1 mtu 1500 mac ...`), then one `route:` line per route
/// in the routing table's order, in the words of `ip route`.
public enum ConfigurationReport {
    /// The `net:` lines, then the `route:` lines.
    public static func lines(_ stack: NetworkStack) -> [String] {
        var lines: [String] = []
        for interface in stack.interfaces {
            lines.append(interfaceLine(interface))
        }
        for route in stack.routes {
            lines.append(routeLine(route))
        }
        return lines
    }

    /// `net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56`
    public static func interfaceLine(_ interface: Interface) -> String {
        var line = "net: \(interface.name)"
        for address in interface.addresses {
            line += " \(address)"
        }
        return line + " mtu \(interface.mtu) mac \(interface.macAddress)"
    }

    /// `route: default via 198.18.0.1 dev eth0`
    public static func routeLine(_ route: Route) -> String {
        "route: " + describe(route)
    }

    /// `default via 198.18.0.1 dev eth0`, `198.18.0.0/24 dev eth0`, `198.18.8.0/24 via ... dev ...
    /// metric 5` (the words of `ip route`; the metric only when it is not 0).
    public static func describe(_ route: Route) -> String {
        let destination = route.destination.prefixLength == 0
            ? "default"
            : IPv4CIDR(address: route.destination.network, prefixLength: route.destination.prefixLength).description
        var text = destination
        if let gateway = route.gateway { text += " via \(gateway)" }
        text += " dev \(route.interfaceName)"
        if route.metric != 0 { text += " metric \(route.metric)" }
        return text
    }
}
