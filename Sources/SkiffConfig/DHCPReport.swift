import SkiffStack
import SkiffWire

/// The `dhcp:` lines, in the style of the `net:`/`route:` lines (scripts match them):
///
///   dhcp: eth0 lease 198.18.0.50/24 from 198.18.0.1 for 3600 s (renew 1800 s, rebind 3150 s)
///   dhcp: eth0 option 3 (198.18.0.1) ignored: option 121 gives the routes (RFC 3442 §2)
///   dhcp: eth0 host name app1, domain example.test
///   dhcp: eth0 renewed 198.18.0.50/24 from 198.18.0.1 for 3600 s (renew 1800 s, rebind 3150 s)
///   dhcp: eth0 lease 198.18.0.50/24 expired
///   dhcp: eth0 DHCPNAK from 198.18.0.1: wrong network
///   dhcp: eth0 198.18.0.50 is in use by 52:54:00:00:00:99; declined
///   dhcp: eth0 released 198.18.0.50/24 to 198.18.0.1
///
/// An infinite lease reads `for ever` with no renew/rebind times. When the interface changes
/// (bound, changed on renewal, expired, ended by a NAK) the `net:`/`route:` lines of the whole stack
/// follow, and on binding the `dns:` lines (servers, then `dns: search ...`).
extension ConfigurationReport {
    /// `dhcp: eth0 lease 198.18.0.50/24 from 198.18.0.1 for 3600 s (renew 1800 s, rebind 3150 s)`
    public static func leaseLine(_ lease: DHCPLease, interfaceName: String, verb: String = "lease") -> String {
        "dhcp: \(interfaceName) \(verb) \(lease.address) from \(lease.server) " + leaseTimes(lease)
    }

    /// `for 3600 s (renew 1800 s, rebind 3150 s)`, or `for ever`.
    static func leaseTimes(_ lease: DHCPLease) -> String {
        guard let time = lease.leaseTime else { return "for ever" }
        var text = "for \(time) s"
        if let t1 = lease.renewalTime, let t2 = lease.rebindingTime {
            text += " (renew \(t1) s, rebind \(t2) s)"
        }
        return text
    }

    /// The lines for one event of the client on `interfaceName`, reading the stack for the
    /// `net:`/`route:` lines.
    public static func dhcpLines(_ event: DHCPEvent, interfaceName name: String, stack: NetworkStack) -> [String] {
        switch event {
        case .bound(let lease):
            var lines = [leaseLine(lease, interfaceName: name)]
            lines += detailLines(lease, interfaceName: name)
            lines += ConfigurationReport.lines(stack)
            lines += dnsLines(lease)
            return lines
        case .renewed(let lease, let changed):
            var lines = [leaseLine(lease, interfaceName: name, verb: "renewed")]
            if changed {
                lines += detailLines(lease, interfaceName: name)
                lines += ConfigurationReport.lines(stack)
                lines += dnsLines(lease)
            }
            return lines
        case .expired(let lease):
            return ["dhcp: \(name) lease \(lease.address) expired"] + ConfigurationReport.lines(stack)
        case .nak(let server, let message, let lost):
            var line = "dhcp: \(name) DHCPNAK from \(server)"
            if let message, !message.isEmpty { line += ": \(message)" }
            guard let lost else { return [line] }
            return [line, "dhcp: \(name) lease \(lost.address) lost"] + ConfigurationReport.lines(stack)
        case .declined(let address, let mac):
            return ["dhcp: \(name) \(address) is in use by \(mac); declined"]
        case .released(let lease):
            return ["dhcp: \(name) released \(lease.address) to \(lease.server)"]
        }
    }

    /// Options applied or noted besides the address and times.
    static func detailLines(_ lease: DHCPLease, interfaceName name: String) -> [String] {
        var lines: [String] = []
        if lease.routerOptionIgnored {
            let routers = lease.routers.map { $0.description }.joined(separator: " ")
            lines.append("dhcp: \(name) option 3 (\(routers)) ignored: option 121 gives the routes (RFC 3442 §2)")
        }
        if lease.hostName != nil || lease.domainName != nil {
            var parts: [String] = []
            if let host = lease.hostName { parts.append("host name \(host)") }
            if let domain = lease.domainName { parts.append("domain \(domain)") }
            lines.append("dhcp: \(name) " + parts.joined(separator: ", "))
        }
        if let broadcast = lease.broadcastAddress, broadcast != lease.address.broadcast {
            lines.append("dhcp: \(name) broadcast \(broadcast) differs from \(lease.address)'s \(lease.address.broadcast); not applied")
        }
        return lines
    }

    /// `dns: 198.18.0.1 198.18.0.2` and `dns: search example.test`, as `NetworkConfiguration` prints.
    static func dnsLines(_ lease: DHCPLease) -> [String] {
        var lines: [String] = []
        if !lease.dnsServers.isEmpty {
            lines.append("dns: " + lease.dnsServers.map { $0.description }.joined(separator: " "))
        }
        if !lease.domainSearch.isEmpty {
            lines.append("dns: search " + lease.domainSearch.joined(separator: " "))
        }
        return lines
    }
}
