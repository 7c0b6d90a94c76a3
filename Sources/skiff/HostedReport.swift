import SkiffWire
import SkiffStack
import SkiffConfig
import SkiffServices
import SkiffHosted

/// The lines `skiff run hosted` prints about itself. Scripts match them, so the format is kept:
///   net: tap0 198.18.0.2/24 mtu 1500 mac 02:53:4b:00:00:01
///   route: 198.18.0.0/24 dev tap0
///   route: default via 198.18.0.1 dev tap0
///   echo: udp port 7
///   echo: tcp port 7
///   http: tcp port 80
///   counters: tap0 rx 12 frames 1500 bytes, tx 12 frames 1500 bytes, rx dropped 0, ...
///   counters: dhcp tap0 discovers 1, requests 3, offers 1, acks 3, naks 0, ...   (with --dhcp)
enum HostedReport {
    /// The configuration as the stack applied it (read back from the stack, not from the flags):
    /// the `net:` and `route:` lines of `ConfigurationReport`, which the kernel prints too, then
    /// one line per service.
    static func configuration(stack: NetworkStack, echoPort: UInt16?, tcpEchoPort: UInt16? = nil,
                              httpPort: UInt16? = nil) -> [String] {
        var lines = ConfigurationReport.lines(stack)
        if let echoPort {
            lines.append("echo: udp port \(echoPort)")
        }
        if let tcpEchoPort {
            lines.append("echo: tcp port \(tcpEchoPort)")
        }
        if let httpPort {
            lines.append("http: tcp port \(httpPort)")
        }
        return lines
    }

    static func counters(stack: NetworkStack, devices: [TapDevice], echo: UDPEchoService?,
                         tcpEcho: TCPEchoService? = nil, server: HTTPServer? = nil,
                         dhcp: [DHCPClient] = []) -> [String] {
        var lines: [String] = []
        for device in devices {
            let s = device.statistics
            lines.append("counters: \(device.name) rx \(s.framesReceived) frames \(s.bytesReceived) bytes"
                + ", tx \(s.framesTransmitted) frames \(s.bytesTransmitted) bytes"
                + ", rx dropped \(s.receiveDropped), rx errors \(s.receiveErrors)"
                + ", tx busy \(s.transmitBusy), tx errors \(s.transmitErrors)")
        }
        lines.append("counters: stack " + stackCounters(stack.statistics))
        if let echo {
            let s = echo.statistics
            lines.append("counters: echo \(s.echoed) datagrams \(s.bytes) bytes, \(s.failed) failed")
        }
        if let tcpEcho {
            let s = tcpEcho.statistics
            lines.append("counters: tcp-echo \(s.accepted) connections \(s.bytes) bytes, \(s.closed) closed"
                + ", \(s.resets) reset, \(s.idleTimeouts) idle timeouts, \(s.openConnections) open")
        }
        if let server {
            let s = server.statistics
            lines.append("counters: http \(s.accepted) connections \(s.requests) requests"
                + ", 2xx \(s.responses(class: 2)), 3xx \(s.responses(class: 3)), 4xx \(s.responses(class: 4))"
                + ", 5xx \(s.responses(class: 5)), \(s.resets) reset, \(s.openConnections) open")
        }
        for client in dhcp {
            let s = client.statistics
            lines.append("counters: dhcp \(client.interface.name) discovers \(s.discoversSent), requests \(s.requestsSent)"
                + ", offers \(s.offersReceived), acks \(s.acksReceived), naks \(s.naksReceived)"
                + ", declines \(s.declinesSent), releases \(s.releasesSent), probes \(s.probesSent)"
                + ", ignored \(s.ignored), send failures \(s.sendFailures)")
        }
        // Every connection the stack still holds, TIME-WAIT included.
        lines.append("counters: tcp \(stack.tcpConnectionCount) connections")
        return lines
    }

    /// The stack's counters that are not zero, as `name value` pairs (frames in and out always).
    static func stackCounters(_ statistics: StackStatistics) -> String {
        var pairs: [String] = []
        statistics.forEach { name, value in
            if value != 0 || name == "framesReceived" || name == "framesSent" {
                pairs.append("\(name) \(value)")
            }
        }
        return pairs.joined(separator: ", ")
    }
}
